/**
 * The vault under ordinary faults, with the pinned restic running the rendered backup pod's own command:
 * signals, kills, overlapping runs, first runs on a fresh vault, skewed clocks, a wiped shop, unreadable files and
 * vaults that refuse (wrong password, read-only, full). Each test asserts the safe outcome and the stated cause.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job';
import * as pod from './support/backup-pod';
import { resticBinary } from './support/restic';

let work: string;
let data: string;
let vault: string;
const repo = () => path.join(vault, 'shops');
/** Short lock waits so a test of a lock timeout ends in seconds. */
const quick = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '2s' };

beforeAll(() => { resticBinary(); });
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-faults-'));
  data = path.join(work, 'data');
  vault = path.join(work, 'vault');
  fs.mkdirSync(vault);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function shop(name: string, extra: Partial<pod.Shop> = {}): pod.Shop {
  const claims = [`${name}-data`];
  for (const c of claims) {
    fs.mkdirSync(path.join(data, c, 'orders'), { recursive: true });
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(data, c, 'orders', `${i}.txt`), `order ${i} of ${name}\n`);
  }
  return { name, namespace: 'mall-shops', spec: { retention: { keepLast: 1 } }, claims, props: { vaultSettings: quick }, ...extra };
}

/** Enough data that a backup is still running when the test looks for its lock. */
function bigShop(name: string): pod.Shop {
  const s = shop(name);
  const dir = path.join(data, s.claims[0], 'photos');
  fs.mkdirSync(dir);
  for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(dir, `${i}.bin`), crypto.randomBytes(8 << 20));
  return s;
}

const place = (extra: Partial<pod.Place> = {}): pod.Place => ({ data, vault, work, ...extra });
const locks = () => (fs.existsSync(path.join(repo(), 'locks')) ? fs.readdirSync(path.join(repo(), 'locks')) : []);

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function checkClean(): void {
  const check = pod.restic(repo(), work, ['check', '--no-lock']);
  expect(check.stderr).not.toMatch(/error|Fatal/i);
  expect(check.status).toBe(0);
  expect(locks()).toEqual([]);
}

test('SIGTERM mid-backup: restic stops on SIGINT, removes its lock, the vault checks clean', async () => {
  const s = bigShop('bakery');
  pod.initVault(s, place());
  const run = pod.startBackup(s, place());
  await until('the backup\'s lock', () => locks().length > 0);
  process.kill(run.child.pid!, 'SIGTERM');
  const out = await run.done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'Interrupted' });
  expect(out.status).toBe(1);
  checkClean();
}, 60_000);

test('SIGTERM mid-retention (forget waiting on a lock): stopped cleanly, the new snapshot kept, no lock left', async () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
  // A live non-exclusive lock (a backup reading a pipe that stays open) makes this run's forget wait.
  const holder = require('node:child_process').spawn(resticBinary(), ['backup', '--stdin', '--stdin-filename', 'x'], { env: pod.resticEnv(repo(), work), stdio: ['pipe', 'ignore', 'ignore'] });
  await until('the holder\'s lock', () => locks().length === 1);
  const run = pod.startBackup({ ...s, props: { vaultSettings: { ...quick, lockWait: '1m' } } }, place());
  await until('the run\'s forget', () => fs.existsSync(path.join(run.scratch, 'state', 'forget.err')));
  process.kill(run.child.pid!, 'SIGTERM');
  const out = await run.done;
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' });
  holder.stdin.end('done\n');
  await new Promise((r) => holder.on('close', r));
  checkClean();
  expect(pod.snapshots(repo(), work).map((x) => x.id)).toContain(out.result!.snapshot);
}, 60_000);

test('kill -9 mid-backup: the next run succeeds by itself; the dead pod\'s lock only defers retention', async () => {
  const s = bigShop('bakery');
  pod.initVault(s, place());
  const first = pod.backupRun(s, place());
  expect(first.result?.outcome).toBe('Completed');
  const run = pod.startBackup(s, place());
  await until('the backup\'s lock', () => locks().length > 0);
  // The kubelet's SIGKILL: the whole container at once, nothing cleans up.
  process.kill(-run.child.pid!, 'SIGKILL');
  await run.done;
  expect(locks()).toHaveLength(1);
  // restic calls a lock stale once its holder is gone on this host or it went 30 minutes without refresh; until
  // then (a killed pod's lock, seen from another pod) the backup still runs and only forget waits and defers.
  const next = pod.backupRun(s, place());
  expect(next.result).toMatchObject({ outcome: 'Completed', snapshot: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(['BackupSucceeded', 'RetentionDeferred']).toContain(next.result!.reason);
  expect(pod.snapshots(repo(), work).map((x) => x.id)).toContain(next.result!.snapshot);
  const check = pod.restic(repo(), work, ['check', '--no-lock']);
  expect(check.status).toBe(0);
}, 90_000);

test('a live lock is waited for, then retention is deferred (the snapshot stays, the status says why)', async () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
  const holder = require('node:child_process').spawn(resticBinary(), ['backup', '--stdin', '--stdin-filename', 'x'], { env: pod.resticEnv(repo(), work), stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    await until('the holder\'s lock', () => locks().length === 1);
    const out = pod.backupRun(s, place());
    expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'RetentionDeferred', retention: 'deferred', lockWaited: true });
    expect(out.result!.message).toMatch(/locked for 2s/);
  } finally {
    holder.stdin.end('done\n');
    await new Promise((r) => holder.on('close', r));
  }
}, 60_000);

test('4 shops on one vault back up at the same moment with retention: all succeed', async () => {
  const shops = ['bakery', 'florist', 'grocer', 'tailor'].map((n) => shop(n, { props: { vaultSettings: { ...quick, lockWait: '1m' } } }));
  pod.initVault(shops[0], place());
  for (const s of shops) expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
  const outs = await Promise.all(shops.map((s) => pod.startBackup(s, place()).done));
  for (const out of outs) expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', removed: 1 });
  expect(pod.snapshots(repo(), work)).toHaveLength(4);
  checkClean();
}, 90_000);

test('4 first runs on a fresh vault wait for the one init Job: one config, one key, every snapshot restorable', async () => {
  const shops = ['bakery', 'florist', 'grocer', 'tailor'].map((n) => shop(n));
  const runs = shops.map((s) => pod.startBackup(s, place()));
  await Promise.all(runs.map((r) => until('the run to wait for the vault', () => fs.existsSync(path.join(r.scratch, 'state', 'config.err')))));
  expect(fs.existsSync(path.join(repo(), 'config'))).toBe(false);
  pod.initVault(shops[0], place());
  const outs = await Promise.all(runs.map((r) => r.done));
  for (const out of outs) expect(out.result).toMatchObject({ outcome: 'Completed' });
  expect(fs.readdirSync(path.join(repo(), 'keys'))).toHaveLength(1);
  for (const out of outs) {
    const target = path.join(work, `restore-${out.result!.snapshot}`);
    const restore = pod.restic(repo(), work, ['restore', out.result!.snapshot!, '--target', target]);
    expect(restore.status).toBe(0);
  }
  checkClean();
}, 90_000);

test('a snapshot dated a day ahead (a skewed node) does not make a run delete the snapshot it just wrote', () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().replace('T', ' ').slice(0, 19);
  expect(pod.restic(repo(), work, ['backup', '--time', tomorrow, '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=mall-shops/bakery',
    path.join(data, 'bakery-data')]).status).toBe(0);
  const out = pod.backupRun(s, place());
  expect(out.result).toMatchObject({ outcome: 'Completed' });
  const ids = pod.snapshots(repo(), work).map((x) => x.id);
  expect(ids).toContain(out.result!.snapshot);
  expect(ids).toHaveLength(2);
});

test('a wiped shop: 10 runs and a run-now storm keep the pre-wipe snapshot until a person acknowledges', async () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  const good = pod.backupRun(s, place()).result!.snapshot!;
  fs.rmSync(path.join(data, 'bakery-data', 'orders'), { recursive: true });
  fs.writeFileSync(path.join(data, 'bakery-data', 'README-ENCRYPTED.txt'), 'pay up\n');
  for (let i = 0; i < 10; i++) {
    expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed', reason: 'ShrinkUnacknowledged', retention: 'skipped-shrunk' });
  }
  const storm = await Promise.all([1, 2, 3, 4].map(() => pod.startBackup(s, place()).done));
  for (const out of storm) expect(out.result).toMatchObject({ outcome: 'Completed', retention: 'skipped-shrunk' });
  expect(pod.snapshots(repo(), work).map((x) => x.id)).toContain(good);
  expect(pod.restic(repo(), work, ['restore', good, '--target', path.join(work, 'r')]).status).toBe(0);
  expect(fs.readdirSync(path.join(work, 'r', data, 'bakery-data', 'orders'))).toHaveLength(20);
  // Acknowledged: the shrunk state is the new normal, and retention runs again.
  const ack = storm[0].result!.snapshot!;
  const after = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: ack } }, place());
  expect(after.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied' });
  expect(pod.snapshots(repo(), work).map((x) => x.id)).toEqual([after.result!.snapshot]);
}, 120_000);

test('the cluster floor keeps young snapshots whatever keepLast says', () => {
  const s = shop('bakery', { props: { vaultSettings: { ...quick, retentionFloorDays: 7 } } });
  pod.initVault(s, place());
  for (let i = 0; i < 3; i++) expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed', removed: 0 });
  expect(pod.snapshots(repo(), work)).toHaveLength(3);
});

test('unreadable files: PartiallyFailed with the snapshot, the count and the paths; exit 0, retention still runs', () => {
  const s = shop('bakery');
  fs.writeFileSync(path.join(data, 'bakery-data', 'orders', 'locked.txt'), 'secret\n');
  fs.chmodSync(path.join(data, 'bakery-data', 'orders', 'locked.txt'), 0o000);
  pod.initVault(s, place());
  expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
  // Not root: root reads any file. The whole tree is handed to the non-root user the pod runs as, with its own
  // copy of the pinned restic (the cache under root's home is closed to it).
  fs.mkdirSync(path.join(work, 'bin'));
  fs.copyFileSync(resticBinary(), path.join(work, 'bin', 'restic'));
  fs.chmodSync(path.join(work, 'bin', 'restic'), 0o755);
  fs.chownSync(work, 65532, 65532);
  for (const f of fs.readdirSync(work, { recursive: true }) as string[]) fs.chownSync(path.join(work, f), 65532, 65532);
  const out = pod.backupRun(s, place({ wrap: ['setpriv', '--reuid=65532', '--regid=65532', '--clear-groups', '--'], env: { PATH: `${path.join(work, 'bin')}:${process.env.PATH}` } }));
  expect(out.result).toMatchObject({ outcome: 'PartiallyFailed', reason: 'SomeFilesUnreadable', unreadable: { count: 1, paths: [path.join(data, 'bakery-data', 'orders', 'locked.txt')] }, retention: 'applied', removed: 1 });
  expect(out.status).toBe(0);
  expect(pod.snapshots(repo(), work).map((x) => x.id)).toEqual([out.result!.snapshot]);
});

describe('clear causes', () => {
  test('wrong password', () => {
    const s = shop('bakery');
    pod.initVault(s, place());
    const out = pod.backupRun(s, place({ secret: { RESTIC_PASSWORD: 'wrong' } }));
    expect(out.status).toBe(1);
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'WrongPassword' });
  });

  test('no repository and no init Job within the wait: VaultNotInitialized, nothing created', () => {
    const s = shop('bakery', { props: { vaultSettings: { ...quick, vaultWaitSeconds: 0 } } });
    const out = pod.backupRun(s, place());
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultNotInitialized' });
    expect(fs.existsSync(path.join(repo(), 'config'))).toBe(false);
  });

  test('full vault', () => {
    const s = bigShop('bakery');
    const seed = path.join(work, 'seed');
    fs.mkdirSync(seed);
    pod.initVault(s, place({ vault: seed }));
    const mountFull = 'mount -t tmpfs -o size=4m tmpfs "$0" && cp -a "$1"/. "$0"/ && shift && exec "$@"';
    const out = pod.backupRun(s, place({ wrap: ['unshare', '--mount', 'sh', '-c', mountFull, vault, seed] }));
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultFull' });
    expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  });
});
