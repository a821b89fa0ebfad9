/**
 * Per-vault work: the Job that creates a repository (once, one writer) and the CronJob that prunes and checks it.
 * Both are named and labelled by a hash of the repository, so every Backup naming one vault shares them.
 */
import { createHash } from 'node:crypto';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { CACHE_MOUNT, RESTIC_IMAGE, STATE_MOUNT, TMP_MOUNT, VAULT_MOUNT, resticRepositoryOf } from './backup-job-spec';
import { pvcVaultClaim } from '../permits/backup-validation';
import { standardLabels } from '../common/labels';
import { restrictedPodAs } from '../common/pod-security';
import { resticContainer } from './run-pod';
import { CLASSIFY_SH, JSON_TEXT_SH } from './shell-words';

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

/** The reason of a maintenance that pruned and checked the vault (its result's reason when Completed). */
export const MAINTAINED_REASON = 'VaultMaintained';
/** The reason of a maintenance that found the repository damaged (check errors, data files missing). */
export const DAMAGED_REASON = 'VaultDamaged';

/**
 * Per-vault maintenance: exclusive work (prune frees the space forget left, check verifies the structure), waiting
 * a bounded time for backups' locks; stale locks (holder gone) are cleared first so a killed prune never blocks
 * the vault for ever. Its result is a run result (run-result.ts) in the termination message, with the causes the
 * backup run uses, so the operator can show on every Backup of the vault why its maintenance failed.
 */
export const MAINTENANCE_SCRIPT = `set -u
child=
stopping=
# SIGTERM becomes SIGINT for restic (it removes its lock); TERM as well, for a restic that has not yet installed its
# handler (a background child starts with SIGINT ignored). A stop between steps ends the work there: a prune
# started after it would hold the vault's exclusive lock until the grace period ends and the pod is killed.
trap 'stopping=1; if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi' TERM INT
${JSON_TEXT_SH}
${CLASSIFY_SH}
finish() {
  printf '{"v":1,"outcome":"%s","reason":"%s","message":%s,"lockWaited":false}' "$1" "$2" "$(json_text "$3")" \\
    >"$TERMINATION_LOG" 2>/dev/null || true
  echo "mall-backup: $1 ($2): $3" >&2
}
step() {
  if [ -n "$stopping" ]; then
    echo "mall-backup: stopped before restic $1" >&2
    finish Failed Interrupted "maintenance stopped (pod terminated) before restic $1; no lock left"
    exit 130
  fi
  # restic's complaints are kept (bounded) for the result, and shown in the log once the step ends.
  restic "$@" 2>"$RUN_STATE/err" &
  child=$!
  if [ -n "$stopping" ]; then kill -INT "$child" 2>/dev/null; kill -TERM "$child" 2>/dev/null; fi
  while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done
  child=
  head -c 65536 "$RUN_STATE/err" >&2
  if [ -n "$stopping" ]; then
    echo "mall-backup: stopped during restic $1 ($rc)" >&2
    finish Failed Interrupted "maintenance stopped (pod terminated) during restic $1; restic removed its lock"
    exit 130
  fi
  if [ "$rc" != 0 ]; then
    echo "mall-backup: restic $1 failed ($rc)" >&2
    why=$(awk '/^Fatal: / || /^[A-Za-z].*(error|denied|failed|refused|locked)/ { print; exit }' "$RUN_STATE/err")
    reason=$(classify "$why")
    case $1:$reason in
      *:VaultLocked)
        why="the vault stayed locked for $LOCK_WAIT by another restic (a backup still running, or one \\
that did not finish): $why" ;;
      *:WrongPassword)
        why="the vault's password (RESTIC_PASSWORD in the credentials Secret) does not open the repository" ;;
      # Maintenance reads no shop: a missing file is missing vault data.
      check:ResticFailed | *:SourceMissing)
        reason=${DAMAGED_REASON}
        why="the repository is damaged (see restic check, restic repair): $why" ;;
    esac
    finish Failed "$reason" "restic $1 failed: $why"
    exit "$rc"
  fi
}
step unlock
step prune --retry-lock "$LOCK_WAIT"
step check --retry-lock "$LOCK_WAIT"
finish Completed ${MAINTAINED_REASON} "stale locks cleared, unused data pruned, the repository checked"
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

/**
 * A restic pod on the vault only (no shop claims), as the Backup's Secret allows; `scratch`, the size of the scratch
 * volume (a quantity), for a test restore.
 */
export function vaultPod(
  props: VaultJobProps,
  script: string,
  env: k8s.EnvVar[],
  options: {
    readonly scratch?: string;
    readonly resources?: k8s.ResourceRequirements;
  } = {},
): k8s.PodSpec {
  const claim = pvcVaultClaim(props.spec.vaultLocation);
  // A test restore writes as the Backup's user, as a Restore would (restic then skips chown, as cp -a does).
  const who = options.scratch !== undefined ? (props.spec.securityContext ?? {}) : {};
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 120,
    securityContext: restrictedPodAs(who),
    containers: [
      resticContainer({
        image: props.image ?? RESTIC_IMAGE,
        command: ['/bin/sh', '-c', script, 'mall-backup-vault'],
        env: [
          { name: 'RESTIC_REPOSITORY', value: resticRepositoryOf(props.spec.vaultLocation) },
          { name: 'RESTIC_CACHE_DIR', value: CACHE_MOUNT },
          { name: 'TMPDIR', value: TMP_MOUNT },
          { name: 'HOME', value: TMP_MOUNT },
          { name: 'RUN_STATE', value: STATE_MOUNT },
          { name: 'TERMINATION_LOG', value: '/dev/termination-log' },
          ...env,
        ],
        credentialsSecret: props.spec.vaultCredentialsSecret,
        resources: options.resources,
        volumeMounts: [
          ...(claim ? [{ name: 'vault', mountPath: VAULT_MOUNT }] : []),
          { name: 'cache', mountPath: CACHE_MOUNT },
          { name: 'tmp', mountPath: TMP_MOUNT },
          { name: 'state', mountPath: STATE_MOUNT },
        ],
      }),
    ],
    volumes: [
      ...(claim ? [{ name: 'vault', persistentVolumeClaim: { claimName: claim } }] : []),
      { name: 'cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
      // The test restore holds a whole snapshot here, within the operator's verifyScratchSize.
      { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(options.scratch ?? '1Gi') } },
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
