/**
 * The operator's side of spec.verify, without I/O: the vault's check CronJob (one per repository, beside its
 * maintenance), each verifying Backup's test-restore CronJob, and what the runs of both say about the Backup
 * (verification.ts). Every Backup on a vault reaches the same check from the same observation; only the vault's
 * steward writes it (vault-plan.ts).
 */
import { componentOf } from '../../lib/common/labels';
import * as api from '../../lib/permits/backup-api';
import { human, schedulePeriodSeconds } from '../../lib/permits/freshness';
import type { BackupRef } from '../../lib/run/backup-names';
import {
  VERIFY_COMPONENT,
  vaultCheckCronJobManifest,
  vaultCheckNameFor,
  verifyCronJobManifest,
  verifyCronJobNameFor,
} from '../../lib/run/verify-job';
import type { BackupObject, Condition, KubeEvent, KubeObject } from './types';
import { isSubset } from './values';
import { judgeVerification, type VerificationVerdict } from './verification';
import { CONDITION, REASON } from './vocabulary';

/** A Job or pod of a Backup's test restore, as opposed to one of its backup runs (both carry its uid). */
export function isVerifyRun(o: KubeObject): boolean {
  return componentOf(o) === VERIFY_COMPONENT;
}

/** A readDataSubset percentage as a number, for choosing the largest the vault's Backups ask for. */
function percent(subset: string): number {
  return Number(subset.replace(/%$/, ''));
}

const ownersOf = (o: KubeObject) =>
  (o.metadata.ownerReferences ?? [])
    .map((r) => r.uid)
    .sort()
    .join(',');

/** Whether `a` was filed before `b` (creation time, then uid: one answer for the same two Backups). */
function firstFiled(a: BackupObject, b: BackupObject): boolean {
  const [ta, tb] = [a, b].map((o) => Date.parse(o.metadata.creationTimestamp ?? ''));
  return ta < tb || (ta === tb && (a.metadata.uid ?? '') < (b.metadata.uid ?? ''));
}

export interface VaultCheckInput {
  readonly hash: string;
  /** The namespace holding the vault's work. */
  readonly home: string;
  /** The Backup whose Secret the vault's work uses (a Backup in `home`). */
  readonly steward: BackupObject;
  /** The Backups that may use the vault, in any order. */
  readonly users: readonly BackupObject[];
  /** Owner references: every Backup in `home` on the vault. */
  readonly owners: readonly { uid: string; kind: string; name: string }[];
  /** Check CronJobs labelled with the vault, in any namespace. */
  readonly current: readonly KubeObject[];
  readonly image?: string;
}

/**
 * The vault's check: present while any Backup on the vault has spec.verify, on the schedule (and in the time zone)
 * of the oldest of them, reading the largest subset any of them asks for; unsuspended while any of them is.
 */
export function planVaultCheck(input: VaultCheckInput): {
  applyCheck?: KubeObject;
  deleteCheck?: { namespace: string; name: string };
} {
  const name = vaultCheckNameFor(input.hash);
  const current = input.current.find((c) => c.metadata.namespace === input.home && c.metadata.name === name);
  const verifying = input.users.filter((u) => u.spec.verify && !u.metadata.deletionTimestamp);
  if (verifying.length === 0) return current ? { deleteCheck: { namespace: input.home, name } } : {};
  // By age, whatever order the caches list them in (an operator restarted lists them by name): the schedule must
  // not move with it.
  const first = verifying.reduce((a, b) => (firstFiled(b, a) ? b : a));
  const subset = verifying
    .map((u) => u.spec.verify!.readDataSubset ?? api.DEFAULT_READ_DATA_SUBSET)
    .reduce((a, b) => (percent(b) > percent(a) || (percent(b) === percent(a) && b < a) ? b : a));
  const desired = vaultCheckCronJobManifest({
    namespace: input.home,
    // The vault and its Secret from the steward (both in `home`); when and in which zone from the first to ask.
    spec: { ...input.steward.spec, verify: first.spec.verify, timeZone: first.spec.timeZone },
    scheduledBy: { namespace: first.metadata.namespace, name: first.metadata.name },
    readDataSubset: subset,
    image: input.image,
  });
  desired.spec.suspend = verifying.every((u) => u.spec.suspend === true);
  desired.metadata.ownerReferences = input.owners;
  const same =
    current &&
    isSubset({ metadata: { labels: desired.metadata.labels }, spec: desired.spec }, current) &&
    ownersOf(current) === ownersOf(desired);
  return same ? {} : { applyCheck: desired };
}

export interface VerifyObserved {
  readonly backup: BackupObject;
  /** The Backup's test-restore CronJob, if it exists. */
  readonly cronJob?: KubeObject;
  /** Whether the Backup may run at all now (a valid spec, its vault in place). */
  readonly runnable: boolean;
  /** This Backup's test-restore Jobs. */
  readonly jobs: readonly KubeObject[];
  /** The vault's check Jobs. */
  readonly checkJobs: readonly KubeObject[];
  /** Pods of all those Jobs. */
  readonly pods: readonly KubeObject[];
  readonly image?: string;
  /** The test restore's scratch volume size (the operator's verifyScratchSize). */
  readonly scratchSize?: string;
  /** The clock a passing verification ages by. */
  readonly now: Date;
}

export interface VerifyPlan {
  readonly applyCronJob?: KubeObject;
  readonly deleteCronJob?: string;
  /**
   * What the status says, for reconcile.ts: the Verified condition to keep (undefined to drop it), the fields, Events.
   */
  readonly condition?: Omit<Condition, 'lastTransitionTime'>;
  readonly lastVerifiedTime?: string;
  readonly lastVerifiedSnapshotID?: string;
  readonly events: KubeEvent[];
  /** When a True condition turns stale with no newer passing run: when to look again. */
  readonly staleAt?: Date;
}

/**
 * A passing verification stands for two periods of verify.schedule (Fresh's default objective): a CronJob that stops
 * producing runs (suspended, its Jobs refused by a quota, deleted) would otherwise leave Verified=True for ever, on
 * the strength of a proof that ages. The older of the two passing runs counts: each half proves only its own part.
 */
function aged(
  backup: BackupObject,
  verdict: Pick<VerificationVerdict, 'condition' | 'provenSince' | 'events'>,
  now: Date,
): Pick<VerifyPlan, 'condition' | 'events' | 'staleAt'> {
  const { condition, events } = verdict;
  const since = verdict.provenSince ?? backup.status?.lastVerifiedTime;
  const schedule = backup.spec.verify!.schedule;
  const period = schedulePeriodSeconds(schedule, backup.spec.timeZone, now);
  if (condition?.status !== 'True' || !since || period === undefined) return { condition, events };
  const staleAt = new Date(Date.parse(since) + 2 * period * 1000);
  if (now.getTime() <= staleAt.getTime()) return { condition, events, staleAt };
  const previous = backup.status?.conditions?.find((c) => c.type === CONDITION.Verified);
  const stale = {
    type: CONDITION.Verified,
    status: 'False' as const,
    reason: REASON.VerificationStale,
    message:
      `no verification has passed since ${since}, more than two periods (${human(2 * period)}) of verify.schedule ` +
      `"${schedule}"${backup.spec.suspend ? ' (the Backup is suspended)' : ''}: the verification CronJobs ` +
      `(${verifyCronJobNameFor(backup.metadata.name)} and the vault's vault-check) are not producing passing runs; ` +
      `kubectl get cronjobs,jobs shows whether they are suspended, missing or their Jobs refused; the Backup does ` +
      `not count as protected until a verification passes`,
  };
  const news = previous?.status !== 'False' || previous.reason !== stale.reason;
  return {
    condition: stale,
    events: news ? [{ type: 'Warning', reason: stale.reason, message: stale.message }] : [],
  };
}

export function planVerify(seen: VerifyObserved): VerifyPlan {
  const { backup } = seen;
  const ref: BackupRef = {
    name: backup.metadata.name,
    namespace: backup.metadata.namespace!,
    uid: backup.metadata.uid!,
  };
  if (!backup.spec.verify) {
    // Off: no claim either way. The last verified time and snapshot stay as history.
    return { deleteCronJob: seen.cronJob?.metadata.name, events: [] };
  }
  let applyCronJob: KubeObject | undefined;
  if (seen.runnable) {
    const desired = verifyCronJobManifest({
      backup: ref,
      spec: backup.spec,
      image: seen.image,
      scratchSize: seen.scratchSize,
    });
    const same =
      seen.cronJob &&
      isSubset(
        {
          metadata: { labels: desired.metadata.labels, ownerReferences: desired.metadata.ownerReferences },
          spec: desired.spec,
        },
        seen.cronJob,
      );
    if (!same) applyCronJob = desired;
  }
  const previous = backup.status?.conditions?.find((c) => c.type === CONDITION.Verified);
  const verdict = judgeVerification({ checkJobs: seen.checkJobs, restoreJobs: seen.jobs, pods: seen.pods }, previous);
  // No finished run in sight (e.g. its Jobs were cleaned up): what was last judged stands, as long as it is not stale.
  if (!verdict.condition) return { applyCronJob, ...aged(backup, { condition: previous, events: [] }, seen.now) };
  // Nothing to test-restore before the first backup: not a finding (an alert on every new Backup would be noise).
  // Once the Backup has saved a snapshot, finding none of it in the vault is one.
  if (verdict.condition.reason === 'NoSnapshot' && !backup.status?.lastSnapshotID)
    return {
      applyCronJob,
      condition: {
        ...verdict.condition,
        status: 'Unknown',
        message: `${verdict.condition.message.split(';')[0]}; waiting for the first backup`,
      },
      events: [],
    };
  const { provenSince: _, ...rest } = verdict;
  return { applyCronJob, ...rest, ...aged(backup, verdict, seen.now) };
}
