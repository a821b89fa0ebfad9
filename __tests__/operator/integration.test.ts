/**
 * The bundled operator against a fake API server on 127.0.0.1: the whole loop, with real HTTP, watches
 * and leader election. The tests play the cluster's own controllers (CronJob, Job, kubelet).
 */
import { FakeApiServer, Obj, RequestRecord } from '../support/fake-apiserver';
import { OperatorProcess, operatorBundle, waitFor } from '../support/operator-process';
import { grantingRules, grants, requestAttributes, resourceRequests } from '../support/rbac';
import { allObjects, synthDefaultApp } from '../support/synth';
import { isVaultInit, VaultInitController } from '../support/vault-init-controller';

jest.setTimeout(60_000);

const NS = 'mall-shops';
let server: FakeApiServer;
let operators: OperatorProcess[] = [];

beforeAll(() => operatorBundle(), 60_000);
let vaultInits: VaultInitController;
beforeEach(async () => {
  server = new FakeApiServer();
  await server.start();
  vaultInits = new VaultInitController(server);
});
/** Every request the operators made in this file, for the RBAC audit at the end. */
const operatorRequests: RequestRecord[] = [];
afterEach(async () => {
  vaultInits.stop();
  for (const op of operators) op.kill();
  operators = [];
  await server.stop();
  operatorRequests.push(...server.requests.filter((r) => r.user.startsWith('op-')));
});

async function operator(identity = 'op-1', args: string[] = []): Promise<OperatorProcess> {
  const op = new OperatorProcess(server, identity, args);
  operators.push(op);
  return op.start();
}

function fileBackup(name = 'bakery', spec: Record<string, unknown> = {}, annotations?: Record<string, string>): Obj {
  server.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${name}-data`, namespace: NS, labels: { 'mall.example.com/shop': name } },
    spec: { accessModes: ['ReadWriteOnce'] },
  });
  return server.put({
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, namespace: NS, annotations },
    spec: {
      shopName: name,
      backupTime: '02:30',
      timeZone: 'UTC',
      vaultLocation: `s3:https://s3.amazonaws.com/vault/${name}`,
      vaultCredentialsSecret: `${name}-vault`,
      retention: { keepLast: 7 },
      suspend: false,
      concurrencyPolicy: 'Forbid',
      backoffLimit: 2,
      ...spec,
    },
  });
}

const backup = (name = 'bakery') => server.get('Backup', NS, name)!;
const phaseIs =
  (phase: string, name = 'bakery') =>
  () =>
    backup(name)?.status?.phase === phase && backup(name);

/** What the CronJob controller does when a run is due: a Job from the CronJob's template. */
function fireCronJob(name: string, startTime: string): Obj {
  const cron = runObjects('CronJob')[0];
  return server.put({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: NS,
      labels: cron.spec.jobTemplate.metadata.labels,
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'CronJob', name: cron.metadata.name, uid: cron.metadata.uid, controller: true },
      ],
    },
    spec: cron.spec.jobTemplate.spec,
    status: { startTime, active: 1 },
  });
}

function podFor(job: Obj, state: any): Obj {
  return server.put({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${job.metadata.name}-abcde`,
      namespace: NS,
      labels: { ...job.spec.template.metadata.labels, 'job-name': job.metadata.name },
    },
    spec: { ...job.spec.template.spec, nodeName: 'node-a' },
    status: {
      phase: state.terminated ? (state.terminated.exitCode === 0 ? 'Succeeded' : 'Failed') : 'Pending',
      containerStatuses: [{ name: 'restic', state }],
    },
  });
}

/** The Backups' own CronJobs and Jobs, without the per-vault ones. */
function runObjects(kind: 'CronJob' | 'Job'): Obj[] {
  return server.list(kind, NS).filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'backup-run');
}

const operatorWrites = () => server.writes((r) => !r.path.includes('/leases'));

test('a new Backup gets its CronJob and is Scheduled; a Job that succeeds makes it Completed', async () => {
  const op = await operator();
  fileBackup();
  const scheduled = await waitFor('Scheduled', phaseIs('Scheduled'));
  expect(scheduled.status.conditions[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'CronJobReady' });
  expect(scheduled.status.observedGeneration).toBe(1);
  const [cron] = runObjects('CronJob');
  expect(cron.metadata).toMatchObject({
    name: 'backup-bakery',
    ownerReferences: [expect.objectContaining({ kind: 'Backup', uid: scheduled.metadata.uid })],
  });
  expect(cron.spec.schedule).toBe('30 2 * * *');

  const job = fireCronJob('backup-bakery-29000000', '2026-11-25T02:30:01Z');
  await waitFor('Running', phaseIs('Running'));
  podFor(job, { terminated: { exitCode: 0, reason: 'Completed', message: 'snapshot=4bba301e' } });
  server.patchStatus('Job', NS, job.metadata.name, {
    active: null,
    succeeded: 1,
    completionTime: '2026-11-25T02:41:00Z',
    conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-11-25T02:41:00Z' }],
  });
  const done = await waitFor('Completed', phaseIs('Completed'));
  expect(done.status).toMatchObject({
    lastSuccessfulTime: '2026-11-25T02:41:00Z',
    lastSnapshotID: '4bba301e',
    lastScheduleTime: '2026-11-25T02:30:01Z',
  });
  await waitFor('a BackupSucceeded event', () => server.list('Event', NS).find((e) => e.reason === 'BackupSucceeded'));

  const health = await op.get('probe', '/healthz');
  const ready = await op.get('probe', '/readyz');
  expect([health.status, ready.status]).toEqual([200, 200]);
  const metrics = await op.get('metrics', '/metrics');
  expect(metrics.text).toMatch(
    /mall_backup_last_success_timestamp_seconds\{namespace="mall-shops",name="bakery"\} 1795574460/,
  );
  expect(metrics.text).toMatch(/mall_backup_phase\{namespace="mall-shops",name="bakery",phase="Completed"\} 1/);
  // One series per Backup: the phases it went through before are gone.
  expect(metrics.text.match(/mall_backup_phase\{namespace="mall-shops",name="bakery",/g)).toHaveLength(1);
  expect(metrics.text).toMatch(/mall_backup_reconcile_total\{result="changed"\} \d+/);
});

test("a failing Job makes the Backup Failed with the pod's reason, and a Warning Event", async () => {
  await operator();
  fileBackup();
  await waitFor('Scheduled', phaseIs('Scheduled'));
  const job = fireCronJob('backup-bakery-1', '2026-11-25T02:30:01Z');
  podFor(job, { waiting: { reason: 'CreateContainerConfigError', message: 'secret "bakery-vault" not found' } });
  const stuck = await waitFor(
    'the missing Secret in the message',
    () => backup().status?.message?.includes('CreateContainerConfigError') && backup(),
  );
  expect(stuck.status.message).toBe(
    'backup-bakery-1 is stuck: CreateContainerConfigError: secret "bakery-vault" not found',
  );
  server.patchStatus('Job', NS, job.metadata.name, {
    active: null,
    failed: 3,
    conditions: [
      {
        type: 'Failed',
        status: 'True',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
        lastTransitionTime: '2026-11-25T02:35:00Z',
      },
    ],
  });
  const failed = await waitFor('Failed', phaseIs('Failed'));
  expect(failed.status.lastFailureTime).toBe('2026-11-25T02:35:00Z');
  const event = await waitFor('a BackupFailed event', () =>
    server.list('Event', NS).find((e) => e.reason === 'BackupFailed'),
  );
  expect(event).toMatchObject({
    type: 'Warning',
    involvedObject: { kind: 'Backup', name: 'bakery', uid: failed.metadata.uid },
  });
});

test('a spec change updates the CronJob', async () => {
  await operator();
  const created = fileBackup();
  await waitFor('Scheduled', phaseIs('Scheduled'));
  server.put({ ...created, spec: { ...created.spec, backupTime: '04:15', timeZone: 'Europe/Rome', suspend: true } });
  const cron = await waitFor('the new schedule', () =>
    runObjects('CronJob').find((c) => c.spec.schedule === '15 4 * * *'),
  );
  expect(cron.spec).toMatchObject({ timeZone: 'Europe/Rome', suspend: true });
  const suspended = await waitFor('Suspended', phaseIs('Suspended'));
  expect(suspended.status.observedGeneration).toBe(2);
});

test('deadlines removed from the spec leave the CronJob', async () => {
  await operator();
  const created = fileBackup('bakery', { startingDeadlineSeconds: 300, activeDeadlineSeconds: 3600 });
  await waitFor('the deadlines on the CronJob', () => runObjects('CronJob')[0]?.spec.startingDeadlineSeconds === 300);
  const { startingDeadlineSeconds: _s, activeDeadlineSeconds: _a, ...spec } = created.spec;
  server.put({ ...backup(), spec });
  const cron = await waitFor('the deadlines gone', () =>
    runObjects('CronJob').find((c) => c.spec.startingDeadlineSeconds === undefined),
  );
  expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBeUndefined();
});

test(
  'a CronJob the API server refuses (422) still gets a ' + 'status saying why and a Warning; it lands once accepted',
  async () => {
    server.failNext(3, (method, p) => method === 'PATCH' && p.includes('/cronjobs/backup-'), 422);
    await operator();
    fileBackup();
    const refused = await waitFor(
      'Ready=False CronJobRefused',
      () => backup().status?.conditions?.[0]?.reason === 'CronJobRefused' && backup(),
    );
    expect(refused.status).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(
        /^the API server refused CronJob backup-bakery \(HTTP 422\): injected failure; correct the Backup's spec/,
      ),
    });
    await waitFor('a CronJobRefused Warning', () =>
      server.list('Event', NS).find((e) => e.reason === 'CronJobRefused' && e.type === 'Warning'),
    );
    await waitFor('Scheduled once the API server accepts it', phaseIs('Scheduled'), 15_000);
  },
);

test('a run-now Job refused by a quota (403) does not hide a finished run; the request is retried', async () => {
  await operator();
  const created = fileBackup();
  await waitFor('Scheduled', phaseIs('Scheduled'));
  server.failNext(2, (method, p) => method === 'POST' && p.endsWith('/jobs'), 403);
  const job = fireCronJob('backup-bakery-1', '2026-11-25T02:30:01Z');
  podFor(job, { terminated: { exitCode: 0, reason: 'Completed', message: 'snapshot=4bba301e' } });
  server.patchStatus('Job', NS, job.metadata.name, {
    active: null,
    succeeded: 1,
    completionTime: '2026-11-25T02:41:00Z',
    conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-11-25T02:41:00Z' }],
  });
  // The finished run is known before the request comes: otherwise the watch events of the two may arrive
  // in either order, and the first refused status may rightly not know the run yet.
  await waitFor('Completed', phaseIs('Completed'));
  server.put({
    ...backup(),
    metadata: {
      ...backup().metadata,
      annotations: { ...created.metadata.annotations, 'mall.example.com/run-now': 'now' },
    },
  });
  const refused = await waitFor(
    'RunNowRefused',
    () => backup().status?.conditions?.[0]?.reason === 'RunNowRefused' && backup(),
  );
  expect(refused.status).toMatchObject({ lastSuccessfulTime: '2026-11-25T02:41:00Z', lastSnapshotID: '4bba301e' });
  expect(refused.status.message).toMatch(/HTTP 403.*ResourceQuota/);
  expect(refused.status.lastRunNowRequest).toBeUndefined();
  await waitFor(
    'the run-now Job once the quota allows',
    () => runObjects('Job').length === 2 && backup().status?.lastRunNowRequest === 'now',
  );
});

test('watches that drop, expire (410) or fail (500) mid-run still converge', async () => {
  await operator();
  fileBackup('bakery');
  await waitFor('bakery Scheduled', phaseIs('Scheduled', 'bakery'));
  // The API server forgets history and fails the next lists and watches, then every watch is cut.
  server.compact();
  server.failNext(4, (method, p) => method === 'GET' && p.endsWith('/backups'));
  server.dropWatches();
  fileBackup('florist');
  fileBackup('grocer', { backupTime: '@hourly' });
  await waitFor('florist Scheduled', phaseIs('Scheduled', 'florist'), 30_000);
  await waitFor('grocer Scheduled', phaseIs('Scheduled', 'grocer'), 30_000);
  expect(server.requests.some((r) => r.status === 500)).toBe(true);
  expect(
    runObjects('CronJob')
      .map((c) => c.metadata.name)
      .sort(),
  ).toEqual(['backup-bakery', 'backup-florist', 'backup-grocer']);
});

test(
  'an informer that keeps failing (403 on pods) backs off, ' +
    'shows in /readyz, and fails /healthz after a bounded time',
  async () => {
    server.failNext(1_000, (method, p) => method === 'GET' && p === '/api/v1/pods', 403);
    const op = new OperatorProcess(server, 'op-1', [], { INFORMER_UNHEALTHY_AFTER_SECONDS: '3' });
    operators.push(op);
    const started = Date.now();
    await op.start({ waitForSync: false });
    const notReady = await waitFor('/readyz naming the pods informer', async () => {
      const r = await op.get('probe', '/readyz').catch(() => undefined);
      return r?.status === 503 && r.text.includes('/api/v1/pods') && r;
    });
    expect(notReady.text).toMatch(/informer pods \/api\/v1\/pods failing since .*: GET \/api\/v1\/pods: 403/);
    expect((await op.get('probe', '/healthz')).status).toBe(200);
    await waitFor('/healthz failing', async () => (await op.get('probe', '/healthz')).status === 503, 10_000);
    const elapsed = Date.now() - started;
    // Exponential backoff from 0.8 s (with jitter): a handful of lists in that time, not one per 500 ms.
    const lists = server.requests.filter((r) => r.path === '/api/v1/pods' && !r.watch).length;
    expect(lists).toBeLessThanOrEqual(Math.ceil(Math.log2(elapsed / 800)) + 2);
    const delays = op.logs.filter((l) => l.msg === 'informer stopped; restarting').map((l) => l.retryInMs as number);
    expect(delays.length).toBeGreaterThanOrEqual(2);
    expect(delays[1]).toBeGreaterThanOrEqual(1_600);
  },
);

test('watches ask for bookmarks', async () => {
  await operator();
  await waitFor('watches', () => server.requests.some((r) => r.watch));
  expect(server.watchQueries.filter((q) => q.get('allowWatchBookmarks') !== 'true')).toEqual([]);
});

test('run-now starts one Job; a restart creates nothing twice; steady state writes nothing', async () => {
  const first = await operator('op-1', ['--resync-seconds=1']);
  fileBackup('bakery', {}, { 'mall.example.com/run-now': 'please' });
  await waitFor('the run-now Job', () => runObjects('Job').length === 1);
  await waitFor('the request recorded', () => backup().status?.lastRunNowRequest === 'please');
  // op-1 must also have seen its own Job come back through the watch; otherwise recording the start is
  // rightly left to op-2, and that write is not the duplicate this test is looking for.
  await waitFor(
    'the start recorded',
    () => backup().status?.lastScheduleTime && server.list('Event', NS).some((e) => e.reason === 'BackupStarted'),
  );
  expect(await first.stop()).toBe(0);
  expect(first.logs.map((l) => l.msg)).toEqual(
    expect.arrayContaining(['shutting down: finishing in-flight work', 'released the lease', 'stopped']),
  );

  const before = operatorWrites().length;
  const second = await operator('op-2', ['--resync-seconds=1']);
  await waitFor('op-2 to lead', () => second.isLeader());
  // Several resyncs at steady state.
  await new Promise((r) => setTimeout(r, 3_000));
  expect(operatorWrites().slice(before)).toEqual([]);
  expect(runObjects('CronJob')).toHaveLength(1);
  expect(runObjects('Job')).toHaveLength(1);
  expect(second.logs.filter((l) => l.msg === 'reconcile failed')).toEqual([]);
});

test('two operator processes: only the leader writes, and the other takes over when it goes', async () => {
  const a = await operator('op-a');
  await waitFor('op-a to lead', () => a.isLeader());
  const b = await operator('op-b');
  fileBackup('bakery');
  fileBackup('florist');
  await waitFor('both Scheduled', () => phaseIs('Scheduled', 'bakery')() && phaseIs('Scheduled', 'florist')());
  const writers = new Set(operatorWrites().map((w) => w.user));
  expect(writers).toEqual(new Set(['op-a']));
  expect(b.isLeader()).toBe(false);

  a.kill(); // no release: op-b must wait for the Lease to expire
  await waitFor('op-b to lead', () => b.isLeader(), 15_000);
  fileBackup('grocer');
  await waitFor('grocer Scheduled by op-b', phaseIs('Scheduled', 'grocer'), 15_000);
  expect(
    new Set(
      operatorWrites()
        .filter((w) => w.path.includes('grocer'))
        .map((w) => w.user),
    ),
  ).toEqual(new Set(['op-b']));
});

test('a status write that meets a conflict (409) or a server error is retried until it lands', async () => {
  server.failNext(2, (method, p) => method === 'PATCH' && p.endsWith('/status'), 409);
  server.failNext(1, (method, p) => method === 'PATCH' && p.includes('/cronjobs/'), 500);
  const op = await operator();
  fileBackup();
  await waitFor('Scheduled despite the conflicts', phaseIs('Scheduled'), 15_000);
  // The two injected conflicts, and any real one: a status written while the vault was initialized may race its own
  // echo.
  expect(server.requests.filter((r) => r.status === 409 && r.path.endsWith('/status')).length).toBeGreaterThanOrEqual(
    2,
  );
  expect(runObjects('CronJob')).toHaveLength(1);
  // The CronJob's 500 no longer stops the status write in the same round, so two rounds fail, not three.
  expect(op.logs.filter((l) => l.msg === 'reconcile failed').length).toBeGreaterThanOrEqual(2);
});

test('deleting a Backup leaves its CronJob to garbage collection and nothing is recreated', async () => {
  await operator();
  fileBackup();
  await waitFor('Scheduled', phaseIs('Scheduled'));
  server.remove('Backup', NS, 'bakery');
  expect(runObjects('CronJob')).toEqual([]);
  await new Promise((r) => setTimeout(r, 1_000));
  expect(runObjects('CronJob')).toEqual([]);
});

const SHARED = 's3:https://s3.amazonaws.com/vault/shared';
function fileBackupIn(namespace: string, name: string, vaultLocation: string): Obj {
  server.put({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `${name}-data`, namespace, labels: { 'mall.example.com/shop': name } },
    spec: { accessModes: ['ReadWriteOnce'] },
  });
  return server.put({
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, namespace },
    spec: {
      shopName: name,
      backupTime: '02:30',
      timeZone: 'UTC',
      vaultLocation,
      vaultCredentialsSecret: `${name}-vault`,
      retention: { keepLast: 7 },
      suspend: false,
      concurrencyPolicy: 'Forbid',
      backoffLimit: 2,
    },
  });
}
const statusOf = (namespace: string, name: string) => server.get('Backup', namespace, name)?.status;
const maintenance = () =>
  server.list('CronJob').filter((c) => c.metadata.labels?.['app.kubernetes.io/component'] === 'vault-maintenance');
const SHOPS = ['bakery', 'florist', 'grocer', 'cobbler'];

test(
  'four Backups on one fresh vault: one init Job, they wait for it, ' +
    'then run; one maintenance CronJob that goes with the last of them',
  async () => {
    vaultInits.hold = true;
    await operator();
    for (const shop of SHOPS) fileBackupIn(NS, shop, SHARED);
    await waitFor('all four waiting for the vault', () =>
      SHOPS.every((s) => statusOf(NS, s)?.conditions?.[0]?.reason === 'VaultInitializing'),
    );
    for (const shop of SHOPS) {
      expect(statusOf(NS, shop)).toMatchObject({
        phase: 'Pending',
        message: expect.stringMatching(
          /^waiting for the vault to be initialized: Job mall-shops\/vault-init-[0-9a-f]{16}/,
        ),
      });
    }
    const inits = server.list('Job').filter(isVaultInit);
    expect(inits).toHaveLength(1);
    expect(inits[0].metadata.namespace).toBe(NS);
    // Created by the oldest Backup (creation times tie within a second here, then the uid decides), with its Secret.
    const creator = inits[0].metadata.ownerReferences[0].name;
    expect(SHOPS).toContain(creator);
    expect(inits[0].spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: `${creator}-vault` } }]);
    expect(runObjects('CronJob')).toEqual([]);

    vaultInits.hold = false;
    await waitFor('all four Scheduled', () => SHOPS.every((s) => statusOf(NS, s)?.phase === 'Scheduled'));
    const cron = await waitFor(
      'one maintenance CronJob owned by all four',
      () => maintenance().length === 1 && maintenance()[0].metadata.ownerReferences?.length === 4 && maintenance()[0],
    );
    expect(cron.spec).toMatchObject({ schedule: '0 4 * * 0', concurrencyPolicy: 'Forbid' });
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].command.join(' ')).toMatch(
      /prune --retry-lock.*check --retry-lock/s,
    );
    expect(server.list('Job').filter(isVaultInit)).toHaveLength(1);
    expect(runObjects('CronJob')).toHaveLength(4);
    expect(server.writes((r) => r.method === 'POST' && r.path.endsWith('/jobs'))).toHaveLength(1);

    for (const shop of SHOPS.slice(0, 3)) server.remove('Backup', NS, shop);
    expect(maintenance()).toHaveLength(1);
    server.remove('Backup', NS, 'cobbler');
    expect(maintenance()).toEqual([]);
  },
);

test("an older Backup with an invalid spec on the same vault does not hold the vault's work back", async () => {
  await operator();
  const broken = fileBackupIn(NS, 'bakery', SHARED);
  server.put({ ...broken, spec: { ...broken.spec, backupTime: '25:00' } });
  await waitFor('bakery InvalidSpec', () => statusOf(NS, 'bakery')?.conditions?.[0]?.reason === 'InvalidSpec');
  fileBackupIn(NS, 'florist', SHARED);
  await waitFor('florist Scheduled', () => statusOf(NS, 'florist')?.phase === 'Scheduled');
  expect(
    server
      .list('Job')
      .filter(isVaultInit)
      .map((j) => j.spec.template.spec.containers[0].envFrom[0].secretRef.name),
  ).toEqual(['florist-vault']);
});

test("a failing init Job is the Backups' reason, in words, with what to do", async () => {
  vaultInits.failWith = 'Job has reached the specified backoff limit';
  await operator();
  fileBackupIn(NS, 'bakery', SHARED);
  const failed = await waitFor(
    'VaultInitFailed',
    () => statusOf(NS, 'bakery')?.conditions?.[0]?.reason === 'VaultInitFailed' && statusOf(NS, 'bakery'),
  );
  expect(failed.phase).toBe('Failed');
  expect(failed.message).toMatch(
    new RegExp(
      /the vault could not be initialized: Job mall-shops\/vault-init-\w+ failed \(Job has reached the /.source +
        /specified backoff limit\); check the vault location and the Secret bakery-vault .*then delete /.source +
        /that Job to try again/.source,
    ),
  );
  await waitFor('a Warning Event', () =>
    server.list('Event', NS).find((e) => e.reason === 'VaultInitFailed' && e.type === 'Warning'),
  );
  expect(runObjects('CronJob')).toEqual([]);
});

test(
  'a vault named from two namespaces: the later Backup is ' + 'refused, naming the other, unless the cluster allows it',
  async () => {
    await operator();
    fileBackupIn(NS, 'bakery', SHARED);
    await waitFor('bakery Scheduled', () => statusOf(NS, 'bakery')?.phase === 'Scheduled');
    fileBackupIn('other-shops', 'florist', SHARED);
    const refused = await waitFor(
      'florist refused',
      () =>
        statusOf('other-shops', 'florist')?.conditions?.[0]?.reason === 'VaultSharedAcrossNamespaces' &&
        statusOf('other-shops', 'florist'),
    );
    expect(refused.phase).toBe('Failed');
    expect(refused.message).toMatch(
      /already used by Backup mall-shops\/bakery in another namespace.*--allow-cross-namespace-vaults/,
    );
    expect(server.list('CronJob', 'other-shops')).toEqual([]);
    // A vault on a claim is the namespace's own: the same pvc:// location elsewhere is another vault.
    fileBackupIn(NS, 'grocer', 'pvc://vault/shops');
    fileBackupIn('other-shops', 'cobbler', 'pvc://vault/shops');
    await waitFor(
      'both pvc Backups Scheduled',
      () => statusOf(NS, 'grocer')?.phase === 'Scheduled' && statusOf('other-shops', 'cobbler')?.phase === 'Scheduled',
    );
  },
);

test('with --allow-cross-namespace-vaults two namespaces share one vault: one init Job, one maintenance', async () => {
  await operator('op-1', ['--allow-cross-namespace-vaults']);
  fileBackupIn(NS, 'bakery', SHARED);
  await waitFor('bakery Scheduled', () => statusOf(NS, 'bakery')?.phase === 'Scheduled');
  fileBackupIn('other-shops', 'florist', SHARED);
  await waitFor('florist Scheduled', () => statusOf('other-shops', 'florist')?.phase === 'Scheduled');
  expect(server.list('Job').filter(isVaultInit)).toHaveLength(1);
  expect(maintenance().map((c) => c.metadata.namespace)).toEqual([NS]);
});

function fileRestore(name: string, spec: Record<string, unknown>): Obj {
  return server.put({
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Restore',
    metadata: { name, namespace: NS },
    spec: { backupName: 'bakery', ...spec },
  });
}
const restore = (name: string) => server.get('Restore', NS, name)!;
const restorePhaseIs = (name: string, phase: string) => () => restore(name)?.status?.phase === phase && restore(name);

/**
 * What the Job controller and the kubelet do with a restore Job: a pod that ends, then the Job's outcome,
 * finishing now after 65 s (the operator gives a finished Job's pod report a grace period from then).
 */
function finishRestoreJob(job: Obj, exitCode: number, message: string): { start: string; end: string } {
  const at = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const end = at(Math.floor(Date.now() / 1000) * 1000);
  const start = at(Date.parse(end) - 65_000);
  server.patchStatus('Job', NS, job.metadata.name, { startTime: start, active: 1 });
  podFor(job, { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', message } });
  server.patchStatus(
    'Job',
    NS,
    job.metadata.name,
    exitCode === 0
      ? {
          active: null,
          succeeded: 1,
          completionTime: end,
          conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: end }],
        }
      : {
          active: null,
          failed: 1,
          conditions: [
            {
              type: 'Failed',
              status: 'True',
              reason: 'BackoffLimitExceeded',
              message: 'Job has reached the specified backoff limit',
              lastTransitionTime: end,
            },
          ],
        },
  );
  return { start, end };
}

test(
  'a Restore into new claims: the claim and the Job are ' + 'created, and a Job that succeeds makes it Completed',
  async () => {
    await operator();
    fileBackup();
    const filed = fileRestore('monday', { target: { newClaims: { size: '5Gi', storageClassName: 'fast' } } });
    const job = await waitFor('the restore Job', () => server.get('Job', NS, 'restore-monday'));
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Restore', uid: filed.metadata.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    expect(job.spec.template.spec.volumes[0]).toEqual({
      name: 'target-0',
      persistentVolumeClaim: { claimName: 'monday-bakery-data' },
    });
    // The new claim is nobody's: deleting the permit keeps the restored data.
    const claim = server.get('PersistentVolumeClaim', NS, 'monday-bakery-data')!;
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } });
    await waitFor(
      'Pending with the plan',
      () => restore('monday').status?.jobName === 'restore-monday' && restore('monday'),
    );
    await waitFor('a RestoreStarted event', () =>
      server.list('Event', NS).find((e) => e.reason === 'RestoreStarted' && e.involvedObject.kind === 'Restore'),
    );

    const ran = finishRestoreJob(job, 0, 'restored bakery-data 4bba301e 2026-11-25T02:30:05Z 12 3456\n');
    const done = await waitFor('Completed', restorePhaseIs('monday', 'Completed'));
    expect(done.status).toMatchObject({
      snapshotID: '4bba301e',
      durationSeconds: 65,
      startTime: ran.start,
      completionTime: ran.end,
      claims: [
        {
          claim: 'bakery-data',
          targetClaim: 'monday-bakery-data',
          snapshotID: '4bba301e',
          snapshotTime: '2026-11-25T02:30:05Z',
          files: 12,
          bytes: 3456,
        },
      ],
      message: 'restored 1 claim(s) from snapshot 4bba301e: 12 files, 3456 bytes in 65s',
    });
    expect(done.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Succeeded', status: 'True', reason: 'RestoreSucceeded' }),
      ]),
    );
    await waitFor('a RestoreSucceeded event', () =>
      server
        .list('Event', NS)
        .find((e) => e.reason === 'RestoreSucceeded' && e.involvedObject.uid === filed.metadata.uid),
    );
    expect(server.list('Job', NS).filter((j) => j.metadata.name.startsWith('restore-'))).toHaveLength(1);
  },
);

test(
  'a Restore waits for its target claim; a failing Job ' + "makes it Failed with the pod's reason and a Warning",
  async () => {
    await operator();
    fileBackup();
    fileRestore('tuesday', { target: { existingClaim: 'scratch' } });
    const waiting = await waitFor(
      'Pending ClaimNotFound',
      () => restore('tuesday').status?.conditions?.[0]?.reason === 'ClaimNotFound' && restore('tuesday'),
    );
    expect(waiting.status).toMatchObject({
      phase: 'Pending',
      message: 'waiting for claim scratch (target.existingClaim) to exist',
    });
    expect(server.get('Job', NS, 'restore-tuesday')).toBeUndefined();
    // The claim appearing is a change the operator acts on, without waiting for a resync.
    server.put({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'scratch', namespace: NS },
      spec: { accessModes: ['ReadWriteOnce'] },
    });
    const job = await waitFor('the restore Job', () => server.get('Job', NS, 'restore-tuesday'));
    finishRestoreJob(job, 1, 'error no snapshot of Backup mall-shops/bakery holds claim bakery-data\n');
    const failed = await waitFor('Failed', restorePhaseIs('tuesday', 'Failed'));
    expect(failed.status.message).toBe(
      'restore-tuesday failed: no snapshot of Backup mall-shops/bakery holds claim bakery-data',
    );
    expect(failed.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Succeeded', status: 'False', reason: 'RestoreFailed' }),
      ]),
    );
    const event = await waitFor('a RestoreFailed Warning', () =>
      server.list('Event', NS).find((e) => e.reason === 'RestoreFailed'),
    );
    expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Restore', name: 'tuesday' } });
  },
);

test(
  'a restore Job refused by a quota (403) leaves the ' + 'Restore Pending saying why; it starts once allowed',
  async () => {
    await operator();
    fileBackup();
    // The Backup's vault init Job is a POST to /jobs too: only once it exists is the next one the Restore's.
    await waitFor('the vault init Job', () => server.list('Job', NS).some(isVaultInit));
    server.failNext(2, (method, p) => method === 'POST' && p.endsWith('/jobs'), 403);
    fileRestore('wednesday', { target: { newClaims: { size: '1Gi' } } });
    const refused = await waitFor(
      'Ready=False JobRefused',
      () => restore('wednesday').status?.conditions?.[0]?.reason === 'JobRefused' && restore('wednesday'),
    );
    expect(refused.status.phase).toBe('Pending');
    expect(refused.status.message).toMatch(
      new RegExp(
        /^the API server refused Job restore-wednesday \(HTTP 403\): injected failure; check the /.source +
          /namespace's ResourceQuota/.source,
      ),
    );
    await waitFor('a JobRefused Warning', () =>
      server.list('Event', NS).find((e) => e.reason === 'JobRefused' && e.type === 'Warning'),
    );
    await waitFor('the Job once allowed', () => server.get('Job', NS, 'restore-wednesday'), 15_000);
    await waitFor('Ready=True', () => restore('wednesday').status?.conditions?.[0]?.reason === 'JobCreated');
    expect(
      server.list('PersistentVolumeClaim', NS).filter((c) => c.metadata.name === 'wednesday-bakery-data'),
    ).toHaveLength(1);
  },
);

test(
  'a Backup turns Stale when its objective runs out, ' + 'without waiting for a resync, and the metric follows',
  async () => {
    const op = await operator('op-1', ['--resync-seconds=300']);
    const lastSuccess = new Date(Math.floor(Date.now() / 1000) * 1000 - 56_000);
    const staleAt = lastSuccess.getTime() + 60_000;
    server.put({
      ...fileBackup('bakery', { freshness: '1m' }),
      status: { lastSuccessfulTime: lastSuccess.toISOString().replace('.000Z', 'Z') },
    });
    const fresh = await waitFor('Fresh=True', () =>
      backup().status?.conditions?.find((c: any) => c.type === 'Fresh' && c.status === 'True'),
    );
    expect(fresh.reason).toBe('WithinObjective');
    expect((await op.get('metrics', '/metrics')).text).toMatch(
      /mall_backup_fresh\{namespace="mall-shops",name="bakery"\} 1/,
    );
    const stale = await waitFor(
      'Fresh=False',
      () => backup().status?.conditions?.find((c: any) => c.type === 'Fresh' && c.status === 'False'),
      15_000,
    );
    expect(stale.reason).toBe('Stale');
    expect(Date.now()).toBeGreaterThanOrEqual(staleAt);
    // Well before the next resync (300 s): the wake-up at the objective's end did it.
    expect(Date.parse(stale.lastTransitionTime) - staleAt).toBeLessThanOrEqual(5_000);
    await waitFor('a Stale Warning', () =>
      server.list('Event', NS).find((e) => e.reason === 'Stale' && e.type === 'Warning'),
    );
    await waitFor('the metric at 0', async () =>
      /mall_backup_fresh\{namespace="mall-shops",name="bakery"\} 0/.test((await op.get('metrics', '/metrics')).text),
    );
  },
);

// Runs last: it reads the requests of every test above.
test('RBAC: every call the operator made is granted by its synthesized roles, and nothing more is granted', () => {
  const roles = allObjects(synthDefaultApp()).filter(
    (o) => ['ClusterRole', 'Role'].includes(o.kind) && o.metadata.name.startsWith('mall-backup-operator'),
  );
  const calls = new Set<string>();
  for (const r of resourceRequests(operatorRequests)) {
    const attributes = requestAttributes(r.method, r.path, r.watch);
    expect(attributes).toBeDefined();
    expect({ call: `${r.method} ${r.path}`, granted: grantingRules(roles, attributes!).length > 0 }).toEqual({
      call: `${r.method} ${r.path}`,
      granted: true,
    });
    calls.add(`${attributes!.group}/${attributes!.resource}: ${attributes!.verb}`);
  }
  // Granted without a call of that verb: `create` on CronJobs, which the API server checks when a
  // server-side apply (a PATCH) creates the object; the owner's finalizers, checked for
  // blockOwnerDeletion (Backups' and Restores'). Not exercised here: deleting a Job (run-now under Replace, in the
  // pure tests); starting a held Job (fleet-cap.test.ts, which checks its own calls against the same roles).
  const notExercised = [
    'batch/cronjobs: create',
    'batch/jobs: delete',
    'batch/jobs: patch',
    'mall.example.com/backups/finalizers: update',
    'mall.example.com/restores/finalizers: update',
  ];
  expect(
    grants(roles)
      .filter((g) => !notExercised.includes(g))
      .sort(),
  ).toEqual([...calls].sort());
});
