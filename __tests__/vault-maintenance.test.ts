/**
 * The per-vault maintenance pod (unlock, prune, check) under the image's BusyBox sh with the pinned restic: it frees
 * what retention forgot, and a SIGTERM at any step stops it there, with no exclusive lock left to block every shop.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import { here, holdResticAt, packBytes, place, repo, shop, until, useFaultFolders } from '../testing/vault-faults';

useFaultFolders();

/** Two runs with different data: the second's retention forgets the first, leaving data for prune. */
function vaultWithGarbage(): pod.Shop {
  const s = shop('bakery');
  pod.initVault(s, place());
  for (const round of [1, 2]) {
    fs.writeFileSync(path.join(here.data, 'bakery-data', `round-${round}.bin`), crypto.randomBytes(1 << 20));
    fs.rmSync(path.join(here.data, 'bakery-data', `round-${round - 1}.bin`), { force: true });
    expect(pod.backupRun(s, place()).result).toMatchObject({ outcome: 'Completed' });
  }
  return s;
}

test('maintenance prunes what retention forgot and checks the vault', async () => {
  const s = vaultWithGarbage();
  const before = packBytes();
  const out = await pod.startMaintenance(s, place()).done;
  expect(out.status).toBe(0);
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'VaultMaintained' });
  // The first round's MiB of random data, which only the forgotten snapshot used, is gone from the vault.
  expect(packBytes()).toBeLessThan(before - (1 << 19));
  expect(fs.readdirSync(path.join(repo(), 'locks'))).toEqual([]);
}, 60_000);

test.each(['unlock', 'prune'])(
  'SIGTERM at %s: maintenance stops there, no later step, no lock left',
  async (phase) => {
    const s = vaultWithGarbage();
    // A stand-in restic holds the step until the pod's signal reaches it, then runs the real one.
    const { bin, held, calls } = holdResticAt(phase);
    const run = pod.startMaintenance(s, place({ pathPrefix: [bin] }));
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
    expect(pod.restic(repo(), here.work, ['check', '--no-lock']).status).toBe(0);
  },
  60_000,
);
