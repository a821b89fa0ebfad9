/**
 * The names of the series the operator exports on /metrics, declared once: the operator registers them
 * and the monitoring rules (lib/contractor/monitoring.ts) query them, so an alert cannot name a series that is never
 * exported.
 */
export const METRIC = {
  reconciles: 'mall_backup_reconcile_total',
  reconcileErrors: 'mall_backup_reconcile_errors_total',
  reconcileDuration: 'mall_backup_reconcile_duration_seconds',
  apiRequests: 'mall_backup_api_requests_total',
  lastSuccess: 'mall_backup_last_success_timestamp_seconds',
  phase: 'mall_backup_phase',
  /** 1 while the Backup's Fresh condition is True, 0 while it is False; no series while Unknown. */
  fresh: 'mall_backup_fresh',
  /** One series per Backup, for the outcome (RUN_OUTCOMES) of its newest finished run (value 1). */
  lastRunOutcome: 'mall_backup_last_run_outcome',
  /** 1 while the Backup's Verified condition is True, 0 while it is False; no series before a verification. */
  verified: 'mall_backup_verified',
  /** 1 while the newest finished maintenance of the Backup's vault succeeded, 0 while it failed; none before. */
  vaultMaintained: 'mall_backup_vault_maintained',
  /**
   * restic's numbers of the newest finished run: files_new, files_changed, bytes_added, duration_seconds,
   * snapshot_files, snapshot_bytes.
   */
  lastRunPrefix: 'mall_backup_last_run_',
  /** 1 while a drastic shrink holds the Backup's retention back, until acknowledged. */
  shrinkDetected: 'mall_backup_shrink_detected',
  leader: 'mall_backup_leader',
  queueDepth: 'mall_backup_workqueue_depth',
  runsRunning: 'mall_backup_runs_running',
  runsQueued: 'mall_backup_runs_queued',
  runsStarted: 'mall_backup_runs_started_total',
  runsGivenUp: 'mall_backup_runs_given_up_total',
  runWait: 'mall_backup_run_wait_seconds',
} as const;

/** What `mall_backup_last_run_outcome{outcome=…}` can say: the outcomes of a backup run. */
export { RUN_OUTCOMES, RunOutcome } from '../run/run-result';
