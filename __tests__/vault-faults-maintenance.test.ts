/**
 * The per-vault maintenance under faults, with the pinned restic running the rendered maintenance pod's own command:
 * killed half-way through a prune, and failing for a cause it must name (its result is what the operator shows on
 * every Backup of the vault).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import {
  checkClean,
  commandsOf,
  here,
  backedUpShop,
  killContainer,
  whileLocked,
  locks,
  place,
  repo,
  shop,
  until,
  useFaultFolders,
} from '../testing/vault-faults';

useFaultFolders();

/** Every file name under the repository's data/ and index/ folders. */
const vaultFiles = () =>
  new Set(
    ['data', 'index'].flatMap((d) =>
      (fs.readdirSync(path.join(repo(), d), { recursive: true }) as string[]).map((f) => `${d}/${f}`),
    ),
  );

test('kill -9 mid-prune: the next backup run and the next maintenance succeed by themselves, the vault checks ' +
  'clean', async () => {
  const s = shop('bakery');
  const photos = path.join(here.data, s.claims[0], 'photos');
  fs.mkdirSync(photos);
  const photo = (i: number) => fs.writeFileSync(path.join(photos, `${i}.bin`), crypto.randomBytes(4 << 20));
  for (let i = 0; i < 8; i++) photo(i);
  pod.initVault(s, place());
  expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed' });
  // Half the photos replaced by new ones of the same size: retention forgets the first snapshot, whose packs are
  // then half used, so the prune repacks (writes new packs and an index) before it deletes anything.
  for (let i = 0; i < 8; i += 2) photo(i);
  expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed', removed: 1 });

  const before = vaultFiles();
  const killed = pod.startMaintenance(s, place());
  await until(
    'the prune to start rewriting the vault',
    () =>
      commandsOf(killed.child.pid!).some((c) => c.includes('prune')) && [...vaultFiles()].some((f) => !before.has(f)),
    60_000,
  );
  await killContainer(killed);
  // Caught half-way: the prune's exclusive lock is still there, beside the packs it had begun to write.
  expect(locks()).toHaveLength(1);
  const lock = pod.restic(repo(), here.work, ['cat', 'lock', locks()[0], '--no-lock']);
  expect(JSON.parse(lock.stdout)).toMatchObject({ exclusive: true });

  // restic calls the dead prune's lock stale (on this host at once; from another pod's host after 30 minutes
  // without refresh) and the run's unlock clears it: nothing waits for a person.
  const next = pod.backupRun(s, place());
  expect(next.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', removed: 1 });
  const again = await pod.startMaintenance(s, place()).done;
  expect(again.stderr).not.toMatch(/failed/);
  expect(again.status).toBe(0);
  expect(again.result).toMatchObject({ outcome: 'Completed', reason: 'VaultMaintained' });
  checkClean();
  const read = pod.restic(repo(), here.work, ['check', '--read-data', '--no-lock']);
  expect(read.stderr).not.toMatch(/error|Fatal/i);
  expect(read.status).toBe(0);
  const target = path.join(here.work, 'restored');
  expect(pod.restic(repo(), here.work, ['restore', next.result!.snapshot!, '--target', target]).status).toBe(0);
  const digest = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  for (let i = 0; i < 8; i++)
    expect(digest(path.join(target, photos, `${i}.bin`))).toBe(digest(path.join(photos, `${i}.bin`)));
}, 120_000);

describe('a failed maintenance names its cause in its result (shown on every Backup of the vault)', () => {
  test('wrong password: WrongPassword, nothing pruned', async () => {
    const s = shop('bakery');
    pod.initVault(s, place());
    const out = await pod.startMaintenance(s, place({ secret: { RESTIC_PASSWORD: 'wrong' } })).done;
    expect(out.status).not.toBe(0);
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'WrongPassword' });
    expect(out.result!.message).toMatch(/restic unlock failed: .*RESTIC_PASSWORD/);
  }, 60_000);

  test('a live backup holds the vault past the lock wait: VaultLocked, the holder untouched', async () => {
    const s = backedUpShop('bakery');
    const out = await whileLocked(() => pod.startMaintenance(s, place(), '2s').done);
    expect(out.status).not.toBe(0);
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultLocked' });
    expect(out.result!.message).toMatch(/restic prune failed: the vault stayed locked for 2s/);
    checkClean();
  }, 60_000);

  test('a damaged repository (its packs gone): VaultDamaged', async () => {
    const s = backedUpShop('bakery');
    // Every pack gone: the snapshot's tree with them, which prune refuses to work around.
    const index = pod.restic(repo(), here.work, ['list', 'packs', '--no-lock']).stdout.trim().split('\n');
    expect(index.length).toBeGreaterThan(0);
    for (const pack of index) fs.rmSync(path.join(repo(), 'data', pack.slice(0, 2), pack));
    const out = await pod.startMaintenance(s, place(), '2s').done;
    expect(out.status).not.toBe(0);
    expect(out.result?.outcome).toBe('Failed');
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultDamaged' });
    expect(out.result!.message).toMatch(/restic prune failed: the repository is damaged .*: Load\(<data\/[0-9a-f]+>/);
    expect(out.result!.message).not.toMatch(/goroutine|\.go:\d+/);
  }, 60_000);
});
