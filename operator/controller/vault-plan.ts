/**
 * The operator's side of a vault, without I/O: which Backups use one repository, who may use it (tenancy),
 * whether its repository exists yet (the init Job), and its maintenance CronJob. Every Backup on a
 * repository reaches the same answer from the same observation, and only one of them (the steward) writes.
 */
import * as api from '../../lib/permits/backup-api';
import {
  initJobManifest,
  initJobNameFor,
  maintenanceCronJobManifest,
  maintenanceNameFor,
  REPOSITORY_LABEL,
  repositoryHash,
} from '../../lib/run/vault-jobs';
import { isSubset } from './values';
import type { BackupObject, KubeObject } from './types';
import type { MaintainedVerdict } from './vault-maintained';
import { REASON } from './vocabulary';
import { planVaultCheck } from './verify-plan';

export interface VaultSettings {
  /** Whether Backups in different namespaces may name one repository (they then share its key). */
  readonly allowCrossNamespace: boolean;
  /** Cron schedule of each repository's prune + check. */
  readonly maintenanceSchedule: string;
  readonly image?: string;
}

export const DEFAULT_MAINTENANCE_SCHEDULE = '0 4 * * 0';

export interface VaultObserved {
  /**
   * Every live Backup naming this Backup's repository (this one included), in every watched namespace. Read only by
   * the steward when `tenancy` is given (it may then be a getter: a vault's users are thousands).
   */
  readonly users: readonly BackupObject[];
  /** Who holds the vault, as `tenancyOf(users)` finds it; the vault index keeps it between changes of its users. */
  readonly tenancy?: Tenancy;
  /** Init Jobs labelled with the repository's hash, in any namespace. */
  readonly initJobs: readonly KubeObject[];
  /** Pods of those Jobs. */
  readonly initPods: readonly KubeObject[];
  /** Maintenance CronJobs labelled with the repository's hash, in any namespace. */
  readonly maintenance: readonly KubeObject[];
  /** The vault's check CronJobs (spec.verify), their Jobs and those Jobs' pods. */
  readonly checks?: {
    readonly cronJobs: readonly KubeObject[];
    readonly jobs: readonly KubeObject[];
    readonly pods: readonly KubeObject[];
  };
}

export interface VaultPlan {
  readonly hash: string;
  /** Why this Backup may not run yet (or at all); undefined once its repository exists and it may use it. */
  readonly problem?: { readonly reason: string; readonly message: string };
  /** The init Job to create (AlreadyExists counts as done). */
  readonly createInitJob?: KubeObject;
  /** The maintenance CronJob to apply, when it is missing or differs. */
  readonly applyMaintenance?: KubeObject;
  /** The vault's check CronJob to apply, when it is missing or differs (verify-plan.ts). */
  readonly applyCheck?: KubeObject;
  /** The vault's check CronJob to delete: no Backup on the vault asks for verification any more. */
  readonly deleteCheck?: { readonly namespace: string; readonly name: string };
  /** The vault's check runs, for the Verified judgement of every Backup on it. */
  readonly checkRuns: { readonly jobs: readonly KubeObject[]; readonly pods: readonly KubeObject[] };
  /** How the vault's newest finished maintenance went (vault-maintained.ts); undefined before any finished. */
  readonly maintained?: MaintainedVerdict;
}

export function repositoryOf(backup: BackupObject): string {
  return repositoryHash(backup.metadata.namespace ?? '', backup.spec.vaultLocation);
}

/** Creation times parsed once per object version: every reconcile of a vault's Backups compares them all. */
const created = new WeakMap<KubeObject, number>();

function createdAt(o: KubeObject): number {
  let t = created.get(o);
  if (t === undefined) {
    t = Date.parse(o.metadata.creationTimestamp ?? '');
    created.set(o, t);
  }
  return t;
}

/** Negative when `a` came first (created earlier, else the smaller uid): the order stewards are chosen in. */
export function olderFirst(a: KubeObject, b: KubeObject): number {
  return createdAt(a) - createdAt(b) || (a.metadata.uid ?? '').localeCompare(b.metadata.uid ?? '');
}

/**
 * The first of `list` in `older` order, as sorting would put it, in one pass: a vault shared by N Backups
 * is planned on each of their reconciles, and sorting its users each time cost O(N² log N) per sync.
 */
function oldest<T extends KubeObject>(list: readonly T[]): T {
  return list.reduce((first, o) => (olderFirst(o, first) < 0 ? o : first));
}

function jobState(job: KubeObject): 'Complete' | 'Failed' | undefined {
  const c = (job.status?.conditions ?? []).find(
    (x: any) => x.status === 'True' && ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(x.type),
  );
  if (!c) return undefined;
  return c.type === 'Complete' || c.type === 'SuccessCriteriaMet' ? 'Complete' : 'Failed';
}

function podTail(pods: readonly KubeObject[]): string | undefined {
  for (const pod of pods) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const t = cs.state?.terminated ?? cs.lastState?.terminated;
      if (t && t.exitCode !== 0)
        return String(t.message ?? t.reason ?? `exit code ${t.exitCode}`)
          .trim()
          .split('\n')
          .slice(-2)
          .join(' | ');
      if (cs.state?.waiting?.reason && cs.state.waiting.reason !== 'ContainerCreating')
        return `${cs.state.waiting.reason}${cs.state.waiting.message ? `: ${cs.state.waiting.message}` : ''}`;
    }
  }
  return undefined;
}

/** Who holds a vault: the namespace it lives in and the Backup there that does its work. */
export interface Tenancy {
  readonly home: string;
  readonly steward: BackupObject;
}

/** The live users of a vault, `backup` among them. */
function liveUsers(backup: BackupObject | undefined, all: readonly BackupObject[]): BackupObject[] {
  const users = all.filter((b) => !b.metadata.deletionTimestamp);
  if (backup && !users.some((u) => u.metadata.uid === backup.metadata.uid)) users.push(backup);
  return users;
}

/**
 * The namespace that holds the vault: where its maintenance already lives while Backups there still use it, else
 * the oldest user's; its steward is the oldest user there. Undefined when the vault has no live user.
 */
export function tenancyOf(
  users: readonly BackupObject[],
  maintenance: readonly KubeObject[],
  backup?: BackupObject,
): Tenancy | undefined {
  const live = liveUsers(backup, users);
  if (live.length === 0) return undefined;
  const namespaces = new Set(live.map((u) => u.metadata.namespace));
  const home =
    maintenance.map((m) => m.metadata.namespace).find((ns) => namespaces.has(ns)) ?? oldest(live).metadata.namespace!;
  return { home, steward: oldest(live.filter((u) => u.metadata.namespace === home)) };
}

export function planVault(backup: BackupObject, seen: VaultObserved, settings: VaultSettings): VaultPlan {
  const hash = repositoryOf(backup);
  // Backups elsewhere share the vault only when the cluster allows it.
  const { home, steward } = seen.tenancy ?? tenancyOf(seen.users, seen.maintenance, backup)!;
  // Only the steward reads every user (its owners, its checks): the others plan in time independent of their number.
  const users = () => liveUsers(backup, seen.users);
  const local = () => users().filter((u) => u.metadata.namespace === home);
  const isSteward = steward.metadata.uid === backup.metadata.uid;
  const where = `${home}/`;

  if (backup.metadata.namespace !== home && !settings.allowCrossNamespace) {
    return {
      hash,
      checkRuns: { jobs: [], pods: [] },
      problem: {
        reason: REASON.VaultSharedAcrossNamespaces,
        message:
          `vault ${backup.spec.vaultLocation} is already used by Backup ${home}/${steward.metadata.name} in another ` +
          `namespace; ` +
          "sharing a vault shares its key (each can read and prune the other's snapshots): give this shop its own " +
          'vault, ' +
          'or start the operator with --allow-cross-namespace-vaults to allow it',
      },
    };
  }

  const initJob = [...seen.initJobs].sort(olderFirst).find((j) => j.metadata.labels?.[REPOSITORY_LABEL] === hash);
  const state = initJob && jobState(initJob);
  const props = { namespace: steward.metadata.namespace!, spec: steward.spec, image: settings.image };
  let createInitJob: KubeObject | undefined;
  let problem: VaultPlan['problem'];
  if (!initJob) {
    if (isSteward) {
      createInitJob = initJobManifest(props);
      // Kept while its Backup lives: the finished Job is the record that the repository exists.
      createInitJob!.metadata.ownerReferences = [owner(steward)];
    }
    problem = {
      reason: REASON.VaultInitializing,
      message:
        `waiting for the vault to be initialized: Job ${where}${initJobNameFor(hash)} creates its repository ` + `once`,
    };
  } else if (state === undefined) {
    // Worded as before the Job was seen: the watch bringing back the Job just created changes no status.
    problem = {
      reason: REASON.VaultInitializing,
      message:
        `waiting for the vault to be initialized: Job ${initJob.metadata.namespace}/${initJob.metadata.name} ` +
        `creates its repository once${describe(podTail(seen.initPods))}`,
    };
  } else if (state === 'Failed') {
    const failure = (initJob.status?.conditions ?? []).find((c: any) => c.type === 'Failed' && c.status === 'True');
    problem = {
      reason: REASON.VaultInitFailed,
      message:
        `the vault could not be initialized: Job ${initJob.metadata.namespace}/${initJob.metadata.name} failed` +
        `${failure?.message ? ` (${failure.message})` : ''}${describe(podTail(seen.initPods))}; check the vault ` +
        `location and the ` +
        `Secret ${steward.spec.vaultCredentialsSecret} (RESTIC_PASSWORD, provider credentials), then delete that Job ` +
        `to try again`,
    };
  }

  let applyMaintenance: KubeObject | undefined;
  if (isSteward && state === 'Complete') {
    const desired = maintenanceCronJobManifest({ ...props, schedule: settings.maintenanceSchedule });
    desired.metadata.ownerReferences = local().sort(olderFirst).map(owner);
    const current = seen.maintenance.find(
      (m) => m.metadata.namespace === home && m.metadata.name === maintenanceNameFor(hash),
    );
    const same =
      current &&
      isSubset({ metadata: { labels: desired.metadata.labels }, spec: desired.spec }, current) &&
      canonicalOwners(current) === canonicalOwners(desired);
    if (!same) applyMaintenance = desired;
  }
  const checks = seen.checks ?? { cronJobs: [], jobs: [], pods: [] };
  const check =
    isSteward && state === 'Complete'
      ? planVaultCheck({
          hash,
          home,
          steward,
          // Backups elsewhere ask for a check of this vault only where sharing it is allowed.
          users: settings.allowCrossNamespace ? users() : local(),
          owners: local().map(owner),
          current: checks.cronJobs,
          image: settings.image,
        })
      : {};
  return {
    hash,
    problem,
    createInitJob,
    applyMaintenance,
    ...check,
    checkRuns: { jobs: checks.jobs, pods: checks.pods },
  };
}

function describe(tail: string | undefined): string {
  return tail ? `: ${tail}` : '';
}

export function canonicalOwners(obj: KubeObject): string {
  return (obj.metadata.ownerReferences ?? [])
    .map((o) => o.uid)
    .sort()
    .join(',');
}

/**
 * Every Backup in the namespace that uses the vault owns its maintenance: Kubernetes removes it when the last
 * of them is deleted. Not a controller reference, so it never blocks anything.
 */
function owner(b: BackupObject): {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
} {
  return {
    apiVersion: api.BACKUP_API_VERSION,
    kind: api.BACKUP_KIND,
    name: b.metadata.name,
    uid: b.metadata.uid!,
    controller: false,
    blockOwnerDeletion: false,
  };
}

/** The index keys a Backup's repository is filed under (cluster-wide). */
export function vaultKey(backup: BackupObject): string | undefined {
  const location = backup.spec?.vaultLocation;
  return typeof location === 'string' ? `repo:${repositoryOf(backup)}` : undefined;
}
