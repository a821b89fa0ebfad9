/**
 * The operator's side of spec.verify, without I/O: the vault's check CronJob (one per repository, beside its
 * maintenance), each verifying Backup's test-restore CronJob, and what the runs of both say about the Backup
 * (verification.ts). Every Backup on a vault reaches the same check from the same observation; only the vault's
 * steward writes it (vault-plan.ts).
 */
import { componentOf } from '../../lib/common/labels';
import * as api from '../../lib/permits/backup-api';
import type { BackupRef } from '../../lib/run/backup-names';
import {
  VERIFY_COMPONENT,
  vaultCheckCronJobManifest,
  vaultCheckNameFor,
  verifyCronJobManifest,
} from '../../lib/run/verify-job';
import type { BackupObject, Condition, KubeEvent, KubeObject } from './types';
import { isSubset } from './values';
import { judgeVerification, VERIFIED_CONDITION } from './verification';

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

export interface VaultCheckInput {
  readonly hash: string;
  /** The namespace holding the vault's work. */
  readonly home: string;
  /** The Backup whose Secret the vault's work uses (a Backup in `home`). */
  readonly steward: BackupObject;
  /** The Backups that may use the vault, oldest first. */
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
  const first = verifying[0];
  const subset = verifying
    .map((u) => u.spec.verify!.readDataSubset ?? api.DEFAULT_READ_DATA_SUBSET)
    .reduce((a, b) => (percent(b) > percent(a) ? b : a));
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
    const desired = verifyCronJobManifest({ backup: ref, spec: backup.spec, image: seen.image });
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
  const previous = backup.status?.conditions?.find((c) => c.type === VERIFIED_CONDITION);
  const verdict = judgeVerification({ checkJobs: seen.checkJobs, restoreJobs: seen.jobs, pods: seen.pods }, previous);
  // No finished run in sight (e.g. its Jobs were cleaned up): what was last judged stands.
  if (!verdict.condition) return { applyCronJob, condition: previous, events: [] };
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
  return { applyCronJob, ...verdict };
}
