/**
 * The operator's rights: exactly the calls it makes (cluster-wide, or per watched namespace), its one Lease,
 * and the aggregation that lets users of the built-in view/edit/admin roles work with Backups and Restores.
 */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import * as api from '../permits/backup-api';
import * as rapi from '../permits/restore-api';
import { standardLabels } from '../common/labels';

/**
 * The ClusterRole (and its cluster-wide binding) for listing storage and snapshot classes:
 * `<operator>-storage-classes`.
 */
export const STORAGE_CLASSES_ROLE_SUFFIX = '-storage-classes';

/**
 * What reconciling calls, no more (each verb below is a call in operator/): the caches list and watch;
 * CronJobs are server-side applied (a PATCH that may create); run-now Jobs are created and, under
 * Replace, deleted; the status is merge-patched; Events are created. Owner references with
 * blockOwnerDeletion need `update` on the owner's finalizers wherever OwnerReferencesPermissionEnforcement
 * is on. Restores: read, status merge-patched, their Job (owned by the Restore, blockOwnerDeletion)
 * created, and the claims of `target.newClaims` created. Runs from snapshots: VolumeSnapshots created,
 * read and deleted, temporary claims read, created and deleted (operator/controller/snapshot-runs.ts);
 * StorageClasses and VolumeSnapshotClasses are listed, cluster-wide whatever namespaces are watched, as
 * they are cluster-scoped. No `*`, no Secrets (vault credentials reach the backup and restore pods only).
 */
export function grantOperatorRights(
  scope: Construct,
  name: string,
  namespace: string,
  labels: Record<string, string>,
  watchNamespaces: string[],
): void {
  const cache = ['list', 'watch'];
  new k8s.KubeClusterRole(scope, 'ClusterRole', {
    metadata: { name, labels },
    rules: [
      { apiGroups: [api.API_GROUP], resources: [api.BACKUP_PLURAL], verbs: cache },
      { apiGroups: [api.API_GROUP], resources: [`${api.BACKUP_PLURAL}/status`], verbs: ['patch'] },
      { apiGroups: [api.API_GROUP], resources: [`${api.BACKUP_PLURAL}/finalizers`], verbs: ['update'] },
      // delete: a test-restore or vault check CronJob once no Backup asks for verification (spec.verify).
      { apiGroups: ['batch'], resources: ['cronjobs'], verbs: [...cache, 'create', 'patch', 'delete'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: [...cache, 'create', 'patch', 'delete'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims', 'pods'], verbs: cache },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      { apiGroups: [api.API_GROUP], resources: [rapi.RESTORE_PLURAL], verbs: cache },
      { apiGroups: [api.API_GROUP], resources: [`${rapi.RESTORE_PLURAL}/status`], verbs: ['patch'] },
      { apiGroups: [api.API_GROUP], resources: [`${rapi.RESTORE_PLURAL}/finalizers`], verbs: ['update'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'get', 'delete'] },
      { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['create', 'get', 'delete'] },
    ],
  });
  const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  const classesRole = `${name}${STORAGE_CLASSES_ROLE_SUFFIX}`;
  new k8s.KubeClusterRole(scope, 'StorageClassesRole', {
    metadata: { name: classesRole, labels },
    rules: [
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['list'] },
      { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshotclasses'], verbs: ['list'] },
    ],
  });
  new k8s.KubeClusterRoleBinding(scope, 'StorageClassesRoleBinding', {
    metadata: { name: classesRole, labels },
    roleRef: { ...roleRef, name: classesRole },
    subjects,
  });
  if (watchNamespaces.length === 0) {
    new k8s.KubeClusterRoleBinding(scope, 'ClusterRoleBinding', { metadata: { name, labels }, roleRef, subjects });
    return;
  }
  for (const watched of watchNamespaces) {
    new k8s.KubeRoleBinding(scope, `RoleBinding-${watched}`, {
      metadata: { name, namespace: watched, labels },
      roleRef,
      subjects,
    });
  }
}

/** Leader election: create the Lease, then touch only that one Lease. */
export function grantLeaseRights(
  scope: Construct,
  leaseName: string,
  name: string,
  namespace: string,
  labels: Record<string, string>,
): void {
  const roleName = `${name}-leader-election`;
  new k8s.KubeRole(scope, 'LeaderElectionRole', {
    metadata: { name: roleName, namespace, labels },
    rules: [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [leaseName],
        verbs: ['get', 'update'],
      },
    ],
  });
  new k8s.KubeRoleBinding(scope, 'LeaderElectionRoleBinding', {
    metadata: { name: roleName, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [{ kind: 'ServiceAccount', name, namespace }],
  });
}

/** Lets users holding the built-in view/edit/admin roles read or manage Backups and file Restores. */
export function aggregateUserRoles(scope: Construct): void {
  const read = ['get', 'list', 'watch'];
  const write = ['create', 'update', 'patch', 'delete', 'deletecollection'];
  const roles: [string, string[], string[]][] = [
    ['view', ['view'], read],
    ['edit', ['edit', 'admin'], [...read, ...write]],
  ];
  for (const [suffix, aggregateTo, verbs] of roles) {
    new k8s.KubeClusterRole(scope, `Aggregate-${suffix}`, {
      metadata: {
        name: `mall-backup-${suffix}`,
        labels: {
          ...standardLabels('rbac'),
          ...Object.fromEntries(aggregateTo.map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, 'true'])),
        },
      },
      rules: [
        { apiGroups: [api.API_GROUP], resources: [api.BACKUP_PLURAL, rapi.RESTORE_PLURAL], verbs },
        {
          apiGroups: [api.API_GROUP],
          resources: [`${api.BACKUP_PLURAL}/status`, `${rapi.RESTORE_PLURAL}/status`],
          verbs: read,
        },
      ],
    });
  }
}
