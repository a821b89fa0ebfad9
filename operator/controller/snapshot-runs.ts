/**
 * Carries out the snapshot step of runs (lib/run/snapshot-source.ts): for a held Job whose claims come
 * from snapshots, one VolumeSnapshot per claim, then, once all are ready, the temporary claims made from
 * them; the Job is then marked ready and admission starts it. A snapshot that reports an error, or is not
 * ready within the operator's timeout, ends the Job without a pod (parallelism 0 and a one-second
 * deadline), with the reason on the Job for the status. When a Job has finished, its snapshots and
 * temporary claims are deleted; both are owned by the Job, so deleting the Job (or its Backup) removes
 * them too. Every decision is read off the cluster, so a restarted operator carries on where it stopped.
 */
import {
  SNAPSHOT_API_VERSION,
  SNAPSHOT_FAILURE_ANNOTATION,
  SNAPSHOT_JOB_LABEL,
  SNAPSHOTS_READY_ANNOTATION,
  SNAPSHOTS_RELEASED_ANNOTATION,
  SnapshotSource,
  snapshotPlanOf,
  volumeSnapshotName,
  waitsForSnapshots,
} from '../../lib/run/snapshot-source';
import { BACKUP_LABEL, BACKUP_UID_LABEL } from '../../lib/run/backup-job';
import { standardLabels } from '../../lib/common/labels';
import { isConflict, isNotFound, KubeClient, resourcePath } from '../runtime/kube';
import type { KubeObject } from './types';
import { isFinished } from './run-admission';

/** How often a run waiting for its snapshots is looked at again (snapshot status changes are not watched). */
export const SNAPSHOT_POLL_MS = 2000;
export const DEFAULT_SNAPSHOT_TIMEOUT_SECONDS = 600;

export interface SnapshotStepResult {
  /** Look again after this long: a run is still waiting for its snapshots or claims. */
  readonly recheckMs?: number;
}

const vsPath = (ns: string, name?: string) => resourcePath(SNAPSHOT_API_VERSION, 'volumesnapshots', ns, name);
const pvcPath = (ns: string, name?: string) => resourcePath('v1', 'persistentvolumeclaims', ns, name);

async function getOrUndefined(client: KubeClient, path: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(path);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function createOrExisting(client: KubeClient, path: string, body: KubeObject): Promise<void> {
  await client.create(path, body).catch((e) => {
    if (!isConflict(e)) throw e;
  });
}

async function deleteIfThere(client: KubeClient, path: string): Promise<void> {
  await client.delete(path).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

/** Labels and owner of what a Job's snapshot step makes: the Job owns it, so the garbage collector helps. */
function madeFor(job: KubeObject, name: string, namespace: string): KubeObject['metadata'] {
  const labels = job.metadata.labels ?? {};
  return {
    name,
    namespace,
    labels: standardLabels('backup-run', {
      [BACKUP_LABEL]: labels[BACKUP_LABEL] ?? '',
      [BACKUP_UID_LABEL]: labels[BACKUP_UID_LABEL] ?? '',
      [SNAPSHOT_JOB_LABEL]: job.metadata.name,
    }),
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid! } as any],
  };
}

function snapshotBody(job: KubeObject, ns: string, s: SnapshotSource): KubeObject {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshot',
    metadata: madeFor(job, volumeSnapshotName(job.metadata.name, s.claim), ns),
    spec: { volumeSnapshotClassName: s.volumeSnapshotClass, source: { persistentVolumeClaimName: s.claim } },
  };
}

function claimBody(job: KubeObject, ns: string, s: SnapshotSource): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: madeFor(job, s.temporaryClaim, ns),
    spec: {
      storageClassName: s.storageClass,
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: s.size } },
      dataSource: {
        apiGroup: 'snapshot.storage.k8s.io',
        kind: 'VolumeSnapshot',
        name: volumeSnapshotName(job.metadata.name, s.claim),
      },
    },
  };
}

/** Why a VolumeSnapshot will never be ready, in the snapshotter's words. */
function snapshotError(vs: KubeObject): string | undefined {
  const error = vs.status?.error;
  return error ? `VolumeSnapshot ${vs.metadata.name} failed: ${error.message ?? 'no message'}` : undefined;
}

/** Ends a held Job without ever starting a pod, saying why; the status reports it (`snapshotFailureOf`). */
async function failRun(client: KubeClient, ns: string, job: KubeObject, why: string): Promise<void> {
  await client.mergePatch(resourcePath('batch/v1', 'jobs', ns, job.metadata.name), {
    metadata: { annotations: { [SNAPSHOT_FAILURE_ANNOTATION]: why } },
    spec: { parallelism: 0, activeDeadlineSeconds: 1, suspend: false },
  });
}

/** One held Job: snapshots, then claims, then the ready mark; true while it still waits. */
async function prepare(client: KubeClient, ns: string, job: KubeObject, timeoutSeconds: number, now: Date) {
  const plan = snapshotPlanOf(job)!;
  const waited = (now.getTime() - Date.parse(job.metadata.creationTimestamp ?? now.toISOString())) / 1000;
  const notReady: string[] = [];
  for (const s of plan) {
    const name = volumeSnapshotName(job.metadata.name, s.claim);
    const vs = await getOrUndefined(client, vsPath(ns, name));
    if (!vs) {
      await createOrExisting(client, vsPath(ns), snapshotBody(job, ns, s));
      notReady.push(`VolumeSnapshot ${name} of claim ${s.claim} was just created`);
      continue;
    }
    const error = snapshotError(vs);
    if (error) {
      await failRun(client, ns, job, `${error} (claim ${s.claim}, VolumeSnapshotClass ${s.volumeSnapshotClass})`);
      return false;
    }
    if (vs.status?.readyToUse !== true) notReady.push(`VolumeSnapshot ${name} of claim ${s.claim} is not ready`);
  }
  if (notReady.length === 0) {
    for (const s of plan) {
      const claim = await getOrUndefined(client, pvcPath(ns, s.temporaryClaim));
      if (!claim) {
        await createOrExisting(client, pvcPath(ns), claimBody(job, ns, s));
      } else if (claim.metadata.labels?.[SNAPSHOT_JOB_LABEL] !== job.metadata.name) {
        // An earlier run's claim (its release failed or is still under way): gone first, never reused.
        if (!claim.metadata.deletionTimestamp) await deleteIfThere(client, pvcPath(ns, s.temporaryClaim));
        notReady.push(
          `temporary claim ${s.temporaryClaim} still belongs to ${claim.metadata.labels?.[SNAPSHOT_JOB_LABEL]}`,
        );
      }
    }
  }
  if (notReady.length === 0) {
    await client.mergePatch(resourcePath('batch/v1', 'jobs', ns, job.metadata.name), {
      metadata: { annotations: { [SNAPSHOTS_READY_ANNOTATION]: now.toISOString() } },
    });
    return false;
  }
  if (waited >= timeoutSeconds) {
    await failRun(
      client,
      ns,
      job,
      `snapshots not ready after ${timeoutSeconds}s: ${notReady.join('; ')}; check the CSI snapshotter and the VolumeSnapshotClass`,
    );
    return false;
  }
  return true;
}

/** A finished Job's snapshots and temporary claims deleted, then the Job marked so it is not asked again. */
async function release(client: KubeClient, ns: string, job: KubeObject): Promise<void> {
  for (const s of snapshotPlanOf(job)!) {
    const claim = await getOrUndefined(client, pvcPath(ns, s.temporaryClaim));
    if (claim?.metadata.labels?.[SNAPSHOT_JOB_LABEL] === job.metadata.name)
      await deleteIfThere(client, pvcPath(ns, s.temporaryClaim));
    await deleteIfThere(client, vsPath(ns, volumeSnapshotName(job.metadata.name, s.claim)));
  }
  await client.mergePatch(resourcePath('batch/v1', 'jobs', ns, job.metadata.name), {
    metadata: { annotations: { [SNAPSHOTS_RELEASED_ANNOTATION]: 'true' } },
  });
}

/** The Jobs the snapshot step has work on: held for their snapshots, or finished and not yet released. Pure. */
export function snapshotWork(jobs: readonly KubeObject[], drop: readonly string[]): KubeObject[] {
  return jobs.filter(
    (job) =>
      !job.metadata.deletionTimestamp &&
      snapshotPlanOf(job) !== undefined &&
      (isFinished(job)
        ? job.metadata.annotations?.[SNAPSHOTS_RELEASED_ANNOTATION] === undefined
        : waitsForSnapshots(job) && !drop.includes(job.metadata.name)),
  );
}

/** The snapshot step for one Backup's Jobs; `drop` are Jobs about to be deleted unstarted. */
export async function stepSnapshotRuns(
  client: KubeClient,
  namespace: string,
  jobs: readonly KubeObject[],
  drop: readonly string[],
  timeoutSeconds: number,
  now: Date,
): Promise<SnapshotStepResult> {
  let waiting = false;
  for (const job of jobs) {
    if (job.metadata.deletionTimestamp || !snapshotPlanOf(job)) continue;
    if (isFinished(job)) {
      if (job.metadata.annotations?.[SNAPSHOTS_RELEASED_ANNOTATION] === undefined)
        await release(client, namespace, job);
    } else if (waitsForSnapshots(job) && !drop.includes(job.metadata.name)) {
      waiting = (await prepare(client, namespace, job, timeoutSeconds, now)) || waiting;
    }
  }
  return { recheckMs: waiting ? SNAPSHOT_POLL_MS : undefined };
}

/** Why a run ended before it started: its snapshots failed (the annotation `failRun` writes). */
export function snapshotFailureOf(job: KubeObject): string | undefined {
  return job.metadata.annotations?.[SNAPSHOT_FAILURE_ANNOTATION];
}
