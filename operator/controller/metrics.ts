import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BACKUP_CONDITIONS } from '../../lib/permits/backup-api';
import { METRIC } from '../../lib/contractor/metric-names';
import { PARTIAL_RUN_REASON, RunOutcome } from '../../lib/run/run-result';
import type { BackupStatus, Condition } from './types';
import type { LastRun } from './run-status';
import { VERIFIED_CONDITION } from './verification';
import { CONDITION } from './vocabulary';

const LAST_RUN_NUMBERS = [
  ['filesNew', 'files_new', "Files new in the newest run's snapshot."],
  ['filesChanged', 'files_changed', 'Files changed in the newest run.'],
  ['bytesAdded', 'bytes_added', 'Bytes the newest run added to the vault.'],
  ['durationSeconds', 'duration_seconds', "How long the newest run's restic backup took."],
  ['snapshotFiles', 'snapshot_files', "Files in the newest run's snapshot."],
  ['snapshotBytes', 'snapshot_bytes', "Bytes in the newest run's snapshot."],
] as const;
type LastRunNumber = (typeof LAST_RUN_NUMBERS)[number][0];

/** The outcome of the newest finished run: status.lastRun's, else read from LastBackupSucceeded. */
export function runOutcomeOf(status: BackupStatus): RunOutcome | undefined {
  if (status.lastRun?.outcome) return status.lastRun.outcome;
  const last = status.conditions?.find((c) => c.type === CONDITION.LastBackupSucceeded);
  if (!last) return undefined;
  if (last.reason === PARTIAL_RUN_REASON) return 'PartiallyFailed';
  return last.status === 'True' ? 'Completed' : 'Failed';
}

/** 1 for True, 0 for False, undefined (no series) otherwise. */
function asGauge(condition: Condition | undefined): number | undefined {
  return condition?.status === 'True' ? 1 : condition?.status === 'False' ? 0 : undefined;
}

interface Exported {
  phase?: string;
  lastSuccess?: string;
  fresh?: number;
  outcome?: string;
  verified?: number;
  maintained?: number;
  lastRunJob?: string;
  shrink?: boolean;
}

/** What the operator exposes on /metrics. */
export class OperatorMetrics {
  public readonly registry = new Registry();
  public readonly reconciles = new Counter({
    name: METRIC.reconciles,
    help: 'Reconciles, by result.',
    labelNames: ['result'],
    registers: [this.registry],
  });
  public readonly reconcileErrors = new Counter({
    name: METRIC.reconcileErrors,
    help: 'Reconciles that failed and were retried.',
    registers: [this.registry],
  });
  public readonly reconcileDuration = new Histogram({
    name: METRIC.reconcileDuration,
    help: 'Time to reconcile one Backup.',
    registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  public readonly apiRequests = new Counter({
    name: METRIC.apiRequests,
    help: 'Requests to the API server.',
    labelNames: ['method', 'code'],
    registers: [this.registry],
  });
  public readonly lastSuccess = new Gauge({
    name: METRIC.lastSuccess,
    help: 'When each Backup last succeeded (Unix time).',
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  public readonly phase = new Gauge({
    name: METRIC.phase,
    help: 'One series per Backup, for the phase it is in (value 1).',
    labelNames: ['namespace', 'name', 'phase'],
    registers: [this.registry],
  });
  public readonly fresh = new Gauge({
    name: METRIC.fresh,
    help: "1 while the Backup's newest good snapshot is within its freshness objective, 0 once it is Stale.",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  public readonly lastRunOutcome = new Gauge({
    name: METRIC.lastRunOutcome,
    help: 'One series per Backup, for the outcome of its newest finished run (value 1).',
    labelNames: ['namespace', 'name', 'outcome'],
    registers: [this.registry],
  });
  public readonly verified = new Gauge({
    name: METRIC.verified,
    help: "1 while the Backup's vault passed its latest verification, 0 once one failed.",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  public readonly vaultMaintained = new Gauge({
    name: METRIC.vaultMaintained,
    help:
      "1 while the newest finished maintenance (prune + check) of the Backup's vault succeeded, 0 while it " +
      'failed; no series before one finished.',
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  public readonly leader = new Gauge({
    name: METRIC.leader,
    help: '1 while this process holds the leader Lease.',
    registers: [this.registry],
  });
  /** Per Backup, restic's numbers from the newest finished run (status.lastRun). */
  public readonly lastRun = Object.fromEntries(
    LAST_RUN_NUMBERS.map(([field, name, help]) => [
      field,
      new Gauge({
        name: `${METRIC.lastRunPrefix}${name}`,
        help,
        labelNames: ['namespace', 'name'],
        registers: [this.registry],
      }),
    ]),
  ) as Record<LastRunNumber, Gauge>;
  public readonly shrinkDetected = new Gauge({
    name: METRIC.shrinkDetected,
    help: "1 while a drastic shrink holds this Backup's retention back, until acknowledged.",
    labelNames: ['namespace', 'name'],
    registers: [this.registry],
  });
  public readonly queueDepth = new Gauge({
    name: METRIC.queueDepth,
    help: 'Backups waiting to be reconciled.',
    registers: [this.registry],
  });
  // The run cap (operator/fleet-gate.ts): only moved when a cap is set.
  public readonly runsRunning = new Gauge({
    name: METRIC.runsRunning,
    help: 'Backup runs started and not finished, as the run cap counts them.',
    registers: [this.registry],
  });
  public readonly runsQueued = new Gauge({
    name: METRIC.runsQueued,
    help: 'Backup runs waiting for a free slot under the run cap.',
    registers: [this.registry],
  });
  public readonly runsStarted = new Counter({
    name: METRIC.runsStarted,
    help: 'Held runs the operator started.',
    registers: [this.registry],
  });
  public readonly runsGivenUp = new Counter({
    name: METRIC.runsGivenUp,
    help: 'Held runs deleted unstarted past their startingDeadlineSeconds.',
    registers: [this.registry],
  });
  public readonly runWait = new Histogram({
    name: METRIC.runWait,
    help: 'From when a run was due to when the operator started it.',
    registers: [this.registry],
    buckets: [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600],
  });

  /** Per `namespace/name`: what was last exported, so unchanged Backups cost nothing. */
  private readonly exported = new Map<string, Exported>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Only the current phase (and outcome) is a series: six per Backup (kube-state-metrics style) would be
   * 60 000 series at 10 000 Backups, for queries that `mall_backup_phase{phase="Failed"}` answers as well.
   */
  public recordStatus(namespace: string, name: string, status: BackupStatus): void {
    const key = `${namespace}/${name}`;
    const labels = { namespace, name };
    const before = this.exported.get(key) ?? {};
    if (status.lastSuccessfulTime && status.lastSuccessfulTime !== before.lastSuccess) {
      this.lastSuccess.set(labels, Date.parse(status.lastSuccessfulTime) / 1000);
    }
    if (status.phase !== before.phase) {
      if (before.phase) this.phase.remove({ ...labels, phase: before.phase });
      if (status.phase) this.phase.set({ ...labels, phase: status.phase }, 1);
    }
    const outcome = runOutcomeOf(status);
    if (outcome !== before.outcome) {
      if (before.outcome) this.lastRunOutcome.remove({ ...labels, outcome: before.outcome });
      if (outcome) this.lastRunOutcome.set({ ...labels, outcome }, 1);
    }
    const fresh = asGauge(status.conditions?.find((c) => c.type === BACKUP_CONDITIONS.Fresh));
    const verified = asGauge(status.conditions?.find((c) => c.type === VERIFIED_CONDITION));
    const maintained = asGauge(status.conditions?.find((c) => c.type === CONDITION.VaultMaintained));
    for (const [gauge, now, was] of [
      [this.fresh, fresh, before.fresh],
      [this.verified, verified, before.verified],
      [this.vaultMaintained, maintained, before.maintained],
    ] as const) {
      if (now === was) continue;
      if (now === undefined) gauge.remove(labels);
      else gauge.set(labels, now);
    }
    const run: LastRun | undefined = status.lastRun;
    if (run && run.job !== before.lastRunJob) {
      for (const [field] of LAST_RUN_NUMBERS) {
        if (run[field] === undefined) this.lastRun[field].remove(labels);
        else this.lastRun[field].set(labels, run[field]!);
      }
    }
    const shrink = status.conditions?.some((c) => c.type === CONDITION.ShrinkDetected && c.status === 'True') ?? false;
    if (shrink !== before.shrink) this.shrinkDetected.set(labels, shrink ? 1 : 0);
    this.exported.set(key, {
      phase: status.phase,
      lastSuccess: status.lastSuccessfulTime ?? before.lastSuccess,
      fresh,
      outcome,
      verified,
      maintained,
      lastRunJob: run?.job ?? before.lastRunJob,
      shrink,
    });
  }

  /**
   * Drops every Backup's series: a process that stops leading no longer follows the Backups, and its last
   * values (a Stale, a Failed) would otherwise sit beside the new leader's and keep alerts firing.
   */
  public forgetAll(): void {
    for (const key of [...this.exported.keys()]) {
      const [namespace, name] = key.split('/');
      this.forget(namespace, name);
    }
  }

  public forget(namespace: string, name: string): void {
    const before = this.exported.get(`${namespace}/${name}`);
    if (!before) return;
    const labels = { namespace, name };
    this.lastSuccess.remove(labels);
    if (before.phase) this.phase.remove({ ...labels, phase: before.phase });
    if (before.outcome) this.lastRunOutcome.remove({ ...labels, outcome: before.outcome });
    if (before.fresh !== undefined) this.fresh.remove(labels);
    if (before.verified !== undefined) this.verified.remove(labels);
    if (before.maintained !== undefined) this.vaultMaintained.remove(labels);
    for (const [field] of LAST_RUN_NUMBERS) this.lastRun[field].remove(labels);
    this.shrinkDetected.remove(labels);
    this.exported.delete(`${namespace}/${name}`);
  }
}
