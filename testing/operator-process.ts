/** The bundled operator (what the image runs), built once per test file, and a bounded wait for a condition. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildOperator } = require('../scripts/build-operator.js');

let bundle: Promise<string> | undefined;

/**
 * Builds the operator bundle once per test file. Its temp folder is removed when the test process exits
 * (the bundle is used until the last test of the file).
 */
export function operatorBundle(): Promise<string> {
  if (!bundle) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-op-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    bundle = buildOperator(path.join(dir, 'operator.cjs')) as Promise<string>;
  }
  return bundle!;
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
