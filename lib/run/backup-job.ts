import { createHash } from 'node:crypto';
import { ApiObject } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import type { BackupSpec } from '../../imports/mall.example.com';
import * as api from '../permits/backup-api';
import { pvcVaultClaim } from '../permits/backup-validation';
import { standardLabels } from '../common/labels';
import { NONROOT_ID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, restrictedPodSecurityContext } from '../common/pod-security';
import { mergeResources, ResourceSpec, toResourceRequirements } from '../common/resources';

/**
 * restic, pinned. The script uses only commands and flags that restic 0.14 (Debian 12, used by the
 * tests) also has: init, cat config, backup --host --tag --json, forget --prune --host --tag
 * --group-by --keep-*.
 */
export const RESTIC_IMAGE = 'docker.io/restic/restic:0.16.4';

/** Where the backup pod sees things. */
export const DATA_ROOT = '/data';
export const VAULT_MOUNT = '/vault';
export const CACHE_MOUNT = '/cache';
export const TMP_MOUNT = '/tmp';

export const BACKUP_LABEL = `${api.API_GROUP}/backup`;
export const BACKUP_UID_LABEL = `${api.API_GROUP}/backup-uid`;
export const RUN_NOW_LABEL = `${api.API_GROUP}/run-now`;

export const DEFAULT_BACKUP_RESOURCES: ResourceSpec = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

/**
 * The backup run. Fixed text: every value from the Backup reaches it as an environment variable
 * (SHOP_NAME, BACKUP_REF, KEEP_*) or as a positional argument (the shop's directories), always
 * quoted, so no spec value is ever read as shell code.
 */
export const BACKUP_SCRIPT = `set -eu
backup() {
  restic backup --host "$SHOP_NAME" --tag "shop=$SHOP_NAME" --tag "backup=$BACKUP_REF" --json "$@" >"$TMPDIR/backup.json"
}
if ! backup "$@"; then
  # Only a vault that does not exist yet is worth a second try: create it, accepting that another shop
  # sharing the vault may create it at the same moment, and back up again. Anything else is a failure.
  if restic cat config >/dev/null 2>&1; then exit 1; fi
  echo "the vault has no repository yet: creating it"
  restic init >/dev/null 2>&1 || restic cat config >/dev/null
  backup "$@"
fi
snapshot=$(sed -n 's/.*"message_type":"summary".*"snapshot_id":"\\([0-9a-f]*\\)".*/\\1/p' "$TMPDIR/backup.json" | tail -n 1)
echo "snapshot $snapshot saved"
# Retention runs only after a good backup (set -e stops before it otherwise) and only over this Backup's
# snapshots; keep-last is at least 1, so the snapshot just written always stays.
set -- --keep-last "$KEEP_LAST"
if [ -n "\${KEEP_DAILY:-}" ]; then set -- "$@" --keep-daily "$KEEP_DAILY"; fi
if [ -n "\${KEEP_WEEKLY:-}" ]; then set -- "$@" --keep-weekly "$KEEP_WEEKLY"; fi
if [ -n "\${KEEP_MONTHLY:-}" ]; then set -- "$@" --keep-monthly "$KEEP_MONTHLY"; fi
restic forget --prune --host "$SHOP_NAME" --tag "shop=$SHOP_NAME,backup=$BACKUP_REF" --group-by host,tags "$@"
printf 'snapshot=%s' "$snapshot" >"\${TERMINATION_LOG:-/dev/termination-log}" || true
`;

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
  return boundedName(`backup-${backupName}`, 63 - 13) + `-now-${digest(request)}`;
}

/** A label value identifying a run-now request (annotation values may be anything). */
export function runNowToken(request: string): string {
  return digest(request, 16);
}

/** `"HH:MM"` → `"MM HH * * *"`; cron expressions and macros pass through. */
export function cronScheduleOf(backupTime: string): string {
  const clock = new RegExp(api.WALL_CLOCK_PATTERN).exec(backupTime);
  if (!clock) return backupTime;
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

export function backupLabels(backup: BackupRef, extra: Record<string, string> = {}): Record<string, string> {
  return standardLabels('backup-run', { [BACKUP_LABEL]: backup.name, [BACKUP_UID_LABEL]: backup.uid, ...extra });
}

export function ownerReferenceTo(backup: BackupRef): k8s.OwnerReference {
  return { apiVersion: api.BACKUP_API_VERSION, kind: api.BACKUP_KIND, name: backup.name, uid: backup.uid, controller: true, blockOwnerDeletion: true };
}

function resourcesOf(spec: BackupSpec, fallback: ResourceSpec): k8s.ResourceRequirements {
  const wire = spec.resources as unknown as { requests?: Record<string, string | number>; limits?: Record<string, string | number> } | undefined;
  if (!wire) return toResourceRequirements(fallback);
  const merged = mergeResources(wire, fallback);
  const amounts = (a: Record<string, string | number>) => (Object.keys(a).length ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, k8s.Quantity.fromString(String(v))])) : undefined);
  return { requests: amounts(merged.requests), limits: amounts(merged.limits) };
}

/** The Job that runs one backup: shared by the CronJob's template and run-now Jobs. */
export function backupJobSpec(props: BackupPodProps): k8s.JobSpec {
  const { backup, spec, claims } = props;
  const retention = spec.retention ?? {};
  const vaultClaim = pvcVaultClaim(spec.vaultLocation);
  const identity = spec.securityContext ?? {};
  const env: k8s.EnvVar[] = [
    { name: 'RESTIC_REPOSITORY', value: resticRepositoryOf(spec.vaultLocation) },
    { name: 'SHOP_NAME', value: spec.shopName },
    { name: 'BACKUP_REF', value: `${backup.namespace}/${backup.name}` },
    { name: 'KEEP_LAST', value: String(retention.keepLast ?? api.DEFAULT_KEEP_LAST) },
    ...(['keepDaily', 'keepWeekly', 'keepMonthly'] as const)
      .filter((k) => retention[k] !== undefined)
      .map((k) => ({ name: `KEEP_${k.slice(4).toUpperCase()}`, value: String(retention[k]) })),
    { name: 'RESTIC_CACHE_DIR', value: CACHE_MOUNT },
    { name: 'TMPDIR', value: TMP_MOUNT },
    { name: 'HOME', value: TMP_MOUNT },
  ];
  const volumes: k8s.Volume[] = [
    ...claims.map((claim, i) => ({ name: `shop-${i}`, persistentVolumeClaim: { claimName: claim, readOnly: true } })),
    ...(vaultClaim ? [{ name: 'vault', persistentVolumeClaim: { claimName: vaultClaim } }] : []),
    { name: 'cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
    { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
  ];
  const mounts: k8s.VolumeMount[] = [
    ...claims.map((claim, i) => ({ name: `shop-${i}`, mountPath: `${DATA_ROOT}/${claim}`, readOnly: true })),
    ...(vaultClaim ? [{ name: 'vault', mountPath: VAULT_MOUNT }] : []),
    { name: 'cache', mountPath: CACHE_MOUNT },
    { name: 'tmp', mountPath: TMP_MOUNT },
  ];
  return {
    backoffLimit: spec.backoffLimit ?? api.DEFAULT_BACKOFF_LIMIT,
    activeDeadlineSeconds: spec.activeDeadlineSeconds,
    template: {
      metadata: { labels: backupLabels(backup) },
      spec: {
        restartPolicy: 'Never',
        // The backup pod needs no Kubernetes API access.
        automountServiceAccountToken: false,
        securityContext: restrictedPodSecurityContext({
          runAsUser: identity.runAsUser ?? NONROOT_ID,
          runAsGroup: identity.runAsGroup ?? NONROOT_ID,
          fsGroup: identity.fsGroup ?? NONROOT_ID,
        }),
        affinity: props.nodeName ? {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [props.nodeName] }] }],
            },
          },
        } : undefined,
        containers: [{
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
        }],
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
    return k8s.KubeCronJob.manifest({
      metadata: {
        name: cronJobNameFor(backup.name),
        namespace: backup.namespace,
        labels: backupLabels(backup),
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: {
        schedule: cronScheduleOf(spec.backupTime),
        timeZone: spec.timeZone ?? api.DEFAULT_TIME_ZONE,
        concurrencyPolicy: spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY,
        suspend: spec.suspend ?? false,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels: backupLabels(backup) }, spec: backupJobSpec(props) },
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
    const labels = backupLabels(backup, { [RUN_NOW_LABEL]: runNowToken(request) });
    const job = backupJobSpec(props);
    this.apiObject = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: runNowJobNameFor(backup.name, request),
        namespace: backup.namespace,
        labels,
        annotations: { [api.RUN_NOW_ANNOTATION]: request },
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: { ...job, ttlSecondsAfterFinished: 86400, template: { ...job.template, metadata: { labels } } },
    });
  }
}
