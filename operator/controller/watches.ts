/**
 * What the Backup and Restore controller watches, one entry per kind: where to list it, what to keep of
 * each object, the indexes a reconcile reads it through, and which Backups and Restores a change of it
 * concerns. Adding a watched kind is one entry here, plus list and watch in the operator's ClusterRole
 * (lib/contractor/operator-rbac.ts).
 */
import * as api from '../../lib/permits/backup-api';
import { pvcVaultClaim } from '../../lib/permits/backup-validation';
import * as rapi from '../../lib/permits/restore-api';
import { BACKUP_LABEL, BACKUP_UID_LABEL } from '../../lib/run/backup-names';
import { RESTORE_LABEL, RESTORE_UID_LABEL } from '../../lib/run/restore-job';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import type { KubeObject } from '../runtime/kube-object';
import { trimMetadata, trimPod } from '../runtime/trim';
import type { CacheReader, WatchTable } from '../runtime/watch-table';
import { isFinal, RESTORE_KEY_PREFIX } from './restore-writer';
import type { RestoreObject } from './types';
import type { BackupObject } from './types';
import { INDEX } from './vocabulary';

export type WatchedKindName =
  | 'backups'
  | 'cronjobs'
  | 'jobs'
  | 'pods'
  | 'claims'
  | 'restores'
  | 'restoreJobs'
  | 'vaultjobs'
  | 'vaultcrons';
export type Caches = CacheReader<WatchedKindName>;

/** Work-queue keys: a Backup's is `namespace/name`, a Restore's carries RESTORE_KEY_PREFIX. */
export const backupKey = (namespace: string, name: string): string => `${namespace}/${name}`;
export const restoreKey = (namespace: string, name: string): string => `${RESTORE_KEY_PREFIX}${namespace}/${name}`;

export const claimNamesMountedBy = (pod: KubeObject): string[] =>
  (pod.spec?.volumes ?? [])
    .map((v: any) => v.persistentVolumeClaim?.claimName)
    .filter((n: unknown): n is string => typeof n === 'string');

const label = (obj: KubeObject, key: string): string | undefined => obj.metadata.labels?.[key];

/** Restores not yet finished in `namespace` (all namespaces when undefined): few, so listed, not indexed. */
export function unfinishedRestores(caches: Caches, namespace?: string): string[] {
  return (caches.list('restores', namespace) as RestoreObject[])
    .filter((r) => !isFinal(r))
    .map((r) => restoreKey(r.metadata.namespace!, r.metadata.name));
}

/** The Backups that name a claim or back up a shop: a claim coming or going, or a pod taking one, concerns them. */
function backupsUsing(
  caches: Caches,
  namespace: string,
  claims: readonly string[],
  shops: readonly string[],
): string[] {
  const found = new Map<string, KubeObject>();
  for (const b of caches.indexed('backups', namespace, INDEX.claim, claims)) found.set(b.metadata.name, b);
  for (const b of caches.indexed('backups', namespace, INDEX.shop, shops)) found.set(b.metadata.name, b);
  return [...found.keys()].map((name) => backupKey(namespace, name));
}

/** The Backup a labelled object belongs to, else those `others` finds. */
const ownerOr = (obj: KubeObject, others: () => string[]): string[] => {
  const owner = label(obj, BACKUP_LABEL);
  return owner ? [backupKey(obj.metadata.namespace!, owner)] : others();
};

const compact = (values: readonly (string | undefined)[]): string[] => values.filter((v): v is string => !!v);

export const WATCHES: WatchTable<WatchedKindName> = {
  backups: {
    label: 'backups',
    apiVersion: api.BACKUP_API_VERSION,
    plural: api.BACKUP_PLURAL,
    trim: trimMetadata,
    indexes: {
      [INDEX.shop]: (b) => [(b as BackupObject).spec?.shopName],
      [INDEX.claim]: (b) => {
        const spec = (b as BackupObject).spec ?? {};
        const vault = typeof spec.vaultLocation === 'string' ? pvcVaultClaim(spec.vaultLocation) : undefined;
        return [...(Array.isArray(spec.volumeClaims) ? spec.volumeClaims : []), vault];
      },
    },
    // A Restore waiting for its Backup is looked at again when the Backup changes.
    enqueue: (b, caches) => [
      ...unfinishedRestores(caches, b.metadata.namespace),
      backupKey(b.metadata.namespace!, b.metadata.name),
    ],
  },
  cronjobs: {
    label: 'cronjobs',
    apiVersion: 'batch/v1',
    plural: 'cronjobs',
    labelSelector: BACKUP_UID_LABEL,
    trim: trimMetadata,
    enqueue: (c) => ownerOr(c, () => []),
  },
  jobs: {
    label: 'jobs',
    apiVersion: 'batch/v1',
    plural: 'jobs',
    labelSelector: BACKUP_UID_LABEL,
    trim: trimMetadata,
    indexes: { [INDEX.uid]: (j) => [label(j, BACKUP_UID_LABEL)] },
    enqueue: (j) => ownerOr(j, () => []),
  },
  pods: {
    label: 'pods',
    apiVersion: 'v1',
    plural: 'pods',
    trim: trimPod,
    indexes: {
      [INDEX.uid]: (p) => [label(p, BACKUP_UID_LABEL)],
      [INDEX.job]: (p) => [label(p, 'job-name')],
      [INDEX.claim]: claimNamesMountedBy,
    },
    // A Restore's pod concerns that Restore only; any other pod may free or take a claim a Restore waits for.
    enqueue: (p, caches) => {
      const ns = p.metadata.namespace!;
      const restore = label(p, RESTORE_LABEL);
      if (restore) return [restoreKey(ns, restore)];
      return [
        ...unfinishedRestores(caches, ns),
        ...ownerOr(p, () => {
          const claims = claimNamesMountedBy(p);
          const shops = caches.indexed('claims', ns, INDEX.name, claims).map((c) => label(c, api.SHOP_LABEL));
          return backupsUsing(caches, ns, claims, compact(shops));
        }),
      ];
    },
  },
  claims: {
    label: 'claims',
    apiVersion: 'v1',
    plural: 'persistentvolumeclaims',
    trim: trimMetadata,
    indexes: {
      [INDEX.name]: (c) => [c.metadata.name],
      [INDEX.shop]: (c) => [label(c, api.SHOP_LABEL)],
    },
    enqueue: (c, caches) => {
      const ns = c.metadata.namespace!;
      return [
        ...unfinishedRestores(caches, ns),
        ...ownerOr(c, () => backupsUsing(caches, ns, [c.metadata.name], compact([label(c, api.SHOP_LABEL)]))),
      ];
    },
  },
  restores: {
    label: 'restores',
    apiVersion: api.BACKUP_API_VERSION,
    plural: rapi.RESTORE_PLURAL,
    trim: trimMetadata,
    enqueue: (r) => [restoreKey(r.metadata.namespace!, label(r, RESTORE_LABEL) ?? r.metadata.name)],
  },
  restoreJobs: {
    label: 'restore jobs',
    apiVersion: 'batch/v1',
    plural: 'jobs',
    labelSelector: RESTORE_UID_LABEL,
    trim: trimMetadata,
    indexes: { [INDEX.uid]: (j) => [label(j, RESTORE_UID_LABEL)] },
    enqueue: (j) => [restoreKey(j.metadata.namespace!, label(j, RESTORE_LABEL) ?? j.metadata.name)],
  },
  // Per-vault work (init Jobs, maintenance CronJobs), in whichever namespace holds the vault; the vault
  // index (vault-index.ts) queues the vault's Backups when it changes.
  vaultjobs: {
    label: 'vault jobs',
    apiVersion: 'batch/v1',
    plural: 'jobs',
    labelSelector: REPOSITORY_LABEL,
    trim: trimMetadata,
  },
  vaultcrons: {
    label: 'vault cronjobs',
    apiVersion: 'batch/v1',
    plural: 'cronjobs',
    labelSelector: REPOSITORY_LABEL,
    trim: trimMetadata,
  },
};
