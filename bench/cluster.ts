/**
 * `npm run bench:cluster [-- --backups=1000] [-- --quick]`: the operator's initial sync on the real API server
 * (the control plane of scripts/control-plane/), side by side with a bare-client floor. Not part of `npm test`.
 *
 *   - N Backups are filed (no run-now, so no pods: this measures the control loop, not restic);
 *   - floor: a plain HTTPS client doing, per Backup, the two writes a sync needs (server-side apply of its
 *     CronJob, a merge patch of its status), 4 in flight like the operator's default --workers;
 *   - operator: the bundle, logged in as its ServiceAccount, from start until every Backup shows a phase;
 *   - writes are counted from the API server's audit log (the operator's ServiceAccount only), RSS from /proc;
 *   - steady state: writes in a 30 s window after convergence (10 s with --quick).
 * About 2 minutes for 1 000 Backups on 2 cores, ~200 MiB in the temp folder, removed at the end and on Ctrl-C.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { start } from '../scripts/control-plane/cluster';
import {
  client,
  Client,
  installBackupCrd,
  installOperatorRbac,
  serviceAccountLogin,
} from '../__tests__/cluster/cluster';
import { auditWrites } from '../__tests__/cluster/audited-cluster';
import { RealOperator } from '../__tests__/cluster/operator';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const N = Number(arg('backups') ?? (quick ? 100 : 1000));
const STEADY_MS = quick ? 10_000 : 30_000;

const dir = mkdtempSync(join(tmpdir(), 'mall-backup-bench-cluster-'));
const auditLog = join(dir, 'audit.log');
const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
const cleanup = async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void cleanup().then(() => process.exit(130)));

async function pool<T>(items: T[], inFlight: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

const backup = (i: number) => ({
  apiVersion: 'mall.example.com/v1alpha1',
  kind: 'Backup',
  metadata: { name: `shop-${i}` },
  spec: {
    shopName: `shop-${i}`,
    backupTime: `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    vaultLocation: `pvc://vault/shop-${i}`,
    vaultCredentialsSecret: 'vault',
  },
});

async function file(api: Client, ns: string): Promise<void> {
  await api.ok('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const claim = (name: string, labels?: Record<string, string>) =>
    api.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      metadata: { name, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  // Each shop's labelled claim and the vault claim: without them a Backup stays Pending and no CronJob is written.
  await claim('vault');
  await pool([...Array(N).keys()], 16, async (i) => {
    await claim(`shop-${i}-data`, { 'mall.example.com/shop': `shop-${i}` });
    await api.ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`, backup(i));
  });
}

/** The floor: per Backup one server-side apply of a CronJob and one status patch, nothing else. */
async function floor(api: Client, ns: string): Promise<number> {
  const t0 = performance.now();
  await pool([...Array(N).keys()], 4, async (i) => {
    const b = backup(i);
    await api.ok(
      'PATCH',
      `/apis/batch/v1/namespaces/${ns}/cronjobs/backup-${b.metadata.name}?fieldManager=floor&force=true`,
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: `backup-${b.metadata.name}` },
        spec: {
          schedule: '30 2 * * *',
          timeZone: 'UTC',
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  restartPolicy: 'Never',
                  containers: [
                    { name: 'restic', image: 'docker.io/restic/restic:0.16.4', command: ['/bin/sh', '-c', 'true'] },
                  ],
                },
              },
            },
          },
        },
      },
      'application/apply-patch+yaml',
    );
    await api.ok(
      'PATCH',
      `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups/${b.metadata.name}/status`,
      { status: { phase: 'Scheduled' } },
      'application/merge-patch+json',
    );
  });
  return (performance.now() - t0) / 1000;
}

const operatorWrites = () =>
  readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.stage === 'ResponseComplete');

function kinds(entries: any[]): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const e of entries) {
    const k =
      `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ` +
      `${e.responseStatus?.code}`;
    byKind[k] = (byKind[k] ?? 0) + 1;
  }
  return byKind;
}

async function allHavePhase(api: Client, ns: string): Promise<boolean> {
  const list = await api.ok('GET', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`);
  return list.items.length === N && list.items.every((b: any) => b.status?.phase);
}

async function main(): Promise<void> {
  const cluster = await start({
    apiServerArgs: auditWrites(dir, auditLog),
    progress: (l) => process.stderr.write(`control plane: ${l}\n`),
  });
  cleanups.push(() => cluster.stop());
  const api = client({ kubeconfig: cluster.kubeconfigPath });
  const kc = { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir };
  await installBackupCrd(kc);
  await installOperatorRbac(kc);

  process.stderr.write(`filing ${N} Backups twice (floor, operator)\n`);
  await file(api, 'floor');
  await file(api, 'operator');
  const floorSeconds = await floor(api, 'floor');

  const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator', 3600, cluster.kubeconfigPath);
  cleanups.push(() => rmSync(dirname(login.kubeconfig), { recursive: true, force: true }));
  const t0 = performance.now();
  const op = new RealOperator(login.kubeconfig, 'bench', [
    '--namespaces=operator',
    '--leader-elect=false',
    '--log-level=info',
  ]);
  cleanups.push(() => op.stop('SIGKILL'));
  await op.start();
  const startupSeconds = (performance.now() - t0) / 1000;
  const deadline = Date.now() + 600_000;
  while (!(await allHavePhase(api, 'operator'))) {
    if (Date.now() > deadline) throw new Error(`not every Backup had a phase after 600 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const syncSeconds = (performance.now() - t0) / 1000;
  const cpuSeconds = op.cpuSeconds();
  const synced = operatorWrites();
  const byKind = kinds(synced);
  const settleFrom = operatorWrites().length;
  await new Promise((r) => setTimeout(r, STEADY_MS));
  const steadyWrites = operatorWrites().slice(settleFrom);
  const steady = steadyWrites.length;
  const rssMiB = op.peakRssKb() / 1024;
  await op.stop();

  const lines = [
    `## Initial sync on the real API server (Kubernetes v1.37.2, ` +
      `${N} Backups, ${new Date().toISOString().slice(0, 10)})`,
    '',
    '| | wall | writes per Backup |',
    '| --- | --- | --- |',
    `| floor: bare client, SSA CronJob + status patch, 4 in flight | ${floorSeconds.toFixed(2)} s | 2 |`,
    `| operator (bundle, --workers 4 default, own ServiceAccount) from process ` +
      `start | ${syncSeconds.toFixed(2)} s | ${(synced.length / N).toFixed(2)} |`,
    '',
    `- operator / floor: **${(syncSeconds / floorSeconds).toFixed(2)}×**; of the ` +
      `operator's wall, ${startupSeconds.toFixed(2)} s until its caches synced (process ` +
      `start, connect, LIST); operator CPU ${cpuSeconds.toFixed(1)} s ` +
      `(${((cpuSeconds / syncSeconds) * 100).toFixed(0)}% of one core); peak RSS ${rssMiB.toFixed(0)} MiB`,
    `- writes during the sync by kind: ${Object.entries(byKind)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`,
    `- steady state: ${steady} writes in ${STEADY_MS / 1000} s after every Backup had a phase${
      steady
        ? ` (${Object.entries(kinds(steadyWrites))
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')})`
        : ''
    }`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!quick && !arg('backups'))
    writeFileSync(
      join(__dirname, 'RESULTS-cluster.md'),
      `# Benchmark on the real API server\n\nGenerated by \`npm run ` +
        `bench:cluster\`; machine shared and noisy, one run.\n\n${lines.join('\n')}\n`,
    );
}

main().then(cleanup, async (e) => {
  process.stderr.write(`bench:cluster failed: ${e.stack ?? e}\n`);
  await cleanup();
  process.exit(1);
});
