/**
 * What a Backup's reconcile reads, from the caches: only the objects related to it, found through the indexes (its
 * Jobs and their pods by its uid, its claims by shop and name, the pods that mount them, its CronJobs by name), with
 * its vault's plan and its verification's. Kept apart from the controller so the observation is one readable step.
 */
import { BACKUP_UID_LABEL, cronJobNameFor } from '../../lib/run/backup-names';
import { verifyCronJobNameFor } from '../../lib/run/verify-job';
import type { QueuePlace } from './fleet-gate';
import type { SnapshotClasses } from './snapshot-support';
import type { BackupObject, KubeObject, Settings } from './types';
import type { VaultIndex } from './vault-index';
import type { VaultSettings } from './vault-plan';
import { isVerifyRun, planVerify } from './verify-plan';
import { INDEX } from './vocabulary';
import type { Caches } from './watches';
import type { LastApplied } from './writer';

/** What the observation needs beyond the caches: the controller's own memory and settings. */
export interface ObserveDeps {
  readonly vaults: VaultIndex;
  readonly vault: VaultSettings;
  readonly settings: Settings;
  readonly lastApplied: LastApplied;
  readonly queuePlace?: QueuePlace;
  readonly snapshotClasses: SnapshotClasses;
}

export function observeBackup(caches: Caches, backup: BackupObject, deps: ObserveDeps) {
  const { namespace, name, uid } = backup.metadata as { namespace: string; name: string; uid: string };
  const owned = (o: KubeObject) => o.metadata.labels?.[BACKUP_UID_LABEL] === uid;
  // The Backup's test-restore Jobs carry its uid too: they are judged apart from its backup runs.
  const ownJobs = caches.indexed('jobs', namespace, INDEX.uid, [uid]);
  const jobs = ownJobs.filter((j) => !isVerifyRun(j));
  const jobPods = [
    ...new Map(
      [
        ...caches.indexed('pods', namespace, INDEX.uid, [uid]),
        ...caches.indexed(
          'pods',
          namespace,
          INDEX.job,
          ownJobs.map((j) => j.metadata.name),
        ),
      ].map((p) => [p.metadata.name, p]),
    ).values(),
  ];
  // Only the claims this Backup can select, and only the pods that mount them: all that planning reads.
  const volumeClaims = Array.isArray(backup.spec.volumeClaims) ? backup.spec.volumeClaims : [];
  const claims = [
    ...new Map(
      [
        ...caches.indexed('claims', namespace, INDEX.shop, [backup.spec.shopName]),
        ...caches.indexed('claims', namespace, INDEX.name, volumeClaims),
      ].map((c) => [c.metadata.name, c]),
    ).values(),
  ];
  const found = caches.get('cronjobs', namespace, cronJobNameFor(name));
  const cronJob = found && owned(found) ? found : undefined;
  const vault = deps.vaults.planFor(backup, (ns, job) => caches.indexed('pods', ns, INDEX.job, [job]), deps.vault);
  const verifyCron = caches.get('cronjobs', namespace, verifyCronJobNameFor(name));
  const verify = planVerify({
    backup,
    cronJob: verifyCron && owned(verifyCron) ? verifyCron : undefined,
    runnable: vault !== undefined && vault.problem === undefined,
    jobs: ownJobs.filter(isVerifyRun),
    checkJobs: vault?.checkRuns.jobs ?? [],
    pods: [...jobPods, ...(vault?.checkRuns.pods ?? [])],
    image: deps.settings.resticImage,
    scratchSize: deps.settings.verifyScratchSize,
    now: new Date(),
  });
  const observed = {
    verification: verify,
    vaultProblem: vault?.problem,
    vaultMaintained: vault?.maintained,
    backup,
    cronJob,
    lastApplied: deps.lastApplied.get(uid),
    jobs,
    jobPods,
    claims,
    namespacePods: caches
      .indexed(
        'pods',
        namespace,
        INDEX.claim,
        claims.map((c) => c.metadata.name),
      )
      .filter((p) => !owned(p)),
    now: new Date(),
    queuePlace: deps.queuePlace,
    snapshotClasses: deps.snapshotClasses,
  };
  return { observed, cronJob, vault, verify };
}
