/**
 * The snapshot step against an in-memory API: the order of its writes (snapshots, then claims from ready
 * snapshots, then the ready mark), a failed or late snapshot ending the Job without a pod, the release of a
 * finished run's objects (only its own claims), and refusals passed on for the status.
 */
import { ApiError } from '../../operator/runtime/kube';
import type { KubeObject } from '../../operator/controller/types';
import { stepSnapshotRuns } from '../../operator/controller/snapshot-runs';
import { SNAPSHOT_PLAN_ANNOTATION, SnapshotSource, volumeSnapshotName } from '../../lib/run/snapshot-source';

const NOW = new Date('2026-11-25T10:00:00Z');
const plan: SnapshotSource[] = ['data', 'db'].map((claim) => ({
  claim,
  temporaryClaim: `snap-bakery-${claim}-0000`,
  volumeSnapshotClass: 'csi-snap',
  storageClass: 'fast',
  size: '5Gi',
}));

function heldJob(created = '2026-11-25T09:59:50Z', extra: Record<string, string> = {}): KubeObject {
  return {
    metadata: {
      name: 'backup-bakery-1',
      uid: 'job-uid',
      creationTimestamp: created,
      labels: { 'mall.example.com/backup': 'bakery', 'mall.example.com/backup-uid': 'b-uid' },
      annotations: { [SNAPSHOT_PLAN_ANNOTATION]: JSON.stringify(plan), ...extra },
    },
    spec: { suspend: true },
  };
}

/** Objects by path; every call is recorded as `VERB path`. */
function world(objects: Record<string, any> = {}, refuse?: string) {
  const calls: string[] = [];
  const patches: Record<string, any> = {};
  const fail = (call: string) => {
    if (refuse && call.startsWith(refuse)) throw new ApiError(403, 'Forbidden', 'forbidden', 'quota says no');
  };
  const client = {
    get: async (path: string) => {
      calls.push(`GET ${path}`);
      if (!objects[path]) throw new ApiError(404, 'NotFound', 'not found');
      return objects[path];
    },
    create: async (path: string, obj: KubeObject) => {
      const call = `POST ${path}/${obj.metadata.name}`;
      calls.push(call);
      fail(call);
      objects[`${path}/${obj.metadata.name}`] = obj;
      return obj;
    },
    delete: async (path: string) => {
      calls.push(`DELETE ${path}`);
      if (!objects[path]) throw new ApiError(404, 'NotFound', 'not found');
      delete objects[path];
    },
    mergePatch: async (path: string, patch: any) => {
      calls.push(`PATCH ${path}`);
      patches[path] = patch;
    },
  };
  return { client: client as never, calls, patches, objects };
}

const VS = '/apis/snapshot.storage.k8s.io/v1/namespaces/ns/volumesnapshots';
const PVC = '/api/v1/namespaces/ns/persistentvolumeclaims';
const JOB = '/apis/batch/v1/namespaces/ns/jobs/backup-bakery-1';
const vsName = (claim: string) => volumeSnapshotName('backup-bakery-1', claim);

test('snapshots first, claims only from ready snapshots, then the ready mark', async () => {
  const w = world();
  expect(await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW)).toEqual({ recheckMs: 2000 });
  expect(w.calls.filter((c) => c.startsWith('POST'))).toEqual([
    `POST ${VS}/${vsName('data')}`,
    `POST ${VS}/${vsName('db')}`,
  ]);
  const snapshot = w.objects[`${VS}/${vsName('data')}`];
  expect(snapshot.spec).toEqual({ volumeSnapshotClassName: 'csi-snap', source: { persistentVolumeClaimName: 'data' } });
  expect(snapshot.metadata.ownerReferences).toEqual([
    { apiVersion: 'batch/v1', kind: 'Job', name: 'backup-bakery-1', uid: 'job-uid' },
  ]);
  // One ready, one not: no claim yet.
  w.objects[`${VS}/${vsName('data')}`].status = { readyToUse: true };
  w.calls.length = 0;
  expect(await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW)).toEqual({ recheckMs: 2000 });
  expect(w.calls.filter((c) => !c.startsWith('GET'))).toEqual([]);
  w.objects[`${VS}/${vsName('db')}`].status = { readyToUse: true };
  w.calls.length = 0;
  expect(await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW)).toEqual({ recheckMs: undefined });
  expect(w.calls.filter((c) => !c.startsWith('GET'))).toEqual([
    `POST ${PVC}/snap-bakery-data-0000`,
    `POST ${PVC}/snap-bakery-db-0000`,
    `PATCH ${JOB}`,
  ]);
  expect(w.objects[`${PVC}/snap-bakery-db-0000`].spec).toEqual({
    storageClassName: 'fast',
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '5Gi' } },
    dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: vsName('db') },
  });
  expect(Object.keys(w.patches[JOB].metadata.annotations)).toEqual(['mall.example.com/snapshots-ready']);
});

test('a snapshot error ends the Job without a pod, with the snapshotter’s words', async () => {
  const w = world({
    [`${VS}/${vsName('data')}`]: { metadata: { name: vsName('data') }, status: { error: { message: 'disk offline' } } },
  });
  await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW);
  expect(w.patches[JOB]).toEqual({
    metadata: {
      annotations: {
        'mall.example.com/snapshot-failure': `VolumeSnapshot ${vsName('data')} failed: disk offline (claim data, VolumeSnapshotClass csi-snap)`,
      },
    },
    spec: { parallelism: 0, activeDeadlineSeconds: 1, suspend: false },
  });
});

test('past the timeout: the Job ends, naming what is not ready and what to check', async () => {
  const w = world();
  expect(await stepSnapshotRuns(w.client, 'ns', [heldJob('2026-11-25T09:49:00Z')], [], 600, NOW)).toEqual({
    recheckMs: undefined,
  });
  expect(w.patches[JOB].metadata.annotations['mall.example.com/snapshot-failure']).toBe(
    `snapshots not ready after 600s: VolumeSnapshot ${vsName('data')} of claim data was just created; ` +
      `VolumeSnapshot ${vsName('db')} of claim db was just created; check the CSI snapshotter and the VolumeSnapshotClass`,
  );
  expect(w.patches[JOB].spec).toEqual({ parallelism: 0, activeDeadlineSeconds: 1, suspend: false });
});

test('a finished run: its snapshots and its own claims deleted, another run’s claim left alone, then marked', async () => {
  const own = {
    metadata: { name: 'snap-bakery-data-0000', labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-1' } },
  };
  const other = {
    metadata: { name: 'snap-bakery-db-0000', labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-2' } },
  };
  const w = world({
    [`${PVC}/snap-bakery-data-0000`]: own,
    [`${PVC}/snap-bakery-db-0000`]: other,
    [`${VS}/${vsName('data')}`]: { metadata: { name: vsName('data') } },
  });
  const done = heldJob();
  done.status = { conditions: [{ type: 'Complete', status: 'True' }] };
  await stepSnapshotRuns(w.client, 'ns', [done], [], 600, NOW);
  expect(w.calls.filter((c) => !c.startsWith('GET'))).toEqual([
    `DELETE ${PVC}/snap-bakery-data-0000`,
    `DELETE ${VS}/${vsName('data')}`,
    `DELETE ${VS}/${vsName('db')}`,
    `PATCH ${JOB}`,
  ]);
  expect(w.objects[`${PVC}/snap-bakery-db-0000`]).toBe(other);
  // Marked released: the next pass asks nothing.
  done.metadata.annotations!['mall.example.com/snapshots-released'] = 'true';
  w.calls.length = 0;
  await stepSnapshotRuns(w.client, 'ns', [done], [], 600, NOW);
  expect(w.calls).toEqual([]);
});

test('a Job about to be dropped gets no snapshot; a refusal is passed on', async () => {
  const w = world();
  await stepSnapshotRuns(w.client, 'ns', [heldJob()], ['backup-bakery-1'], 600, NOW);
  expect(w.calls).toEqual([]);
  const refused = world({}, 'POST');
  await expect(stepSnapshotRuns(refused.client, 'ns', [heldJob()], [], 600, NOW)).rejects.toMatchObject({
    statusCode: 403,
  });
});
