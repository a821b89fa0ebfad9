/**
 * The pod of a backup run, shared by the CronJob's template and run-now Jobs: where it sees the shop and the vault,
 * what it is told through its environment, its identity and resources, and the operator's vault settings.
 */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { pvcVaultClaim } from '../permits/backup-validation';
import { restrictedPodAs } from '../common/pod-security';
import { mergeResources, ResourceSpec, toResourceRequirements } from '../common/resources';
import { BACKUP_SCRIPT } from './backup-run';
import { type BackupRef, backupLabels } from './backup-names';
import { pinnedToNode, resticContainer } from './run-pod';
import { RESTIC_VERSION } from './restic-version';
import { SNAPSHOT_PLAN_ANNOTATION, SnapshotSource } from './snapshot-source';

/** restic, pinned: the same release the tests build (lib/run/restic-version.ts). */
export const RESTIC_IMAGE = `docker.io/restic/restic:${RESTIC_VERSION}`;

/** Where the backup pod sees things. */
export const DATA_ROOT = '/data';
export const VAULT_MOUNT = '/vault';
export const CACHE_MOUNT = '/cache';
export const TMP_MOUNT = '/tmp';
/** The run's own bookkeeping (filtered restic output, the result): kept off restic's temporary packs in /tmp. */
export const STATE_MOUNT = '/run/mall-backup';

export const DEFAULT_BACKUP_RESOURCES: ResourceSpec = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/** How a run treats the vault: cluster-wide operator settings, never from the Backup. */
export interface VaultRunSettings {
  /** Snapshots younger than this many days are never removed by retention. */
  readonly retentionFloorDays: number;
  /** A snapshot with this many percent fewer files or bytes than the reference skips retention. */
  readonly shrinkPercent: number;
  /** How long one restic call waits for a lock held by someone else (restic duration, e.g. "10m"). */
  readonly lockWait: string;
  /** How long a run waits for the operator to create a new vault's repository. */
  readonly vaultWaitSeconds: number;
}

export const DEFAULT_VAULT_RUN_SETTINGS: VaultRunSettings = {
  retentionFloorDays: 7,
  shrinkPercent: 50,
  lockWait: '10m',
  vaultWaitSeconds: 600,
};

/** Whole seconds of a restic (Go) duration such as "10m", "2s" or "1h30m"; throws on anything else. */
export function resticDurationSeconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  if (!/^([0-9]+[hms])+$/.test(duration))
    throw new Error(
      `lock wait ${JSON.stringify(duration)} is not valid: use a duration such as "10m", "90s" or "1h30m"`,
    );
  let seconds = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9]+)([hms])/g)) seconds += Number(n) * units[unit];
  return seconds;
}

/** SIGTERM → SIGINT to restic → lock removed; restic stops within seconds, a slow vault gets the rest. */
export const BACKUP_GRACE_SECONDS = 120;

export interface BackupPodProps {
  readonly backup: BackupRef;
  /** The Backup's spec, with the API server's defaults applied. */
  readonly spec: BackupSpec;
  /** The shop's PersistentVolumeClaims to back up, mounted read-only under /data/<claim>. */
  readonly claims: readonly string[];
  /**
   * Node to run on, when a ReadWriteOnce claim is in use by a pod there.
   * @default - any node
   */
  readonly nodeName?: string;
  /**
   * The restic image.
   * @default RESTIC_IMAGE
   */
  readonly image?: string;
  /**
   * Resources when the Backup sets none.
   * @default DEFAULT_BACKUP_RESOURCES
   */
  readonly defaultResources?: ResourceSpec;
  /**
   * The operator's vault settings.
   * @default DEFAULT_VAULT_RUN_SETTINGS
   */
  readonly vaultSettings?: VaultRunSettings;
  /**
   * The snapshot ID a person acknowledged after a drastic shrink (the Backup's acknowledge-shrink annotation).
   * @default - none
   */
  readonly shrinkAcknowledged?: string;
  /**
   * Claims backed up from a VolumeSnapshot: the pod mounts their temporary claims, and each run's Job is
   * created suspended until the operator has made them (lib/run/snapshot-source.ts).
   * @default - every claim's live files
   */
  readonly snapshots?: readonly SnapshotSource[];
}

/** What a run's Job carries when some claims come from snapshots: the plan, and a hold until they exist. */
export function snapshotRun(props: BackupPodProps): { annotations?: Record<string, string>; suspend?: boolean } {
  if (!props.snapshots?.length) return {};
  return { annotations: { [SNAPSHOT_PLAN_ANNOTATION]: JSON.stringify(props.snapshots) }, suspend: true };
}

/** The restic repository the pod uses: a remote URL, or the vault claim's mount for `pvc://`. */
export function resticRepositoryOf(vaultLocation: string): string {
  const claim = pvcVaultClaim(vaultLocation);
  if (claim === undefined) return vaultLocation;
  const rest = vaultLocation.slice(api.PVC_VAULT_PREFIX.length + claim.length).replace(/^\/+|\/+$/g, '');
  return rest ? `${VAULT_MOUNT}/${rest}` : VAULT_MOUNT;
}

/** The Backup's spec.resources over `fallback`, as a container's requirements. */
export function resourcesOf(spec: BackupSpec, fallback: ResourceSpec): k8s.ResourceRequirements {
  const wire = spec.resources;
  if (!wire) return toResourceRequirements(fallback);
  const merged = mergeResources(wire, fallback);
  const amounts = (a: Record<string, string | number>) =>
    Object.keys(a).length
      ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, k8s.Quantity.fromString(String(v))]))
      : undefined;
  return { requests: amounts(merged.requests), limits: amounts(merged.limits) };
}

/** The Job that runs one backup: shared by the CronJob's template and run-now Jobs. */
export function backupJobSpec(props: BackupPodProps): k8s.JobSpec {
  const { backup, spec, claims } = props;
  const retention = spec.retention ?? {};
  const vaultClaim = pvcVaultClaim(spec.vaultLocation);
  const identity = spec.securityContext ?? {};
  const vault = props.vaultSettings ?? DEFAULT_VAULT_RUN_SETTINGS;
  const fromSnapshot = new Map((props.snapshots ?? []).map((s) => [s.claim, s.temporaryClaim]));
  const env: k8s.EnvVar[] = [
    { name: 'RESTIC_REPOSITORY', value: resticRepositoryOf(spec.vaultLocation) },
    { name: 'SHOP_NAME', value: spec.shopName },
    { name: 'BACKUP_REF', value: `${backup.namespace}/${backup.name}` },
    { name: 'KEEP_LAST', value: String(retention.keepLast ?? api.DEFAULT_KEEP_LAST) },
    ...(['keepDaily', 'keepWeekly', 'keepMonthly'] as const).map((k) => ({
      name: `KEEP_${k.slice(4).toUpperCase()}`,
      value: retention[k] === undefined ? '' : String(retention[k]),
    })),
    { name: 'RETENTION_FLOOR', value: vault.retentionFloorDays > 0 ? `${vault.retentionFloorDays}d` : '' },
    { name: 'SHRINK_PERCENT', value: String(vault.shrinkPercent) },
    { name: 'SHRINK_ACK', value: props.shrinkAcknowledged ?? '' },
    { name: 'LOCK_WAIT', value: vault.lockWait },
    { name: 'LOCK_WAIT_SECONDS', value: String(resticDurationSeconds(vault.lockWait)) },
    { name: 'VAULT_WAIT_SECONDS', value: String(vault.vaultWaitSeconds) },
    { name: 'RESTIC_CACHE_DIR', value: CACHE_MOUNT },
    { name: 'TMPDIR', value: TMP_MOUNT },
    { name: 'HOME', value: TMP_MOUNT },
    { name: 'RUN_STATE', value: STATE_MOUNT },
    { name: 'TERMINATION_LOG', value: '/dev/termination-log' },
  ].filter((e) => e.value !== '');
  const volumes: k8s.Volume[] = [
    ...claims.map((claim, i) => ({
      name: `shop-${i}`,
      persistentVolumeClaim: { claimName: fromSnapshot.get(claim) ?? claim, readOnly: true },
    })),
    ...(vaultClaim ? [{ name: 'vault', persistentVolumeClaim: { claimName: vaultClaim } }] : []),
    { name: 'cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
    { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
    { name: 'state', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
  ];
  const mounts: k8s.VolumeMount[] = [
    ...claims.map((claim, i) => ({ name: `shop-${i}`, mountPath: `${DATA_ROOT}/${claim}`, readOnly: true })),
    ...(vaultClaim ? [{ name: 'vault', mountPath: VAULT_MOUNT }] : []),
    { name: 'cache', mountPath: CACHE_MOUNT },
    { name: 'tmp', mountPath: TMP_MOUNT },
    { name: 'state', mountPath: STATE_MOUNT },
  ];
  return {
    backoffLimit: spec.backoffLimit ?? api.DEFAULT_BACKOFF_LIMIT,
    activeDeadlineSeconds: spec.activeDeadlineSeconds,
    template: {
      metadata: { labels: backupLabels(backup) },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: BACKUP_GRACE_SECONDS,
        // The backup pod needs no Kubernetes API access.
        automountServiceAccountToken: false,
        securityContext: restrictedPodAs(identity),
        affinity: pinnedToNode(props.nodeName),
        containers: [
          resticContainer({
            image: props.image ?? RESTIC_IMAGE,
            command: ['/bin/sh', '-c', BACKUP_SCRIPT, 'mall-backup', ...claims.map((c) => `${DATA_ROOT}/${c}`)],
            env,
            credentialsSecret: spec.vaultCredentialsSecret,
            resources: resourcesOf(spec, props.defaultResources ?? DEFAULT_BACKUP_RESOURCES),
            volumeMounts: mounts,
          }),
        ],
        volumes,
      },
    },
  };
}
