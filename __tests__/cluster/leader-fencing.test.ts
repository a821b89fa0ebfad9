/**
 * What leadership means for writes and clocks, on the real control plane with real operator processes (a control
 * plane of this suite's own; each replica behind a fault proxy of its own, which records when each request reached
 * the API server): a leader whose Lease calls hang while its other writes flow freely writes nothing once the Lease
 * could have expired for others; replicas whose wall clocks are minutes off neither steal a healthy Lease nor keep
 * an abandoned one. Bounds are derived from the timings the replicas run with.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditedCluster, startAuditedCluster } from '../../testing/cluster/audited-cluster';
import { eventually } from '../../testing/cluster/cluster';
import {
  ATTEMPT_MS,
  addShop,
  FIRST_TERM_MS,
  isLeaseWrite,
  isWrite,
  LEASE,
  LEASE_MS,
  logged,
  RENEW_MS,
  RETRY_MS,
  Replicas,
  SLACK_MS,
  show,
  TAKEOVER_MS,
} from '../../testing/cluster/elected';

jest.setTimeout(240_000);

const TEN_MINUTES = 600_000;
const NS = 'fencing';

let f: AuditedCluster;
const replicas = new Replicas(() => f, NS);
const stopAll = () => replicas.stopAll();
const dir = mkdtempSync(join(tmpdir(), 'mall-backup-clock-'));
/** Loaded before the operator: its wall clock (Date.now, which dates what it writes into the Lease) skewed. */
const skewClock = join(dir, 'skew-clock.js');
writeFileSync(skewClock, 'const now = Date.now; Date.now = () => now() + Number(process.env.CLOCK_SKEW_MS);\n');
/** A replica whose wall clock is `skewMs` off. */
const replica = (identity: string, skewMs = 0) =>
  replicas.start(identity, { CLOCK_SKEW_MS: String(skewMs) }, ['--require', skewClock]);
const shop = (name: string) => addShop(f, NS, name);

beforeAll(async () => {
  f = await startAuditedCluster([NS]);
});

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  await f?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(
  'Lease calls hang while writes flow: no write reaches the API ' + 'server once the Lease could expire for others',
  async () => {
    const a = await replica('flowing-a');
    await a.op.waitFor('became leader', FIRST_TERM_MS);
    const b = await replica('flowing-b');
    // New Backups keep coming, so the leader has writes to make right up to (and past) its deadline.
    let created = 0;
    let creating = true;
    const stream = (async () => {
      while (creating) {
        await shop(`shop-${created++}`);
        // Paced, not waited on: a steady stream of changes, a few per retry period.
        await new Promise((r) => setTimeout(r, RETRY_MS / 5));
      }
    })();
    try {
      await eventually('the leader writing', async () => a.proxy.seen.filter(isWrite).length > 5);
      const hangAt = Date.now();
      a.proxy.rule({ name: 'hang the Lease', path: /\/leases\//, hang: true });
      const tookOverAt = await logged(b.op, 'became leader', hangAt, FIRST_TERM_MS);
      await eventually('the new leader writing', async () =>
        b.proxy.seen.some((s) => isWrite(s) && (s.forwardedAt ?? 0) > tookOverAt),
      );
      creating = false;
      await stream;

      const lastRenewal = a.proxy.seen.filter(isLeaseWrite).at(-1)!;
      // Others see the Lease unchanged from the moment that renewal landed: it can expire for them a lease duration on.
      const couldExpire = lastRenewal.forwardedAt! + LEASE_MS;
      const written = a.proxy.seen.filter((s) => isWrite(s) && s.forwardedAt !== undefined);
      expect(written.filter((s) => s.at > hangAt).length).toBeGreaterThan(0);
      expect(show(written.filter((s) => s.forwardedAt! >= couldExpire))).toEqual([]);
      expect(show(written.filter((s) => s.forwardedAt! >= tookOverAt))).toEqual([]);
      // And its own deadline came first: nothing was sent to it later than a renew deadline after that renewal's read.
      const lastRead = a.proxy.seen
        .filter((s) => s.method === 'GET' && s.path === LEASE && s.at <= lastRenewal.at)
        .at(-1)!;
      expect(show(written.filter((s) => s.at > lastRead.at + RENEW_MS + SLACK_MS))).toEqual([]);
      expect(a.op.lines.filter((l) => l.msg === 'stopped leading').map((l) => l.why)).toEqual([
        `could not renew the lease within ${RENEW_MS} ms`,
      ]);
    } finally {
      creating = false;
      await stream;
    }
  },
);

test(
  'clocks minutes off: one ahead does not steal a healthy Lease; ' + 'one behind takes over an abandoned one on time',
  async () => {
    const a = await replica('clock-true');
    await a.op.waitFor('became leader', FIRST_TERM_MS);
    // Ten minutes ahead: judged by renewTime, the healthy leader's renewals would look ten minutes stale.
    const ahead = await replica('clock-ahead', TEN_MINUTES);
    // It tries on for a lease duration and an attempt past its first read: a steal would have shown by then.
    const firstRead = await eventually(
      'a read by the replica ahead',
      async () => ahead.proxy.seen.find((s) => s.path === LEASE)?.at,
    );
    await eventually(
      'attempts past a lease duration',
      async () => ahead.proxy.seen.some((s) => s.path === LEASE && s.at > firstRead + LEASE_MS + ATTEMPT_MS),
      2 * (LEASE_MS + ATTEMPT_MS),
    );
    expect(ahead.op.lines.filter((l) => l.msg === 'became leader')).toEqual([]);
    expect((await f.admin.ok('GET', LEASE)).spec.holderIdentity).toBe('clock-true');

    // Handed over to the replica ahead, whose renewTimes now lie ten minutes in everyone else's future.
    const handedAt = Date.now();
    await a.op.stop();
    // Released, so taken before it could have expired (how soon is the SIGTERM test's business).
    await logged(ahead.op, 'became leader', handedAt, LEASE_MS, TEN_MINUTES);
    const behind = await replica('clock-behind', -TEN_MINUTES);
    await eventually('the replica behind to read the Lease', async () =>
      behind.proxy.seen.some((s) => s.path === LEASE),
    );
    // Judged by renewTime, a Lease renewed twenty minutes in its future would be held for twenty minutes more.
    await ahead.op.stop('SIGKILL');
    const killedAt = Date.now();
    const tookOverAt = await logged(behind.op, 'became leader', killedAt, 3 * LEASE_MS, -TEN_MINUTES);
    expect(tookOverAt - killedAt).toBeLessThan(TAKEOVER_MS);
    expect((await f.admin.ok('GET', LEASE)).spec.holderIdentity).toBe('clock-behind');
  },
);
