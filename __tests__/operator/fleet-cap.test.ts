/**
 * The run cap with the bundled operator against a fake API server on 127.0.0.1: real HTTP, watches,
 * leader election and a takeover. The tests play the CronJob controller (held Jobs appear) and the Job
 * controller (runs finish); the operator decides which held runs start.
 */
import { FakeApiServer, Obj } from '../support/fake-apiserver';
import { OperatorProcess, operatorBundle, waitFor } from '../support/operator-process';
import { grantingRules, requestAttributes, resourceRequests } from '../support/rbac';
import { allObjects, synthDefaultApp } from '../support/synth';
import { isVaultInit, VaultInitController } from '../support/vault-init-controller';

jest.setTimeout(60_000);

const NS = 'mall-shops';
let server: FakeApiServer;
let operators: OperatorProcess[] = [];
// Each vault's init Job completes at once: the cap concerns backup runs.
let vaultInits: VaultInitController;

beforeAll(() => operatorBundle(), 60_000);
beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  vaultInits = new VaultInitController(server);
});
afterEach(async () => {
  for (const op of operators) op.kill();
  operators = [];
  vaultInits.stop();
  await server.stop();
});

async function operator(identity: string, args: string[]): Promise<OperatorProcess> {
  const op = new OperatorProcess(server, identity, args);
  operators.push(op);
  return op.start();
}

function fileBackup(
  name: string,
  vault = name,
  vaultLocation = `s3:https://s3.amazonaws.com/vault/${vault}`,
  when = { backupTime: '02:30', timeZone: 'UTC' },
): void {
  server.put({
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, namespace: NS },
    spec: {
      shopName: name,
      ...when,
      vaultLocation,
      vaultCredentialsSecret: 'vault',
      retention: { keepLast: 7 },
      suspend: false,
      concurrencyPolicy: 'Forbid',
      backoffLimit: 2,
    },
  });
  server.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${name}-data`, namespace: NS, labels: { 'mall.example.com/shop': name } },
    spec: { accessModes: ['ReadWriteOnce'] },
  });
}

/** The CronJob controller: a Job from the CronJob's template (suspended under a cap) for the run due at `due`. */
function fire(backup: string, due: string): Obj {
  const cron = server.get('CronJob', NS, `backup-${backup}`)!;
  return server.put({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `backup-${backup}-${Date.parse(due) / 60000}`,
      namespace: NS,
      labels: cron.spec.jobTemplate.metadata.labels,
      annotations: { 'batch.kubernetes.io/cronjob-scheduled-timestamp': due },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cron.metadata.name, uid: cron.metadata.uid, controller: true },
      ],
    },
    spec: cron.spec.jobTemplate.spec,
  });
}

const started = () =>
  server
    .list('Job', NS)
    .filter((j) => !isVaultInit(j) && j.spec.suspend === false && !j.status?.conditions)
    .map((j) => j.metadata.labels['mall.example.com/backup'])
    .sort();
const finish = (backup: string) => {
  const job = server
    .list('Job', NS)
    .find((j) => !isVaultInit(j) && j.metadata.labels['mall.example.com/backup'] === backup)!;
  server.patchStatus('Job', NS, job.metadata.name, {
    succeeded: 1,
    completionTime: '2026-11-25T03:00:00Z',
    conditions: [{ type: 'Complete', status: 'True' }],
  });
};
const status = (name: string) => server.get('Backup', NS, name)?.status;
const shops = ['a', 'b', 'c', 'd', 'e'];

async function fleetOfFiveHeld(): Promise<void> {
  shops.forEach((s) => fileBackup(s));
  await waitFor('every CronJob, creating its Jobs suspended', () =>
    shops.every((s) => server.get('CronJob', NS, `backup-${s}`)?.spec.jobTemplate.spec.suspend === true),
  );
  // Due one minute apart, e first, then d, c, b, a, each appearing when due as the CronJob controller makes them.
  [...shops].reverse().forEach((s, i) => fire(s, `2026-11-25T02:3${i}:00Z`));
}

test(
  'cap 2: the two runs due first start, the rest are Queued in ' +
    'due order, and each finished run frees a slot for the next',
  async () => {
    await operator('op-1', ['--max-concurrent-runs=2']);
    await fleetOfFiveHeld();
    await waitFor('the queue in the statuses', () =>
      ['c', 'b', 'a'].every((s, i) => status(s)?.queuePosition === i + 1),
    );
    expect(started()).toEqual(['d', 'e']);
    expect(status('c')).toMatchObject({
      phase: 'Queued',
      message: expect.stringMatching(/is queued for a free run slot: position 1 of 3$/),
    });
    // The started run's own status is written by its next reconcile, which may come after the queue's.
    await waitFor('e Running', () => status('e')?.phase === 'Running');

    finish('e');
    await waitFor('c started', () => started().includes('c'));
    expect(started()).toEqual(['c', 'd']);
    finish('d');
    finish('c');
    await waitFor('a and b started', () => started().length === 2 && started().includes('a'));
    expect(started()).toEqual(['a', 'b']);
    // The operator made no run of its own: it only starts the CronJob's. Its only Jobs are each vault's init Job.
    expect(server.writes((r) => r.method === 'POST' && r.path.includes('/jobs'))).toHaveLength(
      server.list('Job', NS).filter(isVaultInit).length,
    );

    const metrics = await operators[0].get('metrics', '/metrics');
    expect(metrics.text).toMatch(/mall_backup_runs_started_total 5/);
    expect(metrics.text).toMatch(/mall_backup_runs_queued 0/);

    const roles = allObjects(synthDefaultApp()).filter(
      (o) => ['ClusterRole', 'Role'].includes(o.kind) && o.metadata.name.startsWith('mall-backup-operator'),
    );
    for (const r of resourceRequests(server.requests.filter((q) => q.user.startsWith('op-')))) {
      expect({
        call: `${r.method} ${r.path}`,
        granted: grantingRules(roles, requestAttributes(r.method, r.path, r.watch)!).length > 0,
      }).toEqual({ call: `${r.method} ${r.path}`, granted: true });
    }
  },
);

test('per vault 1: runs into a busy vault wait while a run into another vault starts', async () => {
  await operator('op-1', ['--max-concurrent-runs-per-vault=1']);
  ['a', 'b', 'c'].forEach((s) => fileBackup(s, 'shared'));
  fileBackup('d', 'own');
  await waitFor('the CronJobs', () =>
    ['a', 'b', 'c', 'd'].every((s) => server.get('CronJob', NS, `backup-${s}`)?.spec.jobTemplate.spec.suspend === true),
  );
  ['a', 'b', 'c', 'd'].forEach((s, i) => fire(s, `2026-11-25T02:3${i}:00Z`));
  await waitFor('b and c queued behind a', () => status('b')?.queuePosition === 1 && status('c')?.queuePosition === 2);
  expect(started()).toEqual(['a', 'd']);
});

test('per vault 1: one vault written two ways is one vault', async () => {
  await operator('op-1', ['--max-concurrent-runs-per-vault=1']);
  fileBackup('a', '', 's3:https://s3.amazonaws.com/vault/shared');
  fileBackup('b', '', 's3:https://S3.AmazonAWS.com:443/vault//shared/');
  await waitFor('the CronJobs', () =>
    ['a', 'b'].every((s) => server.get('CronJob', NS, `backup-${s}`)?.spec.jobTemplate.spec.suspend === true),
  );
  ['a', 'b'].forEach((s, i) => fire(s, `2026-11-25T02:3${i}:00Z`));
  await waitFor('b queued behind a', () => status('b')?.queuePosition === 1);
  expect(started()).toEqual(['a']);
});

test(
  'under a cap, a run robfig should not have made (01:45 again ' +
    "at 02:45 on Lord Howe's spring day) is dropped, never started",
  async () => {
    await operator('op-1', ['--max-concurrent-runs=5']);
    fileBackup('a', 'a', undefined, { backupTime: '01:45', timeZone: 'Australia/Lord_Howe' });
    await waitFor('the CronJob', () => server.get('CronJob', NS, 'backup-a')?.spec.jobTemplate.spec.suspend === true);
    // 2027-10-03: 02:00 jumps to 02:30 at 15:30 UTC; robfig runs 01:45 (15:15 UTC) and then 02:45 (15:45 UTC) the same
    // day.
    const first = fire('a', '2027-10-02T15:15:00Z');
    await waitFor('the 01:45 run started', () => server.get('Job', NS, first.metadata.name)?.spec.suspend === false);
    finish('a');
    const extra = fire('a', '2027-10-02T15:45:00Z');
    await waitFor('the 02:45 run deleted', () => server.get('Job', NS, extra.metadata.name) === undefined);
    expect(server.writes((r) => r.method === 'PATCH' && r.path.endsWith(`/jobs/${extra.metadata.name}`))).toEqual([]);
  },
);

test('a new leader after a crash starts no run twice and keeps the cap', async () => {
  await operator('op-1', ['--max-concurrent-runs=2']);
  await fleetOfFiveHeld();
  await waitFor('two started', () => started().length === 2 && status('a')?.queuePosition === 3);
  operators[0].kill();
  const op2 = await operator('op-2', ['--max-concurrent-runs=2']);
  await waitFor('op-2 to lead', () => op2.isLeader(), 15_000);
  finish('e');
  await waitFor('c started by the new leader', () => started().includes('c'));
  expect(started()).toEqual(['c', 'd']);
  const starts = server.writes((r) => r.method === 'PATCH' && r.path.includes('/jobs/'));
  // Each Job was started once, whichever leader started it.
  expect(new Set(starts.map((r) => r.path)).size).toBe(starts.length);
});
