/**
 * A real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (RBAC, OwnerReferencesPermissionEnforcement,
 * service-account tokens) and kube-controller-manager (the controllers a Backup's life touches). No kubelet
 * and no scheduler: tests play them. `npm run dev:cluster` and the cluster tests both start it through `start()`.
 *
 * Everything lives in one data directory (certificates, etcd, logs, kubeconfigs) that `stop()` removes.
 * A run that dies without stopping (a killed test runner) leaves an `owner` file behind; the next `start()`
 * stops those processes and removes the directory.
 *
 * What it costs (measured on the 2-core machine): ~2 CPU-s to start (kube-apiserver 1.6, etcd 0.25, the controller
 * manager 0.13) and ~1 CPU-s a minute idle for the three together. Switching off the API groups nothing here uses
 * (`--runtime-config=api/all=false,...`) changed neither; the API server's CPU in a test run is spent answering the
 * suites' requests, so savings come from fewer control planes and fewer requests, not from flags.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPki, kubeconfig } from './pki';
import { Component, freePort, get, Tls, waitFor } from './process';

const ROOT = resolve(__dirname, '../..');
const DATA_PREFIX = 'mall-backup-cp-';

/**
 * The controllers running: Backups become CronJobs, Jobs and pods; owned objects are collected; namespaces
 * are deleted with their content; service accounts get tokens and the cluster CA; quotas count usage (their
 * admission refuses without it); the operator's Deployment makes its ReplicaSet; aggregated roles are filled.
 * Left out: node lifecycle (a test kubelet need not heartbeat), networking, storage, certificates.
 */
export const CONTROLLERS = [
  'cronjob-controller',
  'job-controller',
  'ttl-after-finished-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'resourcequota-controller',
  'deployment-controller',
  'replicaset-controller',
  'pod-garbage-collector-controller',
  'clusterrole-aggregation-controller',
];

export interface StartOptions {
  /** Directory with etcd, kube-apiserver, kube-controller-manager, kubectl; default: `resolveBinaries()`. */
  readonly binDir?: string;
  readonly controllers?: readonly string[];
  /** Extra kube-apiserver flags (they win over the defaults: the API server takes the last value). */
  readonly apiServerArgs?: readonly string[];
  /** Bound on each readiness wait; the API server's first start on a busy 2-core machine takes ~10-20 s. */
  readonly readyTimeoutMs?: number;
  readonly progress?: (line: string) => void;
}

export interface ControlPlane {
  /** Admin (system:masters) kubeconfig with the certificates inline. */
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly binDir: string;
  readonly dataDir: string;
  readonly etcdUrl: string;
  /** The processes, for fault tests (restart the API server, stop etcd) and for their logs. */
  readonly etcd: Component;
  readonly apiServer: Component;
  readonly controllerManager: Component;
  /** Resolves once the API server answers /readyz again (after a restart). */
  waitReady(): Promise<void>;
  /** Stops every process by PID (SIGTERM, SIGKILL after 10 s) and removes the data directory. */
  stop(): Promise<void>;
}

/** Builds the binaries on first use (progress on stderr) and returns their directory. */
export function resolveBinaries(): string {
  const script = join(ROOT, 'scripts/control-plane/build.sh');
  const run = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(
      `The Kubernetes control plane (etcd, kube-apiserver, ` +
        `kube-controller-manager, kubectl) is not available: ${script} ` +
        `${run.error ? `could not run (${run.error.message})` : `exited with ${run.status ?? run.signal}`}. ` +
        `Install Go (the version in ` +
        'tools/kube/go.mod) so it can build them (once, into ' +
        '~/.cache/mall-backup/kube/), or set KUBEBUILDER_ASSETS to a ' +
        'directory holding prebuilt binaries of the release pinned there; its message above says more.',
    );
  }
  const dir = run.stdout.trim().split('\n').pop()!;
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl']) {
    if (!existsSync(join(dir, name))) throw new Error(`${script} printed ${dir}, which has no ${name}`);
  }
  return dir;
}

/** Stops what runs without an owner (left by a run that was killed) and removes its data directory. */
export function reapAbandoned(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(DATA_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: { pid: number; children: number[] };
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // being set up right now, or not ours
    }
    if (alive(owner.pid)) continue;
    for (const pid of owner.children) {
      // A PID may have been reused since: only a process started with this data directory is ours.
      if (alive(pid) && readCmdline(pid).includes(dir)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

export async function start(options: StartOptions = {}): Promise<ControlPlane> {
  const progress = options.progress ?? (() => undefined);
  const timeout = options.readyTimeoutMs ?? 120_000;
  const binDir = options.binDir ?? resolveBinaries();
  reapAbandoned();
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), DATA_PREFIX));
  const components: Component[] = [];
  const writeOwner = () =>
    writeFileSync(
      join(dataDir, 'owner'),
      JSON.stringify({ pid: process.pid, children: components.map((c) => c.pid).filter((p) => p !== undefined) }),
    );
  // Whatever happens to this process, its children do not outlive it.
  const onExit = () => components.forEach((c) => c.killNow());
  process.on('exit', onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const c of [...components].reverse()) await c.stop();
    process.off('exit', onExit);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const pki = createPki(dataDir);
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const bin = (name: string) => join(binDir, name);

    const etcd = new Component(
      'etcd',
      bin('etcd'),
      [
        '--name=default',
        `--data-dir=${join(dataDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=default=${peerUrl}`,
        // Throwaway data: skipping fsync makes writes as fast as the tests need.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      dataDir,
    );
    components.push(etcd);
    etcd.start();
    writeOwner();
    await waitFor('etcd', async () => (await get(`${etcdUrl}/health`)).body.includes('"health":"true"'), timeout, etcd);
    progress(`etcd ready on ${etcdUrl}`);

    const apiServer = new Component(
      'kube-apiserver',
      bin('kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${dataDir}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--service-cluster-ip-range=10.96.0.0/24',
        '--authorization-mode=Node,RBAC',
        // On top of the default plugins (NamespaceLifecycle, ServiceAccount, PodSecurity, ResourceQuota, ...).
        '--enable-admission-plugins=OwnerReferencesPermissionEnforcement,NodeRestriction',
        // The `kubernetes` Service cannot point at a loopback address; nothing here needs it to.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=false',
        '--profiling=false',
        ...(options.apiServerArgs ?? []),
      ],
      dataDir,
    );
    components.push(apiServer);
    apiServer.start();
    writeOwner();
    const tls: Tls = {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.clients.admin.cert),
      key: readFileSync(pki.clients.admin.key),
    };
    const waitReady = () =>
      waitFor(
        'kube-apiserver /readyz',
        async () => (await get(`${server}/readyz`, tls)).status === 200,
        timeout,
        apiServer,
      );
    await waitReady();
    progress(`kube-apiserver ready on ${server}`);

    const kubeconfigPath = join(dataDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(pki, server, 'admin'), { mode: 0o600 });
    const controllerKubeconfig = join(dataDir, 'kube-controller-manager.kubeconfig');
    writeFileSync(controllerKubeconfig, kubeconfig(pki, server, 'kube-controller-manager'), { mode: 0o600 });
    const controllerManager = new Component(
      'kube-controller-manager',
      bin('kube-controller-manager'),
      [
        `--kubeconfig=${controllerKubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        // Each controller acts as its own service account, so RBAC judges it as in a real cluster.
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--controllers=${(options.controllers ?? CONTROLLERS).join(',')}`,
      ],
      dataDir,
    );
    components.push(controllerManager);
    controllerManager.start();
    writeOwner();
    // The service-account controller creates `default` in every namespace; pods cannot be admitted before.
    await waitFor(
      'kube-controller-manager (the default ServiceAccount)',
      async () => (await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status === 200,
      timeout,
      controllerManager,
    );
    progress(`kube-controller-manager running; control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    return { kubeconfigPath, server, binDir, dataDir, etcdUrl, etcd, apiServer, controllerManager, waitReady, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
