/**
 * The run cap on the shared control plane: the operator's CronJobs make held (suspended) Jobs, and the operator
 * decides which start. The test makes each due Job as the real CronJob controller would when its time comes (owned
 * by the CronJob, named and annotated with the scheduled time: the tests choose the times), the real Job controller
 * makes the pod of a started Job, and the test kubelet runs it with restic when the test lets it (`finish`).
 * One vault written two ways being one vault is judged in __tests__/operator/fleet-edges.test.ts (S3 locations,
 * whose init Jobs this machine cannot run).
 */
import { eventually } from '../../testing/cluster/cluster';
import type { FaultProxy } from '../../testing/cluster/fault-proxy';
import { admin, component, list, Operated, statusOf } from '../../testing/cluster/operated';
import type { RealOperator } from '../../testing/cluster/operator';

jest.setTimeout(180_000);

const suite = new Operated('fleet');
/** Backups (`namespace/name`) whose run pods the kubelet may start. */
const released = new Set<string>();
const SHOPS = ['a', 'b', 'c', 'd', 'e'];
let ns: string[];

beforeAll(async () => {
  await suite.start(4);
  ns = suite.namespaces;
  suite.holdPods = (pod) =>
    pod.metadata.labels?.['app.kubernetes.io/component'] === 'backup-run' &&
    !released.has(`${pod.metadata.namespace}/${pod.metadata.labels['mall.example.com/backup']}`);
});
afterAll(() => suite.stop());

async function operator(i: number, args: string[]): Promise<{ operator: RealOperator; proxy: FaultProxy }> {
  return suite.operator(`fleet-${i}`, args, { namespaces: [ns[i]] });
}

const cronJob = async (n: string, backup: string) =>
  (await admin.request('GET', `/apis/batch/v1/namespaces/${n}/cronjobs/backup-${backup}`)).body;

/** The CronJob controller's part: the held Job of the run due at `due`. */
async function fire(n: string, backup: string, due: string): Promise<any> {
  const cron = await cronJob(n, backup);
  return admin.ok('POST', `/apis/batch/v1/namespaces/${n}/jobs`, {
    metadata: {
      name: `backup-${backup}-${Date.parse(due) / 60000}`,
      labels: cron.spec.jobTemplate.metadata.labels,
      annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': due },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cron.metadata.name,
          uid: cron.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: cron.spec.jobTemplate.spec,
  });
}

const finished = (j: any) =>
  (j.status?.conditions ?? []).some((c: any) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True');
/** The Backups whose run has started and not finished. */
const started = async (n: string) =>
  (await list(n, 'jobs', component('backup-run')))
    .filter((j) => j.spec.suspend === false && !finished(j))
    .map((j) => j.metadata.labels['mall.example.com/backup'])
    .sort()
    .join();
const finish = (n: string, backup: string) => released.add(`${n}/${backup}`);

async function heldCronJobs(n: string, shops: string[]): Promise<void> {
  await eventually(
    'every CronJob, making its Jobs suspended',
    async () =>
      (await Promise.all(shops.map((s) => cronJob(n, s)))).every((c) => c.spec?.jobTemplate.spec.suspend === true),
    60_000,
  );
}

/** Five Backups, due one minute apart: e first, then d, c, b, a. */
async function fleetOfFiveHeld(n: string): Promise<void> {
  for (const s of SHOPS) await suite.backup(n, s);
  await heldCronJobs(n, SHOPS);
  for (const [i, s] of [...SHOPS].reverse().entries()) await fire(n, s, `2026-11-25T02:3${i}:00Z`);
}

test(
  'cap 2: the two runs due first start, the rest are Queued in ' +
    'due order, and each finished run frees a slot for the next',
  async () => {
    const n = ns[0];
    const { operator: op, proxy } = await operator(0, ['--max-concurrent-runs=2']);
    await fleetOfFiveHeld(n);
    await eventually('the queue in the statuses', async () =>
      (await Promise.all(['c', 'b', 'a'].map((s) => statusOf(n, s)))).every((st, i) => st?.queuePosition === i + 1),
    );
    expect(await started(n)).toBe('d,e');
    expect(await statusOf(n, 'c')).toMatchObject({
      phase: 'Queued',
      message: expect.stringMatching(/is queued for a free run slot: position 1 of 3$/),
    });
    await eventually('e Running', async () => (await statusOf(n, 'e'))?.phase === 'Running');

    finish(n, 'e');
    await eventually('c started when e finished', async () => (await started(n)) === 'c,d', 60_000);
    finish(n, 'd');
    finish(n, 'c');
    await eventually('a and b started', async () => (await started(n)) === 'a,b', 60_000);
    // The operator made no run of its own: it only starts the CronJob's. Its only Jobs are each vault's init Job.
    const created = proxy.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/jobs') && s.status === 201);
    expect(created).toHaveLength((await list(n, 'jobs', component('vault-init'))).length);

    const metrics = (await op.get('metrics', '/metrics')).text;
    expect(metrics).toMatch(/mall_backup_runs_started_total 5/);
    expect(metrics).toMatch(/mall_backup_runs_queued 0/);
  },
);

test('per vault 1: runs into a busy vault wait while a run into another vault starts', async () => {
  const n = ns[1];
  await operator(1, ['--max-concurrent-runs-per-vault=1']);
  for (const s of ['a', 'b', 'c']) await suite.backup(n, s, { vaultLocation: 'pvc://mall-vault/shared' });
  await suite.backup(n, 'd');
  await heldCronJobs(n, ['a', 'b', 'c', 'd']);
  for (const [i, s] of ['a', 'b', 'c', 'd'].entries()) await fire(n, s, `2026-11-25T02:3${i}:00Z`);
  await eventually(
    'b and c queued behind a',
    async () => (await statusOf(n, 'b'))?.queuePosition === 1 && (await statusOf(n, 'c'))?.queuePosition === 2,
  );
  // d's Job is started in its own reconcile, which may come after b and c were queued: wait for it, then check that
  // the busy vault's runs are still held.
  await eventually('d to start beside a', async () => (await started(n)) === 'a,d');
  expect(await started(n)).toBe('a,d');
});

test(
  'under a cap, a run robfig should not have made (01:45 again ' +
    "at 02:45 on Lord Howe's spring day) is dropped, never started",
  async () => {
    const n = ns[2];
    const { proxy } = await operator(2, ['--max-concurrent-runs=5']);
    await suite.backup(n, 'a', { backupTime: '01:45', timeZone: 'Australia/Lord_Howe' });
    await heldCronJobs(n, ['a']);
    // 2027-10-03: 02:00 jumps to 02:30 at 15:30 UTC; robfig runs 01:45 (15:15 UTC) and then 02:45 (15:45 UTC) the same
    // day.
    const first = await fire(n, 'a', '2027-10-02T15:15:00Z');
    const job = (name: string) => admin.request('GET', `/apis/batch/v1/namespaces/${n}/jobs/${name}`);
    await eventually(
      'the 01:45 run started',
      async () => (await job(first.metadata.name)).body.spec?.suspend === false,
    );
    finish(n, 'a');
    await eventually('the 01:45 run finished', async () => finished((await job(first.metadata.name)).body), 60_000);
    const extra = await fire(n, 'a', '2027-10-02T15:45:00Z');
    await eventually('the 02:45 run deleted', async () => (await job(extra.metadata.name)).status === 404);
    expect(proxy.seen.filter((s) => s.method === 'PATCH' && s.path.endsWith(`/jobs/${extra.metadata.name}`))).toEqual(
      [],
    );
  },
);

test('a new operator after a crash starts no run twice and keeps the cap', async () => {
  const n = ns[3];
  const first = await operator(3, ['--max-concurrent-runs=2']);
  await fleetOfFiveHeld(n);
  await eventually('two started, three queued', async () => (await statusOf(n, 'a'))?.queuePosition === 3);
  expect(await started(n)).toBe('d,e');
  await first.operator.stop('SIGKILL');
  const second = await operator(3, ['--max-concurrent-runs=2']);
  finish(n, 'e');
  await eventually('c started by the new operator', async () => (await started(n)) === 'c,d', 60_000);
  const starts = [first, second].flatMap(({ proxy }) =>
    proxy.seen.filter((s) => s.method === 'PATCH' && s.path.includes('/jobs/') && s.status === 200),
  );
  // Each Job was started once, whichever process started it.
  expect(new Set(starts.map((s) => s.path)).size).toBe(starts.length);
  expect(starts).toHaveLength(3);
});
