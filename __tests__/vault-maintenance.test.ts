/**
 * The per-vault maintenance pod (unlock, prune, check) under the image's BusyBox sh with the pinned restic: it frees
 * what retention forgot, and a SIGTERM at any step stops it there, with no exclusive lock left to block every shop.
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
const settings = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '2s' };

beforeAll(() => {
  resticBinary();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-maintenance-'));
  data = path.join(work, 'data');
  vault = path.join(work, 'vault');
  fs.mkdirSync(path.join(data, 'bakery-data'), { recursive: true });
  fs.mkdirSync(vault);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const shop: pod.Shop = {
  name: 'bakery',
  namespace: 'mall-shops',
  spec: { retention: { keepLast: 1 } },
  claims: ['bakery-data'],
  props: { vaultSettings: settings },
};

/** Two runs with different data: the second's retention forgets the first, leaving data for prune. */
function vaultWithGarbage(): void {
  pod.initVault(shop, { data, vault, work });
  for (const round of [1, 2]) {
    fs.writeFileSync(path.join(data, 'bakery-data', `round-${round}.bin`), require('node:crypto').randomBytes(1 << 20));
    fs.rmSync(path.join(data, 'bakery-data', `round-${round - 1}.bin`), { force: true });
    expect(pod.backupRun(shop, { data, vault, work }).result).toMatchObject({ outcome: 'Completed' });
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('maintenance prunes what retention forgot and checks the vault', async () => {
  vaultWithGarbage();
  const packs = () =>
    (fs.readdirSync(path.join(repo(), 'data'), { recursive: true }) as string[]).filter((f) =>
      /^[0-9a-f]{64}$/.test(path.basename(f)),
    ).length;
  const before = packs();
  const out = await pod.startMaintenance(shop, { data, vault, work }).done;
  expect(out.status).toBe(0);
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'VaultMaintained' });
  expect(packs()).toBeLessThan(before);
  expect(fs.readdirSync(path.join(repo(), 'locks'))).toEqual([]);
}, 60_000);

test.each(['unlock', 'prune'])(
  'SIGTERM at %s: maintenance stops there, no later step, no lock left',
  async (phase) => {
    vaultWithGarbage();
    // A stand-in restic holds the step until the pod's signal reaches it, then runs the real one (see run-signals).
    const bin = path.join(work, 'hold-bin');
    const held = path.join(work, 'held');
    const calls = path.join(work, 'calls');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, 'restic'),
      `#!/bin/sh
echo "$*" >>'${calls}'
if [ "$1" = '${phase}' ]; then
  got=; trap 'got=1' INT TERM; : >'${held}'; while [ -z "$got" ]; do sleep 0.02; done; trap - INT TERM
fi
exec '${resticBinary()}' "$@"
`,
      { mode: 0o755 },
    );
    const run = pod.startMaintenance(shop, { data, vault, work, pathPrefix: [bin] });
    await until(`maintenance to reach ${phase}`, () => fs.existsSync(held));
    process.kill(run.child.pid!, 'SIGTERM');
    const out = await run.done;
    expect(out.status).not.toBe(0);
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'Interrupted' });
    const steps = fs
      .readFileSync(calls, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(steps[steps.length - 1]).toBe(phase);
    expect(fs.readdirSync(path.join(repo(), 'locks'))).toEqual([]);
    expect(pod.restic(repo(), work, ['check', '--no-lock']).status).toBe(0);
  },
  60_000,
);
