/**
 * The vault's history under shared vaults, skewed clocks, a wiped shop and unreadable files, with the pinned restic
 * running the rendered backup pod's own command. The other half of the fault suite is vault-faults-locks.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import { resticBinary } from '../testing/restic';
import { checkClean, here, hostTool, place, quick, repo, shop, useFaultFolders } from '../testing/vault-faults';

useFaultFolders();

test('4 shops on one vault back up at the same moment with retention: all succeed', async () => {
  const shops = ['bakery', 'florist', 'grocer', 'tailor'].map((n) =>
    shop(n, { props: { vaultSettings: { ...quick, lockWait: '1m' } } }),
  );
  pod.initVault(shops[0], place());
  // First runs together as well: each only adds its snapshot (nothing to forget yet), so none waits for another.
  const firsts = await Promise.all(shops.map((s) => pod.startBackup(s, place()).done));
  for (const out of firsts)
    expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', removed: 0 });
  const outs = await Promise.all(shops.map((s) => pod.startBackup(s, place()).done));
  for (const out of outs)
    expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', removed: 1 });
  expect(pod.snapshots(repo(), here.work)).toHaveLength(4);
  checkClean();
}, 90_000);

test('a snapshot dated a day ahead (a skewed node) does not make a run delete the snapshot it just wrote', () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().replace('T', ' ').slice(0, 19);
  expect(
    pod.restic(repo(), here.work, [
      'backup',
      '--time',
      tomorrow,
      '--host',
      'bakery',
      '--tag',
      'shop=bakery',
      '--tag',
      'backup=mall-shops/bakery',
      path.join(here.data, 'bakery-data'),
    ]).status,
  ).toBe(0);
  const out = pod.backupRun(s, place());
  expect(out.result).toMatchObject({ outcome: 'Completed' });
  const ids = pod.snapshots(repo(), here.work).map((x) => x.id);
  expect(ids).toContain(out.result!.snapshot);
  expect(ids).toHaveLength(2);
});

test('a wiped shop: 10 runs and a run-now storm keep the pre-wipe snapshot until a person acknowledges', async () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  const good = pod.backupRun(s, place()).result!.snapshot!;
  fs.rmSync(path.join(here.data, 'bakery-data', 'orders'), { recursive: true });
  fs.writeFileSync(path.join(here.data, 'bakery-data', 'README-ENCRYPTED.txt'), 'pay up\n');
  for (let i = 0; i < 10; i++) {
    expect(pod.backupRun(s, place()).result).toMatchObject({
      outcome: 'Completed',
      reason: 'ShrinkUnacknowledged',
      retention: 'skipped-shrunk',
    });
  }
  const storm = await Promise.all([1, 2, 3, 4].map(() => pod.startBackup(s, place()).done));
  for (const out of storm) expect(out.result).toMatchObject({ outcome: 'Completed', retention: 'skipped-shrunk' });
  expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toContain(good);
  expect(pod.restic(repo(), here.work, ['restore', good, '--target', path.join(here.work, 'r')]).status).toBe(0);
  expect(fs.readdirSync(path.join(here.work, 'r', here.data, 'bakery-data', 'orders'))).toHaveLength(20);
  // Acknowledged: the shrunk state is the new normal, and retention runs again.
  const ack = storm[0].result!.snapshot!;
  const after = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: ack } }, place());
  expect(after.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied' });
  expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toEqual([after.result!.snapshot]);
}, 120_000);

test(
  'unreadable files: PartiallyFailed with the snapshot, ' + 'the count and the paths; exit 0, retention still runs',
  () => {
    const s = shop('bakery');
    fs.writeFileSync(path.join(here.data, 'bakery-data', 'orders', 'locked.txt'), 'secret\n');
    fs.chmodSync(path.join(here.data, 'bakery-data', 'orders', 'locked.txt'), 0o000);
    pod.initVault(s, place());
    expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
    // Not root: root reads any file. The whole tree is handed to the non-root user the pod runs as, with its own
    // copy of the pinned restic (the cache under root's home is closed to it).
    fs.mkdirSync(path.join(here.work, 'bin'));
    fs.copyFileSync(resticBinary(), path.join(here.work, 'bin', 'restic'));
    fs.chmodSync(path.join(here.work, 'bin', 'restic'), 0o755);
    fs.chownSync(here.work, 65532, 65532);
    for (const f of fs.readdirSync(here.work, { recursive: true }) as string[])
      fs.lchownSync(path.join(here.work, f), 65532, 65532);
    const out = pod.backupRun(
      s,
      place({
        wrap: [hostTool('setpriv'), '--reuid=65532', '--regid=65532', '--clear-groups', '--'],
        pathPrefix: [path.join(here.work, 'bin')],
      }),
    );
    expect(out.result).toMatchObject({
      outcome: 'PartiallyFailed',
      reason: 'SomeFilesUnreadable',
      unreadable: { count: 1, paths: [path.join(here.data, 'bakery-data', 'orders', 'locked.txt')] },
      retention: 'applied',
      removed: 1,
    });
    expect(out.status).toBe(0);
    expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toEqual([out.result!.snapshot]);
  },
);
