/**
 * The operator's cluster-wide view of vaults, kept from its informers: the Backups naming each repository and the
 * per-vault Jobs and CronJobs labelled with it. A Backup coming, going or changing vault, and any change to a
 * vault's work, queues that vault's Backups (a new user can change who holds it; a finished init Job lets them run).
 */
import { componentOf } from '../../lib/common/labels';
import type { KubernetesObject } from '@kubernetes/client-node';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import { VAULT_CHECK_COMPONENT } from '../../lib/run/verify-job';
import { ClusterIndex } from '../runtime/cluster-index';
import type { BackupObject, KubeObject } from './types';
import { canonicalJson } from './values';
import { maintainedVerdict } from './vault-maintained';
import { specProblems } from './spec-problems';
import {
  olderFirst,
  planVault,
  type Tenancy,
  tenancyOf,
  vaultKey,
  type VaultPlan,
  type VaultSettings,
} from './vault-plan';

interface Events {
  on(event: 'add' | 'update' | 'delete', handler: (obj: KubernetesObject) => void): void;
}

const isCronJob = (o: KubeObject) => o.spec?.schedule !== undefined;

/** The same place in the vault's order of users: same age, same liveness (its spec or status may have moved). */
function sameUser(a: BackupObject, b: BackupObject): boolean {
  return (
    a.metadata.uid === b.metadata.uid &&
    a.metadata.creationTimestamp === b.metadata.creationTimestamp &&
    a.metadata.deletionTimestamp === b.metadata.deletionTimestamp
  );
}

/** Nothing a vault plan reads moved: only the status did (the operator's own writes, mostly). */
const sameSpec = (a: BackupObject, b: BackupObject): boolean =>
  a.metadata.generation === b.metadata.generation && canonicalJson(a.spec) === canonicalJson(b.spec);

export class VaultIndex {
  // Only valid Backups count as users: one that never reconciles its vault work must not be chosen to do it.
  private readonly users = new ClusterIndex((b) =>
    specProblems(b as BackupObject).length > 0 ? [] : [vaultKey(b as BackupObject)],
  );
  private readonly work = new ClusterIndex((o) => [
    o.metadata.labels?.[REPOSITORY_LABEL] && `repo:${o.metadata.labels[REPOSITORY_LABEL]}`,
  ]);
  /**
   * Per vault key, who holds it, kept between changes of its users or its work: judging it reads every user, and a
   * vault is planned on each of its users' reconciles (thousands on one vault made each sync quadratic).
   */
  private readonly tenancies = new Map<string, Tenancy | undefined>();

  /**
   * `active` says whether queueing counts (the lead is held): while it does not (the informers' first LIST), a
   * change only files the object, since taking the lead queues every Backup anyway.
   */
  constructor(
    private readonly enqueue: (backup: KubeObject) => void,
    private readonly active: () => boolean = () => true,
  ) {}

  /**
   * Files the objects of an informer: Backups (`users`) or the Jobs and CronJobs labelled with a repository (`work`).
   * A change queues only the Backups it concerns: a user coming, going or changing its spec concerns the steward
   * (the maintenance CronJob's owners, the checks) and, when it changes who holds the vault, every user; a finished
   * Job concerns every user; the vault's CronJobs concern the steward, or every user when they move its home.
   */
  public watch(kind: 'users' | 'work', events: Events): void {
    const change = kind === 'users' ? this.userChanged.bind(this) : this.workChanged.bind(this);
    const index = kind === 'users' ? this.users : this.work;
    events.on('add', (obj) => change(obj as KubeObject, () => index.set(obj as KubeObject)));
    events.on('update', (obj) => change(obj as KubeObject, () => index.set(obj as KubeObject)));
    events.on('delete', (obj) => change(obj as KubeObject, () => index.remove(obj as KubeObject)));
  }

  private userChanged(obj: KubeObject, file: () => void): void {
    const was = new Set(this.users.keysFiled(obj));
    const before = this.users.find(obj) as BackupObject | undefined;
    if (!this.active()) {
      file();
      for (const k of [...was, ...this.users.keysFiled(obj)]) this.tenancies.delete(k);
      return;
    }
    // Who held each vault the change may concern, before it: the one it was filed under and the one it names now.
    const concerned = new Set([...was, vaultKey(obj as BackupObject)].filter((k): k is string => !!k));
    const held = new Map([...concerned].map((k) => [k, this.tenancy(k)]));
    file();
    const after = this.users.find(obj) as BackupObject | undefined;
    for (const k of new Set([...was, ...this.users.keysFiled(obj)])) {
      const tenancy = held.get(k);
      const steward = tenancy?.steward.metadata.uid;
      const stays = was.has(k) && this.users.keysFiled(obj).includes(k);
      const comes = !was.has(k);
      const unmoved =
        tenancy !== undefined &&
        (stays
          ? sameUser(before!, after!)
          : comes
            ? !after!.metadata.deletionTimestamp && olderFirst(tenancy.steward, after!) < 0
            : obj.metadata.uid !== steward);
      if (!unmoved) {
        this.tenancies.delete(k);
        const now = this.tenancy(k);
        if (now?.home !== tenancy?.home || now?.steward.metadata.uid !== steward) {
          this.requeue(k);
          continue;
        }
      }
      if (stays && sameSpec(before!, after!)) continue;
      // The steward's spec words every user's message (its Secret); anyone else's concerns the steward's plans only.
      if (obj.metadata.uid === steward && !comes) this.requeue(k);
      else if (tenancy) this.enqueue(this.tenancy(k)!.steward);
    }
  }

  private workChanged(obj: KubeObject, file: () => void): void {
    const label = obj.metadata.labels?.[REPOSITORY_LABEL];
    const keys = new Set([...this.work.keysFiled(obj), ...(label ? [`repo:${label}`] : [])]);
    const held = this.active() ? new Map([...keys].map((k) => [k, this.tenancy(k)])) : undefined;
    file();
    for (const k of this.work.keysFiled(obj)) keys.add(k);
    for (const k of keys) {
      // Only the maintenance CronJob's namespace counts in who holds the vault.
      if (isCronJob(obj)) this.tenancies.delete(k);
      if (!held) continue;
      const was = held.get(k);
      const now = this.tenancy(k);
      // Init, check and maintenance Jobs are judged by every user; the vault's CronJobs are the steward's own work.
      if (!isCronJob(obj) || now?.home !== was?.home || now?.steward.metadata.uid !== was?.steward.metadata.uid)
        this.requeue(k);
      else if (now) this.enqueue(now.steward);
    }
  }

  /** Queues the Backups on the repository with this hash (a vault check's pod reported). */
  public requeue(hash: string): void {
    for (const b of this.users.get(hash.startsWith('repo:') ? hash : `repo:${hash}`)) this.enqueue(b);
  }

  /** Who holds the vault filed under `key`, judged again only after its users or work changed. */
  private tenancy(key: string): Tenancy | undefined {
    if (!this.tenancies.has(key)) {
      const maintenance = this.work.get(key).filter((o) => componentOf(o) === 'vault-maintenance' && isCronJob(o));
      this.tenancies.set(key, tenancyOf(this.users.get(key) as BackupObject[], maintenance));
    }
    const found = this.tenancies.get(key);
    // The steward as last filed: its spec words the plans of every user.
    const steward = found && (this.users.find(found.steward) as BackupObject | undefined);
    return found && steward ? { home: found.home, steward } : found;
  }

  /** What the Backup's vault allows and the per-vault work to do; undefined for a spec that names no valid vault. */
  public planFor(
    backup: BackupObject,
    podsOfJob: (namespace: string, job: string) => KubeObject[],
    settings: VaultSettings,
  ): VaultPlan | undefined {
    const key = vaultKey(backup);
    if (!key || specProblems(backup).length > 0) return undefined;
    const work = this.work.get(key);
    // The maintenance CronJob's own Jobs carry the repository label too: told apart by component and kind.
    const initJobs = work.filter((o) => componentOf(o) === 'vault-init' && o.spec?.schedule === undefined);
    const checkJobs = work.filter((o) => componentOf(o) === VAULT_CHECK_COMPONENT && o.spec?.schedule === undefined);
    const maintenanceJobs = work.filter(
      (o) => componentOf(o) === 'vault-maintenance' && o.spec?.schedule === undefined,
    );
    const maintained = maintainedVerdict(maintenanceJobs, (j) => podsOfJob(j.metadata.namespace!, j.metadata.name));
    const users = this.users;
    const plan = planVault(
      backup,
      {
        // Read by the steward only: the others' plans take the same time whatever the vault's number of users.
        get users() {
          return users.get(key) as BackupObject[];
        },
        tenancy: this.tenancy(key),
        initJobs,
        initPods: initJobs.flatMap((j) => podsOfJob(j.metadata.namespace!, j.metadata.name)),
        maintenance: work.filter((o) => componentOf(o) === 'vault-maintenance' && o.spec?.schedule !== undefined),
        checks: {
          cronJobs: work.filter((o) => componentOf(o) === VAULT_CHECK_COMPONENT && o.spec?.schedule !== undefined),
          jobs: checkJobs,
          pods: checkJobs.flatMap((j) => podsOfJob(j.metadata.namespace!, j.metadata.name)),
        },
      },
      settings,
    );
    return { ...plan, maintained };
  }
}
