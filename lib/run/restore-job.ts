import { ApiObject } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { boundedName, controlledBy } from './backup-names';
import {
  CACHE_MOUNT,
  DATA_ROOT,
  DEFAULT_BACKUP_RESOURCES,
  RESTIC_IMAGE,
  resticRepositoryOf,
  TMP_MOUNT,
  VAULT_MOUNT,
} from './backup-job-spec';
import { pvcVaultClaim, schemaProblems } from '../permits/backup-validation';
import { RESTORE_SCHEMA } from '../permits/restore-schema';
import { standardLabels } from '../common/labels';
import { restrictedPodAs } from '../common/pod-security';
import { ResourceSpec, toResourceRequirements } from '../common/resources';
import * as rapi from '../permits/restore-api';
import { pinnedToNode, resticContainer } from './run-pod';
import { RESTORE_SCRIPT } from './restore-script';

/** Where the restore pod sees its target claims: /restore/<n>. */
export const RESTORE_MOUNT = '/restore';

export const RESTORE_LABEL = `${api.API_GROUP}/restore`;
export const RESTORE_UID_LABEL = `${api.API_GROUP}/restore-uid`;

/** The Restore a Job or claim belongs to. */
export interface RestoreRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** One claim to bring back, and where. */
export interface RestoreClaimPlan {
  /** The claim as the Backup backed it up. */
  readonly claim: string;
  /** The claim written to. */
  readonly targetClaim: string;
  /** Folder inside targetClaim, relative; empty for its root. */
  readonly path: string;
}

export interface RestorePodProps {
  readonly restore: RestoreRef;
  /** The Backup restored from: its name and spec (vault, Secret, shop, identity). */
  readonly backupName: string;
  readonly backupSpec: BackupSpec;
  readonly claims: readonly RestoreClaimPlan[];
  readonly snapshotID?: string;
  /** RFC 3339. */
  readonly pointInTime?: string;
  readonly inPlace?: boolean;
  /**
   * Restore only these paths inside the claim (spec.paths); needs exactly one claim. Each is handed to restic as an
   * argument of its own, never as shell text.
   */
  readonly paths?: readonly string[];
  readonly activeDeadlineSeconds?: number;
  /** Node to run on, when a ReadWriteOnce target is in use there. */
  readonly nodeName?: string;
  /** @default RESTIC_IMAGE */
  readonly image?: string;
  /** @default DEFAULT_BACKUP_RESOURCES */
  readonly resources?: ResourceSpec;
}

export function restoreJobNameFor(restoreName: string): string {
  return boundedName(`restore-${restoreName}`, 63);
}

/** The claim `target.newClaims` creates for `claim`. */
export function newClaimNameFor(restoreName: string, claim: string): string {
  return boundedName(`${restoreName}-${claim}`, api.DNS_SUBDOMAIN_MAX_LENGTH);
}

export function restoreLabels(restore: RestoreRef, component = 'restore-run'): Record<string, string> {
  return standardLabels(component, { [RESTORE_LABEL]: restore.name, [RESTORE_UID_LABEL]: restore.uid });
}

function ownerReferenceTo(restore: RestoreRef): k8s.OwnerReference {
  return controlledBy(rapi.RESTORE_KIND, restore);
}

/**
 * The point in time as whole Unix seconds and the digits after its decimal point as written (at most 9,
 * restic's nanoseconds): the script compares snapshot times at the precision the point was given in, and
 * a Date would cut them to milliseconds.
 */
export function pointInTimeEnv(text: string): k8s.EnvVar[] {
  const match = /^(.{19})(?:\.(\d+))?(.*)$/.exec(text.toUpperCase().replace(' ', 'T'));
  if (!match) throw new Error(`pointInTime ${JSON.stringify(text)} is not an RFC 3339 time`);
  const seconds = Date.parse(`${match[1]}${match[3]}`) / 1000;
  if (!Number.isInteger(seconds)) throw new Error(`pointInTime ${JSON.stringify(text)} is not an RFC 3339 time`);
  return [
    { name: 'POINT_IN_TIME_EPOCH', value: String(seconds) },
    ...(match[2] ? [{ name: 'POINT_IN_TIME_FRACTION', value: match[2].slice(0, 9) }] : []),
  ];
}

/** The restore Job as JSON (what the construct renders and the operator creates). */
export function restoreJobManifest(props: RestorePodProps): any {
  const { restore, backupSpec: spec } = props;
  const targets = [...new Set(props.claims.map((c) => c.targetClaim))];
  const vaultClaim = pvcVaultClaim(spec.vaultLocation);
  const identity = spec.securityContext ?? {};
  const paths = props.paths ?? [];
  if (paths.length > 0) {
    const problems = [
      ...(props.claims.length === 1 ? [] : [`paths need exactly one claim, not ${props.claims.length}`]),
      ...schemaProblems(RESTORE_SCHEMA.properties!.spec.properties!.paths, paths, 'paths'),
    ];
    if (problems.length) throw new Error(`restore Job ${restore.name}: ${problems.join('; ')}`);
  }
  const args = [
    ...props.claims.flatMap((c) => {
      const root = `${RESTORE_MOUNT}/${targets.indexOf(c.targetClaim)}`;
      return [c.claim, `${DATA_ROOT}/${c.claim}`, c.path ? `${root}/${c.path}` : root];
    }),
    ...paths,
  ];
  const optional = (name: string, value: string | undefined) => (value === undefined ? [] : [{ name, value }]);
  const env: k8s.EnvVar[] = [
    { name: 'RESTIC_REPOSITORY', value: resticRepositoryOf(spec.vaultLocation) },
    { name: 'SHOP_NAME', value: spec.shopName },
    { name: 'BACKUP_REF', value: `${restore.namespace}/${props.backupName}` },
    ...optional('SNAPSHOT_ID', props.snapshotID),
    ...optional('POINT_IN_TIME', props.pointInTime),
    ...(props.pointInTime ? pointInTimeEnv(props.pointInTime) : []),
    ...optional('IN_PLACE', props.inPlace ? 'true' : undefined),
    ...optional('INCLUDE_PATHS', paths.length ? String(paths.length) : undefined),
    { name: 'RESTIC_CACHE_DIR', value: CACHE_MOUNT },
    { name: 'TMPDIR', value: TMP_MOUNT },
    { name: 'HOME', value: TMP_MOUNT },
  ];
  const labels = restoreLabels(restore);
  return k8s.KubeJob.manifest({
    metadata: {
      name: restoreJobNameFor(restore.name),
      namespace: restore.namespace,
      labels,
      ownerReferences: [ownerReferenceTo(restore)],
    },
    spec: {
      // One attempt: a second one would find the first one's files and refuse to write over them.
      backoffLimit: 0,
      activeDeadlineSeconds: props.activeDeadlineSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          // The Backup's identity, so restored files belong to the user the shop reads them as.
          securityContext: restrictedPodAs(identity),
          affinity: pinnedToNode(props.nodeName),
          containers: [
            resticContainer({
              image: props.image ?? RESTIC_IMAGE,
              command: ['/bin/sh', '-c', RESTORE_SCRIPT, 'mall-restore', ...args],
              env,
              credentialsSecret: spec.vaultCredentialsSecret,
              resources: toResourceRequirements(props.resources ?? DEFAULT_BACKUP_RESOURCES),
              volumeMounts: [
                ...targets.map((_, i) => ({ name: `target-${i}`, mountPath: `${RESTORE_MOUNT}/${i}` })),
                ...(vaultClaim ? [{ name: 'vault', mountPath: VAULT_MOUNT }] : []),
                { name: 'cache', mountPath: CACHE_MOUNT },
                { name: 'tmp', mountPath: TMP_MOUNT },
              ],
            }),
          ],
          volumes: [
            ...targets.map((claimName, i) => ({ name: `target-${i}`, persistentVolumeClaim: { claimName } })),
            ...(vaultClaim ? [{ name: 'vault', persistentVolumeClaim: { claimName: vaultClaim } }] : []),
            { name: 'cache', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Gi') } },
            { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
          ],
        },
      },
    },
  });
}

/**
 * A claim created by `target.newClaims`; deliberately not owned by the Restore, so deleting the permit keeps the data.
 */
export function newClaimManifest(
  restore: RestoreRef,
  name: string,
  size: string | number,
  storageClassName?: string,
): any {
  return k8s.KubePersistentVolumeClaim.manifest({
    metadata: { name, namespace: restore.namespace, labels: restoreLabels(restore, 'restored-data') },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName,
      resources: { requests: { storage: k8s.Quantity.fromString(String(size)) } },
    },
  });
}

/** The restore Job of one Restore, as a construct (the operator renders the same manifest). */
export class RestoreJob extends Construct {
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: RestorePodProps) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', restoreJobManifest(props));
  }
}
