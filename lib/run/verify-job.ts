/**
 * The verification CronJobs (spec.verify). The check reads the whole vault's structure and a subset of its data,
 * so it runs once per vault: `vault-check-<hash>`, beside the vault's maintenance, owned by the Backups there and
 * scheduled by the Backup that asked first. The test restore is about one Backup's snapshots, so each verifying
 * Backup has its own `verify-<name>`, on its own schedule. The operator judges the two together
 * (operator/controller/verification.ts).
 */
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import type { BackupSpec } from '../permits/api-types';
import * as api from '../permits/backup-api';
import { standardLabels } from '../common/labels';
import { BACKUP_LABEL, BACKUP_UID_LABEL, BackupRef, boundedName, ownerReferenceTo } from './backup-names';
import { effectiveSchedule } from '../permits/schedule-window';
import { DEFAULT_BACKUP_RESOURCES, resourcesOf } from './backup-job-spec';
import { quantityNanos, toResourceRequirements } from '../common/resources';
import { REPOSITORY_LABEL, repositoryHash, vaultPod } from './vault-jobs';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from './verify-script';

export const VERIFY_COMPONENT = 'verify';
export const VAULT_CHECK_COMPONENT = 'vault-check';
/** How long one restic call of a verification waits for another's lock (a long backup, a prune). */
export const VERIFY_LOCK_WAIT = '2h';

export function verifyCronJobNameFor(backupName: string): string {
  return boundedName(`verify-${backupName}`, 52);
}

export function vaultCheckNameFor(hash: string): string {
  return `vault-check-${hash}`;
}

/**
 * The cron schedule of a Backup's verification: verify.schedule, a window resolved for `<name>/verify` so that
 * it does not land on the backup's own minute when both name the same window.
 */
export function verifyScheduleOf(spec: BackupSpec, backup: { namespace?: string; name: string }): string {
  return effectiveSchedule(spec.verify!.schedule, { namespace: backup.namespace, name: `${backup.name}/verify` });
}

/**
 * The size of a test restore's scratch volume unless the operator is told otherwise (verifyScratchSize): a bound,
 * so a large snapshot cannot fill the node's disk, and large enough for a typical shop's newest snapshot.
 */
export const DEFAULT_VERIFY_SCRATCH_SIZE = '20Gi';
/** The smallest scratch volume the operator accepts: restic's temporary files alone need room. */
export const MIN_VERIFY_SCRATCH_SIZE = '1Gi';

export interface VerifyJobProps {
  readonly backup: BackupRef;
  /** The Backup's spec with its verify field set. */
  readonly spec: BackupSpec;
  readonly image?: string;
  /** The scratch volume's sizeLimit (a quantity); DEFAULT_VERIFY_SCRATCH_SIZE when left out. */
  readonly scratchSize?: string;
}

/**
 * A verification CronJob: one run at a time (Forbid) and one attempt per run, as a failed verification is a
 * finding to report, not a flake to retry away.
 */
function verificationCronJob(
  metadata: k8s.ObjectMeta & { labels: Record<string, string> },
  when: { schedule: string; timeZone: string; suspend?: boolean },
  pod: k8s.PodSpec,
): any {
  const labels = metadata.labels;
  return k8s.KubeCronJob.manifest({
    metadata,
    spec: {
      ...when,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels }, spec: { backoffLimit: 0, template: { metadata: { labels }, spec: pod } } },
    },
  });
}

/** The per-Backup test restore: owned by the Backup, labelled as its own (component verify). */
export function verifyCronJobManifest(props: VerifyJobProps): any {
  const { backup, spec } = props;
  const resources = resourcesOf(spec, DEFAULT_BACKUP_RESOURCES);
  // The test restore stops short of the scratch volume's sizeLimit and of the Backup's ephemeral-storage limit,
  // whichever is smaller, rather than be evicted for either.
  const scratchSize = props.scratchSize ?? DEFAULT_VERIFY_SCRATCH_SIZE;
  const limit = resources.limits?.['ephemeral-storage'];
  const bytes = Math.min(
    ...[scratchSize, limit?.value]
      .map((q) => (q === undefined ? undefined : quantityNanos(q)))
      .filter((n): n is bigint => n !== undefined)
      .map((n) => Number(n / 1_000_000_000n)),
  );
  const env = [
    { name: 'SHOP_NAME', value: spec.shopName },
    { name: 'BACKUP_REF', value: `${backup.namespace}/${backup.name}` },
    { name: 'LOCK_WAIT', value: VERIFY_LOCK_WAIT },
    { name: 'SCRATCH_LIMIT', value: String(bytes) },
  ];
  return verificationCronJob(
    {
      name: verifyCronJobNameFor(backup.name),
      namespace: backup.namespace,
      labels: standardLabels(VERIFY_COMPONENT, { [BACKUP_LABEL]: backup.name, [BACKUP_UID_LABEL]: backup.uid }),
      ownerReferences: [ownerReferenceTo(backup)],
    },
    {
      schedule: verifyScheduleOf(spec, backup),
      timeZone: spec.timeZone ?? api.DEFAULT_TIME_ZONE,
      suspend: spec.suspend ?? false,
    },
    // The Backup's own resources: restoring its snapshot is about as heavy as backing it up.
    vaultPod({ namespace: backup.namespace, spec, image: props.image }, TEST_RESTORE_SCRIPT, env, {
      scratch: scratchSize,
      resources,
    }),
  );
}

export interface VaultCheckProps {
  /** The namespace holding the vault's per-vault work. */
  readonly namespace: string;
  /** The spec of the Backup whose schedule and Secret the check uses. */
  readonly spec: BackupSpec;
  /** The Backup whose verify.schedule it runs (its window minute is that Backup's). */
  readonly scheduledBy: { readonly namespace?: string; readonly name: string };
  /** The largest readDataSubset the vault's Backups ask for. */
  readonly readDataSubset: string;
  readonly image?: string;
}

/** The per-vault check, waiting for backups' and prune's locks. */
export function vaultCheckCronJobManifest(props: VaultCheckProps): any {
  const hash = repositoryHash(props.namespace, props.spec.vaultLocation);
  const env = [
    { name: 'READ_DATA_SUBSET', value: props.readDataSubset },
    { name: 'LOCK_WAIT', value: VERIFY_LOCK_WAIT },
  ];
  return verificationCronJob(
    {
      name: vaultCheckNameFor(hash),
      namespace: props.namespace,
      labels: standardLabels(VAULT_CHECK_COMPONENT, { [REPOSITORY_LABEL]: hash }),
    },
    {
      schedule: verifyScheduleOf(props.spec, props.scheduledBy),
      timeZone: props.spec.timeZone ?? api.DEFAULT_TIME_ZONE,
    },
    vaultPod({ namespace: props.namespace, spec: props.spec, image: props.image }, CHECK_SCRIPT, env, {
      resources: toResourceRequirements(DEFAULT_BACKUP_RESOURCES),
    }),
  );
}
