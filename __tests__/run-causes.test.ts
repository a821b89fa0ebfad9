/**
 * Vaults that refuse, as the backup run meets them under the image's BusyBox sh with the pinned restic: each ends in
 * bounded time with its own cause in words, never a stack trace, and nothing half-written.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job';
import * as pod from '../testing/backup-pod';
import { resticBinary } from '../testing/restic';

let work: string;
let data: string;
let vault: string;
const settings = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '2s' };

beforeAll(() => {
  resticBinary();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-causes-'));
  data = path.join(work, 'data');
  vault = path.join(work, 'vault');
  fs.mkdirSync(path.join(data, 'bakery-data'), { recursive: true });
  fs.mkdirSync(vault);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(data, 'bakery-data', `${i}.txt`), `order ${i}\n`);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function shop(spec: object = {}): pod.Shop {
  return {
    name: 'bakery',
    namespace: 'mall-shops',
    spec: { retention: { keepLast: 1 }, ...spec },
    claims: ['bakery-data'],
    props: { vaultSettings: settings },
  };
}

/** A port on 127.0.0.1 that nothing listens on: taken from the kernel, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

test('an unreachable S3 vault: VaultUnreachable within ' +
  "a minute, not after restic's 15 minutes of retries", async () => {
  const port = await closedPort();
  const started = Date.now();
  const out = await pod.startBackup(shop({ vaultLocation: `s3:http://127.0.0.1:${port}/shops` }), {
    data,
    vault,
    work,
    secret: { AWS_ACCESS_KEY_ID: 'mall', AWS_SECRET_ACCESS_KEY: 'mall-secret' },
  }).done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultUnreachable' });
  expect(out.result!.message).toMatch(/connection refused/);
  expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  expect(Date.now() - started).toBeLessThan(90_000);
}, 150_000);

test('a read-only vault: VaultReadOnly, no snapshot, the vault untouched', () => {
  const place = { data, vault, work };
  pod.initVault(shop(), place);
  const before = spawnSync('find', [vault, '-type', 'f'], { encoding: 'utf8' }).stdout;
  // The vault's folder mounted read-only in a private mount namespace, as a claim mounted readOnly would be.
  const readOnly = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"';
  const unshare = spawnSync('/bin/sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();
  if (!unshare) throw new Error('unshare is needed (util-linux: apt-get install -y util-linux; .ci/run does it)');
  const out = pod.backupRun(shop(), { ...place, wrap: [unshare, '--mount', '/bin/sh', '-c', readOnly, vault] });
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultReadOnly' });
  expect(out.result!.message).toMatch(/read-only file system/);
  expect(out.message).not.toMatch(/goroutine|\.go:\d+/);
  expect(spawnSync('find', [vault, '-type', 'f'], { encoding: 'utf8' }).stdout).toBe(before);
}, 60_000);

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a vault locked exclusively by a live restic: a bounded ' +
  'wait, then VaultLocked, nothing written; the next run succeeds', async () => {
  const place = { data, vault, work };
  const repo = path.join(vault, 'shops');
  pod.initVault(shop(), place);
  const first = pod.backupRun(shop(), place).result!;
  expect(first).toMatchObject({ outcome: 'Completed' });
  // `key passwd` takes the exclusive lock (as prune does), then waits on a pipe for the new password: a live
  // exclusive holder for as long as the test wants it.
  const fifo = path.join(work, 'new-password');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const holder = require('node:child_process').spawn(resticBinary(), ['key', 'passwd', '--new-password-file', fifo], {
    env: pod.resticEnv(repo, work),
    stdio: 'ignore',
  });
  try {
    await until(
      'the exclusive lock',
      () => fs.existsSync(path.join(repo, 'locks')) && fs.readdirSync(path.join(repo, 'locks')).length === 1,
    );
    const started = Date.now();
    const out = pod.backupRun(shop(), place);
    expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'VaultLocked', lockWaited: true });
    expect(out.result!.message).toMatch(/locked/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(pod.snapshots(repo, work).map((x) => x.id)).toEqual([first.snapshot]);
  } finally {
    const closed = new Promise((r) => holder.on('close', r));
    holder.kill('SIGINT');
    // restic waits in a read of the pipe, where no signal reaches it: an end of input lets it see the stop.
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      /* no reader left: restic has already gone */
    }
    await closed;
  }
  expect(fs.readdirSync(path.join(repo, 'locks'))).toEqual([]);
  expect(pod.backupRun(shop(), place).result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded' });
}, 90_000);
