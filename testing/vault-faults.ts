/**
 * The shared ground of the suites that run the pod's scripts against a local vault (the fault suites
 * __tests__/vault-faults-*.test.ts, in several files so jest's workers share the work, and the signal and
 * maintenance suites): a fresh data, vault and scratch folder per test, shops with files, a restic held at a chosen
 * call, kills, live locks, and what a test reads from the vault.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';
import * as pod from './backup-pod';
import { resticBinary } from './restic';

/** This test's folders (set before each test, removed after it). */
export const here = { work: '', data: '', vault: '' };
export const repo = () => path.join(here.vault, 'shops');
/** Short lock waits so a test of a lock timeout ends in seconds. */
export const quick = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '2s' };

/** Registers the suite's hooks: the pinned restic (or a failure saying how to get it), fresh folders per test. */
export function useFaultFolders(): void {
  beforeAll(() => {
    resticBinary();
  });
  beforeEach(() => {
    here.work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-faults-'));
    here.data = path.join(here.work, 'data');
    here.vault = path.join(here.work, 'vault');
    fs.mkdirSync(here.vault);
  });
  afterEach(() => fs.rmSync(here.work, { recursive: true, force: true }));
}

export function shop(name: string, extra: Partial<pod.Shop> = {}): pod.Shop {
  const claims = [`${name}-data`];
  for (const c of claims) {
    fs.mkdirSync(path.join(here.data, c, 'orders'), { recursive: true });
    for (let i = 0; i < 20; i++)
      fs.writeFileSync(path.join(here.data, c, 'orders', `${i}.txt`), `order ${i} of ${name}\n`);
  }
  return {
    name,
    namespace: 'mall-shops',
    spec: { retention: { keepLast: 1 } },
    claims,
    props: { vaultSettings: quick },
    ...extra,
  };
}

/**
 * Enough data that a backup is still running when the test looks for its lock (the lock is taken before the first
 * file is read, and the test signals within milliseconds of seeing it), and more than the 4 MiB "full" vault holds.
 */
export function bigShop(name: string): pod.Shop {
  const s = shop(name);
  const dir = path.join(here.data, s.claims[0], 'photos');
  fs.mkdirSync(dir);
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, `${i}.bin`), crypto.randomBytes(8 << 20));
  return s;
}

export const place = (extra: Partial<pod.Place> = {}): pod.Place => ({
  data: here.data,
  vault: here.vault,
  work: here.work,
  ...extra,
});
/**
 * The vault's locks as restic reads them: files named by a 64-hex ID. A lock still being written is a `<id>-tmp-<n>`
 * file (restic's local backend writes, then renames), which restic's lock listing skips, so waiting on it would kill
 * a process before its lock exists.
 */
export const locks = () =>
  fs.existsSync(path.join(repo(), 'locks'))
    ? fs.readdirSync(path.join(repo(), 'locks')).filter((f) => /^[0-9a-f]{64}$/.test(f))
    : [];

export async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The processes in a process group (a container's processes), from /proc. */
export function processGroup(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The command lines of a process group's processes. */
export function commandsOf(pgid: number): string[][] {
  return processGroup(pgid).flatMap((pid) => {
    try {
      return [fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)];
    } catch {
      return [];
    }
  });
}

/**
 * The kubelet's SIGKILL (deadline, eviction, a node lost) to a run's whole container at once, nothing cleaning up;
 * resolves once every process of it, restic included, has exited and been reaped, as when the pod is gone.
 */
export async function killContainer(run: { child: ChildProcess; done: Promise<unknown> }): Promise<void> {
  const pgid = run.child.pid!;
  const group = processGroup(pgid);
  process.kill(-pgid, 'SIGKILL');
  await run.done;
  await until('the killed processes to be gone', () => group.every((pid) => !fs.existsSync(`/proc/${pid}`)));
}

/** A shop whose fresh vault holds one completed backup: where the lock and retention faults start. */
export function backedUpShop(name: string, extra: Partial<pod.Shop> = {}): pod.Shop {
  const s = shop(name, extra);
  pod.initVault(s, place());
  expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');
  return s;
}

/**
 * A `restic` first on the pod's PATH (`pathPrefix: [bin]`): a call whose arguments contain `phase` marks `held`,
 * waits for the pod's signal (the run passes SIGINT and SIGTERM on to its child), then runs the real restic all the
 * same, as a restic that had not yet installed its handler would. Every call is logged to `calls`.
 */
export function holdResticAt(phase: string): { bin: string; held: string; calls: string } {
  const bin = path.join(here.work, 'hold-bin');
  const held = path.join(here.work, 'held');
  const calls = path.join(here.work, 'calls');
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

/** The bytes of the vault's pack files: what its data takes up. */
export function packBytes(): number {
  return (fs.readdirSync(path.join(repo(), 'data'), { recursive: true }) as string[])
    .map((f) => fs.statSync(path.join(repo(), 'data', f)))
    .filter((st) => st.isFile())
    .reduce((sum, st) => sum + st.size, 0);
}

export function checkClean(): void {
  const check = pod.restic(repo(), here.work, ['check', '--no-lock']);
  expect(check.stderr).not.toMatch(/error|Fatal/i);
  expect(check.status).toBe(0);
  expect(locks()).toEqual([]);
}

/** A tool of this machine (util-linux), by its full path: the pod's PATH holds BusyBox applets of the same names. */
export function hostTool(name: string): string {
  const found = spawnSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${name} is needed (util-linux: apt-get install -y util-linux; .ci/run does it)`);
  return found;
}

/** A vault a scenario runs against: the Backups' vaultLocation, what the pod and restic need to reach it. */
export interface VaultUnderTest {
  /** spec.vaultLocation of every Backup (a pvc:// one is this test's vault folder). */
  location: string;
  /** The repository as restic outside the pod names it. */
  repository: string;
  /** The vault Secret's extra keys and the pod's extra environment (an S3 vault's credentials and CA). */
  secret: Record<string, string>;
  env: Record<string, string>;
}

/** The test's local vault folder, as a pvc:// vault. */
export const localVault = (): VaultUnderTest => ({
  location: 'pvc://vault/shops',
  repository: repo(),
  secret: {},
  env: {},
});

/** restic on the vault, outside any pod. */
export function resticOn(v: VaultUnderTest, args: string[]) {
  return pod.restic(v.repository, here.work, args, { ...v.secret, ...v.env });
}

/**
 * 4 Backups sharing a fresh vault start at the same moment: each run finds no repository and waits for it
 * (never creating one), the operator's one init Job creates it, and then all of them complete. Exactly one key,
 * the config the init Job wrote is the one left, every snapshot restores the shop's files, and the vault checks
 * clean with no lock left.
 */
export async function firstRunsOnFreshVault(v: VaultUnderTest): Promise<void> {
  const shops = ['bakery', 'florist', 'grocer', 'tailor'].map((n) =>
    shop(n, { spec: { vaultLocation: v.location, retention: { keepLast: 1 } } }),
  );
  const at = place({ secret: v.secret, env: v.env });
  const runs = shops.map((s) => pod.startBackup(s, at));
  for (const r of runs)
    await until('every run to find no repository and wait for it', () => /no repository yet: waiting/.test(r.stderr()));
  expect(resticOn(v, ['--no-lock', 'cat', 'config']).status).toBe(10);
  pod.initVault(shops[0], at);
  const config = resticOn(v, ['--no-lock', 'cat', 'config']).stdout;
  expect(JSON.parse(config).id).toMatch(/^[0-9a-f]{64}$/);
  const outs = await Promise.all(runs.map((r) => r.done));
  for (const out of outs) expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded' });
  for (const out of outs) expect(out.stderr).not.toMatch(/created restic repository/);
  expect(JSON.parse(resticOn(v, ['key', 'list', '--json', '--no-lock']).stdout)).toHaveLength(1);
  expect(resticOn(v, ['--no-lock', 'cat', 'config']).stdout).toBe(config);
  outs.forEach((out, i) => {
    const target = path.join(here.work, `restore-${shops[i].name}`);
    const restore = resticOn(v, ['restore', out.result!.snapshot!, '--target', target]);
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);
    // The test maps the pod's mounts to host folders, so the snapshot holds the claim's host path.
    const claim = path.join(here.data, shops[i].claims[0]);
    expect(fs.readFileSync(path.join(target, claim, 'orders', '7.txt'), 'utf8')).toBe(`order 7 of ${shops[i].name}\n`);
  });
  const check = resticOn(v, ['check', '--no-lock']);
  expect(check.stderr).not.toMatch(/error|Fatal/i);
  expect(check.status).toBe(0);
  expect(resticOn(v, ['list', 'locks', '--no-lock']).stdout).toBe('');
}

/**
 * A live non-exclusive lock on the test's vault: a restic backup reading a pipe that stays open until `release`
 * (which ends that backup and waits for it).
 */
export async function liveLock(): Promise<{ release: () => Promise<void> }> {
  const holder = spawn(resticBinary(), ['backup', '--stdin', '--stdin-filename', 'x'], {
    env: pod.resticEnv(repo(), here.work),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  const release = async () => {
    if (holder.exitCode === null && holder.signalCode === null) {
      const closed = new Promise((r) => holder.on('close', r));
      holder.stdin.end('done\n');
      await closed;
    }
  };
  try {
    await until("the holder's lock", () => locks().length === 1);
  } catch (error) {
    holder.kill('SIGKILL');
    throw error;
  }
  return { release };
}

/** `body` run while a live lock holds the vault; the lock is released after it, also when it fails. */
export async function whileLocked<T>(body: () => Promise<T> | T): Promise<T> {
  const holder = await liveLock();
  try {
    return await body();
  } finally {
    await holder.release();
  }
}
