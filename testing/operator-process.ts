/** The bundled operator (what the image runs), built once per jest run, and a bounded wait for a condition. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildOperator } = require('../scripts/build-operator.js');

let bundle: Promise<string> | undefined;

/**
 * The operator bundle. In a jest run it is built once into the run's temp folder (see temp-folder.js) and shared
 * by every test file: the sources do not change during a run, and each esbuild build costs ~1.5 CPU-seconds.
 * Outside jest (the benchmarks) it is built once per process into a temp folder removed when the process exits.
 */
export function operatorBundle(): Promise<string> {
  if (!bundle) {
    const run = process.env.MALL_BACKUP_TEST_TMPDIR;
    if (run) {
      bundle = sharedBundle(path.join(run, 'operator.cjs'));
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-op-'));
      process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
      bundle = buildOperator(path.join(dir, 'operator.cjs')) as Promise<string>;
    }
  }
  return bundle!;
}

/**
 * The first test process to get here builds the bundle (a lock file made with O_EXCL) and renames it into place;
 * the others wait for it. A failed build removes the lock, so the next process tries (and reports) again.
 */
async function sharedBundle(target: string): Promise<string> {
  const lock = `${target}.lock`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (fs.existsSync(target)) return target;
    let fd: number | undefined;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (fd === undefined) {
      if (Date.now() > deadline)
        throw new Error(`timed out after 120 s waiting for another test process to build ${target}`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    fs.closeSync(fd);
    try {
      const staging = `${target}.${process.pid}.tmp`;
      await buildOperator(staging);
      fs.renameSync(staging, target);
      return target;
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}

/** Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
