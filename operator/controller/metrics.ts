import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupStatus } from './reconcile';
import type { LastRun } from './run-status';

const LAST_RUN_NUMBERS = [
  ['filesNew', 'files_new', 'Files new in the newest run\'s snapshot.'],
  ['filesChanged', 'files_changed', 'Files changed in the newest run.'],
  ['bytesAdded', 'bytes_added', 'Bytes the newest run added to the vault.'],
  ['durationSeconds', 'duration_seconds', 'How long the newest run\'s restic backup took.'],
  ['snapshotFiles', 'snapshot_files', 'Files in the newest run\'s snapshot.'],
  ['snapshotBytes', 'snapshot_bytes', 'Bytes in the newest run\'s snapshot.'],
] as const;
type LastRunNumber = typeof LAST_RUN_NUMBERS[number][0];

/** What the operator exposes on /metrics. */
export class OperatorMetrics {
  public readonly registry = new Registry();
  public readonly reconciles = new Counter({ name: 'mall_backup_reconcile_total', help: 'Reconciles, by result.', labelNames: ['result'], registers: [this.registry] });
  public readonly reconcileErrors = new Counter({ name: 'mall_backup_reconcile_errors_total', help: 'Reconciles that failed and were retried.', registers: [this.registry] });
  public readonly reconcileDuration = new Histogram({
    name: 'mall_backup_reconcile_duration_seconds', help: 'Time to reconcile one Backup.', registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  public readonly apiRequests = new Counter({ name: 'mall_backup_api_requests_total', help: 'Requests to the API server.', labelNames: ['method', 'code'], registers: [this.registry] });
  public readonly lastSuccess = new Gauge({ name: 'mall_backup_last_success_timestamp_seconds', help: 'When each Backup last succeeded (Unix time).', labelNames: ['namespace', 'name'], registers: [this.registry] });
  public readonly phase = new Gauge({ name: 'mall_backup_phase', help: 'One series per Backup, for the phase it is in (value 1).', labelNames: ['namespace', 'name', 'phase'], registers: [this.registry] });
  public readonly leader = new Gauge({ name: 'mall_backup_leader', help: '1 while this process holds the leader Lease.', registers: [this.registry] });
  /** Per Backup, restic's numbers from the newest finished run (status.lastRun). */
  public readonly lastRun = Object.fromEntries(LAST_RUN_NUMBERS.map(([field, name, help]) => [field,
    new Gauge({ name: `mall_backup_last_run_${name}`, help, labelNames: ['namespace', 'name'], registers: [this.registry] })])) as Record<LastRunNumber, Gauge>;
  public readonly shrinkDetected = new Gauge({
    name: 'mall_backup_shrink_detected', help: '1 while a drastic shrink holds this Backup\'s retention back, until acknowledged.', labelNames: ['namespace', 'name'], registers: [this.registry],
  });
  public readonly queueDepth = new Gauge({ name: 'mall_backup_workqueue_depth', help: 'Backups waiting to be reconciled.', registers: [this.registry] });
  // The run cap (operator/fleet-gate.ts): only moved when a cap is set.
  public readonly runsRunning = new Gauge({ name: 'mall_backup_runs_running', help: 'Backup runs started and not finished, as the run cap counts them.', registers: [this.registry] });
  public readonly runsQueued = new Gauge({ name: 'mall_backup_runs_queued', help: 'Backup runs waiting for a free slot under the run cap.', registers: [this.registry] });
  public readonly runsStarted = new Counter({ name: 'mall_backup_runs_started_total', help: 'Held runs the operator started.', registers: [this.registry] });
  public readonly runsGivenUp = new Counter({ name: 'mall_backup_runs_given_up_total', help: 'Held runs deleted unstarted past their startingDeadlineSeconds.', registers: [this.registry] });
  public readonly runWait = new Histogram({
    name: 'mall_backup_run_wait_seconds', help: 'From when a run was due to when the operator started it.', registers: [this.registry],
    buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
  });

  /** Per `namespace/name`: the phase and success time last exported, so unchanged Backups cost nothing. */
  private readonly exported = new Map<string, { phase?: string; lastSuccess?: string; lastRunJob?: string; shrink?: boolean }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Only the current phase is a series: six per Backup (kube-state-metrics style) would be 60 000 series
   * at 10 000 Backups, for queries that `mall_backup_phase{phase="Failed"}` answers as well.
   */
  public recordStatus(namespace: string, name: string, status: BackupStatus): void {
    const key = `${namespace}/${name}`;
    const before = this.exported.get(key) ?? {};
    if (status.lastSuccessfulTime && status.lastSuccessfulTime !== before.lastSuccess) {
      this.lastSuccess.set({ namespace, name }, Date.parse(status.lastSuccessfulTime) / 1000);
    }
    if (status.phase !== before.phase) {
      if (before.phase) this.phase.remove({ namespace, name, phase: before.phase });
      if (status.phase) this.phase.set({ namespace, name, phase: status.phase }, 1);
    }
    const run: LastRun | undefined = status.lastRun;
    if (run && run.job !== before.lastRunJob) {
      for (const [field] of LAST_RUN_NUMBERS) {
        if (run[field] === undefined) this.lastRun[field].remove({ namespace, name });
        else this.lastRun[field].set({ namespace, name }, run[field]!);
      }
    }
    const shrink = status.conditions?.some((c) => c.type === 'ShrinkDetected' && c.status === 'True') ?? false;
    if (shrink !== before.shrink) this.shrinkDetected.set({ namespace, name }, shrink ? 1 : 0);
    this.exported.set(key, { phase: status.phase, lastSuccess: status.lastSuccessfulTime ?? before.lastSuccess, lastRunJob: run?.job ?? before.lastRunJob, shrink });
  }

  public forget(namespace: string, name: string): void {
    const before = this.exported.get(`${namespace}/${name}`);
    if (!before) return;
    this.lastSuccess.remove({ namespace, name });
    for (const [field] of LAST_RUN_NUMBERS) this.lastRun[field].remove({ namespace, name });
    this.shrinkDetected.remove({ namespace, name });
    if (before.phase) this.phase.remove({ namespace, name, phase: before.phase });
    this.exported.delete(`${namespace}/${name}`);
  }
}
