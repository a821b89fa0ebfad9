/**
 * Faults on the real control plane, with a control plane of this suite's own (see ./audited-cluster.ts): the
 * leader killed and the standby taking over through the real Lease; a leader whose Lease renewal and writes hang
 * (the fault proxy) cut off before the standby takes over; a leader whose renewals are refused dropping its
 * Backups' metric series; etcd compacted while the watches are down, so they
 * come back to 410 Gone; the API server restarted while a run is under way; two replicas reconciling the same
 * Backups at once (no leader election), which must not start a run twice, must converge, and must then stop
 * writing. Writes are counted from the API server's audit log, or, per replica, by its fault proxy.
 */
import { JITTER_FACTOR } from '../../operator/runtime/leader-timings';
import { AuditedCluster, startAuditedCluster, Write } from '../../testing/cluster/audited-cluster';
import { eventually } from '../../testing/cluster/cluster';
import { explainBackup } from '../../testing/cluster/diagnose';
import { addShop } from '../../testing/cluster/elected';
import { FaultProxy, Seen } from '../../testing/cluster/fault-proxy';
import { RealOperator } from '../../testing/cluster/operator';

jest.setTimeout(240_000);

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mall-backup-system/leases/mall-backup-operator-leader';
const BACKUPS = (ns: string) => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;

let f: AuditedCluster;
const operators: RealOperator[] = [];
const proxies: FaultProxy[] = [];

const LEASE_MS = 3_000;
const RETRY_MS = 1_000;
/** The longest a candidate waits between two attempts (client-go's jitter). */
const ATTEMPT_MS = RETRY_MS * (1 + JITTER_FACTOR);
/** Room for a process on a loaded machine to get to a timer or a log line: one retry period. */
const SLACK_MS = RETRY_MS;

async function operator(identity: string, args: string[], kubeconfig = f.login.kubeconfig): Promise<RealOperator> {
  const timings = [`--lease-duration-seconds=${LEASE_MS / 1000}`, `--lease-retry-seconds=${RETRY_MS / 1000}`];
  const op = new RealOperator(kubeconfig, identity, [...timings, ...args]);
  operators.push(op);
  return op.start();
}

/** A proxy in front of the API server, and a kubeconfig through it with the operator's token. */
async function proxied(): Promise<{ proxy: FaultProxy; kubeconfig: string }> {
  const proxy = await new FaultProxy(f.cluster.kubeconfigPath).start();
  proxies.push(proxy);
  return { proxy, kubeconfig: proxy.kubeconfig(f.login.token, 'mall-backup-system') };
}

const shop = (ns: string, name: string, runNow = true) => addShop(f, ns, name, runNow);

const phase = async (ns: string, name: string) => (await f.admin.ok('GET', `${BACKUPS(ns)}/${name}`)).status?.phase;
/** Waits for the Backup's phase; a timeout says what the Backup, its Jobs and pods and the processes looked like. */
const reaches = (ns: string, name: string, want: string, timeoutMs: number) =>
  eventually(
    `${name} ${want}`,
    async () => (await phase(ns, name)) === want,
    timeoutMs,
    explainBackup(
      { api: f.admin, kubelet: f.kubelet, controllerManager: f.cluster.controllerManager, operators },
      ns,
      name,
    ),
  );
const jobsOf = async (ns: string, name: string) =>
  (await f.admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=mall.example.com/backup=${name}`)).items;
const schedule = async (ns: string, name: string) =>
  (await f.admin.request('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs/backup-${name}`)).body.spec?.schedule;
const setTime = (ns: string, name: string, backupTime: string) =>
  f.admin.ok('PATCH', `${BACKUPS(ns)}/${name}`, { spec: { backupTime } }, 'application/merge-patch+json');
const isWrite = (s: Seen) => s.method !== 'GET' && !s.path.includes('/leases');
const show = (seen: Seen[]) => seen.map((s) => `${s.method} ${s.path} (${s.rule ?? 'passed'}, status ${s.status})`);

/** Waits for `seconds` of audit log without a write (Lease renewals aside), failing with what was written. */
async function quiet(seconds: number): Promise<void> {
  let window: Write[] = [];
  await eventually(
    'a quiet audit log',
    async () => {
      const mark = f.writes().length;
      await new Promise((r) => setTimeout(r, seconds * 1000));
      window = f.writes().slice(mark);
      return window.length === 0;
    },
    30_000,
  ).catch((e) => {
    throw new Error(
      `${e.message}; the last ${seconds} s: ${JSON.stringify(window.slice(0, 12))} (${window.length} writes)`,
    );
  });
}

beforeAll(async () => {
  f = await startAuditedCluster(['failover', 'fenced', 'dethroned', 'compacted', 'racing']);
});

// Every test starts its own replicas: stopped (SIGTERM: the leader hands the Lease back) and their proxies released
// after it, passed or failed, so one failure shows as one failure and not as every later test's too.
afterEach(async () => {
  await Promise.all(operators.splice(0).map((o) => o.stop()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await Promise.all(proxies.map((p) => p.stop()));
  await f?.stop();
});

describe('leader election through the real Lease', () => {
  test('the leader is SIGKILLed: the standby takes the Lease and reconciles', async () => {
    const leader = await operator('replica-a', ['--leader-elect=true', '--namespaces=failover']);
    await leader.waitFor('became leader');
    const standby = await operator('replica-b', ['--leader-elect=true', '--namespaces=failover']);
    expect((await f.admin.ok('GET', LEASE)).spec.holderIdentity).toBe('replica-a');
    await leader.stop('SIGKILL');
    const killedAt = Date.now();
    const tookOverAt = (await standby.waitFor('became leader', 20_000)).time as number;
    const lease = await f.admin.ok('GET', LEASE);
    expect(lease.spec.holderIdentity).toBe('replica-b');
    // Taken no sooner than the Lease could expire (the leader renewed at most a retry period before it died), and
    // not later than an attempt to see its last renewal, a lease duration and an attempt to take it.
    expect(tookOverAt - killedAt).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - SLACK_MS);
    expect(tookOverAt - killedAt).toBeLessThan(ATTEMPT_MS + LEASE_MS + ATTEMPT_MS + SLACK_MS);
    await shop('failover', 'after-failover');
    await reaches('failover', 'after-failover', 'Completed', 120_000);
  });

  test('the API server restarts while a run is under way: the run completes once, and status catches up', async () => {
    // The previous test's leader handed the Lease back when it was stopped.
    const leader = await operator('replica-r', ['--leader-elect=true', '--namespaces=failover']);
    await leader.waitFor('became leader', 20_000);
    await shop('failover', 'across-restart');
    await eventually('the run-now Job', async () => (await jobsOf('failover', 'across-restart')).length > 0, 60_000);
    await f.cluster.apiServer.restart({ crash: true });
    await f.cluster.waitReady();
    await reaches('failover', 'across-restart', 'Completed', 120_000);
    expect(await jobsOf('failover', 'across-restart')).toHaveLength(1);
  });
});

describe('a leader whose Lease renewal hangs', () => {
  test(
    'its writes in flight are cut off and none starts, ' + 'before the standby takes over; only the leader writes',
    async () => {
      const [viaA, viaB] = [await proxied(), await proxied()];
      const a = await operator('replica-e', ['--leader-elect=true', '--namespaces=fenced'], viaA.kubeconfig);
      await a.waitFor('became leader', 20_000);
      const b = await operator('replica-f', ['--leader-elect=true', '--namespaces=fenced'], viaB.kubeconfig);
      await shop('fenced', 'kept', false);
      await reaches('fenced', 'kept', 'Scheduled', 60_000);

      const renewal = viaA.proxy.rule({ name: 'hang the renewal', verb: 'PUT', path: /\/leases\//, hang: true });
      const hung = viaA.proxy.rule({
        name: 'hang the writes',
        verb: 'PATCH',
        path: /\/namespaces\/fenced\//,
        hang: true,
      });
      await setTime('fenced', 'kept', '04:45');
      await eventually('a write of the leader to hang', async () => hung.hits > 0);
      const stoppedAt = (await a.waitFor('stopped leading', 10_000)).time as number;
      const tookOverAt = (await b.waitFor('became leader', 20_000)).time as number;
      expect(tookOverAt).toBeGreaterThan(stoppedAt);
      // Let the held requests go: any whose client still waited would reach the API server now, after the takeover.
      renewal.release();
      hung.release();
      const heldWrites = viaA.proxy.seen.filter((s) => s.rule === 'hang the writes');
      expect(heldWrites.length).toBeGreaterThan(0);
      expect(show(heldWrites.filter((s) => !s.abandoned))).toEqual([]);
      expect(show(viaA.proxy.seen.filter((s) => isWrite(s) && (s.forwardedAt ?? 0) >= tookOverAt))).toEqual([]);
      // Nothing new left the fenced replica: a request already on the wire at the fence may land a few ms later.
      expect(show(viaA.proxy.seen.filter((s) => isWrite(s) && s.at > stoppedAt + 250))).toEqual([]);
      expect(a.lines.filter((l) => l.msg === 'became leader')).toHaveLength(1);

      // The new leader finishes the change; the standby wrote nothing but its Lease before it led.
      await eventually(
        'the new schedule from the new leader',
        async () => (await schedule('fenced', 'kept')) === '45 4 * * *',
      );
      expect(show(viaB.proxy.seen.filter((s) => isWrite(s) && s.at < tookOverAt))).toEqual([]);
      expect(viaB.proxy.seen.some((s) => isWrite(s) && s.path.endsWith('/cronjobs/backup-kept'))).toBe(true);
      await Promise.all([a.stop(), b.stop()]);
    },
  );
});

describe('a process that stops leading', () => {
  test("drops its Backups' series: its last word must not fire alerts beside the new leader's", async () => {
    const { proxy, kubeconfig } = await proxied();
    const a = await operator('replica-h', ['--leader-elect=true', '--namespaces=dethroned'], kubeconfig);
    await a.waitFor('became leader', 20_000);
    await shop('dethroned', 'bakery', false);
    await reaches('dethroned', 'bakery', 'Scheduled', 60_000);
    await f.admin.ok(
      'PATCH',
      `${BACKUPS('dethroned')}/bakery`,
      { spec: { freshness: '1m' } },
      'application/merge-patch+json',
    );
    await f.admin.ok(
      'PATCH',
      `${BACKUPS('dethroned')}/bakery/status`,
      { status: { lastSuccessfulTime: '2020-01-01T00:00:00Z' } },
      'application/merge-patch+json',
    );
    const stale = /^mall_backup_fresh\{namespace="dethroned",name="bakery"\} 0$/m;
    await eventually('the stale series', async () => stale.test((await a.get('metrics', '/metrics')).text), 30_000);
    expect((await a.get('metrics', '/metrics')).text).toMatch(/^mall_backup_leader 1$/m);

    // The API server stops taking its renewals: it stops leading but keeps running (and being scraped).
    // A loss before the refusals (a renewal too slow on a loaded machine) must not count as the one awaited.
    const stopsBefore = a.lines.filter((l) => l.msg === 'stopped leading').length;
    const refused = proxy.rule({ name: 'refuse the renewals', verb: 'PUT', path: /\/leases\//, code: 500 });
    await eventually(
      'stopped leading once the renewals are refused',
      async () => a.lines.filter((l) => l.msg === 'stopped leading').length > stopsBefore,
      20_000,
    );
    expect(refused.hits).toBeGreaterThan(0);
    const text = (await a.get('metrics', '/metrics')).text;
    expect(text).toMatch(/^mall_backup_leader 0$/m);
    expect(text.split('\n').filter((l) => /^mall_backup_\w+\{[^}]*name="bakery"/.test(l))).toEqual([]);
    // Still running: a scrape a moment later has not brought them back (no round of a non-leader records them).
    await eventually('another answered Lease attempt', async () => refused.hits > 2, 20_000);
    const later = (await a.get('metrics', '/metrics')).text;
    expect(later.split('\n').filter((l) => /^mall_backup_\w+\{[^}]*name="bakery"/.test(l))).toEqual([]);
    refused.release();
    await a.stop();
  });
});

describe('etcd compacted while the watches are down', () => {
  test(
    'the watches come back to 410 Gone; the operator relists, ' +
      'converges, starts nothing twice, then writes nothing',
    async () => {
      const { proxy, kubeconfig } = await proxied();
      await operator('replica-g', ['--leader-elect=false', '--namespaces=compacted', '--resync-seconds=1'], kubeconfig);
      await shop('compacted', 'early');
      await reaches('compacted', 'early', 'Completed', 120_000);
      // Watches ask for bookmarks, so an idle watch keeps a fresh resourceVersion.
      expect(proxy.seen.filter((s) => s.watch && s.query.get('allowWatchBookmarks') !== 'true')).toEqual([]);

      const watched = new Set(proxy.seen.filter((s) => s.watch).map((s) => s.path));
      const hold = proxy.rule({ name: 'hold the watches', verb: 'WATCH', path: /./, hang: true });
      expect(proxy.dropWatches()).toBeGreaterThan(0);
      await eventually(
        'every informer to ask to watch again',
        async () =>
          new Set(proxy.seen.filter((s) => s.rule === 'hold the watches').map((s) => s.path)).size === watched.size,
      );
      // What the operator has not seen: a new Backup, a changed one, and a run-now request.
      await shop('compacted', 'late');
      await setTime('compacted', 'early', '05:15');
      await f.admin.ok(
        'PATCH',
        `${BACKUPS('compacted')}/early`,
        { metadata: { annotations: { 'mall.example.com/run-now': '2' } } },
        'application/merge-patch+json',
      );
      const revision = await f.etcdRevision();
      await f.compact(revision);
      const releasedAt = Date.now();
      hold.release();

      await eventually('the new schedule', async () => (await schedule('compacted', 'early')) === '15 5 * * *', 60_000);
      await reaches('compacted', 'late', 'Completed', 120_000);
      await eventually(
        'early run again',
        async () => {
          const b = await f.admin.ok('GET', `${BACKUPS('compacted')}/early`);
          return b.status?.lastRunNowRequest === '2' && b.status.phase === 'Completed';
        },
        120_000,
      );
      const resumed = proxy.seen.filter((s) => s.rule === 'hold the watches' && s.forwardedAt !== undefined);
      expect(resumed.length).toBeGreaterThan(0);
      for (const s of resumed) expect(Number(s.query.get('resourceVersion'))).toBeLessThan(revision);
      expect(resumed.filter((s) => s.path.endsWith('/backups')).map((s) => s.watchError)).toEqual([
        expect.stringMatching(/"code":410/),
      ]);
      // The relist that follows a 410.
      expect(proxy.seen.some((s) => !s.watch && s.path.endsWith('/backups') && s.at >= releasedAt)).toBe(true);
      // One run per request, one init Job for each vault.
      expect(await jobsOf('compacted', 'early')).toHaveLength(2);
      expect(await jobsOf('compacted', 'late')).toHaveLength(1);
      await quiet(4);
    },
  );
});

describe('two replicas reconciling the same Backups at once (no leader election)', () => {
  const SHOPS = ['anchor', 'bistro', 'cobbler', 'deli', 'emporium', 'florist'];

  test('no run starts twice, every Backup completes, and then nobody writes', async () => {
    await Promise.all(
      ['replica-c', 'replica-d'].map((id) => operator(id, ['--leader-elect=false', '--namespaces=racing'])),
    );
    const before = f.writes().length;
    await Promise.all(SHOPS.map((s) => shop('racing', s)));
    await eventually(
      'every racing Backup to complete',
      async () => (await Promise.all(SHOPS.map((s) => phase('racing', s)))).every((p) => p === 'Completed'),
      180_000,
      async () =>
        (
          await Promise.all(
            SHOPS.map((s) =>
              explainBackup({ api: f.admin, controllerManager: f.cluster.controllerManager }, 'racing', s)(),
            ),
          )
        ).join('\n'),
    );
    for (const s of SHOPS) expect(await jobsOf('racing', s)).toHaveLength(1);
    const raced = f.writes().slice(before);
    // Converged: the two replicas agree, so a quiet window sees no write (a flapping status would show).
    await quiet(5);
    const summary: Record<string, number> = {};
    for (const w of raced) {
      const key = `${w.verb} ${w.resource} ${w.code}`;
      summary[key] = (summary[key] ?? 0) + 1;
    }
    process.stdout.write(`racing replicas, ${SHOPS.length} Backups: ${JSON.stringify(summary)}\n`);
    const creates = raced.filter((w) => w.verb === 'create' && w.resource === 'jobs' && w.code === 201);
    // One run-now Job per Backup, and one init Job per vault (each shop has its own), each created once.
    const inits = creates.filter((w) => w.name.startsWith('vault-init-'));
    expect(new Set(inits.map((w) => w.name)).size).toBe(inits.length);
    expect(inits).toHaveLength(SHOPS.length);
    expect(creates.filter((w) => !w.name.startsWith('vault-init-'))).toHaveLength(SHOPS.length);
  });
});
