/**
 * The bench's data-path parts, with the pinned restic (the one the image ships): the backup run's overhead over a
 * plain `restic backup` of the same data, where the run's time goes (restic call by call), and the cost of the
 * per-vault maintenance (prune + check) for a vault of N snapshots.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { resticBinary } from '../testing/restic';
import { BackupCronJob } from '../lib/run/backup-job';
import { maintenanceCronJobManifest } from '../lib/run/vault-jobs';
import type { Bench } from './bench';

const SPEC = {
  shopName: 'bakery',
  backupTime: '02:30',
  vaultLocation: 'pvc://vault/repo',
  vaultCredentialsSecret: 'v',
  retention: { keepLast: 1 },
} as never;

/** restic behind a stand-in that logs each call's arguments and milliseconds: where a script's time goes. */
function timedRestic(b: Bench): { bin: string; log: string; calls: () => { call: string; ms: number }[] } {
  const bin = fs.mkdtempSync(path.join(b.work, 'timed-bin-'));
  const log = path.join(bin, 'calls.log');
  fs.writeFileSync(
    path.join(bin, 'restic'),
    `#!/bin/sh\nstart=$(date +%s%N)\n'${resticBinary()}' "$@"\nrc=$?\necho "$(( ($(date +%s%N) - start) / 1000000 )) ` +
      `$*" >>'${log}'\nexit $rc\n`,
    { mode: 0o755 },
  );
  const calls = () =>
    (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []).filter(Boolean).map((line) => {
      const [ms, ...args] = line.split(' ');
      const command = args.find((a) => !a.startsWith('-')) ?? '?';
      return { call: `${command}${args.includes('--dry-run') ? ' --dry-run' : ''}`, ms: Number(ms) };
    });
  return { bin, log, calls };
}

/** Runs a rendered container's command on this machine: its env, mounts mapped to fresh folders, restic on PATH. */
function runContainer(b: Bench, container: any, env: Record<string, string>, pathFirst: string, data?: string) {
  const scratch = fs.mkdtempSync(path.join(b.work, 'pod-'));
  const podEnv: Record<string, string> = {};
  for (const e of container.env ?? []) if (typeof e.value === 'string') podEnv[e.name] = e.value;
  for (const d of ['cache', 'tmp', 'state']) fs.mkdirSync(path.join(scratch, d));
  Object.assign(podEnv, env, {
    PATH: `${pathFirst}:${process.env.PATH}`,
    RESTIC_CACHE_DIR: path.join(b.work, 'cache'),
    TMPDIR: path.join(scratch, 'tmp'),
    HOME: path.join(scratch, 'tmp'),
    RUN_STATE: path.join(scratch, 'state'),
    TERMINATION_LOG: path.join(scratch, 'termination'),
  });
  const argv = [...container.command, ...(container.args ?? [])].map((a: string) =>
    a === '/data/data' && data ? data : a,
  );
  try {
    return b.timeOnce(argv[0], argv.slice(1), { env: podEnv });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const median = (b: Bench, values: number[]) => b.stats(values).median;

export function benchDataPath(b: Bench): void {
  const restic = resticBinary();
  const sizeMiB = b.quick ? 64 : 1024;
  const runs = b.quick ? 3 : 5;
  const shop = path.join(b.work, 'shop', 'data');
  fs.mkdirSync(shop, { recursive: true });
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < sizeMiB; i++) {
    crypto.randomFillSync(chunk);
    fs.writeFileSync(path.join(shop, `file-${String(i).padStart(4, '0')}.bin`), chunk);
  }
  const chart = Testing.chart();
  new BackupCronJob(chart, 'c', {
    backup: { name: 'bakery', namespace: 'mall-shops', uid: 'u' },
    claims: ['data'],
    spec: SPEC,
  });
  const container = chart.toJson()[0].spec.jobTemplate.spec.template.spec.containers[0];
  const env = { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(b.work, 'cache') };
  // Each run's repository holds a full copy of the data: removed at once, so the disk holds at most one.
  const withRepo = (run: (repo: string) => number) => {
    const repo = path.join(b.work, 'vaults', crypto.randomUUID());
    spawnSync(restic, ['init', '-q'], { env: { ...process.env, ...env, RESTIC_REPOSITORY: repo } });
    try {
      return run(repo);
    } finally {
      fs.rmSync(repo, { recursive: true, force: true });
    }
  };
  const plain = (repo: string) =>
    b.timeOnce(restic, ['backup', '-q', '--host', 'bakery', shop], { env: { ...env, RESTIC_REPOSITORY: repo } });
  const timed = timedRestic(b);
  const results = b.sideBySide(
    {
      "the rendered Job's script": () =>
        withRepo((repo) => runContainer(b, container, { ...env, RESTIC_REPOSITORY: repo }, path.dirname(restic), shop)),
      'plain restic backup': () => withRepo(plain),
      'plain restic backup + forget --keep-last 1': () =>
        withRepo(
          (repo) =>
            plain(repo) +
            b.timeOnce(restic, ['forget', '-q', '--keep-last', '1'], { env: { ...env, RESTIC_REPOSITORY: repo } }),
        ),
    },
    runs,
  );
  // Where the script's time goes: the same runs with each restic call timed (a stand-in adds ≈ 2 ms per call).
  const timedTotals = Array.from({ length: b.quick ? 1 : 3 }, () =>
    withRepo((repo) => runContainer(b, container, { ...env, RESTIC_REPOSITORY: repo }, timed.bin, shop)),
  );
  const byCall = new Map<string, number[]>();
  for (const { call, ms } of timed.calls()) byCall.set(call, [...(byCall.get(call) ?? []), ms]);
  const opens = withRepo((repo) => {
    const times = Array.from({ length: 5 }, () =>
      b.timeOnce(restic, ['--no-lock', 'cat', 'config'], { env: { ...env, RESTIC_REPOSITORY: repo } }),
    );
    return median(b, times);
  });
  const job = results["the rendered Job's script"].median;
  const base = results['plain restic backup'].median;
  b.section(
    `Backup data path: ${sizeMiB} MiB of random data into a fresh local repository (median of ${runs} runs after a ` +
      `warm-up, min–max)`,
    [
      '| run | time |',
      '| --- | --- |',
      ...Object.entries(results).map(([k, s]) => `| ${k} | ${b.fmt(s)} |`),
      '',
      `- script / plain backup: **${(job / base).toFixed(3)}×** (target ≤ 1.05×); script / plain backup + forget: ` +
        `${(job / results['plain restic backup + forget --keep-last 1'].median).toFixed(3)}×; overhead ` +
        `${((job - base) / 1000).toFixed(2)} s`,
      `- Where the script's time goes (median per restic call, ${b.quick ? 1 : 3} timed runs of ` +
        `${(median(b, timedTotals) / 1000).toFixed(2)} s): ${[...byCall]
          .map(([call, ms]) => `\`${call}\` ` + `${(median(b, ms) / 1000).toFixed(2)} s`)
          .join(', ')}; the rest is the shell.`,
      `- Opening the repository (\`restic --no-lock cat config\`: the key derivation restic calibrated at init, and ` +
        `little else) costs ${(opens / 1000).toFixed(2)} s per call. The run makes three calls (unlock, which also ` +
        `answers whether the repository exists; backup; the retention dry run) and a fourth, forget by ID, only ` +
        `when a snapshot is to go: its overhead is those extra opens, fixed per run whatever the data size, so ` +
        `the ratio falls as shops grow.`,
    ],
  );
}

export function benchMaintenance(b: Bench): void {
  const restic = resticBinary();
  const counts = b.quick ? [10] : [10, 50];
  const runs = b.quick ? 1 : 3;
  const files = b.quick ? 4 : 16;
  const shop = path.join(b.work, 'm-shop');
  fs.mkdirSync(shop, { recursive: true });
  const photo = (i: number) => fs.writeFileSync(path.join(shop, `${i}.bin`), crypto.randomBytes(4 << 20));
  const container = maintenanceCronJobManifest({ namespace: 'mall-shops', spec: SPEC, schedule: '0 4 * * 0' }).spec
    .jobTemplate.spec.template.spec.containers[0];
  const rows: string[] = [];
  for (const n of counts) {
    for (let i = 0; i < files; i++) photo(i);
    const seed = path.join(b.work, `m-vault-${n}`);
    const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: seed, RESTIC_CACHE_DIR: path.join(b.work, 'm-cache') };
    b.timeOnce(restic, ['init', '-q'], { env });
    // Each night one photo of the shop is new: N snapshots, then retention forgets the older half (no prune).
    for (let night = 0; night < n; night++) {
      photo(night % files);
      b.timeOnce(restic, ['backup', '-q', '--host', 'bakery', shop], { env });
    }
    b.timeOnce(restic, ['forget', '-q', '--keep-last', String(n / 2)], { env });
    const size = () =>
      Number(spawnSync('du', ['-sm', env.RESTIC_REPOSITORY], { encoding: 'utf8' }).stdout.split('\t')[0]);
    const before = size();
    const timed = timedRestic(b);
    const totals: number[] = [];
    let after = 0;
    for (let r = 0; r < runs; r++) {
      const copy = `${seed}-copy`;
      fs.cpSync(seed, copy, { recursive: true });
      try {
        totals.push(runContainer(b, container, { ...env, RESTIC_REPOSITORY: copy, LOCK_WAIT: '1m' }, timed.bin));
        after = Number(spawnSync('du', ['-sm', copy], { encoding: 'utf8' }).stdout.split('\t')[0]);
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    }
    fs.rmSync(seed, { recursive: true, force: true });
    const step = (name: string) =>
      median(
        b,
        timed
          .calls()
          .filter((c) => c.call === name)
          .map((c) => c.ms),
      ) / 1000;
    rows.push(
      `| ${n} (${n / 2} forgotten) | ${before} MiB → ${after} MiB | ${b.fmt(b.stats(totals))} | ` +
        `${step('unlock').toFixed(2)} s | ${step('prune').toFixed(2)} s | ${step('check').toFixed(2)} s |`,
    );
  }
  b.section(
    `Vault maintenance: the rendered maintenance pod's script on a local vault of N snapshots (median of ${runs} ` +
      `runs, each on a fresh copy, min–max)`,
    [
      '| snapshots | vault size | unlock + prune + check | unlock | prune | check |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      `- The shop: ${files} files of 4 MiB; each snapshot replaces one of them (4 MiB new data), then retention ` +
        `forgets the older half, as the runs' forget does, leaving prune its work.`,
      '- Maintenance holds the exclusive lock for the prune and check: backups of that vault wait (bounded) or defer ' +
        'their retention meanwhile.',
    ],
  );
}
