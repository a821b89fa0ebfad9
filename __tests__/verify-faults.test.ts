/**
 * Verification under attack, with real restic and the fixed scripts as the pod runs them (testing/verify-bench.ts): a
 * vault damaged three ways (bytes flipped in a pack, a pack deleted, an index truncated) is named in words a person
 * can act on; awkward files (spaces and newlines in names, symlinks, hard links, sparse and empty files, read-only
 * folders) verify as the Backup's non-root user; a snapshot forgotten by a backup's retention between listing and
 * restoring is not reported as damage; a snapshot larger than the scratch space fails before restoring anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from '../lib/run/verify-script';
import { judgeVerification, parseVerifyReport } from '../operator/controller/verification';
import {
  bench,
  chownAll,
  emptyVault,
  job,
  packsOf,
  pod,
  randomShop,
  restic_,
  runScript,
  setUpBench,
  tearDownBench,
  vaultOf,
} from '../testing/verify-bench';

jest.setTimeout(180_000);

beforeAll(() => setUpBench('mall-backup-verify-faults-'));
afterAll(() => tearDownBench());

test.each([
  [
    'bytes flipped in a pack',
    (vault: string) => {
      const pack = packsOf(vault)[0];
      const bytes = fs.readFileSync(pack);
      for (let i = 1000; i < 1016; i++) bytes[i] ^= 0xff;
      fs.writeFileSync(pack, bytes);
    },
    /ciphertext verification failed.*The repository contains damaged pack files\. These damaged files must be removed/,
  ],
  ['a pack deleted', (vault: string) => fs.rmSync(packsOf(vault)[0]), /pack [0-9a-f]{64}: does not exist.*repaired/],
  [
    'an index truncated',
    (vault: string) => {
      const index = fs.readdirSync(path.join(vault, 'index'))[0];
      fs.truncateSync(path.join(vault, 'index', index), 50);
    },
    /error loading index [0-9a-f]+: .*invalid data returned; The repository index is damaged .*restic repair index/,
  ],
])('%s: CheckFailed naming the damage and the repair, Verified=False with a Warning', (what, damage, words) => {
  const vault = vaultOf(`vault-${what.replace(/ /g, '-')}`, randomShop(`shop-${what.replace(/ /g, '-')}`));
  expect(runScript(CHECK_SCRIPT, vault)).toMatchObject({ status: 0, report: 'checked 100%\n' });
  damage(vault);
  const check = runScript(CHECK_SCRIPT, vault);
  expect({ status: check.status, report: check.report }).toEqual({
    status: 1,
    report: expect.stringMatching(/^failed CheckFailed restic check found the vault damaged or unreadable: /),
  });
  expect(check.report).toMatch(words);
  expect(check.report.split('\n')).toHaveLength(2);
  const verdict = judgeVerification(
    { checkJobs: [job('vault-check-9', true)], restoreJobs: [], pods: [pod('vault-check-9', check.report)] },
    undefined,
  );
  expect(verdict.condition).toMatchObject({
    status: 'False',
    reason: 'CheckFailed',
    message: expect.stringMatching(words),
  });
  expect(verdict.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CheckFailed' })]);
});

test('awkward files verify as the non-root Backup user: spaces, newlines, links, sparse, empty, read-only', () => {
  const data = path.join(bench.work, 'awkward');
  const ro = path.join(data, 'read only');
  fs.mkdirSync(ro, { recursive: true });
  fs.writeFileSync(path.join(data, 'with space.txt'), 'a b');
  fs.writeFileSync(path.join(data, 'new\nline.txt'), 'two\nlines');
  fs.writeFileSync(path.join(data, 'empty'), '');
  fs.writeFileSync(path.join(data, 'target.txt'), 'linked');
  fs.symlinkSync('target.txt', path.join(data, 'symlink'));
  fs.linkSync(path.join(data, 'target.txt'), path.join(data, 'hardlink'));
  const sparse = fs.openSync(path.join(data, 'sparse'), 'w');
  fs.writeSync(sparse, 'end', 5_000_000);
  fs.closeSync(sparse);
  fs.writeFileSync(path.join(ro, 'menu.txt'), 'bread');
  fs.chmodSync(ro, 0o555);
  chownAll(data);
  const vault = vaultOf('vault-awkward', data);
  const restore = runScript(TEST_RESTORE_SCRIPT, vault);
  expect({ status: restore.status, report: restore.report, log: restore.status === 0 ? '' : restore.log }).toEqual({
    status: 0,
    report: expect.stringMatching(/^verified [0-9a-f]{64} \S+ 7 /),
    log: '',
  });
  // 7 files: the symlink is not one; both names of the hard link are.
  expect(parseVerifyReport(restore.report).verified?.bytes).toBe(3 + 9 + 0 + 6 + 6 + 5_000_003 + 5);
});

test('an empty snapshot verifies with no files; a vault with no snapshot of this Backup says so', () => {
  const empty = path.join(bench.work, 'empty-shop');
  fs.mkdirSync(empty);
  expect(parseVerifyReport(runScript(TEST_RESTORE_SCRIPT, vaultOf('vault-empty', empty)).report)).toMatchObject({
    verified: { files: 0, bytes: 0 },
  });
  const bare = emptyVault('vault-bare');
  expect(runScript(TEST_RESTORE_SCRIPT, bare)).toMatchObject({
    status: 1,
    report: 'failed NoSnapshot no snapshot of Backup shops/bakery in the vault to test-restore\n',
  });
});

test("a snapshot forgotten by a backup's retention while it is tested: the newer one is tested, no finding", () => {
  const data = randomShop('raced-shop', 2);
  const vault = vaultOf('vault-raced', data);
  const first = JSON.parse(restic_(vault, ['snapshots', '--json']))[0].id as string;
  // restic as the Backup's run would interleave: just before this restore takes its lock, a backup saves a newer
  // snapshot and its retention forgets the one being tested.
  const shim = path.join(bench.work, 'shim');
  fs.mkdirSync(shim);
  const marker = path.join(bench.work, 'raced');
  fs.writeFileSync(
    path.join(shim, 'restic'),
    `#!${bench.image.sh} sh
if [ "$1" = restore ] && [ ! -e "${marker}" ]; then
  : >"${marker}"
  "${bench.restic.binary}" backup -q --host bakery --tag shop=bakery --tag backup=shops/bakery "${data}" >/dev/null
  "${bench.restic.binary}" forget -q "${first}" >/dev/null
fi
exec "${bench.restic.binary}" "$@"
`,
    { mode: 0o755 },
  );
  chownAll(shim);
  fs.chmodSync(bench.work, 0o777);
  const restore = runScript(TEST_RESTORE_SCRIPT, vault, { PATH: `${shim}:${bench.image.path}` });
  expect(fs.existsSync(marker)).toBe(true);
  const newest = JSON.parse(restic_(vault, ['snapshots', '--json']))[0].id as string;
  expect(newest).not.toBe(first);
  expect({ status: restore.status, report: restore.report }).toEqual({
    status: 0,
    report: expect.stringMatching(new RegExp(`^verified ${newest} `)),
  });
  expect(restore.log).toContain(`snapshot ${first} was replaced by ${newest}`);
});

test('a snapshot larger than the scratch space fails before restoring anything (ScratchTooSmall)', () => {
  const vault = vaultOf('vault-big', randomShop('big-shop', 3));
  const restore = runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: '100000' });
  expect({ status: restore.status, report: restore.report }).toEqual({
    status: 1,
    report: expect.stringMatching(
      new RegExp(
        String.raw`^failed ScratchTooSmall snapshot [0-9a-f]+ holds 0\.57 MiB in 3 files and \d+ folders, up to ` +
          String.raw`0\.\d\d MiB on disk in 4 KiB blocks, more than the scratch space can take \(0\.09 MiB`,
      ),
    ),
  });
  expect(restore.log).not.toMatch(/restoring snapshot [0-9a-f]{8} of/);
  // Room enough: it restores.
  expect(runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: '100000000' }).status).toBe(0);
});

test('many small files count by the disk blocks they take, as the kubelet counts them, not by their bytes', () => {
  // 2 000 files of 10 bytes: 20 kB of content, 8 MB of 4 KiB blocks; the limit leaves room for the first only.
  const data = path.join(bench.work, 'small-files');
  fs.mkdirSync(data, { recursive: true });
  for (let i = 0; i < 2000; i++) fs.writeFileSync(path.join(data, `label-${i}.txt`), `label ${String(i).padStart(4)}`);
  const vault = vaultOf('vault-small-files', data);
  const restore = runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: String(4 * 2 ** 20) });
  expect({ status: restore.status, report: restore.report }).toEqual({
    status: 1,
    report: expect.stringMatching(
      new RegExp(
        '^failed ScratchTooSmall snapshot [0-9a-f]+ holds 0\\.02 MiB in 2000 files and \\d+ folders, ' +
          'up to 7\\.\\d\\d MiB on disk',
      ),
    ),
  });
  expect(restore.log).not.toMatch(/restoring snapshot [0-9a-f]{8} of/);
  expect(runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: String(16 * 2 ** 20) }).status).toBe(0);
});
