/**
 * A run backed up from CSI VolumeSnapshots instead of live files. The pod template of a CronJob is fixed
 * when the CronJob is written, so it names temporary claims whose names depend on the Backup and the claim
 * only: runs of one Backup never overlap, so one name per claim serves every run. Each run's Job is created
 * suspended; the operator snapshots the claims, makes the temporary claims from the snapshots, then starts
 * the Job, and removes both when the Job ends (operator/controller/snapshot-runs.ts).
 */
import { createHash } from 'node:crypto';
import * as api from '../permits/backup-api';

/** On a run's Job: the snapshot sources of its claims (JSON, `SnapshotSource[]`). */
export const SNAPSHOT_PLAN_ANNOTATION = `${api.API_GROUP}/snapshot-plan`;
/** On a run's Job: every temporary claim exists, made from a ready snapshot; the Job may start. */
export const SNAPSHOTS_READY_ANNOTATION = `${api.API_GROUP}/snapshots-ready`;
/** On a run's Job: why its snapshots could not be made; the Job is ended without running. */
export const SNAPSHOT_FAILURE_ANNOTATION = `${api.API_GROUP}/snapshot-failure`;
/** On a started run's Job: every temporary claim was seen Bound; a claim never bound ends the run instead. */
export const SNAPSHOT_CLAIMS_BOUND_ANNOTATION = `${api.API_GROUP}/snapshot-claims-bound`;
/** On a finished run's Job: its snapshots and temporary claims are gone. */
export const SNAPSHOTS_RELEASED_ANNOTATION = `${api.API_GROUP}/snapshots-released`;
/** On VolumeSnapshots and temporary claims: the Job they were made for. */
export const SNAPSHOT_JOB_LABEL = `${api.API_GROUP}/snapshot-for-job`;

export const SNAPSHOT_API_VERSION = 'snapshot.storage.k8s.io/v1';

/** One claim backed up from a snapshot. */
export interface SnapshotSource {
  /** The shop's claim: snapshotted, and still mounted at /data/<claim> (paths in the vault do not change). */
  readonly claim: string;
  /** The claim made from the snapshot, which the pod mounts. */
  readonly temporaryClaim: string;
  readonly volumeSnapshotClass: string;
  readonly storageClass: string;
  /** The shop claim's size: a claim from a snapshot is at least as large as the snapshot. */
  readonly size: string;
}

function digest(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `snap-<backup>-<claim>-<hash>`: stable per Backup and claim, within a label's 63 characters. */
export function temporaryClaimName(backupName: string, backupUid: string, claim: string): string {
  const base = `snap-${backupName}-${claim}`.slice(0, 63 - 9).replace(/[-.]+$/, '');
  return `${base}-${digest(`${backupUid}\n${claim}`)}`;
}

/** One VolumeSnapshot per run and claim: a later run never meets an earlier run's snapshot. */
export function volumeSnapshotName(jobName: string, claim: string): string {
  return `${jobName}-${digest(claim)}`;
}

/** The plan a Job carries, or undefined for a run of live files. */
export function snapshotPlanOf(job: {
  metadata: { annotations?: Record<string, string> };
}): SnapshotSource[] | undefined {
  const text = job.metadata.annotations?.[SNAPSHOT_PLAN_ANNOTATION];
  if (!text) return undefined;
  try {
    const plan = JSON.parse(text);
    return Array.isArray(plan) && plan.length > 0 ? plan : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a Job waits for its snapshots: neither started by admission nor by the run cap until they are ready. */
export function waitsForSnapshots(job: {
  metadata: { annotations?: Record<string, string> };
  spec?: { suspend?: boolean };
}): boolean {
  const a = job.metadata.annotations ?? {};
  return (
    job.spec?.suspend === true &&
    snapshotPlanOf(job) !== undefined &&
    a[SNAPSHOTS_READY_ANNOTATION] === undefined &&
    a[SNAPSHOT_FAILURE_ANNOTATION] === undefined
  );
}
