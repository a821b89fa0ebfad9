/**
 * Verification at the same moment as other work on the vault, with real restic and real signals: a stop reaches
 * restic (no lock left, Interrupted); a backup waits for the check's lock and both succeed; a restored file changed
 * between restic writing it and comparing it fails the test restore.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from '../lib/run/verify-script';
import {
  alive,
  bench,
  envOf,
  type Outcome,
  randomShop,
  restic_,
  resticChild,
  setUpBench,
  tearDownBench,
  until,
  vaultOf,
} from '../testing/verify-bench';

jest.setTimeout(180_000);

beforeAll(() => setUpBench('mall-backup-verify-locks-'));
afterAll(() => tearDownBench());

test('a stopped check stops restic with it: SIGTERM to the shell ends restic, reports Interrupted', async () => {
  const vault = vaultOf('vault-stopped', randomShop('stopped-shop', 1));
  // A backup reading a pipe that stays open holds its lock: the check waits for it, inside restic.
  const holder = spawn(bench.restic.binary, ['backup', '--stdin', '--host', 'other'], {
    env: envOf(vault),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  bench.started.push(holder);
  await until('the backup to hold its lock', () => fs.readdirSync(path.join(vault, 'locks')).length === 1);
  const tmp = fs.mkdtempSync(path.join(bench.work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const check = spawn(bench.image.sh, ['sh', '-c', CHECK_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: bench.image.path,
      TMPDIR: tmp,
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: '5%',
      LOCK_WAIT: '10m',
    }),
    stdio: 'ignore',
  });
  bench.started.push(check);
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
  const tmp = fs.mkdtempSync(path.join(bench.work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const locks = path.join(vault, 'locks');
  // The check's exclusive lock is held still (its restic stopped) once it is in place (written, then renamed).
  const check = spawn(bench.image.sh, ['sh', '-c', CHECK_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: bench.image.path,
      TMPDIR: tmp,
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: '100%',
      LOCK_WAIT: '2m',
    }),
    stdio: 'ignore',
  });
  bench.started.push(check);
  const checked = new Promise<number | null>((resolve) => check.on('exit', (code) => resolve(code)));
  const checker = await until('restic check', () => resticChild(check.pid!, 'check'));
  await until('its exclusive lock', () => fs.readdirSync(locks).filter((f) => /^[0-9a-f]{64}$/.test(f)).length === 1);
  bench.stopped.push(checker);
  process.kill(checker, 'SIGSTOP');
  // A scheduled backup meanwhile: it waits for the lock (as the backup run does, --retry-lock), then saves.
  let said = '';
  const backup = spawn(
    bench.restic.binary,
    ['backup', '--retry-lock', '2m', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=shops/bakery', data],
    { env: envOf(vault), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  bench.started.push(backup);
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
  const tmp = fs.mkdtempSync(path.join(bench.work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const fifo = path.join(tmp, 'stdout');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  // Three opens, three sets of flags: spawning makes the child's end blocking, and this test's own ends must not
  // block (its reads and writes run on the event loop).
  const out = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const filler = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const stdout = fs.openSync(fifo, fs.constants.O_WRONLY);
  const script = spawn(bench.image.sh, ['sh', '-c', TEST_RESTORE_SCRIPT, 'mall-verify'], {
    env: envOf(vault, {
      PATH: bench.image.path,
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
  bench.started.push(script);
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
      new RegExp(
        String.raw`^failed TestRestoreFailed the test restore of snapshot [0-9a-f]{64} did not restore every file ` +
          String.raw`with the content the snapshot records: .*order-149\.bin`,
      ),
    ),
  });
});
