/**
 * What ties a backup run's objects to their Backup: their names, labels and owner, and the digest a run-now Job
 * carries of the request it answers.
 */
import { createHash } from 'node:crypto';
import type * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import * as api from '../permits/backup-api';
import { standardLabels } from '../common/labels';

export const BACKUP_LABEL = `${api.API_GROUP}/backup`;
export const BACKUP_UID_LABEL = `${api.API_GROUP}/backup-uid`;
/** The component label of a backup run's Job and pod, and of the snapshots and claims made for it. */
export const BACKUP_RUN_COMPONENT = 'backup-run';

/** The Backup a CronJob or Job belongs to. */
export interface BackupRef {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
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

export function backupLabels(backup: BackupRef, extra: Record<string, string> = {}): Record<string, string> {
  return standardLabels(BACKUP_RUN_COMPONENT, {
    [BACKUP_LABEL]: backup.name,
    [BACKUP_UID_LABEL]: backup.uid,
    ...extra,
  });
}

/** The owner reference that makes a permit (a Backup or a Restore) the controller of what is made for it. */
export function controlledBy(kind: string, owner: { name: string; uid: string }): k8s.OwnerReference {
  return {
    apiVersion: api.BACKUP_API_VERSION,
    kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function ownerReferenceTo(backup: BackupRef): k8s.OwnerReference {
  return controlledBy(api.BACKUP_KIND, backup);
}
