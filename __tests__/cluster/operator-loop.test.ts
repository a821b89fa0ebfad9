/**
 * The operator's loop on the shared control plane, one operator process for the whole suite (through a fault
 * proxy, which counts its requests and injects what the real API server will not do on demand): a run and
 * what it reports (status, Events, metrics, probes); spec changes and removed fields reaching the CronJob; a
 * CronJob refused (422), a status write that meets conflicts (409) and a server error (500), a watch that
 * expires (410) and lists that fail (500) after every watch is cut; a pod stuck on a missing Secret; an informer that
 * keeps failing (403) in the probes; Stale without waiting for a resync; and a
 * restarted operator that finds nothing to do. Watches that expire because etcd was compacted are in faults.test.ts.
 */
import { eventually } from '../../testing/cluster/cluster';
import type { FaultProxy } from '../../testing/cluster/fault-proxy';
import {
  admin,
  backups,
  event,
  getBackup,
  list,
  MERGE,
  Operated,
  phase,
  reasonOf,
} from '../../testing/cluster/operated';
import type { RealOperator } from '../../testing/cluster/operator';
import { installSnapshotCrds } from '../../testing/cluster/snapshotter';

jest.setTimeout(180_000);

const suite = new Operated('loop');
let ns: string;
let op: RealOperator;
let proxy: FaultProxy;
const cronJob = (name: string) => admin.request('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs/backup-${name}`);

beforeAll(async () => {
  // Every status names why a claim is read live, and 'the cluster has no VolumeSnapshot API' turns into 'the claim
  // names no storage class' once a snapshot suite installs the CRDs on the shared control plane. Installed first,
  // the API is there all along: an operator that re-lists the classes every 30 s cannot have missed it when the
  // restart test stops it, so a write after the restart is the operator's own doing.
  await installSnapshotCrds();
  await suite.start(1);
  [ns] = suite.namespaces;
  ({ operator: op, proxy } = await suite.operator('loop-1'));
});
afterAll(() => suite.stop());

test('run now: Completed, a BackupSucceeded Event, the metrics of the run, healthy probes', async () => {
  const created = await suite.backup(
    ns,
    'bakery',
    { timeZone: 'Europe/Rome' },
    { 'mall.example.com/run-now': 'first' },
  );
  await phase(ns, 'bakery', 'Completed', 120_000);
  const done = await eventually('the success time', async () => {
    const b = await getBackup(ns, 'bakery');
    return b.status?.lastSuccessfulTime && b;
  });
  expect(done.status).toMatchObject({ lastRunNowRequest: 'first', observedGeneration: 1 });
  expect(done.status.lastSnapshotID).toMatch(/^[0-9a-f]{8,}$/);
  const succeeded = await event(ns, 'BackupSucceeded', 'bakery');
  expect(succeeded.involvedObject.uid).toBe(created.metadata.uid);

  expect([(await op.get('probe', '/healthz')).status, (await op.get('probe', '/readyz')).status]).toEqual([200, 200]);
  const metrics = (await op.get('metrics', '/metrics')).text;
  const seconds = Date.parse(done.status.lastSuccessfulTime) / 1000;
  expect(metrics).toContain(`mall_backup_last_success_timestamp_seconds{namespace="${ns}",name="bakery"} ${seconds}`);
  expect(metrics).toContain(`mall_backup_phase{namespace="${ns}",name="bakery",phase="Completed"} 1`);
  // One series per Backup: the phases it went through before are gone.
  expect(metrics.match(new RegExp(`mall_backup_phase\\{namespace="${ns}",name="bakery",`, 'g'))).toHaveLength(1);
  expect(metrics).toMatch(/mall_backup_reconcile_total\{result="changed"\} \d+/);
});

test('a run-now Job refused by a quota (403) does not hide the finished run; the request is retried', async () => {
  const before = (await getBackup(ns, 'bakery')).status;
  // Refused until released: a refusal that is retried at once leaves RunNowRefused in the status for too short a
  // time to be seen reliably.
  const quota = proxy.rule({ name: 'quota', verb: 'POST', path: /\/jobs$/, code: 403 });
  await admin.ok(
    'PATCH',
    `${backups(ns)}/bakery`,
    { metadata: { annotations: { 'mall.example.com/run-now': 'second' } } },
    MERGE,
  );
  await eventually('RunNowRefused', async () => (await reasonOf(ns, 'bakery')) === 'RunNowRefused');
  const refused = (await getBackup(ns, 'bakery')).status;
  expect(refused).toMatchObject({
    lastSuccessfulTime: before.lastSuccessfulTime,
    lastSnapshotID: before.lastSnapshotID,
    lastRunNowRequest: 'first',
  });
  expect(refused.message).toMatch(/HTTP 403.*ResourceQuota/);
  // Retried while refused, and created once the quota allows it.
  await eventually('a second attempt', async () => quota.hits >= 2);
  quota.release();
  await eventually(
    'the run-now Job once the quota allows',
    async () => (await getBackup(ns, 'bakery')).status?.lastRunNowRequest === 'second',
  );
  // And it runs: a second snapshot.
  await eventually(
    'the second run to complete',
    async () => (await getBackup(ns, 'bakery')).status?.lastSnapshotID !== before.lastSnapshotID,
    120_000,
  );
});

test('a spec change reaches the CronJob; fields removed from the spec leave it', async () => {
  await suite.backup(ns, 'deli', { startingDeadlineSeconds: 300, activeDeadlineSeconds: 3600 });
  await phase(ns, 'deli', 'Scheduled');
  expect((await cronJob('deli')).body.spec.startingDeadlineSeconds).toBe(300);
  // A JSON merge patch with null removes the fields, as `kubectl edit` deleting the lines does.
  await admin.ok(
    'PATCH',
    `${backups(ns)}/deli`,
    {
      spec: {
        backupTime: '04:15',
        timeZone: 'Europe/Rome',
        suspend: true,
        startingDeadlineSeconds: null,
        activeDeadlineSeconds: null,
      },
    },
    MERGE,
  );
  const cron = await eventually('the new schedule', async () => {
    const c = (await cronJob('deli')).body;
    return c.spec.schedule === '15 4 * * *' && c;
  });
  expect(cron.spec).toMatchObject({ timeZone: 'Europe/Rome', suspend: true });
  expect(cron.spec.startingDeadlineSeconds).toBeUndefined();
  expect(cron.spec.jobTemplate.spec.activeDeadlineSeconds).toBeUndefined();
  const suspended = await phase(ns, 'deli', 'Suspended');
  expect(suspended.status.observedGeneration).toBe(2);
});

test(
  'a CronJob the API server refuses (422) gets a status ' + 'saying why and a Warning; it lands once accepted',
  async () => {
    proxy.rule({ name: 'refuse the CronJob', verb: 'PATCH', path: /\/cronjobs\/backup-florist$/, code: 422, times: 3 });
    await suite.backup(ns, 'florist');
    await eventually('Ready=False CronJobRefused', async () => (await reasonOf(ns, 'florist')) === 'CronJobRefused');
    const refused = await getBackup(ns, 'florist');
    expect(refused.status).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(
        new RegExp(
          /^the API server refused CronJob backup-florist \(HTTP 422\): injected failure \(refuse the /.source +
            /CronJob\); correct the Backup's spec/.source,
        ),
      ),
    });
    expect((await event(ns, 'CronJobRefused', 'florist')).type).toBe('Warning');
    await phase(ns, 'florist', 'Scheduled');
  },
);

test(
  'status writes that meet conflicts (409) and a CronJob write ' +
    'that meets a server error (500) are retried until they land',
  async () => {
    const conflicts = proxy.rule({
      name: 'conflict',
      verb: 'PATCH',
      path: /\/backups\/grocer\/status$/,
      code: 409,
      times: 2,
    });
    const failure = proxy.rule({
      name: 'fail',
      verb: 'PATCH',
      path: /\/cronjobs\/backup-grocer$/,
      code: 500,
      times: 1,
    });
    await suite.backup(ns, 'grocer');
    await phase(ns, 'grocer', 'Scheduled');
    expect([conflicts.hits, failure.hits]).toEqual([2, 1]);
    // The status no longer waits for the CronJob's write: the CronJob lands on the retry.
    await eventually('the CronJob', async () => (await cronJob('grocer')).status === 200);
  },
);

test(
  'every watch cut, the watch expired (410) and lists failing ' +
    '(500): the informers come back and the new Backups are Scheduled',
  async () => {
    // A watch that cannot resume (410) makes the informer list again: that list fails too, twice.
    const watches = proxy.rule({ name: 'expire the watch', verb: 'WATCH', path: /\/backups$/, code: 410, times: 1 });
    const lists = proxy.rule({ name: 'fail the lists', verb: 'GET', path: /\/backups$/, code: 500, times: 2 });
    expect(proxy.dropWatches()).toBeGreaterThan(0);
    await suite.backup(ns, 'hatter');
    await suite.backup(ns, 'ironmonger', { backupTime: '@hourly' });
    await phase(ns, 'hatter', 'Scheduled');
    await phase(ns, 'ironmonger', 'Scheduled');
    expect([watches.hits, lists.hits]).toEqual([1, 2]);
    expect((await cronJob('ironmonger')).body.spec.schedule).toBe('@hourly');
  },
);

test(
  'a run whose pod cannot start (its Secret is gone) ' + 'says so in the status, and runs once the Secret is back',
  async () => {
    await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'jeweller-vault' },
      stringData: { RESTIC_PASSWORD: 'gems' },
    });
    await suite.backup(ns, 'jeweller', { vaultCredentialsSecret: 'jeweller-vault' });
    await phase(ns, 'jeweller', 'Scheduled');
    await admin.ok('DELETE', `/api/v1/namespaces/${ns}/secrets/jeweller-vault`);
    await admin.ok(
      'PATCH',
      `${backups(ns)}/jeweller`,
      { metadata: { annotations: { 'mall.example.com/run-now': 'stuck' } } },
      MERGE,
    );
    const stuck = await eventually('the missing Secret in the message', async () => {
      const b = await getBackup(ns, 'jeweller');
      return b.status?.message?.includes('CreateContainerConfigError') && b;
    });
    expect(stuck.status.message).toMatch(
      /^backup-jeweller-\S+ is stuck: CreateContainerConfigError: secret "jeweller-vault" not found$/,
    );
    await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'jeweller-vault' },
      stringData: { RESTIC_PASSWORD: 'gems' },
    });
    await phase(ns, 'jeweller', 'Completed', 120_000);
  },
);

test(
  'a Backup turns Stale when its objective runs out, ' + 'without waiting for a resync, and the metric follows',
  async () => {
    await suite.backup(ns, 'kiosk', { freshness: '1m' });
    await phase(ns, 'kiosk', 'Scheduled');
    // A success 56 s ago, as a run that finished then would have recorded it.
    const lastSuccess = Math.floor(Date.now() / 1000) * 1000 - 56_000;
    const staleAt = lastSuccess + 60_000;
    await admin.ok(
      'PATCH',
      `${backups(ns)}/kiosk/status`,
      { status: { lastSuccessfulTime: new Date(lastSuccess).toISOString().replace('.000Z', 'Z') } },
      MERGE,
    );
    const fresh = (name: string, status: string) => async () =>
      (await getBackup(ns, name)).status?.conditions?.find((c: any) => c.type === 'Fresh' && c.status === status);
    expect((await eventually('Fresh=True', fresh('kiosk', 'True'))).reason).toBe('WithinObjective');
    const fresh1 = `mall_backup_fresh{namespace="${ns}",name="kiosk"} 1`;
    await eventually('the metric at 1', async () => (await op.get('metrics', '/metrics')).text.includes(fresh1));
    const stale = await eventually('Fresh=False', fresh('kiosk', 'False'), 20_000);
    expect(stale.reason).toBe('Stale');
    expect(Date.now()).toBeGreaterThanOrEqual(staleAt);
    // Well before the next resync (5 min by default): the wake-up at the objective's end did it.
    expect(Date.parse(stale.lastTransitionTime) - staleAt).toBeLessThanOrEqual(5_000);
    expect((await event(ns, 'Stale', 'kiosk')).type).toBe('Warning');
    const fresh0 = `mall_backup_fresh{namespace="${ns}",name="kiosk"} 0`;
    await eventually('the metric at 0', async () => (await op.get('metrics', '/metrics')).text.includes(fresh0));
  },
);

test(
  'an informer that keeps failing (403 on pods) backs off, ' +
    'shows in /readyz, and fails /healthz after a bounded time',
  async () => {
    // A second process that never syncs (so never reconciles beside the suite's operator).
    const started = Date.now();
    const { operator: broken, proxy: brokenProxy } = await suite.operator('loop-broken', [], {
      env: { INFORMER_UNHEALTHY_AFTER_SECONDS: '3' },
      waitForSync: false,
      proxyRules: [{ name: 'forbid pods', verb: 'GET', path: /\/pods$/, code: 403 }],
    });
    const notReady = await eventually('/readyz naming the pods informer', async () => {
      const r = await broken.get('probe', '/readyz');
      return r.status === 503 && r.text.includes('/pods') && r;
    });
    expect(notReady.text).toMatch(/informer pods \/api\/v1\/namespaces\/\S+\/pods failing since .*: GET \S+: 403/);
    expect((await broken.get('probe', '/healthz')).status).toBe(200);
    await eventually('/healthz failing', async () => (await broken.get('probe', '/healthz')).status === 503, 15_000);
    const elapsed = Date.now() - started;
    // Exponential backoff from 0.8 s (with jitter): a handful of lists in that time, not one per 500 ms.
    const lists = brokenProxy.seen.filter((s) => s.path.endsWith('/pods') && !s.watch).length;
    expect(lists).toBeLessThanOrEqual(Math.ceil(Math.log2(elapsed / 800)) + 2);
    const delays = broken.lines
      .filter((l) => l.msg === 'informer stopped; restarting')
      .map((l) => l.retryInMs as number);
    expect(delays.length).toBeGreaterThanOrEqual(2);
    expect(delays[1]).toBeGreaterThanOrEqual(1_600);
    await broken.stop('SIGKILL');
  },
);

// Runs last: it replaces the suite's operator.
test('a restarted operator finds nothing to do: no Job twice, and no write over several resyncs', async () => {
  // A scheduled run that comes due while the second operator looks is work to do, not a steady-state write: the
  // suite's '@hourly' Backup once came due at the full hour mid-window. Such a run is let come and go first.
  await runsNotDueWithin(WINDOW_MS);
  const windowStart = Date.now();
  // Converged before it stops: nothing left in flight (no write through its proxy for 2 s).
  await quietFor(proxy, 2_000);
  const jobs = (await list(ns, 'jobs')).map((j) => j.metadata.name).sort();
  const before = await storedStatuses();
  await op.stop();
  const { operator: second, proxy: secondProxy } = await suite.operator('loop-2', ['--resync-seconds=1']);
  const writes = () => secondProxy.seen.filter((s) => s.method !== 'GET');
  // Absence needs a window: three resyncs (one a second) after the caches synced, each a full pass over every
  // Backup, and not one write.
  await eventually('three resyncs', async () => Date.now() - second.when('caches synced')! > 3_500);
  // With its answer and the fields it changed, so an unexpected one shows what the new process saw differently.
  const after = await storedStatuses();
  expect(writes().map((s) => `${s.method} ${s.path} → ${s.status}: ${changed(before, after, s.path)}`)).toEqual([]);
  expect((await list(ns, 'jobs')).map((j) => j.metadata.name).sort()).toEqual(jobs);
  expect(second.lines.filter((l) => l.msg === 'reconcile failed')).toEqual([]);
  // The window really held no scheduled run (it took longer than allowed for otherwise).
  expect(Date.now() - windowStart).toBeLessThan(WINDOW_MS);
}, 300_000); // Room for a scheduled run let come and go first (see runsNotDueWithin), beyond the suite's 180 s.

/** The longest the restart window may take: a bundled operator's start and sync on a loaded machine, and 3.5 s. */
const WINDOW_MS = 60_000;

/** Waits until no Backup of the suite has a scheduled run due within `ms`: one that is, is let run to its end. */
async function runsNotDueWithin(ms: number): Promise<void> {
  const dueSoon = async () =>
    ((await admin.ok('GET', backups(ns))).items as any[]).filter(
      (b) => Date.parse(b.status?.nextScheduleTime ?? '') < Date.now() + ms,
    );
  for (const b of await dueSoon()) {
    const due = Date.parse(b.status.nextScheduleTime);
    await eventually(
      `the scheduled run of ${b.metadata.name} due at ${b.status.nextScheduleTime} to come and go`,
      async () => {
        const s = (await getBackup(ns, b.metadata.name)).status;
        return Date.parse(s?.lastScheduleTime ?? '') >= due && s.phase !== 'Running' && s.phase !== 'Queued';
      },
      ms + 120_000,
    );
  }
  expect(await dueSoon()).toEqual([]);
}

/** Waits until `proxy` has seen no write for `ms`. */
async function quietFor(via: FaultProxy, ms: number): Promise<void> {
  const lastWrite = () => Math.max(0, ...via.seen.filter((s) => s.method !== 'GET').map((s) => s.at));
  await eventually(`no write for ${ms} ms`, async () => Date.now() - lastWrite() > ms, 60_000);
}

/** Each Backup of the suite: its resourceVersion and status as the API server holds them. */
async function storedStatuses(): Promise<Map<string, any>> {
  const items = (await admin.ok('GET', backups(ns))).items as any[];
  return new Map(items.map((b) => [b.metadata.name, { version: b.metadata.resourceVersion, status: b.status }]));
}

/** What the API server holds differently for the Backup a write went to: field by field, a condition's too. */
function changed(before: Map<string, any>, after: Map<string, any>, path: string): string {
  const name = path.match(/\/backups\/([^/]+)/)?.[1] ?? '';
  const [was, now] = [before.get(name), after.get(name)];
  if (!was || !now) return `${name} not found before or after`;
  const flat = (s: any) => {
    const { conditions = [], ...rest } = s ?? {};
    const fields = conditions.flatMap((c: any) => Object.entries(c).map(([f, v]) => [`conditions[${c.type}].${f}`, v]));
    return { ...rest, ...Object.fromEntries(fields) };
  };
  const [a, b] = [flat(was.status), flat(now.status)];
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
  const diff = fields.map((k) => `${k} was ${JSON.stringify(a[k])}, now ${JSON.stringify(b[k])}`);
  return `resourceVersion ${was.version} → ${now.version}; ${diff.join('; ') || 'no field changed'}`;
}
