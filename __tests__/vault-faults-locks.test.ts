/**
 * The vault under signals, kills, locks and vaults that refuse, with the pinned restic running the rendered backup
 * pod's own command (and the operator's init Job). Each test asserts the safe outcome and the stated cause.
 * The other half of the fault suite is vault-faults-history.test.ts.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import {
  bigShop,
  checkClean,
  firstRunsOnFreshVault,
  here,
  backedUpShop,
  killContainer,
  whileLocked,
  localVault,
  hostTool,
  locks,
  packBytes,
  place,
  quick,
  repo,
  shop,
  until,
  useFaultFolders,
} from '../testing/vault-faults';

useFaultFolders();

test('SIGTERM mid-backup: restic stops on SIGINT, removes its lock, the vault checks clean', async () => {
  const s = bigShop('bakery');
  pod.initVault(s, place());
  const run = pod.startBackup(s, place());
  await until("the backup's lock", () => locks().length > 0);
  process.kill(run.child.pid!, 'SIGTERM');
  const out = await run.done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'Interrupted' });
  expect(out.status).toBe(1);
  checkClean();
}, 60_000);

test('SIGTERM mid-retention (forget waiting on a lock): stopped cleanly, the new snapshot kept, no lock ' +
  'left', async () => {
  const s = backedUpShop('bakery');
  // A live non-exclusive lock (a backup reading a pipe that stays open) makes this run's forget wait.
  const out = await whileLocked(async () => {
    const run = pod.startBackup({ ...s, props: { vaultSettings: { ...quick, lockWait: '1m' } } }, place());
    await until("the run's forget", () => fs.existsSync(path.join(run.scratch, 'state', 'forget.err')));
    process.kill(run.child.pid!, 'SIGTERM');
    return run.done;
  });
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' });
  checkClean();
  expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toContain(out.result!.snapshot);
}, 60_000);

test("kill -9 mid-backup: the next run succeeds by itself; the dead pod's lock only defers retention", async () => {
  const s = bigShop('bakery');
  pod.initVault(s, place());
  const first = pod.backupRun(s, place());
  expect(first.result?.outcome).toBe('Completed');
  const run = pod.startBackup(s, place());
  await until("the backup's lock", () => locks().length > 0);
  await killContainer(run);
  expect(locks()).toHaveLength(1);
  // restic calls a lock stale once its holder is gone on this host or it went 30 minutes without refresh; until
  // then (a killed pod's lock, seen from another pod) the backup still runs and only forget waits and defers.
  const next = pod.backupRun(s, place());
  expect(next.result).toMatchObject({ outcome: 'Completed', snapshot: expect.stringMatching(/^[0-9a-f]{64}$/) });
  expect(['BackupSucceeded', 'RetentionDeferred']).toContain(next.result!.reason);
  expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toContain(next.result!.snapshot);
  const check = pod.restic(repo(), here.work, ['check', '--no-lock']);
  expect(check.status).toBe(0);
}, 90_000);

test('a live lock is waited for, then retention is deferred (the snapshot stays, the status says why)', async () => {
  const s = backedUpShop('bakery');
  const out = await whileLocked(() => pod.backupRun(s, place()));
  expect(out.result).toMatchObject({
    outcome: 'Completed',
    reason: 'RetentionDeferred',
    retention: 'deferred',
    lockWaited: true,
  });
  expect(out.result!.message).toMatch(/locked for 2s/);
}, 60_000);

test(
  '4 first runs on a fresh local vault wait for the one init Job: one config, one key, every snapshot restorable',
  () => firstRunsOnFreshVault(localVault()),
  90_000,
);

test('the cluster floor keeps young snapshots whatever keepLast says', () => {
  const s = shop('bakery', { props: { vaultSettings: { ...quick, retentionFloorDays: 7 } } });
  pod.initVault(s, place());
  for (let i = 0; i < 3; i++)
    expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed', removed: 0 });
  expect(pod.snapshots(repo(), here.work)).toHaveLength(3);
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
    const seed = path.join(here.work, 'seed');
    fs.mkdirSync(seed);
    pod.initVault(s, place({ vault: seed }));
    const mountFull = 'mount -t tmpfs -o size=4m tmpfs "$0" && cp -a "$1"/. "$0"/ && shift && exec "$@"';
    const out = pod.backupRun(
      s,
      place({ wrap: [hostTool('unshare'), '--mount', '/bin/sh', '-c', mountFull, here.vault, seed] }),
    );
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultFull' });
    expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  });
});

test('maintenance gives back what retention forgot; one killed (kill -9) while holding its lock leaves a lock the ' +
  'next one clears', async () => {
  const s = shop('bakery');
  const photos = path.join(here.data, s.claims[0], 'photos');
  // New photos each night, the same size: the shop does not shrink, and keepLast 1 forgets the night before.
  const night = () => {
    fs.rmSync(photos, { recursive: true, force: true });
    fs.mkdirSync(photos);
    for (let i = 0; i < 2; i++) fs.writeFileSync(path.join(photos, `${i}.bin`), crypto.randomBytes(8 << 20));
    expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed' });
  };
  pod.initVault(s, place());
  night();
  night();
  const before = packBytes();
  const first = await pod.startMaintenance(s, place()).done;
  expect(first.status).toBe(0);
  expect(packBytes()).toBeLessThan(before - (12 << 20));
  checkClean();

  night();
  const killed = pod.startMaintenance(s, place());
  await until("the maintenance's lock", () => locks().length > 0);
  // As when a pod is gone. On one host restic deems the lock stale at once; from another pod's host, after 30
  // minutes without refresh (restic's rule).
  await killContainer(killed);
  expect(locks()).toHaveLength(1);
  const next = await pod.startMaintenance(s, place()).done;
  expect(next.stderr).not.toMatch(/failed/);
  expect(next.status).toBe(0);
  checkClean();
  expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed' });
}, 120_000);
