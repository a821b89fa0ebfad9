/**
 * What the newest finished run's result adds to the status: its numbers (lastRun), the PartiallyFailed
 * outcome, and the shrink guard (a condition, a Warning Event and the command that acknowledges it).
 */
import type { BackupStatusLastRun } from '../../lib/permits/api-types';
import type { RunResult } from '../../lib/run/run-result';
import { ACKNOWLEDGE_SHRINK_ANNOTATION } from '../../lib/permits/backup-api';
import { CONDITION, REASON } from './vocabulary';

/** The status's record of the newest finished run that left a result (generated from the schema's status.lastRun). */
export type LastRun = BackupStatusLastRun;

/** The states the status schema admits (anything else from a run would make the whole status write fail). */
const RETENTION_STATES: readonly string[] = [
  'applied',
  'skipped',
  'skipped-shrunk',
  'deferred',
  'failed',
] satisfies NonNullable<LastRun['retention']>[];
const isRetentionState = (state: string | undefined): state is NonNullable<LastRun['retention']> =>
  RETENTION_STATES.includes(state ?? '');

export function lastRunOf(jobName: string, result: RunResult): LastRun {
  const s = result.stats;
  const run: LastRun = {
    job: jobName,
    outcome: result.outcome,
    reason: result.reason,
    snapshotID: result.snapshot,
    filesNew: s?.filesNew,
    filesChanged: s?.filesChanged,
    bytesAdded: s?.bytesAdded,
    durationSeconds: s === undefined ? undefined : Math.round(s.durationSeconds),
    snapshotFiles: s?.totalFiles,
    snapshotBytes: s?.totalBytes,
    unreadableFiles: result.unreadable?.count,
    retention: isRetentionState(result.retention) ? result.retention : undefined,
  };
  for (const key of Object.keys(run) as (keyof LastRun)[]) if (run[key] === undefined) delete run[key];
  return run;
}

/**
 * ShrinkDetected: True while the newest run held retention back because the shop shrank drastically; False once
 * a run applied retention again. Undefined when the run says nothing about it (the previous condition stays).
 */
export function shrinkCondition(
  backupName: string,
  result: RunResult,
): { type: string; status: 'True' | 'False'; reason: string; message: string } | undefined {
  if (result.retention === 'skipped-shrunk') {
    return {
      type: CONDITION.ShrinkDetected,
      status: 'True',
      reason: REASON.ShrinkDetected,
      message:
        `${result.message}. Older snapshots are kept. If the shop ` +
        `really is this small now, acknowledge it: kubectl annotate ` +
        `backup ${backupName} ${ACKNOWLEDGE_SHRINK_ANNOTATION}=${result.snapshot ?? '<snapshot ID>'} --overwrite`,
    };
  }
  if (result.retention === 'applied') {
    return {
      type: CONDITION.ShrinkDetected,
      status: 'False',
      reason: REASON.NoShrink,
      message: 'the newest snapshot did not shrink drastically against the reference',
    };
  }
  return undefined;
}
