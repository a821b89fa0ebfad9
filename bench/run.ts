/**
 * `npm run bench [-- --quick] [-- --only=synth,scale,datapath,maintenance,restore]`: measures synth, scale, the
 * backup data path, the vault's maintenance (bench/datapath.ts) and the restore data path (bench/restore.ts), side by
 * side with what users would pick instead (the operator's initial sync is measured on the real API server by
 * `npm run bench:cluster`, bench/cluster.ts),
 * prints a table and (full runs only) writes bench/RESULTS.md. Every figure is the median of several runs
 * after a warm-up, with min and max; ratios are taken within the same run. Not part of `npm test`.
 * Its scratch folder is removed at the end, on failure and on Ctrl-C / SIGTERM.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliCommand, parseCommandLine, UsageError } from '../lib/common/cli';
import type { Bench, Stats } from './bench';
import { benchDataPath, benchMaintenance } from './datapath';
import { benchRestore } from './restore';
import { mergeSections } from './results';
import { resticBinary } from '../testing/restic';

const ROOT = path.join(__dirname, '..');
const PARTS = ['synth', 'scale', 'datapath', 'maintenance', 'restore'];
const BENCH_COMMAND: CliCommand = {
  usage: 'npm run bench --',
  summary:
    "Measures synth, scale, the backup data path, the vault's maintenance and the restore data path (needs the " +
    'pinned\n' +
    'restic: ' +
    "sh scripts/build-restic.sh; kubectl is optional); the operator's initial sync is measured on the real API " +
    'server\n' +
    'by `npm run bench:cluster`. --only re-runs some parts: a full (not --quick) run of them replaces their ' +
    'sections\n' +
    'of bench/RESULTS.md and says which were re-run when.\n' +
    'Full run: roughly 10 minutes on 2 cores (estimated from its parts) and up to ~3 GiB in the temp folder at\n' +
    'once (1 GiB of shop data and the repositories restic writes from it, each removed after its run); writes\n' +
    'bench/RESULTS.md. Quick run: about 1-2 minutes (60 s measured without the data path) and ~200 MiB; prints ' +
    'only.\n' +
    'Ctrl-C removes the scratch folder.',
  options: [
    { name: 'quick', description: 'fewer runs, sizes and data; does not write bench/RESULTS.md' },
    { name: 'only', value: PARTS.join(','), description: 'the parts to run', default: 'all' },
  ],
};
let parsed: Record<string, string | undefined> | undefined;
try {
  parsed = parseCommandLine(BENCH_COMMAND, process.argv.slice(2), {});
  for (const part of (parsed?.only ?? '').split(',').filter(Boolean)) {
    if (!PARTS.includes(part))
      throw new UsageError(
        `--only ${JSON.stringify(part)} is not valid: use a comma-separated list of ${PARTS.join(', ')}`,
      );
  }
} catch (error) {
  process.stderr.write(`bench refused: ${(error as Error).message}\n`);
  process.exit(2);
}
if (!parsed) process.exit(0);
const QUICK = parsed.quick === 'true';
const ONLY = (parsed.only ?? PARTS.join(',')).split(',');
const RUNS = QUICK ? 3 : 9;
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-bench-'));
const cleanUp = () => fs.rmSync(WORK, { recursive: true, force: true });
process.on('exit', cleanUp);
// The terminal sends Ctrl-C to the child processes too; once they are gone, the scratch folder goes.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, removing ${WORK}\n`);
    process.exit(130);
  });
const report: string[] = [];

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values.length };
}

const fmt = (s: Stats, unit = 's', scale = 1000) =>
  `${(s.median / scale).toFixed(3)} ${unit} (${(s.min / scale).toFixed(3)}–${(s.max / scale).toFixed(3)})`;

function timeOnce(command: string, argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.signal) throw new Error(`${command} was stopped by ${run.signal}`);
  if (run.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed: ${run.stderr}`);
  return ms;
}

/** Runs every contender once per round, round after round, so they share the machine's noise. */
function sideBySide(contenders: Record<string, () => number>, runs = RUNS): Record<string, Stats> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (const run of Object.values(contenders)) run(); // warm-up: disk cache, esbuild bundle, ts-node cache
  for (let i = 0; i < runs; i++) for (const [name, run] of Object.entries(contenders)) times[name].push(run());
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stats(v)]));
}

function section(title: string, lines: string[]): void {
  const text = [`## ${title}`, '', ...lines, ''].join('\n');
  report.push(text);
  process.stdout.write(`${text}\n`);
}

function benchSynth(): void {
  const out = (name: string) => path.join(WORK, `synth-${name}`);
  // The same manifests as a kustomization, for `kubectl kustomize`.
  const kustomize = path.join(WORK, 'kustomize');
  fs.mkdirSync(kustomize, { recursive: true });
  const resources = ['00-backup-crd.yaml', '01-operator.yaml', 'samples/backups.yaml', 'argocd/applications.yaml'];
  for (const file of resources) {
    fs.mkdirSync(path.dirname(path.join(kustomize, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'dist', file), path.join(kustomize, file));
  }
  fs.writeFileSync(
    path.join(kustomize, 'kustomization.yaml'),
    `resources:\n${resources.map((r) => `  - ${r}`).join('\n')}\n`,
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const results = sideBySide({
    'npm run synth': () => timeOnce(npm, ['run', '--silent', 'synth', '--', '--out', out('npm')]),
    'sh scripts/synth.sh (what npm run synth runs: V8 startup snapshot)': () =>
      timeOnce('sh', ['scripts/synth.sh', '--out', out('snapshot')]),
    'node scripts/synth.js (esbuild bundle, no snapshot)': () =>
      timeOnce(process.execPath, ['scripts/synth.js', '--out', out('node')]),
    'npx cdk8s synth --no-check-upgrade': () =>
      timeOnce('npx', ['cdk8s', 'synth', '--no-check-upgrade', '--output', out('cdk8s')]),
    'ts-node main.ts (stock cdk8s runner)': () =>
      timeOnce(path.join(ROOT, 'node_modules', '.bin', 'ts-node'), ['--compiler', 'typescript5', 'main.ts'], {
        env: { CDK8S_OUTDIR: out('tsnode') },
      }),
    'kubectl kustomize (same manifests)': () => timeOnce('kubectl', ['kustomize', kustomize]),
    'floor: node loading cdk8s + cdk8s-plus-28 + constructs': () =>
      timeOnce(process.execPath, ['-e', "require('cdk8s');require('cdk8s-plus-28');require('constructs')"]),
  });
  const m = (k: string) => results[k].median;
  const synth = m('npm run synth');
  const floor = m('floor: node loading cdk8s + cdk8s-plus-28 + constructs');
  section(`Synth, cold process (median of ${RUNS} runs after a warm-up, min–max)`, [
    '| command | time |',
    '| --- | --- |',
    ...Object.entries(results).map(([k, s]) => `| ${k} | ${fmt(s)} |`),
    '',
    `- \`npm run synth\` / floor: **${(synth / floor).toFixed(2)}×** (target ≤ 2×); \`sh scripts/synth.sh\` / floor: ` +
      `**${(m('sh scripts/synth.sh (what npm run synth runs: V8 startup snapshot)') / floor).toFixed(2)}×**`,
    `- ts-node / \`npm run synth\`: **${(m('ts-node main.ts (stock cdk8s runner)') / synth).toFixed(2)}×** faster ` +
      `(target ≥ 5×)`,
    `- \`npx cdk8s synth\` / \`npm run synth\`: ${(m('npx cdk8s synth --no-check-upgrade') / synth).toFixed(2)}×`,
    `- \`npm run synth\` / kubectl kustomize: ${(synth / m('kubectl kustomize (same manifests)')).toFixed(2)}× ` +
      `(kustomize only reads YAML; it neither validates nor generates)`,
    `- \`npm run synth\` target ≤ 0.8 s: ${synth <= 800 ? 'met' : `missed by ${((synth - 800) / 1000).toFixed(3)} s`}`,
  ]);
}

async function benchScale(): Promise<void> {
  const bundle = path.join(WORK, 'scale-app.cjs');
  await require('esbuild').build({
    entryPoints: [path.join(__dirname, 'scale-app.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    external: ['cdk8s', 'constructs', 'cdk8s-plus-28', 'cdk8s-plus-28/*'],
    nodePaths: [path.join(ROOT, 'node_modules')],
  });
  const sizes = QUICK ? [10, 100, 1000] : [10, 100, 1000, 10000];
  const rows: string[] = [];
  let base: { n: number; ms: number } | undefined;
  for (const n of sizes) {
    const runs = n >= 10000 ? Math.min(RUNS, 5) : RUNS;
    const walls: number[] = [];
    const rss: number[] = [];
    const inner: number[] = [];
    const once = () => {
      const start = process.hrtime.bigint();
      const run = spawnSync(process.execPath, [bundle, String(n), path.join(WORK, `scale-${n}`)], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
      });
      if (run.signal) throw new Error(`the scale app was stopped by ${run.signal}`);
      if (run.status !== 0) throw new Error(run.stderr);
      const result = JSON.parse(run.stdout);
      return { wall: Number(process.hrtime.bigint() - start) / 1e6, rss: result.maxRssMiB, inner: result.ms };
    };
    once();
    for (let i = 0; i < runs; i++) {
      const r = once();
      walls.push(r.wall);
      rss.push(r.rss);
      inner.push(r.inner);
    }
    const wall = stats(walls);
    base ??= { n, ms: stats(inner).median };
    const marginal = n === base.n ? '—' : `${((stats(inner).median - base.ms) / (n - base.n)).toFixed(3)} ms`;
    rows.push(
      `| ${n} | ${fmt(wall)} | ${marginal} | ${stats(rss).median.toFixed(0)} MiB (max ${stats(rss).max.toFixed(0)}) |`,
    );
  }
  section(`Scale: synthesizing N Backups (median of ${RUNS} runs, 5 for 10 000)`, [
    '| Backups | wall time | time per added Backup (vs 10) | peak RSS |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    'Growth is linear when the time per added Backup stays flat as N grows. Target: 10 000 Backups ≤ 3 s and < 300 ' +
      'MiB.',
  ]);
}

async function main(): Promise<void> {
  const cpu = os.cpus();
  const header = [
    '# Benchmark results',
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `${os.type()} ${os.release()}; Node ${process.version}; ` +
      `restic ${resticVersion()}; ` +
      `kubectl ${
        spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' }).stdout?.match(
          /"gitVersion":\s*"([^"]+)"/,
        )?.[1] ?? '?'
      }.`,
    `Generated by \`npm run bench${QUICK ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)}. The ` +
      `machine is shared and noisy: medians, with min–max.`,
    '',
  ];
  process.stdout.write(`${header.join('\n')}\n`);
  if (ONLY.includes('synth')) benchSynth();
  if (ONLY.includes('scale')) await benchScale();
  const bench: Bench = { work: WORK, quick: QUICK, section, sideBySide, timeOnce, stats, fmt: (x) => fmt(x) };
  if (ONLY.includes('datapath')) benchDataPath(bench);
  if (ONLY.includes('maintenance')) benchMaintenance(bench);
  if (ONLY.includes('restore')) benchRestore(bench);
  if (QUICK) return;
  const results = path.join(__dirname, 'RESULTS.md');
  const all = [...header, ...report].join('\n');
  fs.writeFileSync(results, ONLY.length === PARTS.length ? all : mergeSections(fs.readFileSync(results, 'utf8'), all));
}

function resticVersion(): string {
  try {
    return spawnSync(resticBinary(), ['version'], { encoding: 'utf8' }).stdout.split(' ')[1];
  } catch {
    return 'not built';
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
