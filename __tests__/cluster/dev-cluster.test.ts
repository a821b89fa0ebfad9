/**
 * `npm run dev:cluster` as a person runs it: in the foreground of a terminal, stopped with Ctrl-C (SIGINT to
 * the whole foreground process group), or by a supervisor that sends SIGTERM to npm alone (npm exits
 * without passing it on, so the cluster notices it lost its parent). Either way: no process, no data left.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { eventually, kubectlOk, ROOT } from '../../testing/cluster/cluster';

jest.setTimeout(120_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const running: ChildProcess[] = [];
afterAll(() => running.forEach((c) => c.pid && alive(c.pid) && process.kill(-c.pid, 'SIGKILL')));

/** Starts `npm run dev:cluster` in a process group of its own, as a terminal would; resolves once it is ready. */
async function devCluster(): Promise<{
  npm: ChildProcess;
  kubeconfig: string;
  dataDir: string;
  pids: number[];
  output: () => string;
}> {
  const npm = spawn('npm', ['run', '--silent', 'dev:cluster'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(npm);
  let out = '';
  npm.stdout!.on('data', (chunk) => (out += chunk));
  npm.stderr!.on('data', (chunk) => (out += chunk));
  const kubeconfig = await eventually(
    'dev:cluster to print its kubeconfig',
    async () => out.match(/^kubeconfig: (\S+)$/m)?.[1],
    90_000,
  );
  const dataDir = dirname(kubeconfig);
  const pids: number[] = JSON.parse(readFileSync(join(dataDir, 'owner'), 'utf8')).children;
  return { npm, kubeconfig, dataDir, pids, output: () => out };
}

async function expectGone(cluster: { npm: ChildProcess; dataDir: string; pids: number[] }): Promise<void> {
  await eventually(
    'dev:cluster to stop everything',
    async () => cluster.pids.every((p) => !alive(p)) && !existsSync(cluster.dataDir),
    30_000,
  );
}

test('prints a kubeconfig that works, and Ctrl-C stops every process and removes the data', async () => {
  const cluster = await devCluster();
  expect(cluster.pids).toHaveLength(3);
  expect(cluster.output()).toContain(`export KUBECONFIG=${cluster.kubeconfig}`);
  expect(await kubectlOk(['get', 'namespace', 'kube-system', '-o', 'name'], { kubeconfig: cluster.kubeconfig })).toBe(
    'namespace/kube-system\n',
  );
  process.kill(-cluster.npm.pid!, 'SIGINT');
  await expectGone(cluster);
  expect(cluster.output()).toContain(`SIGINT: stopping the control plane and removing ${cluster.dataDir}`);
});

test('SIGTERM to npm alone stops it too', async () => {
  const cluster = await devCluster();
  process.kill(cluster.npm.pid!, 'SIGTERM');
  await expectGone(cluster);
});
