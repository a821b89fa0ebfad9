/**
 * The control plane itself (scripts/control-plane/): how the binaries are found or refused, and that every
 * process is stopped by PID and its data removed — on stop(), after an API server restart, and after the
 * process that started it was killed with SIGKILL.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reapAbandoned, start } from '../../scripts/control-plane/cluster';
import { eventually, kubectlOk, ROOT, Run } from '../../testing/cluster/cluster';

jest.setTimeout(120_000);

const BIN = process.env.MALL_BACKUP_KUBE_BIN!;
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl'];
const temps: string[] = [];
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * build.sh with no Go on PATH, an empty cache and GOPROXY=off (so it cannot fetch the pinned toolchain):
 * only what KUBEBUILDER_ASSETS holds can be used.
 */
function buildWithoutGo(assets?: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: temp('mall-backup-home-'),
    MALL_BACKUP_CACHE: temp('mall-backup-cache-'),
    GOPROXY: 'off',
  };
  if (assets) env.KUBEBUILDER_ASSETS = assets;
  return new Promise((done) =>
    execFile('bash', ['scripts/control-plane/build.sh'], { cwd: ROOT, env }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code) : 0, stdout, stderr }),
    ),
  );
}

function assetsDir(names: string[]): string {
  const dir = temp('mall-backup-assets-');
  for (const n of names) symlinkSync(join(BIN, n), join(dir, n));
  return dir;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('finding the binaries', () => {
  test('without Go and without KUBEBUILDER_ASSETS the build fails, saying how to get them', async () => {
    const run = await buildWithoutGo();
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('GOPROXY=off: cannot fetch go1.26.8');
    expect(run.stderr).toContain('Missing: etcd kube-apiserver kube-controller-manager kubectl');
    expect(run.stderr).toMatch(/install Go \(go1\.26\.0 or newer.*tools\/kube\/go\.mod/);
    expect(run.stderr).toMatch(/point KUBEBUILDER_ASSETS at a directory that holds prebuilt binaries/);
  });

  test('KUBEBUILDER_ASSETS with all four binaries is used as is: no Go, no build', async () => {
    const assets = assetsDir(BINARIES);
    const run = await buildWithoutGo(assets);
    expect(run.code).toBe(0);
    const dir = run.stdout.trim();
    for (const n of BINARIES) expect(readlinkSync(join(dir, n))).toBe(join(assets, n));
  });

  test("envtest's bundle has no kube-controller-manager: that one alone must still be built", async () => {
    const run = await buildWithoutGo(assetsDir(['etcd', 'kube-apiserver', 'kubectl']));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Missing: kube-controller-manager.');
  });
});

describe('a control plane of its own', () => {
  test(
    'survives an API server crash and restart with its ' + 'data, then stops every process and removes its data',
    async () => {
      const cluster = await start({ binDir: BIN });
      const pids = [cluster.etcd.pid!, cluster.apiServer.pid!, cluster.controllerManager.pid!];
      try {
        await kubectlOk(['create', 'namespace', 'kept'], { kubeconfig: cluster.kubeconfigPath, bin: BIN });
        const before = cluster.apiServer.pid;
        await cluster.apiServer.restart({ crash: true });
        expect(cluster.apiServer.pid).not.toBe(before);
        await cluster.waitReady();
        expect(
          await kubectlOk(['get', 'namespace', 'kept', '-o', 'name'], { kubeconfig: cluster.kubeconfigPath, bin: BIN }),
        ).toBe('namespace/kept\n');
        pids[1] = cluster.apiServer.pid!;
      } finally {
        await cluster.stop();
      }
      expect(pids.filter(alive)).toEqual([]);
      expect(existsSync(cluster.dataDir)).toBe(false);
    },
  );

  test('when the process that started it is killed (SIGKILL), the next start reaps what it left', async () => {
    // A separate Node process starts a control plane, reports it, and is killed without any chance to clean up.
    const script = `require(${JSON.stringify(join(ROOT, 'scripts/control-plane/cluster.ts'))})
      .start({ binDir: ${JSON.stringify(BIN)} })
      .then((c) => console.log(JSON.stringify({
        dir: c.dataDir,
        pids: [c.etcd.pid, c.apiServer.pid, c.controllerManager.pid],
      })))`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const started = await eventually(
      "the child's control plane",
      async () => (out.includes('\n') ? JSON.parse(out) : undefined),
      90_000,
    ).finally(() => child.kill('SIGKILL'));
    await eventually('the child to be gone', async () => child.exitCode !== null || child.signalCode !== null);
    const { dir, pids } = started as { dir: string; pids: number[] };
    expect(pids.filter(alive)).toHaveLength(3); // orphans, as expected after SIGKILL

    reapAbandoned();
    await eventually('the orphans to exit', async () => pids.filter(alive).length === 0, 10_000);
    expect(existsSync(dir)).toBe(false);
  });

  test('a missing binary is reported with the path it tried, and nothing is left behind', async () => {
    const empty = temp('mall-backup-nobin-');
    const before = new Set(readdirSync(tmpdir()));
    await expect(start({ binDir: empty, readyTimeoutMs: 10_000 })).rejects.toThrow(
      `etcd could not start ${join(empty, 'etcd')}`,
    );
    // Other suites may start control planes meanwhile; none of the new data directories may be this process's
    // (start() writes the owner file right after spawning etcd, before it can know that the spawn failed).
    const owner = (d: string) =>
      existsSync(join(tmpdir(), d, 'owner'))
        ? JSON.parse(readFileSync(join(tmpdir(), d, 'owner'), 'utf8')).pid
        : undefined;
    const mine = readdirSync(tmpdir()).filter(
      (d) => d.startsWith('mall-backup-cp-') && !before.has(d) && owner(d) === process.pid,
    );
    expect(mine).toEqual([]);
  });
});
