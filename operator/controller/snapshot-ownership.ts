/**
 * What the snapshot step makes, and how it knows its own again: a VolumeSnapshot or temporary claim is the
 * step's when it carries the run's label and the run's Job owns it. Names are deterministic, so a person's
 * own claim (or a snapshot) may already sit under one; it is never used nor deleted.
 */
import { SNAPSHOT_JOB_LABEL } from '../../lib/run/snapshot-source';
import { BACKUP_LABEL, BACKUP_RUN_COMPONENT, BACKUP_UID_LABEL } from '../../lib/run/backup-names';
import { standardLabels } from '../../lib/common/labels';
import type { KubeObject } from './types';

/** Labels and owner of what a Job's snapshot step makes: the Job owns it, so the garbage collector helps. */
export function madeFor(job: KubeObject, name: string, namespace: string): KubeObject['metadata'] {
  const labels = job.metadata.labels ?? {};
  return {
    name,
    namespace,
    labels: standardLabels(BACKUP_RUN_COMPONENT, {
      [BACKUP_LABEL]: labels[BACKUP_LABEL] ?? '',
      [BACKUP_UID_LABEL]: labels[BACKUP_UID_LABEL] ?? '',
      [SNAPSHOT_JOB_LABEL]: job.metadata.name,
    }),
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid! } as any],
  };
}

/** Made by this Job's snapshot step: labelled for it and owned by it (a label alone anyone may write). */
export function madeBy(obj: KubeObject, job: KubeObject): boolean {
  return (
    obj.metadata.labels?.[SNAPSHOT_JOB_LABEL] === job.metadata.name &&
    (obj.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.uid === job.metadata.uid)
  );
}

/**
 * Made by the snapshot step of an earlier run of the same Backup: labelled for a run of that Backup (its
 * uid) and owned by a Job. Anything else under the name (a person's own claim) is never deleted.
 */
export function madeByEarlierRun(obj: KubeObject, job: KubeObject): boolean {
  const uid = job.metadata.labels?.[BACKUP_UID_LABEL];
  const labels = obj.metadata.labels ?? {};
  return (
    !!uid &&
    labels[BACKUP_UID_LABEL] === uid &&
    !!labels[SNAPSHOT_JOB_LABEL] &&
    labels[SNAPSHOT_JOB_LABEL] !== job.metadata.name &&
    (obj.metadata.ownerReferences ?? []).some((o) => o.kind === 'Job' && o.name === labels[SNAPSHOT_JOB_LABEL])
  );
}

export const notOurs = (what: string) =>
  `${what} exists and was not made by the operator for this run; it is left alone: rename or delete it ` +
  'so that runs can make their own';
