/**
 * VaultMaintained: the newest finished run of a vault's maintenance CronJob (prune + check), shown on every Backup
 * of that vault, since a failed maintenance is otherwise seen by nobody: the vault fills and damage goes unnoticed.
 * The cause comes from the maintenance pod's result (run-result.ts: VaultLocked, WrongPassword, VaultFull,
 * VaultDamaged, ...), else from the Job's own words. Pure: the vault index hands in the Jobs and their pods.
 */
import { MAINTAINED_REASON, maintenanceNameFor, REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import { runResultOf } from './run-outcome';
import { jobCondition, jobStart } from './runs';
import type { Condition, KubeEvent, KubeObject } from './types';
import { CONDITION, REASON } from './vocabulary';

export type MaintainedVerdict = Omit<Condition, 'lastTransitionTime'>;

const finishedAt = (job: KubeObject): string =>
  job.status?.completionTime ?? jobCondition(job, 'Failed', 'FailureTarget')?.lastTransitionTime ?? jobStart(job);

/**
 * The verdict of the newest finished maintenance Job among `jobs` (one vault's), or undefined before any has
 * finished (the CronJob keeps only the newest few; with none left the Backup keeps the condition it has).
 */
export function maintainedVerdict(
  jobs: readonly KubeObject[],
  podsOf: (job: KubeObject) => KubeObject[],
): MaintainedVerdict | undefined {
  const finished = jobs
    .filter((j) => !j.metadata.deletionTimestamp)
    .filter((j) => jobCondition(j, 'Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'))
    .sort((a, b) => finishedAt(a).localeCompare(finishedAt(b)) || a.metadata.name.localeCompare(b.metadata.name));
  const newest = finished[finished.length - 1];
  if (!newest) return undefined;
  const where = `vault maintenance Job ${newest.metadata.namespace}/${newest.metadata.name}`;
  const result = runResultOf(podsOf(newest));
  if (jobCondition(newest, 'Complete', 'SuccessCriteriaMet')) {
    return {
      type: CONDITION.VaultMaintained,
      status: 'True',
      reason: MAINTAINED_REASON,
      message: `${where} finished at ${finishedAt(newest)}: ${result?.message ?? 'pruned and checked the vault'}`,
    };
  }
  const failure = jobCondition(newest, 'Failed', 'FailureTarget');
  const why = result?.message ?? (failure?.message || failure?.reason || 'it failed without a result');
  const cron = maintenanceNameFor(newest.metadata.labels?.[REPOSITORY_LABEL] ?? '');
  return {
    type: CONDITION.VaultMaintained,
    status: 'False',
    reason: result && result.outcome === 'Failed' ? result.reason : REASON.MaintenanceFailed,
    message:
      `${where} failed at ${finishedAt(newest)}: ${why}. Unused data stays in the vault until a maintenance ` +
      `succeeds; once the cause is fixed, \`kubectl -n ${newest.metadata.namespace} create job ${cron}-now ` +
      `--from=cronjob/${cron}\` runs it at once`,
  };
}

/** A Warning Event when the vault's maintenance turns failed, or fails for another reason than before. */
export function maintainedEvents(previous: readonly Condition[] | undefined, next?: MaintainedVerdict): KubeEvent[] {
  if (next?.status !== 'False') return [];
  const before = previous?.find((c) => c.type === CONDITION.VaultMaintained);
  if (before?.status === 'False' && before.reason === next.reason && before.message === next.message) return [];
  return [{ type: 'Warning', reason: REASON.VaultMaintenanceFailed, message: next.message }];
}
