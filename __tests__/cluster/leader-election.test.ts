/**
 * Leader election attacked on the real control plane (a control plane of this suite's own: its one operator Lease
 * is fought over, edited by hand and its RBAC rule removed). Each replica talks through a fault proxy of its own,
 * which records when each of its requests reached the API server. Every time bound is derived from the timings
 * the replicas run with.
 */
import { AuditedCluster, startAuditedCluster } from '../../testing/cluster/audited-cluster';
import { eventually } from '../../testing/cluster/cluster';
import type { Seen } from '../../testing/cluster/fault-proxy';
import {
  ATTEMPT_MS,
  addShop,
  backups,
  FIRST_TERM_MS,
  isWrite,
  LEASE,
  LEASE_MS,
  LEASE_S,
  lastLeaseWrite,
  logged,
  RENEW_MS,
  RETRY_MS,
  Replicas,
  SLACK_MS,
  show,
  TAKEOVER_MS,
} from '../../testing/cluster/elected';

jest.setTimeout(240_000);

const BINDING = '/apis/rbac.authorization.k8s.io/v1/namespaces/mall-backup-system/rolebindings';
const NS = 'elected';

let f: AuditedCluster;
const replicas = new Replicas(() => f, NS);
const replica = (identity: string) => replicas.start(identity);
const stopAll = () => replicas.stopAll();
const shop = (name: string, runNow: boolean) => addShop(f, NS, name, runNow);
const jobsOf = async (name: string) =>
  (await f.admin.ok('GET', `/apis/batch/v1/namespaces/${NS}/jobs?labelSelector=mall.example.com/backup=${name}`)).items;

beforeAll(async () => {
  f = await startAuditedCluster([NS]);
});

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  await f?.stop();
});

test('two replicas started at the same instant: one leads, the other never does while it renews', async () => {
  const [a, b] = await Promise.all([replica('twin-a'), replica('twin-b')]);
  const leaders = () => [a, b].filter((r) => r.op.lines.some((l) => l.msg === 'became leader'));
  await eventually('a leader', async () => leaders().length > 0, FIRST_TERM_MS);
  const [leader] = leaders();
  const standby = leader === a ? b : a;
  // The standby tries on for a lease duration and an attempt past its first read: a steal would have shown by then.
  const firstRead = await eventually(
    'a read by the standby',
    async () => standby.proxy.seen.find((s) => s.path === LEASE)?.at,
  );
  await eventually(
    'attempts past a lease duration',
    async () => standby.proxy.seen.some((s) => s.path === LEASE && s.at > firstRead + LEASE_MS + ATTEMPT_MS),
    2 * (LEASE_MS + ATTEMPT_MS),
  );
  expect(leaders()).toEqual([leader]);
  expect((await f.admin.ok('GET', LEASE)).spec.holderIdentity).toBe(leader.op.identity);
  expect(show(standby.proxy.seen.filter(isWrite))).toEqual([]);
});

test(
  'SIGTERM while a write hangs: the write is cut, the Lease handed back, ' +
    'the standby leads well within a lease duration, exit 0',
  async () => {
    const a = await replica('term-a');
    await a.op.waitFor('became leader', FIRST_TERM_MS);
    const b = await replica('term-b');
    await shop('kept', false);
    await eventually(
      'kept Scheduled',
      async () => (await f.admin.ok('GET', `${backups(NS)}/kept`)).status?.phase === 'Scheduled',
      60_000,
    );
    const hung = a.proxy.rule({
      name: 'hang the writes',
      verb: 'PATCH',
      path: new RegExp(`/namespaces/${NS}/`),
      hang: true,
    });
    await f.admin.ok('PATCH', `${backups(NS)}/kept`, { spec: { backupTime: '04:45' } }, 'application/merge-patch+json');
    await eventually('a write of the leader to hang', async () => hung.hits > 0);

    const termAt = Date.now();
    await a.op.stop('SIGTERM');
    expect(a.op.exitCode).toBe(0);
    expect(a.op.lines.map((l) => l.msg)).toContain('released the lease');
    const tookOverAt = await logged(b.op, 'became leader', termAt, LEASE_MS * 3);
    // In-flight work gets one retry period, then the release; the standby takes it at its next attempt.
    expect(tookOverAt - termAt).toBeLessThan(Math.min(LEASE_MS, RETRY_MS + ATTEMPT_MS + SLACK_MS));
    hung.release();
    expect(show(a.proxy.seen.filter((s) => s.rule === 'hang the writes' && s.forwardedAt !== undefined))).toEqual([]);
    expect(show(a.proxy.seen.filter((s) => isWrite(s) && (s.forwardedAt ?? 0) >= tookOverAt))).toEqual([]);
    await eventually(
      'the change made by the new leader',
      async () =>
        (await f.admin.ok('GET', `/apis/batch/v1/namespaces/${NS}/cronjobs/backup-kept`)).spec.schedule ===
        '45 4 * * *',
    );
  },
);

test('SIGKILL after a run-now Job: the standby waits out the lease, then starts no second Job', async () => {
  const a = await replica('kill-a');
  await a.op.waitFor('became leader', FIRST_TERM_MS);
  const b = await replica('kill-b');
  await shop('bakery', true);
  await eventually('the run-now Job', async () => (await jobsOf('bakery')).length > 0, 60_000);
  await a.op.stop('SIGKILL');
  const killedAt = Date.now();
  expect(a.op.exitCode).toBeNull();
  const lastRenewal = lastLeaseWrite(a.proxy);
  const tookOverAt = await logged(b.op, 'became leader', killedAt, LEASE_MS * 3);
  // Not before a lease duration from the last renewal; at most one attempt to see it, a lease duration, one attempt.
  expect(tookOverAt).toBeGreaterThanOrEqual(lastRenewal + LEASE_MS);
  expect(tookOverAt - killedAt).toBeLessThan(TAKEOVER_MS);
  await eventually(
    'bakery Completed',
    async () => (await f.admin.ok('GET', `${backups(NS)}/bakery`)).status?.phase === 'Completed',
    120_000,
  );
  expect(await jobsOf('bakery')).toHaveLength(1);
});

test(
  'the Lease edited by hand: another holder with a renewTime an ' + 'hour ahead is waited out by local time only',
  async () => {
    const a = await replica('edit-a');
    await a.op.waitFor('became leader', FIRST_TERM_MS);
    const b = await replica('edit-b');
    // leaseDurationSeconds 0 never gets in: the API server refuses it.
    const lease = await f.admin.ok('GET', LEASE);
    const zero = await f.admin.request('PUT', LEASE, { ...lease, spec: { ...lease.spec, leaseDurationSeconds: 0 } });
    expect(zero.status).toBe(422);

    const future = new Date(Date.now() + 3_600_000).toISOString().replace('Z', '000Z');
    const editedAt = await eventually('the edit (the leader renews meanwhile)', async () => {
      const now = await f.admin.ok('GET', LEASE);
      const put = await f.admin.request('PUT', LEASE, {
        ...now,
        spec: { ...now.spec, holderIdentity: 'ghost', renewTime: future, leaseDurationSeconds: LEASE_S },
      });
      return put.status === 200 && Date.now();
    });
    const stoppedAt = await logged(a.op, 'stopped leading', editedAt, RETRY_MS + SLACK_MS + RENEW_MS);
    expect(stoppedAt - editedAt).toBeLessThan(RETRY_MS + SLACK_MS);
    // Its renewal in flight at the edit may meet it as a conflict instead.
    expect(a.op.lines.find((l) => l.msg === 'stopped leading')?.why).toMatch(/^ghost holds the lease$|409 Conflict/);
    const takeovers = await eventually(
      'a takeover from the ghost',
      async () => {
        const t = [a.op, b.op].map((o) => o.lines.find((l) => l.msg === 'became leader' && l.time > editedAt)?.time);
        return t.some(Boolean) && (t.filter(Boolean) as number[]);
      },
      LEASE_MS * 3,
    );
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]).toBeGreaterThanOrEqual(editedAt + LEASE_MS);
    expect(takeovers[0] - editedAt).toBeLessThan(TAKEOVER_MS);
    // Nothing written by a replica between the edit and the takeover.
    const between = (s: Seen) => isWrite(s) && (s.forwardedAt ?? 0) > stoppedAt && (s.forwardedAt ?? 0) < takeovers[0];
    expect(show([...a.proxy.seen, ...b.proxy.seen].filter(between))).toEqual([]);
  },
);

test('the Lease deleted by hand under a live leader: the leader recreates it, the standby never leads', async () => {
  const a = await replica('deleted-a');
  await a.op.waitFor('became leader', FIRST_TERM_MS);
  const b = await replica('deleted-b');
  await eventually('the standby to read the Lease', async () => b.proxy.seen.some((s) => s.path === LEASE));
  await f.admin.ok('DELETE', LEASE);
  const deletedAt = Date.now();
  const recreated = await eventually(
    'the Lease recreated',
    async () => {
      const r = await f.admin.request('GET', LEASE);
      return r.status === 200 && r.body;
    },
    ATTEMPT_MS + SLACK_MS,
  );
  expect(recreated.spec.holderIdentity).toBe('deleted-a');
  // The standby's attempts span the time the deleted Lease could have lasted, and it never took it.
  await eventually(
    'standby attempts past a lease duration',
    async () => b.proxy.seen.some((s) => s.path.includes('/leases') && s.at > deletedAt + LEASE_MS + ATTEMPT_MS),
    2 * (LEASE_MS + ATTEMPT_MS),
  );
  expect(b.op.lines.filter((l) => l.msg === 'became leader')).toEqual([]);
  expect(a.op.lines.filter((l) => l.msg === 'stopped leading')).toEqual([]);
  expect(b.proxy.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/leases'))).toEqual([]);
});

test(
  '409 on every Lease update: the leader stops at once, the ' + 'standby takes over once the lease runs out',
  async () => {
    const a = await replica('conflict-a');
    await a.op.waitFor('became leader', FIRST_TERM_MS);
    const b = await replica('conflict-b');
    const conflicts = a.proxy.rule({ name: 'conflict', verb: 'PUT', path: /\/leases\//, code: 409 });
    const from = Date.now();
    const stoppedAt = await logged(a.op, 'stopped leading', from, RETRY_MS + SLACK_MS + RENEW_MS);
    expect(stoppedAt - from).toBeLessThan(RETRY_MS + SLACK_MS);
    expect(a.op.lines.find((l) => l.msg === 'stopped leading')?.why).toBe(
      'the lease changed since it was read (409 Conflict)',
    );
    const lastRenewal = lastLeaseWrite(a.proxy);
    const tookOverAt = await logged(b.op, 'became leader', from, LEASE_MS * 3);
    expect(tookOverAt).toBeGreaterThanOrEqual(lastRenewal + LEASE_MS);
    expect(conflicts.hits).toBeGreaterThan(1);
    expect(show(a.proxy.seen.filter((s) => isWrite(s) && (s.forwardedAt ?? 0) > stoppedAt))).toEqual([]);
    expect(a.op.lines.filter((l) => l.msg === 'became leader')).toHaveLength(1);
  },
);

test('the leader-election RBAC rule removed: not leading, /readyz says why; put back: leading again', async () => {
  const a = await replica('rbac-a');
  await a.op.waitFor('became leader', FIRST_TERM_MS);
  expect((await a.op.get('probe', '/readyz')).status).toBe(200);
  const binding = await f.admin.ok('GET', `${BINDING}/mall-backup-operator-leader-election`);
  await f.admin.ok('DELETE', `${BINDING}/mall-backup-operator-leader-election`);
  try {
    const removedAt = Date.now();
    const stoppedAt = await logged(a.op, 'stopped leading', removedAt, RENEW_MS + RETRY_MS + SLACK_MS);
    expect(stoppedAt - removedAt).toBeLessThan(RENEW_MS + RETRY_MS + SLACK_MS);
    const probe = await eventually('/readyz to fail', async () => {
      const r = await a.op.get('probe', '/readyz');
      return r.status === 503 && r;
    });
    expect(probe.text).toMatch(
      new RegExp(
        'leader election: the calls on Lease mall-backup-system/mall-backup-operator-leader fail since .*: ' +
          String.raw`GET .*: 403 .*forbidden.* \(the operator needs get, create and update on leases ` +
          String.raw`in that namespace\)`,
      ),
    );
    expect(show(a.proxy.seen.filter((s) => isWrite(s) && (s.forwardedAt ?? 0) > stoppedAt))).toEqual([]);
  } finally {
    const { metadata, roleRef, subjects } = binding;
    await f.admin.ok('POST', BINDING, {
      metadata: { name: metadata.name, labels: metadata.labels },
      roleRef,
      subjects,
    });
  }
  await logged(a.op, 'became leader', Date.now() - 1, FIRST_TERM_MS);
  await eventually('/readyz to pass', async () => (await a.op.get('probe', '/readyz')).status === 200);
});
