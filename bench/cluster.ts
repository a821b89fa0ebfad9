/**
 * `npm run bench:cluster [-- --backups=1000] [-- --quick] [-- --no-stand-in] [-- --runs=3]`: the operator's initial
 * sync on the real API server (the control plane of scripts/control-plane/), side by side with a bare-client floor.
 * Not part of `npm test`. Prints a Markdown table; bench/RESULTS-cluster.md is the kept history of such tables, so
 * the bench leaves it alone.
 *
 *   - N Backups are filed (no run-now, so no pods: this measures the control loop, not restic); they share
 *     one vault whose init Job has finished (an existing vault), so each needs a CronJob and a status;
 *   - floor: a bare HTTPS client making the operator's own writes (the CronJob its `reconcile` renders, by
 *     server-side apply, then the status patch), as the operator's ServiceAccount, 4 in flight like the
 *     operator's default --workers; the stand-in floor (skipped with --no-stand-in) is the first version:
 *     a small CronJob and a one-field status, as the cluster admin;
 *   - operator: the bundle, logged in as its ServiceAccount, from start until every Backup shows a phase, with the
 *     NODE_OPTIONS of the rendered Deployment (dist/01-operator.yaml: the heap cap it ships with);
 *   - reconciles per Backup and queue depth from its /metrics, sampled every 30 s while it syncs;
 *   - writes are counted from the API server's audit log (the operator's namespace only), RSS from /proc;
 *     BENCH_NODE_ARGS passes node flags to the operator (e.g. --cpu-prof);
 *   - steady state: writes in a 60 s window after convergence (10 s with --quick).
 * About 5 minutes for 1 000 Backups on 2 cores (10 000 with --no-stand-in: ~5 min on a quiet machine, up to ~25 min
 * beside other work), times --runs; ~200 MiB (~2 GiB) in the temp folder, removed at the end and on Ctrl-C.
 */
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { start } from '../scripts/control-plane/cluster';
import { client, Client, installBackupCrd, installOperatorRbac, serviceAccountLogin } from '../testing/cluster/cluster';
import { auditWrites } from '../testing/cluster/audited-cluster';
import { RealOperator } from '../testing/cluster/operator';
import { operatorBundle } from '../testing/operator-process';
import { initJobManifest } from '../lib/run/vault-jobs';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';
import { parseConfig } from '../operator/config';
import { FIELD_MANAGER } from '../operator/controller/writer';
import { WRITE_ANSWER } from '../operator/runtime/kube';
import { reconcile } from '../operator/controller/reconcile';
import type { BackupObject } from '../operator/controller/types';
import { parseAllDocuments } from 'yaml';
import { METRIC } from '../lib/contractor/metric-names';

/**
 * The operator's NODE_OPTIONS, the rest of its literal environment (e.g. the allocator's settings) and its memory
 * limit as the rendered Deployment ships them: one truth.
 */
function shippedNodeOptions(): { nodeOptions: string; env: Record<string, string>; memoryLimit: string } {
  const docs = parseAllDocuments(readFileSync(join(__dirname, '..', 'dist', '01-operator.yaml'), 'utf8'));
  const deployment = docs.map((d) => d.toJSON()).find((o) => o?.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const nodeOptions = container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value;
  if (!nodeOptions) throw new Error('dist/01-operator.yaml: the operator Deployment sets no NODE_OPTIONS');
  const env = Object.fromEntries(
    container.env.filter((e: any) => typeof e.value === 'string').map((e: any) => [e.name, e.value]),
  );
  return { nodeOptions, env, memoryLimit: container.resources.limits.memory };
}

/**
 * The node flags the image starts the operator with (the Dockerfile's ENTRYPOINT, between node and the bundle): V8
 * flags that Node refuses in NODE_OPTIONS (e.g. --optimize-for-size) live there.
 */
function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile);
  if (!entrypoint) throw new Error('Dockerfile: no ENTRYPOINT in exec form');
  const words: string[] = JSON.parse(entrypoint[1]);
  return words.slice(1, -1);
}

/** The sum of a counter or gauge over its series, from the operator's /metrics text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  return sum;
}

/** Where the operator's memory is now, from its /metrics: RSS beside the V8 heap, its young generation and off-heap. */
function memory(text: string): string {
  const mib = (name: string) => (metricSum(text, name) / 2 ** 20).toFixed(0);
  const space = (name: string) =>
    (Number(text.match(new RegExp(`^${name}\\{space="new"\\} (\\S+)`, 'm'))?.[1] ?? 0) / 2 ** 20).toFixed(0);
  return (
    `RSS now ${mib('process_resident_memory_bytes')} MiB, V8 heap ${mib('nodejs_heap_size_used_bytes')} MiB used of ` +
    `${mib('nodejs_heap_size_total_bytes')} (young generation ${space('nodejs_heap_space_size_total_bytes')}), ` +
    `off-heap ${mib('nodejs_external_memory_bytes')} MiB`
  );
}

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const N = Number(arg('backups') ?? (quick ? 100 : 1000));
/** --no-stand-in skips the stand-in floor (a third filing of every Backup), e.g. for 10 000. */
const standIn = !process.argv.includes('--no-stand-in');
const STEADY_MS = quick ? 10_000 : 60_000;
/** How often the operator's /metrics is read while it syncs (each read renders every Backup's series). */
const SAMPLE_MS = 30_000;

/**
 * --runs=N repeats the whole measure N times, each on a fresh control plane, and reports the median ratio: on this
 * noisy machine one pair's floor alone moved 70-80 s between runs of the same code.
 */
const RUNS = Number(arg('runs') ?? 1);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs=${arg('runs')}: a whole number of 1 or more`);

const cleanups: (() => Promise<void> | void)[] = [];
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

/** One repository for the mall, initialized before the sync: the fleet's vault already exists. */
const VAULT = 'pvc://vault/mall';

const FIRST_HOUR = new Date().getUTCHours() + 6;

const backup = (i: number) => ({
  apiVersion: 'mall.example.com/v1alpha1',
  kind: 'Backup',
  metadata: { name: `shop-${i}` },
  spec: {
    shopName: `shop-${i}`,
    // Hours 6-17 ahead of the bench: no CronJob runs while it measures, so steady state is quiet by design.
    backupTime: `${String((FIRST_HOUR + (i % 12)) % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    vaultLocation: VAULT,
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
  await vaultInitialized(api, ns);
  await pool([...Array(N).keys()], 16, async (i) => {
    await claim(`shop-${i}-data`, { 'mall.example.com/shop': `shop-${i}` });
    await api.ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`, backup(i));
  });
}

/**
 * The vault's init Job, finished: the record the operator keeps that the repository exists (no kubelet here
 * to run it). Managed by no controller, so the Job controller leaves its status alone.
 */
async function vaultInitialized(api: Client, ns: string): Promise<void> {
  const job = initJobManifest({ namespace: ns, spec: backup(0).spec as never });
  job.spec.managedBy = 'bench.mall.example.com/already-done';
  await api.ok('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, job);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const done = (type: string) => ({ type, status: 'True', lastTransitionTime: now });
  await api.ok(
    'PATCH',
    `/apis/batch/v1/namespaces/${ns}/jobs/${job.metadata.name}/status`,
    {
      status: {
        startTime: now,
        completionTime: now,
        succeeded: 1,
        conditions: [done('SuccessCriteriaMet'), done('Complete')],
      },
    },
    'application/merge-patch+json',
  );
}

/**
 * The floor: the operator's own writes, made by a bare client. Untimed, the Backups are listed and the
 * operator's `reconcile` renders what it would write for each; timed, per Backup the server-side apply of
 * that CronJob and the status patch guarded by the listed resourceVersion, as the operator's ServiceAccount,
 * 4 in flight, each answered with metadata only as the operator's are. No computation, no watch, no cache.
 */
async function floor(api: Client, ns: string): Promise<number> {
  const config = parseConfig([], {})!;
  const settings = {
    resticImage: config.resticImage,
    vaultRunSettings: {
      ...DEFAULT_VAULT_RUN_SETTINGS,
      retentionFloorDays: config.retentionFloorDays,
      shrinkPercent: config.shrinkPercent,
    },
  };
  const claims = (await api.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items;
  const backups: BackupObject[] = (await api.ok('GET', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`))
    .items;
  const writes = backups.map((b) => {
    const mine = claims.filter(
      (c: any) => c.metadata.name === 'vault' || c.metadata.labels?.['mall.example.com/shop'] === b.spec.shopName,
    );
    const desired = reconcile(
      { backup: b, jobs: [], jobPods: [], claims: mine, namespacePods: [], now: new Date() },
      settings,
    );
    if (!desired.cronJob) throw new Error(`the operator would write no CronJob for ${b.metadata.name}`);
    return { backup: b, cronJob: desired.cronJob, status: desired.status };
  });
  // Answered as the operator's writes are (metadata only): a whole answer costs the server an encoding and this
  // client a parse the operator no longer pays, and would flatter the ratio. A server that answered otherwise
  // fails the bench rather than measure two different writes.
  const answered = (answer: any, what: string) => {
    if (answer?.kind !== 'PartialObjectMetadata')
      throw new Error(`floor: ${what} was answered with ${answer?.kind}, not the operator's PartialObjectMetadata`);
  };
  const t0 = performance.now();
  await pool(writes, 4, async ({ backup: b, cronJob, status }) => {
    const applied = await api.ok(
      'PATCH',
      `/apis/batch/v1/namespaces/${ns}/cronjobs/${cronJob.metadata.name}?fieldManager=${FIELD_MANAGER}&force=true`,
      cronJob,
      'application/apply-patch+yaml',
      WRITE_ANSWER,
    );
    answered(applied, `CronJob ${cronJob.metadata.name}`);
    const patched = await api.ok(
      'PATCH',
      `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups/${b.metadata.name}/status`,
      { metadata: { resourceVersion: b.metadata.resourceVersion }, status },
      'application/merge-patch+json',
      WRITE_ANSWER,
    );
    answered(patched, `the status of ${b.metadata.name}`);
  });
  return (performance.now() - t0) / 1000;
}

/** The floor as first written: a small stand-in CronJob and a one-field status, as the cluster admin. */
async function toyFloor(api: Client, ns: string): Promise<number> {
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

/**
 * The operator namespace's writes from the audit log, read on from where the last call stopped: re-reading the whole
 * log every poll (tens of thousands of lines at 10 000 Backups) took CPU from the operator being measured. A line the
 * API server is still writing is left for the next call.
 */
const audited = { log: '', offset: 0, entries: [] as any[], statuses: new Set<string>() };
function readAudit(): void {
  const fd = openSync(audited.log, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > audited.offset) {
      const chunk = Buffer.alloc(size - audited.offset);
      readSync(fd, chunk, 0, chunk.length, audited.offset);
      const complete = chunk.lastIndexOf(0x0a) + 1;
      audited.offset += complete;
      for (const line of chunk.subarray(0, complete).toString('utf8').split('\n')) {
        if (!line) continue;
        const e = JSON.parse(line);
        if (e.stage !== 'ResponseComplete' || e.objectRef?.namespace !== 'operator') continue;
        audited.entries.push(e);
        if (e.objectRef.subresource === 'status' && e.responseStatus?.code === 200)
          audited.statuses.add(e.objectRef.name);
      }
    }
  } finally {
    closeSync(fd);
  }
}
function operatorWrites(): any[] {
  readAudit();
  return [...audited.entries];
}

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

/**
 * Where the operator's sync time went, from the audit log: when its first and last writes reached the server,
 * and how much of that span its requests spent inside the server (summed over requests: with W in flight
 * the server-bound share is sum / (W x span)).
 */
function timeline(entries: any[], startMs: number): string {
  if (entries.length === 0) return 'timeline: no writes';
  const at = (t: string) => new Date(t).getTime() + Number(/\.\d{3}(\d{3})/.exec(t)?.[1] ?? 0) / 1000;
  const received = entries.map((e) => at(e.requestReceivedTimestamp)).sort((a, b) => a - b);
  const inServer = entries.reduce((sum, e) => sum + at(e.stageTimestamp) - at(e.requestReceivedTimestamp), 0);
  const span = received[received.length - 1] - received[0];
  const pct = (q: number) => ((received[Math.floor(q * (received.length - 1))] - startMs) / 1000).toFixed(2);
  return (
    `timeline: first write at ${pct(0)} s, 10/50/90% of writes by ${pct(0.1)}/${pct(0.5)}/${pct(0.9)} s, last ` +
    `at ${pct(1)} s; mean time in the server ${(inServer / entries.length).toFixed(1)} ms per write, ` +
    `${(inServer / 1000).toFixed(1)} s in all over a ${(span / 1000).toFixed(1)} s span`
  );
}

/**
 * Backups whose status the operator has written (from the audit log): polling a LIST of 10 000 Backups
 * would load the API server it is measuring. The final answer is confirmed with one LIST.
 */
function statusWritten(): number {
  // Kept as the log is read, not counted again over every entry each poll (4 polls a second while it syncs).
  readAudit();
  return audited.statuses.size;
}

async function allHavePhase(api: Client, ns: string): Promise<boolean> {
  const list = await api.ok('GET', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`);
  return list.items.length === N && list.items.every((b: any) => b.status?.phase);
}

/** What one run measured: a floor and the operator's sync on one fresh control plane, one after the other. */
interface Run {
  floorFirst: boolean;
  toyFloorSeconds: number;
  floorSeconds: number;
  syncSeconds: number;
  startupSeconds: number;
  cpuSeconds: number;
  rssMiB: number;
  syncReconciles: number;
  synced: any[];
  steadyWrites: any[];
  steadyReconciles: number;
}

/**
 * One run: the floor and the operator's sync on one fresh control plane, in the order given. Runs alternate the
 * order (`--runs`): whichever goes second meets the first one's objects already stored, a bias that alternating
 * spreads over both.
 */
async function measure(floorFirst: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mall-backup-bench-cluster-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  audited.log = join(dir, 'audit.log');
  audited.offset = 0;
  audited.entries = [];
  audited.statuses = new Set();
  const cluster = await start({
    apiServerArgs: auditWrites(dir, audited.log),
    progress: (l) => process.stderr.write(`control plane: ${l}\n`),
  });
  cleanups.push(() => cluster.stop());
  const api = client({ kubeconfig: cluster.kubeconfigPath });
  const kc = { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir };
  await installBackupCrd(kc);
  await installOperatorRbac(kc);

  process.stderr.write(
    `filing ${N} Backups ${standIn ? 'three times (stand-in floor, floor, operator)' : 'twice (floor, operator)'}\n`,
  );
  if (standIn) await file(api, 'floor-toy');
  await file(api, 'floor');
  await file(api, 'operator');
  const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator', 3600, cluster.kubeconfigPath);
  cleanups.push(() => rmSync(dirname(login.kubeconfig), { recursive: true, force: true }));
  const timeFloors = async () => ({
    toyFloorSeconds: standIn ? await toyFloor(api, 'floor-toy') : Number.NaN,
    floorSeconds: await floor(client({ kubeconfig: cluster.kubeconfigPath, token: login.token }), 'floor'),
  });
  const floorsFirst = floorFirst ? await timeFloors() : undefined;

  // Built before the clock starts: the wall is the operator's, not the bundler's.
  await operatorBundle();
  // The floor's writes (2N audit lines, as the same ServiceAccount) are read now, not in the first poll of the
  // operator's sync, where parsing them would take CPU from the operator being measured.
  readAudit();
  const t0 = performance.now();
  const t0Wall = Date.now();
  const shipped = shippedNodeOptions();
  const op = new RealOperator(
    login.kubeconfig,
    'bench',
    ['--namespaces=operator', '--leader-elect=false', '--log-level=info'],
    shipped.env,
    [...imageNodeFlags(), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)],
  );
  cleanups.push(() => op.stop('SIGKILL'));
  await op.start().catch((e) => {
    process.stderr.write(`operator output:\n${op.output.slice(-4000)}\n`);
    throw e;
  });
  const startupSeconds = (performance.now() - t0) / 1000;
  const limitSeconds = Math.max(600, N * 0.3);
  const deadline = Date.now() + limitSeconds * 1000;
  const reconciles = async () => metricSum((await op.get('metrics', '/metrics')).text, METRIC.reconciles);
  let nextSample = Date.now() + SAMPLE_MS;
  while (statusWritten() < N || !(await allHavePhase(api, 'operator'))) {
    if (Date.now() > deadline) throw new Error(`not every Backup had a phase after ${limitSeconds} s`);
    if (Date.now() > nextSample) {
      nextSample = Date.now() + SAMPLE_MS;
      const text = (await op.get('metrics', '/metrics')).text;
      process.stderr.write(
        `at ${((performance.now() - t0) / 1000).toFixed(0)} s: ${statusWritten()} statuses written, ` +
          `${metricSum(text, METRIC.reconciles)} reconciles, queue depth ${metricSum(text, METRIC.queueDepth)}, ` +
          `CPU ${op.cpuSeconds().toFixed(1)} s, RSS ${(op.peakRssKb() / 1024).toFixed(0)} MiB peak, ${memory(text)}\n`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const syncSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`synced: ${memory((await op.get('metrics', '/metrics')).text)}\n`);
  const cpuSeconds = op.cpuSeconds();
  const syncReconciles = await reconciles();
  const synced = operatorWrites();
  const settleFrom = operatorWrites().length;
  await new Promise((r) => setTimeout(r, STEADY_MS));
  const steadyWrites = operatorWrites().slice(settleFrom);
  const steadyReconciles = (await reconciles()) - syncReconciles;
  process.stderr.write(`${timeline(synced, t0Wall)}\n`);
  const rssMiB = op.peakRssKb() / 1024;
  await op.stop();
  const { toyFloorSeconds, floorSeconds } = floorsFirst ?? (await timeFloors());
  // This run's control plane, login and folder go now: the next run starts on a machine as this one did.
  for (const f of cleanups.splice(0).reverse()) await f();
  return {
    floorFirst,
    toyFloorSeconds,
    floorSeconds,
    syncSeconds,
    startupSeconds,
    cpuSeconds,
    rssMiB,
    syncReconciles,
    synced,
    steadyWrites,
    steadyReconciles,
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const byKindText = (entries: any[]) =>
  Object.entries(kinds(entries))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (let i = 1; i <= RUNS; i++) {
    if (RUNS > 1) process.stderr.write(`run ${i} of ${RUNS}\n`);
    const run = await measure(i % 2 === 1);
    runs.push(run);
    process.stderr.write(
      `run ${i} (${run.floorFirst ? 'floor' : 'operator'} first): floor ${run.floorSeconds.toFixed(2)} s, ` +
        `operator ${run.syncSeconds.toFixed(2)} s, ` +
        `${(run.syncSeconds / run.floorSeconds).toFixed(2)}x, peak RSS ${run.rssMiB.toFixed(0)} MiB\n`,
    );
  }
  const ratios = runs.map((r) => r.syncSeconds / r.floorSeconds);
  const shipped = shippedNodeOptions();
  const last = runs[runs.length - 1];
  const lines = [
    `## Initial sync on the real API server (Kubernetes v1.37.2, ${N} Backups, ` +
      `${new Date().toISOString().slice(0, 10)}, ${RUNS} run${RUNS > 1 ? 's' : ''})`,
    '',
    `| run |${standIn ? ' stand-in floor |' : ''} floor | operator | operator / floor | operator CPU | peak RSS | ` +
      `writes per Backup | reconciles per Backup | writes at steady state |`,
    `| --- |${standIn ? ' --- |' : ''} --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...runs.map(
      (r, i) =>
        `| ${i + 1} (${r.floorFirst ? 'floor' : 'operator'} first) |` +
        `${standIn ? ` ${r.toyFloorSeconds.toFixed(2)} s |` : ''} ${r.floorSeconds.toFixed(2)} s | ` +
        `${r.syncSeconds.toFixed(2)} s | ${ratios[i].toFixed(2)}× | ${r.cpuSeconds.toFixed(1)} s ` +
        `(${((r.cpuSeconds / r.syncSeconds) * 100).toFixed(0)}% of one core) | ${r.rssMiB.toFixed(0)} MiB | ` +
        `${(r.synced.length / N).toFixed(2)} | ${(r.syncReconciles / N).toFixed(2)} | ${r.steadyWrites.length} in ` +
        `${STEADY_MS / 1000} s (${r.steadyReconciles} reconciles) |`,
    ),
    '',
    // The worst run beside the median: with 2 runs the median is their mean, and one bad run of 3 would not show.
    `- operator / floor, median of ${RUNS}: **${median(ratios).toFixed(2)}×**` +
      (RUNS > 1 ? `, worst ${Math.max(...ratios).toFixed(2)}×` : '') +
      (standIn
        ? ` (/ stand-in floor: ${median(runs.map((r) => r.syncSeconds / r.toyFloorSeconds)).toFixed(2)}×)`
        : '') +
      `; peak RSS at most **${Math.max(...runs.map((r) => r.rssMiB)).toFixed(0)} MiB**; writes per Backup at most ` +
      `${Math.max(...runs.map((r) => r.synced.length / N)).toFixed(2)}; writes at steady state ` +
      `${runs.reduce((sum, r) => sum + r.steadyWrites.length, 0)} in all`,
    `- floor: a bare client as the operator's ServiceAccount making the operator's own writes (its CronJob by ` +
      `server-side apply, then the status patch, each answered with metadata only as the operator's are), 4 in flight` +
      (standIn ? '; stand-in floor: a small CronJob and a one-field status as the cluster admin' : ''),
    `- operator: the bundle, --workers 4 (the default), its own ServiceAccount, from process start until every ` +
      `Backup shows a phase (${runs.map((r) => `${r.startupSeconds.toFixed(2)} s`).join(', ')} of it until its ` +
      `caches synced); node ${imageNodeFlags().join(' ')} as the image starts it, environment ` +
      `${JSON.stringify(shipped.env)} as shipped, memory limit ${shipped.memoryLimit}`,
    `- writes during the sync by kind (run ${runs.length}): ${byKindText(last.synced)}`,
    ...runs
      .map((r, i) =>
        r.steadyWrites.length ? `- steady-state writes of run ${i + 1}: ${byKindText(r.steadyWrites)}` : '',
      )
      .filter(Boolean),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(cleanup, async (e) => {
  process.stderr.write(`bench:cluster failed: ${e.stack ?? e}\n`);
  await cleanup();
  process.exit(1);
});
