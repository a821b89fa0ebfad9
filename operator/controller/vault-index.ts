/**
 * The operator's cluster-wide view of vaults, kept from its informers: the Backups naming each repository and the
 * per-vault Jobs and CronJobs labelled with it. A Backup coming, going or changing vault, and any change to a
 * vault's work, queues that vault's Backups (a new user can change who holds it; a finished init Job lets them run).
 */
import { componentOf } from '../../lib/common/labels';
import type { KubernetesObject } from '@kubernetes/client-node';
import { validateBackupSpec } from '../../lib/permits/backup-validation';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import { VAULT_CHECK_COMPONENT } from '../../lib/run/verify-job';
import { ClusterIndex } from '../runtime/cluster-index';
import type { BackupObject, KubeObject } from './types';
import { maintainedVerdict } from './vault-maintained';
import { planVault, vaultKey, VaultPlan, VaultSettings } from './vault-plan';

interface Events {
  on(event: 'add' | 'update' | 'delete', handler: (obj: KubernetesObject) => void): void;
}

export class VaultIndex {
  // Only valid Backups count as users: one that never reconciles its vault work must not be chosen to do it.
  private readonly users = new ClusterIndex((b) =>
    validateBackupSpec((b as BackupObject).spec ?? {}).length > 0 ? [] : [vaultKey(b as BackupObject)],
  );
  private readonly work = new ClusterIndex((o) => [
    o.metadata.labels?.[REPOSITORY_LABEL] && `repo:${o.metadata.labels[REPOSITORY_LABEL]}`,
  ]);

  constructor(private readonly enqueue: (backup: KubeObject) => void) {}

  /**
   * Files the objects of an informer: Backups (`users`) or the Jobs and CronJobs labelled with a repository (`work`).
   */
  public watch(kind: 'users' | 'work', events: Events): void {
    const index = kind === 'users' ? this.users : this.work;
    const requeue = (keys: readonly string[]) => {
      for (const k of keys) for (const b of this.users.get(k)) this.enqueue(b);
    };
    const file = (event: 'add' | 'update') => (obj: KubernetesObject) => {
      const before = index.keysFiled(obj as KubeObject);
      index.set(obj as KubeObject);
      const after = index.keysFiled(obj as KubeObject);
      // A Backup's status writes must not queue every sharer of its vault: only a change of vault does.
      if (kind === 'work' || event === 'add' || before.join() !== after.join())
        requeue([...new Set([...before, ...after])]);
    };
    events.on('add', file('add'));
    events.on('update', file('update'));
    events.on('delete', (obj) => {
      const before = index.keysFiled(obj as KubeObject);
      index.remove(obj as KubeObject);
      requeue(before);
    });
  }

  /** Queues the Backups on the repository with this hash (a vault check's pod reported). */
  public requeue(hash: string): void {
    for (const b of this.users.get(`repo:${hash}`)) this.enqueue(b);
  }

  /** What the Backup's vault allows and the per-vault work to do; undefined for a spec that names no valid vault. */
  public planFor(
    backup: BackupObject,
    podsOfJob: (namespace: string, job: string) => KubeObject[],
    settings: VaultSettings,
  ): VaultPlan | undefined {
    const key = vaultKey(backup);
    if (!key || validateBackupSpec(backup.spec).length > 0) return undefined;
    const work = this.work.get(key);
    // The maintenance CronJob's own Jobs carry the repository label too: told apart by component and kind.
    const initJobs = work.filter((o) => componentOf(o) === 'vault-init' && o.spec?.schedule === undefined);
    const checkJobs = work.filter((o) => componentOf(o) === VAULT_CHECK_COMPONENT && o.spec?.schedule === undefined);
    const maintenanceJobs = work.filter(
      (o) => componentOf(o) === 'vault-maintenance' && o.spec?.schedule === undefined,
    );
    const maintained = maintainedVerdict(maintenanceJobs, (j) => podsOfJob(j.metadata.namespace!, j.metadata.name));
    const plan = planVault(
      backup,
      {
        users: this.users.get(key) as BackupObject[],
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
