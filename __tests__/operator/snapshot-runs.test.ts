/**
 * The snapshot step against an in-memory API: the order of its writes (snapshots, then claims from ready
 * snapshots, then the ready mark), a failed or late snapshot ending the Job without a pod, the release of a
 * finished run's objects (only its own claims), and refusals passed on for the status.
 */
import { ApiError } from '../../operator/runtime/kube';
import type { KubeObject } from '../../operator/controller/types';
import { snapshotWork, stepSnapshotRuns } from '../../operator/controller/snapshot-runs';
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
    delete: async (path: string, uid?: string) => {
      calls.push(`DELETE ${path}`);
      if (!objects[path]) throw new ApiError(404, 'NotFound', 'not found');
      // As the API server's preconditions: another object under the name is not deleted.
      if (uid !== objects[path].metadata.uid) throw new ApiError(409, 'Conflict', 'precondition failed');
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
    [`${VS}/${vsName('data')}`]: {
      metadata: {
        name: vsName('data'),
        labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-1' },
        ownerReferences: [{ kind: 'Job', name: 'backup-bakery-1', uid: 'job-uid' }],
      },
      status: { error: { message: 'disk offline' } },
    },
  });
  await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW);
  expect(w.patches[JOB]).toEqual({
    metadata: {
      annotations: {
        'mall.example.com/snapshot-failure':
          `VolumeSnapshot ${vsName('data')} failed: disk offline (claim data, ` + `VolumeSnapshotClass csi-snap)`,
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
      `VolumeSnapshot ${vsName('db')} of claim db was just created; check the CSI snapshotter and the ` +
      `VolumeSnapshotClass`,
  );
  expect(w.patches[JOB].spec).toEqual({ parallelism: 0, activeDeadlineSeconds: 1, suspend: false });
});

test(
  'a finished run: its snapshots and its own claims deleted, another run’s claim left alone, then ' + 'marked',
  async () => {
    const mark = {
      labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-1' },
      ownerReferences: [{ kind: 'Job', name: 'backup-bakery-1', uid: 'job-uid' }],
    };
    const own = { metadata: { name: 'snap-bakery-data-0000', ...mark } };
    const other = {
      metadata: { name: 'snap-bakery-db-0000', labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-2' } },
    };
    const w = world({
      [`${PVC}/snap-bakery-data-0000`]: own,
      [`${PVC}/snap-bakery-db-0000`]: other,
      [`${VS}/${vsName('data')}`]: { metadata: { name: vsName('data'), ...mark } },
    });
    const done = heldJob();
    done.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    await stepSnapshotRuns(w.client, 'ns', [done], [], 600, NOW);
    expect(w.calls.filter((c) => !c.startsWith('GET'))).toEqual([
      `DELETE ${PVC}/snap-bakery-data-0000`,
      `DELETE ${VS}/${vsName('data')}`,
      `PATCH ${JOB}`,
    ]);
    expect(w.objects[`${PVC}/snap-bakery-db-0000`]).toBe(other);
    // Marked released: the next pass asks nothing.
    done.metadata.annotations!['mall.example.com/snapshots-released'] = 'true';
    w.calls.length = 0;
    await stepSnapshotRuns(w.client, 'ns', [done], [], 600, NOW);
    expect(w.calls).toEqual([]);
  },
);

test('a Job about to be dropped gets no snapshot; a refusal is passed on', async () => {
  const w = world();
  await stepSnapshotRuns(w.client, 'ns', [heldJob()], ['backup-bakery-1'], 600, NOW);
  expect(w.calls).toEqual([]);
  const refused = world({}, 'POST');
  await expect(stepSnapshotRuns(refused.client, 'ns', [heldJob()], [], 600, NOW)).rejects.toMatchObject({
    statusCode: 403,
  });
});

describe('what the step did not make is never deleted nor used', () => {
  const ready = (claim: string) => ({
    metadata: {
      name: vsName(claim),
      labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-1' },
      ownerReferences: [{ kind: 'Job', name: 'backup-bakery-1', uid: 'job-uid' }],
    },
    spec: { source: { persistentVolumeClaimName: claim } },
    status: { readyToUse: true },
  });

  test('a person’s own claim named like the temporary claim is kept, and the run ends saying so', async () => {
    const mine = { metadata: { name: 'snap-bakery-db-0000', labels: { app: 'mine' } } };
    const w = world({
      [`${VS}/${vsName('data')}`]: ready('data'),
      [`${VS}/${vsName('db')}`]: ready('db'),
      [`${PVC}/snap-bakery-db-0000`]: mine,
    });
    await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW);
    expect(w.calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
    expect(w.objects[`${PVC}/snap-bakery-db-0000`]).toBe(mine);
    expect(w.patches[JOB].metadata.annotations['mall.example.com/snapshot-failure']).toMatch(
      /claim snap-bakery-db-0000 .*not made by the operator.*rename or delete/,
    );
    expect(w.patches[JOB].spec).toEqual({ parallelism: 0, activeDeadlineSeconds: 1, suspend: false });
  });

  test('a claim carrying a run label of another Backup is not taken for an earlier run of this one', async () => {
    const others = {
      metadata: {
        name: 'snap-bakery-db-0000',
        labels: { 'mall.example.com/snapshot-for-job': 'backup-cafe-7', 'mall.example.com/backup-uid': 'cafe-uid' },
        ownerReferences: [{ kind: 'Job', name: 'backup-cafe-7', uid: 'cafe-job' }],
      },
    };
    const w = world({
      [`${VS}/${vsName('data')}`]: ready('data'),
      [`${VS}/${vsName('db')}`]: ready('db'),
      [`${PVC}/snap-bakery-db-0000`]: others,
    });
    await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW);
    expect(w.calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
  });

  test('a claim replaced between look and delete is not deleted (uid precondition)', async () => {
    const own = {
      metadata: {
        name: 'snap-bakery-data-0000',
        uid: 'ours',
        labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-1' },
        ownerReferences: [{ kind: 'Job', name: 'backup-bakery-1', uid: 'job-uid' }],
      },
    };
    const theirs = { metadata: { name: 'snap-bakery-data-0000', uid: 'theirs' } };
    const w = world({ [`${PVC}/snap-bakery-data-0000`]: own });
    const get = (w.client as any).get;
    (w.client as any).get = async (path: string) => {
      const found = await get(path);
      if (path === `${PVC}/snap-bakery-data-0000`) w.objects[path] = theirs;
      return found;
    };
    const done = heldJob();
    done.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    await stepSnapshotRuns(w.client, 'ns', [done], [], 600, NOW);
    expect(w.objects[`${PVC}/snap-bakery-data-0000`]).toBe(theirs);
  });

  test('an earlier run of this Backup: its claim is deleted first, the run waits', async () => {
    const earlier = {
      metadata: {
        name: 'snap-bakery-db-0000',
        labels: { 'mall.example.com/snapshot-for-job': 'backup-bakery-0', 'mall.example.com/backup-uid': 'b-uid' },
        ownerReferences: [{ kind: 'Job', name: 'backup-bakery-0', uid: 'old-job' }],
      },
    };
    const w = world({
      [`${VS}/${vsName('data')}`]: ready('data'),
      [`${VS}/${vsName('db')}`]: ready('db'),
      [`${PVC}/snap-bakery-db-0000`]: earlier,
    });
    expect(await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW)).toEqual({ recheckMs: 2000 });
    expect(w.calls.filter((c) => c.startsWith('DELETE'))).toEqual([`DELETE ${PVC}/snap-bakery-db-0000`]);
    expect(w.patches[JOB]).toBeUndefined();
  });

  test('a VolumeSnapshot of that name the step did not make is neither used nor deleted', async () => {
    const foreign = {
      metadata: { name: vsName('db') },
      spec: { source: { persistentVolumeClaimName: 'someone-else' } },
      status: { readyToUse: true },
    };
    const w = world({ [`${VS}/${vsName('data')}`]: ready('data'), [`${VS}/${vsName('db')}`]: foreign });
    await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW);
    expect(w.calls.filter((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toEqual([]);
    expect(w.patches[JOB].metadata.annotations['mall.example.com/snapshot-failure']).toMatch(
      /VolumeSnapshot .*not made by the operator/,
    );
    const done = heldJob();
    done.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    const after = world({ [`${VS}/${vsName('db')}`]: foreign });
    await stepSnapshotRuns(after.client, 'ns', [done], [], 600, NOW);
    expect(after.calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
    expect(after.objects[`${VS}/${vsName('db')}`]).toBe(foreign);
  });
});

describe('runs side by side and claims that never bind', () => {
  const mark = (job: string, uid: string) => ({
    labels: { 'mall.example.com/snapshot-for-job': job, 'mall.example.com/backup-uid': 'b-uid' },
    ownerReferences: [{ kind: 'Job', name: job, uid }],
  });
  const readyVs = (claim: string) => ({
    metadata: { name: vsName(claim), ...mark('backup-bakery-1', 'job-uid') },
    status: { readyToUse: true },
  });
  const earlierClaim = { metadata: { name: 'snap-bakery-db-0000', ...mark('backup-bakery-0', 'old-job') } };

  test('the claim of an earlier run still going is not taken from it: the new run waits', async () => {
    const w = world({
      [`${VS}/${vsName('data')}`]: readyVs('data'),
      [`${VS}/${vsName('db')}`]: readyVs('db'),
      [`${PVC}/snap-bakery-db-0000`]: earlierClaim,
    });
    expect(
      await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW, ['backup-bakery-0', 'backup-bakery-1']),
    ).toEqual({ recheckMs: 2000 });
    expect(w.calls.filter((c) => c.startsWith('DELETE'))).toEqual([]);
    expect(w.patches[JOB]).toBeUndefined();
  });

  test('a claim made by someone else between look and create is not taken for ours', async () => {
    const w = world({ [`${VS}/${vsName('data')}`]: readyVs('data'), [`${VS}/${vsName('db')}`]: readyVs('db') });
    const create = (w.client as any).create;
    (w.client as any).create = async (path: string, obj: KubeObject) => {
      if (obj.metadata.name === 'snap-bakery-db-0000') throw new ApiError(409, 'AlreadyExists', 'exists');
      return create(path, obj);
    };
    expect(await stepSnapshotRuns(w.client, 'ns', [heldJob()], [], 600, NOW)).toEqual({ recheckMs: 2000 });
    expect(w.patches[JOB]).toBeUndefined();
  });

  const started = (readyAt: string, extra: Record<string, string> = {}) => {
    const job = heldJob('2026-11-25T09:40:00Z', { 'mall.example.com/snapshots-ready': readyAt, ...extra });
    job.spec = { suspend: false };
    return job;
  };
  const claim = (name: string, phase: string) => ({ metadata: { name }, status: { phase } });

  test('a temporary claim that never binds ends the run after the timeout, naming it', async () => {
    const w = world({
      [`${PVC}/snap-bakery-data-0000`]: claim('snap-bakery-data-0000', 'Bound'),
      [`${PVC}/snap-bakery-db-0000`]: claim('snap-bakery-db-0000', 'Pending'),
    });
    expect(await stepSnapshotRuns(w.client, 'ns', [started('2026-11-25T09:55:00Z')], [], 600, NOW)).toEqual({
      recheckMs: 2000,
    });
    expect(w.patches[JOB]).toBeUndefined();
    expect(await stepSnapshotRuns(w.client, 'ns', [started('2026-11-25T09:49:59Z')], [], 600, NOW)).toEqual({
      recheckMs: undefined,
    });
    expect(w.patches[JOB]).toEqual({
      metadata: {
        annotations: {
          'mall.example.com/snapshot-failure':
            'temporary claim snap-bakery-db-0000 is Pending 600s after the run was started; check the storage ' +
            "class's capacity and the VolumeSnapshot",
        },
      },
      spec: { parallelism: 0, activeDeadlineSeconds: 1, suspend: false },
    });
  });

  test('claims seen Bound: marked once, then never looked at again', async () => {
    const w = world({
      [`${PVC}/snap-bakery-data-0000`]: claim('snap-bakery-data-0000', 'Bound'),
      [`${PVC}/snap-bakery-db-0000`]: claim('snap-bakery-db-0000', 'Bound'),
    });
    expect(await stepSnapshotRuns(w.client, 'ns', [started('2026-11-25T09:59:00Z')], [], 600, NOW)).toEqual({
      recheckMs: undefined,
    });
    expect(Object.keys(w.patches[JOB].metadata.annotations)).toEqual(['mall.example.com/snapshot-claims-bound']);
    expect(
      snapshotWork([started('2026-11-25T09:59:00Z', { 'mall.example.com/snapshot-claims-bound': 'x' })], []),
    ).toEqual([]);
    expect(snapshotWork([started('2026-11-25T09:59:00Z')], [])).toHaveLength(1);
  });
});
