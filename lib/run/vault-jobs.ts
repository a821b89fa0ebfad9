/**
 * Per-vault work: the Job that creates a repository (once, one writer) and the CronJob that prunes and checks it.
 * Both are named and labelled by a hash of the repository, so every Backup naming one vault shares them.
 */
import { createHash } from 'node:crypto';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { CACHE_MOUNT, RESTIC_IMAGE, STATE_MOUNT, TMP_MOUNT, VAULT_MOUNT, resticRepositoryOf } from './backup-job';
import { pvcVaultClaim } from '../permits/backup-validation';
import { standardLabels } from '../common/labels';
import {
  NONROOT_ID,
  RESTRICTED_CONTAINER_SECURITY_CONTEXT,
  restrictedPodSecurityContext,
} from '../common/pod-security';

export const REPOSITORY_LABEL = `${api.API_GROUP}/repository`;

/**
 * Creates the repository only when it does not exist, asked without a lock (exit 10 = no repository). The
 * operator runs one such Job per repository, so two shops' first runs can never both create it.
 */
export const INIT_SCRIPT = `set -u
restic --no-lock cat config >/dev/null 2>"$RUN_STATE/err"
rc=$?
if [ "$rc" = 0 ]; then echo "mall-backup: the repository exists"; exit 0; fi
if [ "$rc" != 10 ]; then head -c 2000 "$RUN_STATE/err" >&2; exit 1; fi
restic init
`;

/**
 * Per-vault maintenance: exclusive work (prune frees the space forget left, check verifies the structure), waiting
 * a bounded time for backups' locks; stale locks (holder gone) are cleared first so a killed prune never blocks
 * the vault for ever.
 */
export const MAINTENANCE_SCRIPT = `set -u
child=
stopping=
# SIGTERM becomes SIGINT for restic (it removes its lock); TERM as well, for a restic that has not yet installed its
# handler (a background child starts with SIGINT ignored). A stop between steps ends the work there: a prune
# started after it would hold the vault's exclusive lock until the grace period ends and the pod is killed.
trap 'stopping=1; if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi' TERM INT
step() {
  if [ -n "$stopping" ]; then echo "mall-backup: stopped before restic $1" >&2; exit 130; fi
  restic "$@" &
  child=$!
  if [ -n "$stopping" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi
  while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done
  child=
  if [ -n "$stopping" ]; then echo "mall-backup: stopped during restic $1 ($rc)" >&2; exit 130; fi
  if [ "$rc" != 0 ]; then echo "mall-backup: restic $1 failed ($rc)" >&2; exit "$rc"; fi
}
step unlock
step prune --retry-lock "$LOCK_WAIT"
step check --retry-lock "$LOCK_WAIT"
`;

/** Identity of a repository: the URL restic opens, plus the namespace for a pvc:// vault (claims are namespaced). */
export function repositoryKey(namespace: string, vaultLocation: string): string {
  return pvcVaultClaim(vaultLocation) === undefined ? vaultLocation : `${namespace}/${vaultLocation}`;
}

export function repositoryHash(namespace: string, vaultLocation: string): string {
  const url = vaultLocation.replace(/\/+$/, '');
  return createHash('sha256').update(repositoryKey(namespace, url)).digest('hex').slice(0, 16);
}

export function initJobNameFor(hash: string): string {
  return `vault-init-${hash}`;
}

export function maintenanceNameFor(hash: string): string {
  return `vault-maintenance-${hash}`;
}

export interface VaultJobProps {
  readonly namespace: string;
  readonly spec: BackupSpec;
  readonly image?: string;
  /** restic duration the maintenance waits for backups' locks. */
  readonly lockWait?: string;
}

function vaultPod(props: VaultJobProps, script: string, env: k8s.EnvVar[]): k8s.PodSpec {
  const claim = pvcVaultClaim(props.spec.vaultLocation);
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 120,
    securityContext: restrictedPodSecurityContext({
      runAsUser: NONROOT_ID,
      runAsGroup: NONROOT_ID,
      fsGroup: NONROOT_ID,
    }),
    containers: [
      {
        name: 'restic',
        image: props.image ?? RESTIC_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command: ['/bin/sh', '-c', script, 'mall-backup-vault'],
        env: [
          { name: 'RESTIC_REPOSITORY', value: resticRepositoryOf(props.spec.vaultLocation) },
          { name: 'RESTIC_CACHE_DIR', value: CACHE_MOUNT },
          { name: 'TMPDIR', value: TMP_MOUNT },
          { name: 'HOME', value: TMP_MOUNT },
          { name: 'RUN_STATE', value: STATE_MOUNT },
          ...env,
        ],
        envFrom: [{ secretRef: { name: props.spec.vaultCredentialsSecret } }],
        securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
        volumeMounts: [
          ...(claim ? [{ name: 'vault', mountPath: VAULT_MOUNT }] : []),
          { name: 'cache', mountPath: CACHE_MOUNT },
          { name: 'tmp', mountPath: TMP_MOUNT },
          { name: 'state', mountPath: STATE_MOUNT },
        ],
      },
    ],
    volumes: [
      ...(claim ? [{ name: 'vault', persistentVolumeClaim: { claimName: claim } }] : []),
      { name: 'cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
      { name: 'state', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
    ],
  };
}

/** The Job that creates the repository of `spec.vaultLocation`, if missing. */
export function initJobManifest(props: VaultJobProps): any {
  const hash = repositoryHash(props.namespace, props.spec.vaultLocation);
  const labels = standardLabels('vault-init', { [REPOSITORY_LABEL]: hash });
  return k8s.KubeJob.manifest({
    metadata: { name: initJobNameFor(hash), namespace: props.namespace, labels },
    spec: {
      // No TTL: the finished Job is the operator's record that the repository exists (it goes with its owner).
      backoffLimit: 4,
      template: { metadata: { labels }, spec: vaultPod(props, INIT_SCRIPT, []) },
    },
  });
}

/** The per-vault maintenance CronJob: one at a time (Forbid), exclusive on the vault while it runs. */
export function maintenanceCronJobManifest(props: VaultJobProps & { readonly schedule: string }): any {
  const hash = repositoryHash(props.namespace, props.spec.vaultLocation);
  const labels = standardLabels('vault-maintenance', { [REPOSITORY_LABEL]: hash });
  return k8s.KubeCronJob.manifest({
    metadata: { name: maintenanceNameFor(hash), namespace: props.namespace, labels },
    spec: {
      schedule: props.schedule,
      timeZone: 'UTC',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: 1,
          template: {
            metadata: { labels },
            spec: vaultPod(props, MAINTENANCE_SCRIPT, [{ name: 'LOCK_WAIT', value: props.lockWait ?? '30m' }]),
          },
        },
      },
    },
  });
}
