/**
 * Carries out the snapshot step of runs (lib/run/snapshot-source.ts): for a held Job whose claims come
 * from snapshots, one VolumeSnapshot per claim, then, once all are ready, the temporary claims made from
 * them; the Job is then marked ready and admission starts it. A snapshot that reports an error, or is not
 * ready within the operator's timeout, ends the Job without a pod (parallelism 0 and a one-second
 * deadline), with the reason on the Job for the status. When a Job has finished, its snapshots and
 * temporary claims are deleted; both are owned by the Job, so deleting the Job (or its Backup) removes
 * them too. A started Job whose temporary claims are still not Bound after the timeout is ended the same way.
 * Only what the step made is used or deleted (snapshot-ownership.ts). Every decision is read off the
 * cluster, so a restarted operator carries on where it stopped.
 */
import {
  SNAPSHOT_API_VERSION,
  SNAPSHOT_CLAIMS_BOUND_ANNOTATION,
  SNAPSHOT_FAILURE_ANNOTATION,
  SNAPSHOT_JOB_LABEL,
  SNAPSHOTS_READY_ANNOTATION,
  SNAPSHOTS_RELEASED_ANNOTATION,
  SnapshotSource,
  snapshotPlanOf,
  volumeSnapshotName,
  waitsForSnapshots,
} from '../../lib/run/snapshot-source';
import { isConflict, isNotFound, KubeClient, resourcePath } from '../runtime/kube';
import type { KubeObject } from './types';
import { isFinished } from './run-admission';
import { madeBy, madeByEarlierRun, madeFor, notOurs } from './snapshot-ownership';

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

/** False when something of that name appeared meanwhile: it is looked at (and judged) on the next pass. */
async function createOrExisting(client: KubeClient, path: string, body: KubeObject): Promise<boolean> {
  return client.create(path, body).then(
    () => true,
    (e) => {
      if (!isConflict(e)) throw e;
      return false;
    },
  );
}

/**
 * Deletes exactly the object looked at: were it replaced under the same name since (409), it is left to the
 * next pass to judge, so a check of its labels and owner cannot be raced.
 */
async function deleteIfThere(client: KubeClient, path: string, uid: string | undefined): Promise<void> {
  await client.delete(path, uid).catch((e) => {
    if (!isNotFound(e) && !isConflict(e)) throw e;
  });
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
async function prepare(
  client: KubeClient,
  ns: string,
  job: KubeObject,
  timeoutSeconds: number,
  now: Date,
  running: readonly string[],
) {
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
    if (!madeBy(vs, job)) {
      await failRun(client, ns, job, notOurs(`VolumeSnapshot ${name} (for claim ${s.claim})`));
      return false;
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
        if (!(await createOrExisting(client, pvcPath(ns), claimBody(job, ns, s))))
          notReady.push(`claim ${s.temporaryClaim} was made by someone else meanwhile`);
      } else if (madeByEarlierRun(claim, job)) {
        // An earlier run's claim (its release failed or is still under way): gone first, never reused, but
        // never taken from a run still going (a run-now Job next to the CronJob's own).
        const earlier = claim.metadata.labels![SNAPSHOT_JOB_LABEL];
        const inUse = running.includes(earlier);
        if (!inUse && !claim.metadata.deletionTimestamp)
          await deleteIfThere(client, pvcPath(ns, s.temporaryClaim), claim.metadata.uid);
        notReady.push(
          `temporary claim ${s.temporaryClaim} still belongs to ${earlier}${inUse ? ', still running' : ''}`,
        );
      } else if (!madeBy(claim, job)) {
        await failRun(client, ns, job, notOurs(`claim ${s.temporaryClaim} (the temporary claim of ${s.claim})`));
        return false;
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
      `snapshots not ready after ${timeoutSeconds}s: ${notReady.join('; ')}; check the CSI snapshotter and the ` +
        `VolumeSnapshotClass`,
    );
    return false;
  }
  return true;
}

/**
 * A started Job whose temporary claims are not all Bound: once the operator's timeout has passed since it
 * was started, it is ended, naming the claim and its phase; a claim never provisioned (no capacity, a
 * snapshot deleted under it) would otherwise hold the pod Pending for ever, and under Forbid every later run.
 */
async function watchClaims(client: KubeClient, ns: string, job: KubeObject, timeoutSeconds: number, now: Date) {
  const startedAt = Date.parse(job.metadata.annotations?.[SNAPSHOTS_READY_ANNOTATION] ?? '');
  const unbound: string[] = [];
  for (const s of snapshotPlanOf(job)!) {
    const claim = await getOrUndefined(client, pvcPath(ns, s.temporaryClaim));
    const phase = claim?.status?.phase;
    if (phase !== 'Bound')
      unbound.push(`temporary claim ${s.temporaryClaim} is ${claim ? phase || 'Pending' : 'gone'}`);
  }
  if (unbound.length === 0) {
    await client.mergePatch(resourcePath('batch/v1', 'jobs', ns, job.metadata.name), {
      metadata: { annotations: { [SNAPSHOT_CLAIMS_BOUND_ANNOTATION]: now.toISOString() } },
    });
    return false;
  }
  if (Number.isNaN(startedAt) || now.getTime() - startedAt < timeoutSeconds * 1000) return true;
  await failRun(
    client,
    ns,
    job,
    `${unbound.join('; ')} ${timeoutSeconds}s after the run was started; check the storage class's capacity and the ` +
      `VolumeSnapshot`,
  );
  return false;
}

/** Started, its claims not yet seen Bound, not ended by the step. */
function watchesClaims(job: KubeObject): boolean {
  const a = job.metadata.annotations ?? {};
  return (
    job.spec?.suspend !== true &&
    a[SNAPSHOTS_READY_ANNOTATION] !== undefined &&
    a[SNAPSHOT_CLAIMS_BOUND_ANNOTATION] === undefined &&
    a[SNAPSHOT_FAILURE_ANNOTATION] === undefined
  );
}

/** A finished Job's snapshots and temporary claims deleted, then the Job marked so it is not asked again. */
async function release(client: KubeClient, ns: string, job: KubeObject): Promise<void> {
  for (const s of snapshotPlanOf(job)!) {
    const claim = await getOrUndefined(client, pvcPath(ns, s.temporaryClaim));
    if (claim && madeBy(claim, job)) await deleteIfThere(client, pvcPath(ns, s.temporaryClaim), claim.metadata.uid);
    const vs = await getOrUndefined(client, vsPath(ns, volumeSnapshotName(job.metadata.name, s.claim)));
    if (vs && madeBy(vs, job)) await deleteIfThere(client, vsPath(ns, vs.metadata.name), vs.metadata.uid);
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
        : (waitsForSnapshots(job) && !drop.includes(job.metadata.name)) || watchesClaims(job)),
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
  /** The Backup's Jobs still going (an earlier run's claim is not taken from one of them). */
  running: readonly string[] = [],
): Promise<SnapshotStepResult> {
  let waiting = false;
  for (const job of jobs) {
    if (job.metadata.deletionTimestamp || !snapshotPlanOf(job)) continue;
    if (isFinished(job)) {
      if (job.metadata.annotations?.[SNAPSHOTS_RELEASED_ANNOTATION] === undefined)
        await release(client, namespace, job);
    } else if (waitsForSnapshots(job) && !drop.includes(job.metadata.name)) {
      waiting = (await prepare(client, namespace, job, timeoutSeconds, now, running)) || waiting;
    } else if (watchesClaims(job)) {
      waiting = (await watchClaims(client, namespace, job, timeoutSeconds, now)) || waiting;
    }
  }
  return { recheckMs: waiting ? SNAPSHOT_POLL_MS : undefined };
}

/** Why a run ended before it started: its snapshots failed (the annotation `failRun` writes). */
export function snapshotFailureOf(job: KubeObject): string | undefined {
  return job.metadata.annotations?.[SNAPSHOT_FAILURE_ANNOTATION];
}
