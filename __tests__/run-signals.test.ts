/**
 * SIGTERM at every phase of the backup run, under the image's BusyBox sh with the pinned restic. The signal is made
 * to land in the one window a timing race cannot aim at reliably: after the shell decided to start a restic call and
 * before restic handles signals (a stand-in `restic` holds the call until the pod's signal reaches it, then runs the
 * real one). Whatever the phase, the run must stop there: no restic started after the stop, no lock left, the
 * cause said, the vault clean.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job';
import * as pod from '../testing/backup-pod';
import { resticBinary } from '../testing/restic';

let work: string;
let data: string;
let vault: string;
const repo = () => path.join(vault, 'shops');
const settings = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '1m' };

beforeAll(() => {
  resticBinary();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-signals-'));
  data = path.join(work, 'data');
  vault = path.join(work, 'vault');
  fs.mkdirSync(vault);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function shop(): pod.Shop {
  fs.mkdirSync(path.join(data, 'bakery-data'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(data, 'bakery-data', `${i}.txt`), `order ${i}\n`);
  return {
    name: 'bakery',
    namespace: 'mall-shops',
    spec: { retention: { keepLast: 1 } },
    claims: ['bakery-data'],
    props: { vaultSettings: settings },
  };
}

/**
 * A `restic` first on the pod's PATH: a call whose arguments contain `phase` marks `held`, waits for the pod's
 * signal (the run passes SIGINT and SIGTERM on to its child), then runs the real restic all the same, as a restic
 * that had not yet installed its handler would. Every call is logged to `calls`.
 */
function holdAt(phase: string): { bin: string; held: string; calls: string } {
  const bin = path.join(work, 'hold-bin');
  const held = path.join(work, 'held');
  const calls = path.join(work, 'calls');
  fs.mkdirSync(bin);
  fs.writeFileSync(
    path.join(bin, 'restic'),
    `#!/bin/sh
echo "$*" >>'${calls}'
case " $* " in
  *' ${phase} '*)
    if [ ! -e '${held}' ]; then
      got=
      trap 'got=1' INT TERM
      : >'${held}'
      while [ -z "$got" ]; do sleep 0.02; done
      trap - INT TERM
    fi ;;
esac
exec '${resticBinary()}' "$@"
`,
    { mode: 0o755 },
  );
  return { bin, held, calls };
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const phases: [string, string, object][] = [
  ['the existence check (unlock)', 'unlock', { outcome: 'Failed', reason: 'Interrupted' }],
  // The held backup and forget run to their end (the stand-in let them): the run says what they did.
  ['backup', 'backup', { outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' }],
  ['the retention dry run', '--dry-run', { outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' }],
  [
    'forget',
    'forget --retry-lock',
    { outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied', removed: 1 },
  ],
];

test.each(phases)(
  'SIGTERM at %s: the run stops there, no later restic call, no lock, the vault clean',
  async (_name, phase, expected) => {
    const s = shop();
    const place = { data, vault, work };
    pod.initVault(s, place);
    const first = pod.backupRun(s, place);
    expect(first.result).toMatchObject({ outcome: 'Completed' });
    const hold = holdAt(phase);
    const run = pod.startBackup(s, { ...place, pathPrefix: [hold.bin] });
    await until(`the run to reach ${phase}`, () => fs.existsSync(hold.held));
    process.kill(run.child.pid!, 'SIGTERM');
    const out = await run.done;
    expect(out.result).toMatchObject(expected);
    // The held call was the last one: nothing started after the stop.
    const calls = fs.readFileSync(hold.calls, 'utf8').trim().split('\n');
    expect(` ${calls[calls.length - 1]} `).toContain(` ${phase} `);
    const ids = pod.snapshots(repo(), work).map((x) => x.id);
    if (out.result!.retention !== 'applied') expect(ids).toContain(first.result!.snapshot);
    if (out.result!.outcome === 'Failed') expect(ids).toEqual([first.result!.snapshot]);
    else expect(ids).toContain(out.result!.snapshot);
    expect(fs.readdirSync(path.join(repo(), 'locks'))).toEqual([]);
    const check = pod.restic(repo(), work, ['check', '--no-lock']);
    expect(check.status).toBe(0);
  },
  60_000,
);

test('SIGTERM while waiting for the vault to be created: Interrupted, not "no repository"', async () => {
  const s = shop();
  const run = pod.startBackup(s, { data, vault, work });
  // The first check has ended (its output filed, its pipes gone): the run is pausing before the next.
  const state = (f: string) => fs.existsSync(path.join(run.scratch, 'state', f));
  await until('the run to wait for the vault', () => state('config.err') && !state('o'));
  process.kill(run.child.pid!, 'SIGTERM');
  const out = await run.done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'Interrupted' });
  expect(fs.existsSync(path.join(repo(), 'config'))).toBe(false);
}, 60_000);
