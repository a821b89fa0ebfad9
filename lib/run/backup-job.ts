import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { pvcVaultClaim } from '../permits/backup-validation';
import { standardLabels } from '../common/labels';
import {
  NONROOT_ID,
  RESTRICTED_CONTAINER_SECURITY_CONTEXT,
  restrictedPodSecurityContext,
} from '../common/pod-security';
import { mergeResources, ResourceSpec, toResourceRequirements } from '../common/resources';
import { BACKUP_SCRIPT } from './backup-run';
import { RESTIC_VERSION } from './restic-version';
import { BackupIdentity, effectiveSchedule } from '../permits/schedule-window';
import { SNAPSHOT_PLAN_ANNOTATION, SnapshotSource } from './snapshot-source';

export { BACKUP_SCRIPT };

/** restic, pinned: the same release the tests build (lib/run/restic-version.ts). */
export const RESTIC_IMAGE = `docker.io/restic/restic:${RESTIC_VERSION}`;

/** Where the backup pod sees things. */
export const DATA_ROOT = '/data';
export const VAULT_MOUNT = '/vault';
export const CACHE_MOUNT = '/cache';
export const TMP_MOUNT = '/tmp';
/** The run's own bookkeeping (filtered restic output, the result): kept off restic's temporary packs in /tmp. */
export const STATE_MOUNT = '/run/mall-backup';

export const BACKUP_LABEL = `${api.API_GROUP}/backup`;
export const BACKUP_UID_LABEL = `${api.API_GROUP}/backup-uid`;

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

/** SIGTERM → SIGINT to restic → lock removed; restic stops within seconds, a slow vault gets the rest. */
export const BACKUP_GRACE_SECONDS = 120;

/** The Backup a CronJob or Job belongs to. */
export interface BackupRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

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
function snapshotRun(props: BackupPodProps): { annotations?: Record<string, string>; suspend?: boolean } {
  if (!props.snapshots?.length) return {};
  return { annotations: { [SNAPSHOT_PLAN_ANNOTATION]: JSON.stringify(props.snapshots) }, suspend: true };
}

/** Short stable suffix for names that would be too long. */
function digest(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `base`, shortened with a hash of the full text when longer than `max` (CronJob names allow 52). */
export function boundedName(base: string, max: number): string {
  if (base.length <= max) return base;
  return `${base.slice(0, max - 9).replace(/[-.]+$/, '')}-${digest(base)}`;
}

export function cronJobNameFor(backupName: string): string {
  return boundedName(`backup-${backupName}`, 52);
}

export function runNowJobNameFor(backupName: string, request: string): string {
  return `${boundedName(`backup-${backupName}`, 63 - 13)}-now-${digest(request)}`;
}

/** A label value identifying a run-now request (annotation values may be anything). */
export function runNowToken(request: string): string {
  return digest(request, 16);
}

/** The run-now request digest a Job is labelled with, under its key or the one Jobs of 0.1.0 carry; else undefined. */
export function runNowTokenOf(job: { metadata: { labels?: Record<string, string> } }): string | undefined {
  const labels = job.metadata.labels ?? {};
  return labels[api.RUN_NOW_DIGEST_LABEL] ?? labels[api.RUN_NOW_DIGEST_LABEL_UNTIL_0_1];
}

/**
 * `"HH:MM"` → `"MM HH * * *"`, a window `"HH:MM-HH:MM"` → the minute `identity` gets inside it
 * (lib/permits/schedule-window.ts); cron expressions and macros pass through.
 */
export function cronScheduleOf(backupTime: string, identity: BackupIdentity): string {
  const clock = new RegExp(api.WALL_CLOCK_PATTERN).exec(backupTime);
  if (!clock) return effectiveSchedule(backupTime, identity);
  const [hours, minutes] = backupTime.split(':').map(Number);
  return `${minutes} ${hours} * * *`;
}

/** The restic repository the pod uses: a remote URL, or the vault claim's mount for `pvc://`. */
export function resticRepositoryOf(vaultLocation: string): string {
  const claim = pvcVaultClaim(vaultLocation);
  if (claim === undefined) return vaultLocation;
  const rest = vaultLocation.slice(api.PVC_VAULT_PREFIX.length + claim.length).replace(/^\/+|\/+$/g, '');
  return rest ? `${VAULT_MOUNT}/${rest}` : VAULT_MOUNT;
}

/** The component label of a backup run's Job and pod, and of the snapshots and claims made for it. */
export const BACKUP_RUN_COMPONENT = 'backup-run';

export function backupLabels(backup: BackupRef, extra: Record<string, string> = {}): Record<string, string> {
  return standardLabels(BACKUP_RUN_COMPONENT, {
    [BACKUP_LABEL]: backup.name,
    [BACKUP_UID_LABEL]: backup.uid,
    ...extra,
  });
}

export function ownerReferenceTo(backup: BackupRef): k8s.OwnerReference {
  return {
    apiVersion: api.BACKUP_API_VERSION,
    kind: api.BACKUP_KIND,
    name: backup.name,
    uid: backup.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
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
        securityContext: restrictedPodSecurityContext({
          runAsUser: identity.runAsUser ?? NONROOT_ID,
          runAsGroup: identity.runAsGroup ?? NONROOT_ID,
          fsGroup: identity.fsGroup ?? NONROOT_ID,
        }),
        affinity: props.nodeName
          ? {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchFields: [{ key: 'metadata.name', operator: 'In', values: [props.nodeName] }] },
                  ],
                },
              },
            }
          : undefined,
        containers: [
          {
            name: 'restic',
            image: props.image ?? RESTIC_IMAGE,
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/sh', '-c', BACKUP_SCRIPT, 'mall-backup', ...claims.map((c) => `${DATA_ROOT}/${c}`)],
            env,
            envFrom: [{ secretRef: { name: spec.vaultCredentialsSecret } }],
            resources: resourcesOf(spec, props.defaultResources ?? DEFAULT_BACKUP_RESOURCES),
            securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
            terminationMessagePolicy: 'FallbackToLogsOnError',
            volumeMounts: mounts,
          },
        ],
        volumes,
      },
    },
  };
}

/** The schedule of one Backup: a CronJob in the Backup's namespace, owned by the Backup. */
export class BackupCronJob extends Construct {
  /**
   * The CronJob as JSON, without a construct tree: what the construct renders, for the operator, which
   * renders one per Backup and needs no cdk8s token resolution for plain values.
   */
  public static manifest(props: BackupPodProps): any {
    const { backup, spec } = props;
    const run = snapshotRun(props);
    const job = backupJobSpec(props);
    return k8s.KubeCronJob.manifest({
      metadata: {
        name: cronJobNameFor(backup.name),
        namespace: backup.namespace,
        labels: backupLabels(backup),
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: {
        schedule: cronScheduleOf(spec.backupTime, backup),
        timeZone: spec.timeZone ?? api.DEFAULT_TIME_ZONE,
        concurrencyPolicy: spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY,
        suspend: spec.suspend ?? false,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: backupLabels(backup), annotations: run.annotations },
          spec: run.suspend ? { ...job, suspend: true } : job,
        },
      },
    });
  }

  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: BackupPodProps) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', BackupCronJob.manifest(props));
  }
}

export interface RunNowJobProps extends BackupPodProps {
  /** The value of the run-now annotation this Job answers. */
  readonly request: string;
}

/** One immediate run asked for with the run-now annotation; cleaned up a day after it finishes. */
export class BackupRunNowJob extends Construct {
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: RunNowJobProps) {
    super(scope, id);
    const { backup, request } = props;
    const labels = backupLabels(backup, { [api.RUN_NOW_DIGEST_LABEL]: runNowToken(request) });
    const job = backupJobSpec(props);
    const run = snapshotRun(props);
    this.apiObject = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: runNowJobNameFor(backup.name, request),
        namespace: backup.namespace,
        labels,
        annotations: { [api.RUN_NOW_ANNOTATION]: request, ...run.annotations },
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: {
        ...job,
        ...(run.suspend ? { suspend: true } : {}),
        ttlSecondsAfterFinished: 86400,
        template: { ...job.template, metadata: { labels } },
      },
    });
  }
}
