/**
 * Vaults that refuse, as the backup run meets them under the image's BusyBox sh with the pinned restic: each ends in
 * bounded time with its own cause in words, never a stack trace, and nothing half-written.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import { closedPort } from '../testing/ports';
import { resticBinary } from '../testing/restic';
import { here, hostTool, place, shop as filledShop, until, useFaultFolders } from '../testing/vault-faults';
import { vaultFromTemplate } from '../testing/vault-template';

useFaultFolders();
let bakery: pod.Shop;
beforeEach(() => {
  bakery = filledShop('bakery');
});
const shop = (spec: object = {}): pod.Shop => ({ ...bakery, spec: { ...bakery.spec, ...spec } });

test('an unreachable S3 vault: VaultUnreachable within ' +
  "a minute, not after restic's 15 minutes of retries", async () => {
  const port = await closedPort();
  const started = Date.now();
  const out = await pod.startBackup(
    shop({ vaultLocation: `s3:http://127.0.0.1:${port}/shops` }),
    place({ secret: { AWS_ACCESS_KEY_ID: 'mall', AWS_SECRET_ACCESS_KEY: 'mall-secret' } }),
  ).done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultUnreachable' });
  expect(out.result!.message).toMatch(/connection refused/);
  expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  expect(Date.now() - started).toBeLessThan(90_000);
}, 150_000);

test('a read-only vault: VaultReadOnly, no snapshot, the vault untouched', () => {
  vaultFromTemplate(here.vault);
  const before = spawnSync('find', [here.vault, '-type', 'f'], { encoding: 'utf8' }).stdout;
  // The vault's folder mounted read-only in a private mount namespace, as a claim mounted readOnly would be.
  const readOnly = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"';
  const wrap = [hostTool('unshare'), '--mount', '/bin/sh', '-c', readOnly, here.vault];
  const out = pod.backupRun(shop(), place({ wrap }));
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultReadOnly' });
  expect(out.result!.message).toMatch(/read-only file system/);
  expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  expect(spawnSync('find', [here.vault, '-type', 'f'], { encoding: 'utf8' }).stdout).toBe(before);
}, 60_000);

test('a vault locked exclusively by a live restic: a bounded ' +
  'wait, then VaultLocked, nothing written; the next run succeeds', async () => {
  const repo = path.join(here.vault, 'shops');
  vaultFromTemplate(here.vault);
  const first = pod.backupRun(shop(), place()).result!;
  expect(first).toMatchObject({ outcome: 'Completed' });
  // `key passwd` takes the exclusive lock (as prune does), then waits on a pipe for the new password: a live
  // exclusive holder for as long as the test wants it.
  const fifo = path.join(here.work, 'new-password');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const holder = spawn(resticBinary(), ['key', 'passwd', '--new-password-file', fifo], {
    env: pod.resticEnv(repo, here.work),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // Listened for from the start: a holder that ends early must not leave the test waiting for an event already gone.
  let said = '';
  holder.stderr!.on('data', (d) => {
    said += d;
  });
  const closed = new Promise<number | null>((r) => holder.on('close', r));
  let ended = false;
  void closed.then(() => {
    ended = true;
  });
  try {
    await until(
      'the exclusive lock',
      () => fs.existsSync(path.join(repo, 'locks')) && fs.readdirSync(path.join(repo, 'locks')).length === 1,
    );
    const started = Date.now();
    const out = pod.backupRun(shop(), place());
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultLocked', lockWaited: true });
    expect(out.result!.message).toMatch(/locked/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(pod.snapshots(repo, here.work).map((x) => x.id)).toEqual([first.snapshot]);
  } finally {
    holder.kill('SIGINT');
    // restic waits in an open of the pipe, where no signal reaches it: an end of input lets it see the stop. Until
    // it has the pipe open (or has gone), opening the other end fails, so it is tried again, for a bounded time.
    await until(
      'the lock holder to stop',
      () => {
        try {
          fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
        } catch {
          /* no reader yet, or restic has gone */
        }
        return ended;
      },
      15_000,
    ).catch((e) => {
      holder.kill('SIGKILL');
      throw new Error(`${e.message}; restic said: ${said}`);
    });
  }
  expect(fs.readdirSync(path.join(repo, 'locks'))).toEqual([]);
  expect(pod.backupRun(shop(), place()).result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded' });
}, 90_000);
