/**
 * How the controller applies a Restore's reconcile: claims before the Job, the Job only once every claim
 * exists, the status last whatever failed, and refusals reported in words without failing the Restore.
 */
import { ApiError } from '../../operator/runtime/kube';
import type { BackupObject, KubeEvent, KubeObject } from '../../operator/controller/types';
import type { RestoreObject, RestoreStatus } from '../../operator/controller/types';
import { carryOutRestore, RestoreContext } from '../../operator/controller/restore-writer';

const backup: BackupObject = {
  metadata: { name: 'bakery', namespace: 'ns', uid: 'b-uid' },
  spec: {
    shopName: 'bakery',
    backupTime: '02:30',
    vaultLocation: 'pvc://vault/shops',
    vaultCredentialsSecret: 'bakery-vault',
  } as any,
};
const restore: RestoreObject = {
  metadata: { name: 'monday', namespace: 'ns', uid: 'r-uid', generation: 1, resourceVersion: '7' },
  spec: { backupName: 'bakery', claims: ['bakery-data', 'bakery-db'], target: { newClaims: { size: '1Gi' } } },
};

function world(answers: Record<string, () => unknown>) {
  const calls: string[] = [];
  const statuses: RestoreStatus[] = [];
  const events: KubeEvent[] = [];
  const client = {
    list: async (path: string, labelSelector: string) => {
      calls.push(`LIST ${path} ${labelSelector}`);
      return { items: (answers[`list ${path}`]?.() as KubeObject[]) ?? [], metadata: {} };
    },
    create: async (path: string, obj: KubeObject) => {
      const call = `POST ${path} ${obj.metadata.name}`;
      calls.push(call);
      const answer = Object.entries(answers).find(([k]) => call.includes(k))?.[1];
      return answer ? answer() : obj;
    },
  };
  const ctx: RestoreContext = {
    client: client as never,
    settings: {},
    restore: () => restore,
    backup: () => backup,
    restoreJob: () => undefined,
    podsOfJob: () => [],
    claims: () => [],
    podsMounting: () => [],
    writeStatus: async (_, status) => {
      calls.push('status');
      statuses.push(status);
    },
    recordEvent: async (_, event) => {
      events.push(event);
    },
  };
  return { ctx, calls, statuses, events };
}
const refuse = (code: number, message: string) => () => {
  throw new ApiError(code, 'Forbidden', message, message);
};

test('claims first, then the Job, then the status and a RestoreStarted event', async () => {
  const w = world({});
  await expect(carryOutRestore(w.ctx, 'ns', 'monday')).resolves.toBe(true);
  expect(w.calls).toEqual([
    'POST /api/v1/namespaces/ns/persistentvolumeclaims monday-bakery-data',
    'POST /api/v1/namespaces/ns/persistentvolumeclaims monday-bakery-db',
    'POST /apis/batch/v1/namespaces/ns/jobs restore-monday',
    'status',
  ]);
  expect(w.statuses[0]).toMatchObject({ phase: 'Pending', jobName: 'restore-monday' });
  expect(w.events.map((e) => e.reason)).toEqual(['RestoreStarted']);
});

test(
  'a claim refused by a quota: no Job (it would wait on a claim ' +
    'that never comes), Pending with the words, a Warning, retried',
  async () => {
    const w = world({ 'monday-bakery-db': refuse(403, 'exceeded quota: storage') });
    await expect(carryOutRestore(w.ctx, 'ns', 'monday')).rejects.toThrow(
      /refused claim monday-bakery-db \(HTTP 403\): exceeded quota: storage/,
    );
    expect(w.calls.some((c) => c.includes('/jobs'))).toBe(false);
    expect(w.statuses[0]).toMatchObject({
      phase: 'Pending',
      conditions: [expect.objectContaining({ type: 'Ready', status: 'False', reason: 'ClaimRefused' })],
    });
    expect(w.statuses[0].jobName).toBeUndefined();
    expect(w.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ClaimRefused' })]);
  },
);

const ours =
  (...names: string[]) =>
  () =>
    names.map((name) => ({ metadata: { name } }));

test(
  'objects that already exist (the cache is behind) count as created once they are found to be this ' + "Restore's",
  async () => {
    const w = world({
      'POST /api/v1/namespaces/ns/persistentvolumeclaims': refuse(409, 'already exists'),
      'POST /apis/batch/v1/namespaces/ns/jobs': refuse(409, 'already exists'),
      'list /api/v1/namespaces/ns/persistentvolumeclaims': ours('monday-bakery-data', 'monday-bakery-db'),
      'list /apis/batch/v1/namespaces/ns/jobs': ours('restore-monday'),
    });
    await expect(carryOutRestore(w.ctx, 'ns', 'monday')).resolves.toBe(true);
    expect(w.calls).toContain('LIST /apis/batch/v1/namespaces/ns/jobs mall.example.com/restore-uid=r-uid');
    expect(w.statuses[0]).toMatchObject({ phase: 'Pending', jobName: 'restore-monday' });
    // The round that created the Job said RestoreStarted; this one does not say it again.
    expect(w.events).toEqual([]);
  },
);

test(
  "a Job of the same name that is not this Restore's (the runbook's restore-<name>) is not taken for ours: " +
    'Pending, saying so',
  async () => {
    const w = world({
      'POST /apis/batch/v1/namespaces/ns/jobs': refuse(409, 'already exists'),
      'list /apis/batch/v1/namespaces/ns/jobs': ours('restore-other'),
    });
    await expect(carryOutRestore(w.ctx, 'ns', 'monday')).rejects.toThrow(
      /Job restore-monday already exists and is not this Restore's: delete it or file the Restore under another name/,
    );
    expect(w.statuses[0]).toMatchObject({
      phase: 'Pending',
      conditions: [expect.objectContaining({ type: 'Ready', status: 'False', reason: 'JobRefused' })],
    });
    expect(w.statuses[0].jobName).toBeUndefined();
    expect(w.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'JobRefused' })]);
  },
);

test('a claim of the same name made meanwhile by someone else is not taken for ours: no Job mounts it', async () => {
  const w = world({
    'POST /api/v1/namespaces/ns/persistentvolumeclaims monday-bakery-db': refuse(409, 'already exists'),
    'list /api/v1/namespaces/ns/persistentvolumeclaims': ours('monday-bakery-data'),
  });
  await expect(carryOutRestore(w.ctx, 'ns', 'monday')).rejects.toThrow(
    /claim monday-bakery-db already exists and is not this Restore's/,
  );
  expect(w.calls.some((c) => c.startsWith('POST') && c.includes('/jobs'))).toBe(false);
});

test(
  'a passing failure (500) writes no status and is ' + 'retried; a Restore gone or being deleted is left alone',
  async () => {
    const w = world({
      jobs: () => {
        throw new ApiError(500, 'InternalError', 'etcd timeout');
      },
    });
    await expect(carryOutRestore(w.ctx, 'ns', 'monday')).rejects.toThrow('etcd timeout');
    expect(w.statuses).toEqual([]);
    expect(w.events).toEqual([]);
    const gone = world({});
    await expect(carryOutRestore({ ...gone.ctx, restore: () => undefined }, 'ns', 'monday')).resolves.toBe(false);
    await expect(
      carryOutRestore(
        {
          ...gone.ctx,
          restore: () => ({ ...restore, metadata: { ...restore.metadata, deletionTimestamp: '2026-11-25T10:00:00Z' } }),
        },
        'ns',
        'monday',
      ),
    ).resolves.toBe(false);
    expect(gone.calls).toEqual([]);
  },
);
