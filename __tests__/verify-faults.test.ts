/**
 * Verification under attack, with real restic and the fixed scripts as the pod runs them: a vault damaged three
 * ways (bytes flipped in a pack, a pack deleted, an index truncated) is named in words a person can act on; awkward
 * files (spaces and newlines in names, symlinks, hard links, sparse and empty files, read-only folders) verify as the
 * Backup's non-root user; a snapshot forgotten by a backup's retention between listing and restoring is not reported
 * as damage; a snapshot larger than the scratch space fails before restoring anything; a stop reaches restic.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from '../lib/run/verify-script';
import type { KubeObject } from '../operator/controller/types';
import { judgeVerification, parseVerifyReport } from '../operator/controller/verification';
import { busyboxBinary, busyboxFolder } from '../testing/busybox';
import { resticForRestore } from '../testing/restic-binary';

jest.setTimeout(180_000);

/** The Backup's user in the restricted pod: not root, so permissions bite as they do in the cluster. */
const USER = 65532;
let work: string;
/** The pinned restic, copied where the Backup's user can run it (the tool cache may be in root's home). */
let restic: { dir: string; binary: string };
/** The image's shell and tools: BusyBox sh and applets, and the pinned restic. */
let image: { sh: string; path: string };
const started: ChildProcess[] = [];
/** restic processes stopped (SIGSTOP) by a test: killed at the end whatever happened. */
const stopped: number[] = [];

function envOf(vault: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${restic.dir}:/usr/bin:/bin`,
    HOME: work,
    RESTIC_PASSWORD: 'verify faults',
    RESTIC_REPOSITORY: vault,
    RESTIC_CACHE_DIR: path.join(work, 'cache'),
    ...extra,
  };
}

/** util-linux's setpriv, found before PATH becomes the image's (BusyBox has an applet of the name). */
const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim() || 'setpriv';

/** As the Backup's user: root drops to USER (setpriv), anyone else is not root already. */
function asUser(cmd: string[]): string[] {
  return process.getuid?.() === 0
    ? [setpriv, `--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', '--', ...cmd]
    : cmd;
}

function restic_(vault: string, args: string[]): string {
  const r = spawnSync(restic.binary, args, { env: envOf(vault), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function chownAll(p: string): void {
  if (process.getuid?.() !== 0) return;
  spawnSync('chown', ['-R', `${USER}:${USER}`, p]);
}

interface Outcome {
  status: number | null;
  report: string;
  log: string;
}

function runScript(script: string, vault: string, extra: Record<string, string> = {}): Outcome {
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  chownAll(tmp);
  chownAll(vault);
  const [cmd, ...args] = asUser([image.sh, 'sh', '-c', script, 'mall-verify']);
  const r = spawnSync(cmd, args, {
    env: envOf(vault, {
      PATH: image.path,
      TMPDIR: tmp,
      RESTIC_CACHE_DIR: path.join(tmp, 'cache'),
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: '100%',
      SHOP_NAME: 'bakery',
      BACKUP_REF: 'shops/bakery',
      LOCK_WAIT: '5s',
      ...extra,
    }),
    encoding: 'utf8',
  });
  return { status: r.status, report: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '', log: r.stdout + r.stderr };
}

/** A vault holding one snapshot of `data` as the Backup's run takes it. */
function vaultOf(name: string, data: string): string {
  const vault = path.join(work, name);
  restic_(vault, ['init']);
  restic_(vault, ['backup', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=shops/bakery', data]);
  return vault;
}

function randomShop(name: string, files = 6): string {
  const data = path.join(work, name);
  fs.mkdirSync(data, { recursive: true });
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(data, `order-${i}.bin`), crypto.randomBytes(200_000));
  return data;
}

const packsOf = (vault: string) =>
  fs
    .readdirSync(path.join(vault, 'data'))
    .flatMap((d) => fs.readdirSync(path.join(vault, 'data', d)).map((f) => path.join(vault, 'data', d, f)))
    .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);

const job = (name: string, failed: boolean): KubeObject => ({
  metadata: { name },
  status: {
    completionTime: failed ? undefined : '2026-11-25T03:10:00Z',
    conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True', lastTransitionTime: '2026-11-25T03:10:00Z' }],
  },
});
const pod = (jobName: string, message: string): KubeObject => ({
  metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
  status: { containerStatuses: [{ state: { terminated: { exitCode: 1, message } } }] },
});

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-verify-faults-'));
  fs.chmodSync(work, 0o755);
  const dir = path.join(work, 'bin');
  fs.mkdirSync(dir);
  fs.copyFileSync(resticForRestore().binary, path.join(dir, 'restic'));
  fs.chmodSync(path.join(dir, 'restic'), 0o755);
  restic = { dir, binary: path.join(dir, 'restic') };
  image = { sh: busyboxBinary(), path: busyboxFolder(work, restic.binary) };
});
afterAll(() => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of stopped)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: the test let it finish.
    }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

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

test('awkward files verify as the non-root Backup user: spaces, newlines, links, sparse, empty, read-only folders', () => {
  const data = path.join(work, 'awkward');
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
    report: expect.stringMatching(/^verified [0-9a-f]{16} \S+ 7 /),
    log: '',
  });
  // 7 files: the symlink is not one; both names of the hard link are.
  expect(parseVerifyReport(restore.report).verified?.bytes).toBe(3 + 9 + 0 + 6 + 6 + 5_000_003 + 5);
});

test('an empty snapshot verifies with no files; a vault with no snapshot of this Backup says so', () => {
  const empty = path.join(work, 'empty-shop');
  fs.mkdirSync(empty);
  expect(parseVerifyReport(runScript(TEST_RESTORE_SCRIPT, vaultOf('vault-empty', empty)).report)).toMatchObject({
    verified: { files: 0, bytes: 0 },
  });
  const bare = path.join(work, 'vault-bare');
  restic_(bare, ['init']);
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
  const shim = path.join(work, 'shim');
  fs.mkdirSync(shim);
  const marker = path.join(work, 'raced');
  fs.writeFileSync(
    path.join(shim, 'restic'),
    `#!${image.sh} sh
if [ "$1" = restore ] && [ ! -e "${marker}" ]; then
  : >"${marker}"
  "${restic.binary}" backup -q --host bakery --tag shop=bakery --tag backup=shops/bakery "${data}" >/dev/null
  "${restic.binary}" forget -q "${first}" >/dev/null
fi
exec "${restic.binary}" "$@"
`,
    { mode: 0o755 },
  );
  chownAll(shim);
  fs.chmodSync(work, 0o777);
  const restore = runScript(TEST_RESTORE_SCRIPT, vault, { PATH: `${shim}:${image.path}` });
  expect(fs.existsSync(marker)).toBe(true);
  const newest = JSON.parse(restic_(vault, ['snapshots', '--json']))[0].id as string;
  expect(newest).not.toBe(first);
  expect({ status: restore.status, report: restore.report }).toEqual({
    status: 0,
    report: expect.stringMatching(new RegExp(`^verified ${newest.slice(0, 16)} `)),
  });
  expect(restore.log).toContain(`snapshot ${first} was replaced by ${newest}`);
});

test('a snapshot larger than the scratch space fails before restoring anything (ScratchTooSmall)', () => {
  const vault = vaultOf('vault-big', randomShop('big-shop', 3));
  const restore = runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: '100000' });
  expect({ status: restore.status, report: restore.report }).toEqual({
    status: 1,
    report: expect.stringMatching(
      /^failed ScratchTooSmall snapshot [0-9a-f]+ holds 0\.57 MiB of files, more than the scratch space can take \(0\.09 MiB/,
    ),
  });
  expect(restore.log).not.toMatch(/restoring snapshot [0-9a-f]{8} of/);
  // Room enough: it restores.
  expect(runScript(TEST_RESTORE_SCRIPT, vault, { SCRATCH_LIMIT: '100000000' }).status).toBe(0);
});

async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** The restic `sub` command the shell `pid` runs in the background (not the shell's own fork before its exec). */
const resticChild = (pid: number, sub: string): number | undefined =>
  childrenOf(pid).find((kid) => {
    try {
      const argv = fs.readFileSync(`/proc/${kid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('restic') && argv[1] === sub;
    } catch {
      return false;
    }
  });
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

test('a stopped check stops restic with it: SIGTERM to the shell ends restic, reports Interrupted', async () => {
  const vault = vaultOf('vault-stopped', randomShop('stopped-shop', 1));
  // A backup reading a pipe that stays open holds its lock: the check waits for it, inside restic.
  const holder = spawn(restic.binary, ['backup', '--stdin', '--host', 'other'], {
    env: envOf(vault),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  started.push(holder);
  await until('the backup to hold its lock', () => fs.readdirSync(path.join(vault, 'locks')).length === 1);
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const check = spawn(image.sh, ['sh', '-c', CHECK_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: image.path,
      TMPDIR: tmp,
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: '5%',
      LOCK_WAIT: '10m',
    }),
    stdio: 'ignore',
  });
  started.push(check);
  const exited = new Promise<number | null>((resolve) => check.on('exit', (code) => resolve(code)));
  const waiting = await until('restic check to wait for the lock', () => resticChild(check.pid!, 'check'));
  process.kill(check.pid!, 'SIGTERM');
  expect(await exited).toBe(1);
  expect(alive(waiting)).toBe(false);
  expect(fs.readFileSync(log, 'utf8')).toMatch(/^failed Interrupted the verification was stopped \(pod terminated\)/);
  holder.stdin!.end('done');
  await until('the backup to finish', () => holder.exitCode !== null);
  expect(holder.exitCode).toBe(0);
  expect(fs.readdirSync(path.join(vault, 'locks'))).toEqual([]);
});

test('a backup while the check holds the vault: it waits for the lock, then both succeed', async () => {
  const data = randomShop('busy-shop', 200);
  const vault = vaultOf('vault-busy', data);
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const locks = path.join(vault, 'locks');
  // The check's exclusive lock is held still (its restic stopped) once it is in place (written, then renamed).
  const check = spawn(image.sh, ['sh', '-c', CHECK_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: image.path,
      TMPDIR: tmp,
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: '100%',
      LOCK_WAIT: '2m',
    }),
    stdio: 'ignore',
  });
  started.push(check);
  const checked = new Promise<number | null>((resolve) => check.on('exit', (code) => resolve(code)));
  const checker = await until('restic check', () => resticChild(check.pid!, 'check'));
  await until('its exclusive lock', () => fs.readdirSync(locks).filter((f) => /^[0-9a-f]{64}$/.test(f)).length === 1);
  stopped.push(checker);
  process.kill(checker, 'SIGSTOP');
  // A scheduled backup meanwhile: it waits for the lock (as the backup run does, --retry-lock), then saves.
  let said = '';
  const backup = spawn(
    restic.binary,
    ['backup', '--retry-lock', '2m', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=shops/bakery', data],
    { env: envOf(vault), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  started.push(backup);
  for (const stream of [backup.stdout!, backup.stderr!])
    stream.on('data', (chunk) => {
      said += chunk;
    });
  const backedUp = new Promise<number | null>((resolve) => backup.on('exit', (code) => resolve(code)));
  await until('the backup to wait for the lock', () => /repo already locked, waiting up to 2m0s/.test(said));
  process.kill(checker, 'SIGCONT');
  expect(await checked).toBe(0);
  expect(fs.readFileSync(log, 'utf8')).toBe('checked 100%\n');
  expect(await backedUp).toBe(0);
  expect(JSON.parse(restic_(vault, ['snapshots', '--json']))).toHaveLength(2);
  expect(fs.readdirSync(locks)).toEqual([]);
});

/**
 * restic restore --verify writes every file, prints its summary, then reads the files back and compares them with
 * the snapshot. Its stdout is a pipe this test fills as soon as the restore starts: the summary's write then waits,
 * so a restored file can be changed after restic wrote it and before restic compares it.
 */
async function restoreTampered(vault: string, victim: string, source: string): Promise<Outcome | undefined> {
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const fifo = path.join(tmp, 'stdout');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  // Three opens, three sets of flags: spawning makes the child's end blocking, and this test's own ends must not
  // block (its reads and writes run on the event loop).
  const out = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const filler = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const stdout = fs.openSync(fifo, fs.constants.O_WRONLY);
  const script = spawn(image.sh, ['sh', '-c', TEST_RESTORE_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: image.path,
      TMPDIR: tmp,
      RESTIC_CACHE_DIR: path.join(tmp, 'cache'),
      TERMINATION_LOG: log,
      SHOP_NAME: 'bakery',
      BACKUP_REF: 'shops/bakery',
      LOCK_WAIT: '5s',
    }),
    stdio: ['ignore', stdout, 'pipe'],
  });
  fs.closeSync(stdout);
  started.push(script);
  let said = '';
  script.stderr!.on('data', (chunk) => {
    said += chunk;
  });
  const exited = new Promise<number | null>((resolve) => script.on('exit', (code) => resolve(code)));
  const chunk = Buffer.alloc(65536);
  const drain = (): string => {
    let text = '';
    for (;;) {
      try {
        const n = fs.readSync(out, chunk);
        if (n === 0) return text;
        text += chunk.subarray(0, n).toString();
      } catch {
        return text;
      }
    }
  };
  let shown = '';
  try {
    await until('restic to start restoring', () => {
      shown += drain();
      return /restoring snapshot [0-9a-f]{8} of/.test(shown);
    });
    for (const size of [4096, 1])
      for (;;)
        try {
          fs.writeSync(filler, Buffer.alloc(size, 0x2e));
        } catch {
          break;
        }
    // Lost the race (restic restored it all before the pipe was full): the caller tries again.
    if (/Summary:/.test(shown)) return undefined;
    const restored = path.join(tmp, 'verify', victim);
    const want = fs.statSync(source);
    // Written and its time set: restic is done with this file and has not compared it yet.
    await until('the victim restored', () => {
      const st = fs.existsSync(restored) ? fs.statSync(restored) : undefined;
      return st && st.size === want.size && st.mtimeMs === want.mtimeMs;
    });
    const fd = fs.openSync(restored, 'r+');
    fs.writeSync(fd, Buffer.from('tampered'), 0, 8, 1000);
    fs.closeSync(fd);
    fs.utimesSync(restored, want.atime, want.mtime);
    let code: number | null | undefined;
    void exited.then((c) => {
      code = c;
    });
    await until('the test restore to end', () => {
      shown += drain();
      return code !== undefined;
    });
    return { status: code!, report: fs.readFileSync(log, 'utf8'), log: shown.replace(/\.+/g, '') + said };
  } finally {
    fs.closeSync(out);
    fs.closeSync(filler);
  }
}

test('a restored file changed between restic writing it and comparing it: TestRestoreFailed', async () => {
  const data = randomShop('tampered-shop', 150);
  const vault = vaultOf('vault-tampered', data);
  const victim = path.join(data, 'order-149.bin');
  let outcome: Outcome | undefined;
  for (let attempt = 0; attempt < 3 && !outcome; attempt++) outcome = await restoreTampered(vault, victim, victim);
  expect(outcome).toBeDefined();
  expect(outcome!.log).toMatch(/verifying files in/);
  expect({ status: outcome!.status, report: outcome!.report }).toEqual({
    status: 1,
    report: expect.stringMatching(
      /^failed TestRestoreFailed the test restore of snapshot [0-9a-f]{64} did not restore every file with the content the snapshot records: .*order-149\.bin/,
    ),
  });
});
