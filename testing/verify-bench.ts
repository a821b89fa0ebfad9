/**
 * The verification scripts run as the pod runs them (lib/run/verify-script.ts): BusyBox sh and applets, the pinned
 * restic, the Backup's non-root user, values in the environment only; real vaults in a work folder, and the waits and
 * process lookups the concurrency tests need.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeObject } from '../operator/controller/types';
import { PASSWORD } from './backup-pod';
import { busyboxBinary, busyboxFolder } from './busybox';
import { resticForRestore } from './restic-binary';
import { vaultFromTemplate } from './vault-template';

/** The Backup's user in the restricted pod: not root, so permissions bite as they do in the cluster. */
export const USER = 65532;
export const bench = {
  work: '',
  /** The pinned restic, copied where the Backup's user can run it (the tool cache may be in root's home). */
  restic: { dir: '', binary: '' },
  /** The image's shell and tools: BusyBox sh and applets, and the pinned restic. */
  image: { sh: '', path: '' },
  /** Processes a test started: killed at the end whatever happened. */
  started: [] as ChildProcess[],
  /** restic processes stopped (SIGSTOP) by a test: killed at the end whatever happened. */
  stopped: [] as number[],
};

export function envOf(vault: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${bench.restic.dir}:/usr/bin:/bin`,
    HOME: bench.work,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_REPOSITORY: vault,
    RESTIC_CACHE_DIR: path.join(bench.work, 'cache'),
    ...extra,
  };
}

/** util-linux's setpriv, found before PATH becomes the image's (BusyBox has an applet of the name). */
export const setpriv = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim() || 'setpriv';

/** As the Backup's user: root drops to USER (setpriv), anyone else is not root already. */
export function asUser(cmd: string[]): string[] {
  return process.getuid?.() === 0
    ? [setpriv, `--reuid=${USER}`, `--regid=${USER}`, '--clear-groups', '--', ...cmd]
    : cmd;
}

export function restic_(vault: string, args: string[]): string {
  const r = spawnSync(bench.restic.binary, args, { env: envOf(vault), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

export function chownAll(p: string): void {
  if (process.getuid?.() !== 0) return;
  spawnSync('chown', ['-R', `${USER}:${USER}`, p]);
}

export interface Outcome {
  status: number | null;
  report: string;
  log: string;
}

export function runScript(script: string, vault: string, extra: Record<string, string> = {}): Outcome {
  const tmp = fs.mkdtempSync(path.join(bench.work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  chownAll(tmp);
  chownAll(vault);
  const [cmd, ...args] = asUser([bench.image.sh, 'sh', '-c', script, 'mall-verify']);
  const r = spawnSync(cmd, args, {
    env: envOf(vault, {
      PATH: bench.image.path,
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

/**
 * An empty vault, copied from the run's template (testing/vault-template.ts) rather than made by `restic init`: its
 * creation is not what these tests prove, and its cheap key spares each of their restic calls ~0.4 CPU-s of key
 * derivation (and the ~2 CPU-s of `init` calibrating it).
 */
export function emptyVault(name: string): string {
  return vaultFromTemplate(bench.work, name);
}

/** A vault holding one snapshot of `data` as the Backup's run takes it. */
export function vaultOf(name: string, data: string): string {
  const vault = emptyVault(name);
  restic_(vault, ['backup', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=shops/bakery', data]);
  return vault;
}

export function randomShop(name: string, files = 6): string {
  const data = path.join(bench.work, name);
  fs.mkdirSync(data, { recursive: true });
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(data, `order-${i}.bin`), crypto.randomBytes(200_000));
  return data;
}

export const packsOf = (vault: string) =>
  fs
    .readdirSync(path.join(vault, 'data'))
    .flatMap((d) => fs.readdirSync(path.join(vault, 'data', d)).map((f) => path.join(vault, 'data', d, f)))
    .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size);

export const job = (name: string, failed: boolean): KubeObject => ({
  metadata: { name },
  status: {
    completionTime: failed ? undefined : '2026-11-25T03:10:00Z',
    conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True', lastTransitionTime: '2026-11-25T03:10:00Z' }],
  },
});
export const pod = (jobName: string, message: string): KubeObject => ({
  metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
  status: { containerStatuses: [{ state: { terminated: { exitCode: 1, message } } }] },
});

/** Call in beforeAll: a work folder, restic where the Backup's user can run it, the image's BusyBox. */
export function setUpBench(prefix: string): void {
  bench.work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(bench.work, 0o755);
  const dir = path.join(bench.work, 'bin');
  fs.mkdirSync(dir);
  fs.copyFileSync(resticForRestore().binary, path.join(dir, 'restic'));
  fs.chmodSync(path.join(dir, 'restic'), 0o755);
  bench.restic = { dir, binary: path.join(dir, 'restic') };
  bench.image = { sh: busyboxBinary(), path: busyboxFolder(bench.work, bench.restic.binary) };
}
/** Call in afterAll: every process a test started is killed, the work folder removed. */
export function tearDownBench(): void {
  for (const child of bench.started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of bench.stopped)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: the test let it finish.
    }
  if (bench.work) fs.rmSync(bench.work, { recursive: true, force: true });
}

export async function until<T>(what: string, probe: () => T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** The restic `sub` command the shell `pid` runs in the background (not the shell's own fork before its exec). */
export const resticChild = (pid: number, sub: string): number | undefined =>
  childrenOf(pid).find((kid) => {
    try {
      const argv = fs.readFileSync(`/proc/${kid}/cmdline`, 'utf8').split('\0');
      return argv[0].endsWith('restic') && argv[1] === sub;
    } catch {
      return false;
    }
  });
export const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};
