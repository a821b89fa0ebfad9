/**
 * 10 000 Backups asking for the same time or the same window, reconciled once each (a cold start) and
 * again at steady state: start minutes per minute of the window, and what spreading and the
 * daylight-saving logic cost the operator beside the plain schedule. Not a test: `npx tsx bench/spread.ts`
 * prints a table and writes bench/SPREAD.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { decideFleet, HeldRun } from '../operator/controller/fleet-admission';
import { reconcile } from '../operator/controller/reconcile';
import { asStored, backupObject, observed } from '../testing/reconcile-fixtures';

const N = Number(process.env.SHOPS ?? 10_000);
const NOW = new Date('2026-11-25T10:00:00Z');
const lines: string[] = [];
const log = (line: string) => {
  console.log(line);
  lines.push(line);
};

interface Measure {
  readonly minutes: number[];
  readonly coldUs: number;
  readonly steadyUs: number;
  readonly cpuMs: number;
  readonly writes: number;
  readonly steadyWrites: number;
}

function measure(backupTime: string, timeZone: string, n = N): Measure {
  const backups = Array.from({ length: n }, (_, i) =>
    backupObject({ backupTime, timeZone }, { name: `shop-${i}`, namespace: `mall-${i % 50}`, uid: `uid-${i}` }),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const first = backups.map((backup) => reconcile(observed({ backup, now: NOW })));
  const coldMs = performance.now() - t0;
  const writes = first.reduce(
    (sum, d) =>
      sum +
      (d.cronJobChanged ? 1 : 0) +
      (d.statusChanged ? 1 : 0) +
      d.createJobs.length +
      d.admitJobs.length +
      d.dropJobs.length,
    0,
  );
  const settled = backups.map((b, i) => ({
    backup: { ...b, status: first[i].status },
    cronJob: asStored(first[i].cronJob!),
  }));
  const t1 = performance.now();
  const again = settled.map((x) => reconcile(observed({ ...x, now: new Date(NOW.getTime() + 60_000) })));
  const steadyMs = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  const perMinute = new Map<string, number>();
  for (const d of first)
    perMinute.set(d.status.effectiveSchedule!, (perMinute.get(d.status.effectiveSchedule!) ?? 0) + 1);
  return {
    minutes: [...perMinute.values()],
    coldUs: (coldMs / n) * 1000,
    steadyUs: (steadyMs / n) * 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    writes: writes / n,
    steadyWrites: again.reduce(
      (sum, d) => sum + (d.cronJobChanged ? 1 : 0) + (d.statusChanged ? 1 : 0) + d.createJobs.length,
      0,
    ),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ROUNDS = 5;
const VARIANTS: [string, string, string][] = [
  ['"02:30" UTC (plain)', '02:30', 'UTC'],
  ['"02:30" Europe/Rome (daylight-saving checks)', '02:30', 'Europe/Rome'],
  ['"01:00-05:00" Europe/Rome (window)', '01:00-05:00', 'Europe/Rome'],
];

log(
  `${N} Backups, one process, Node ${process.version}; medians ` +
    `of ${ROUNDS} rounds, the variants interleaved, after a warm-up`,
);
log('');
log(
  '| backupTime | distinct start minutes | most in one minute | max/mean | reconcile, ' +
    'cold | reconcile, steady | CPU, both passes | writes per Backup, cold | writes, steady |',
);
log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [, backupTime, zone] of VARIANTS) measure(backupTime, zone, 2000);
const results = VARIANTS.map(() => [] as Measure[]);
for (let round = 0; round < ROUNDS; round++)
  VARIANTS.forEach(([, backupTime, zone], i) => results[i].push(measure(backupTime, zone)));
VARIANTS.forEach(([label], i) => {
  const runs = results[i];
  const { minutes, writes, steadyWrites } = runs[0];
  const mean = N / minutes.length;
  log(
    `| ${label} | ${minutes.length} | ${Math.max(...minutes)} | ${(Math.max(...minutes) / mean).toFixed(2)} | ` +
      `${median(runs.map((r) => r.coldUs)).toFixed(0)} µs | ` +
      `${median(runs.map((r) => r.steadyUs)).toFixed(0)} µs | ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms | ` +
      `${writes.toFixed(2)} | ${steadyWrites} |`,
  );
});

const held: HeldRun[] = Array.from({ length: N }, (_, i) => ({
  key: `mall-${i % 50}/backup-shop-${i}-1`,
  backup: `mall-${i % 50}/shop-${i}`,
  vault: `vault-${i % 100}`,
  dueAt: 1795573800 + (i % 240) * 60,
}));
let queue = held;
let passes = 0;
let peak = 0;
const t2 = performance.now();
// Cap 50, 5 per vault: every pass, the runs started in the pass before finish.
for (let running: HeldRun[] = []; queue.length > 0; passes++) {
  const d = decideFleet({ maxConcurrentRuns: 50, maxConcurrentRunsPerVault: 5 }, running, queue, 1795600000);
  peak = Math.max(peak, d.start.length + running.length);
  running = d.start;
  queue = d.queue;
}
const gateMs = performance.now() - t2;
log('');
log(
  `Run cap 50 (5 per vault, 100 vaults), ${N} held runs: ${passes} ` +
    `admission passes until all started, peak ${peak} running, ` +
    `${(gateMs / passes).toFixed(2)} ms per pass (the decision only). API writes per run beside ` +
    `the plain schedule: 1 PATCH to start it, plus 1 status write (phase Queued) when it has to wait.`,
);
log('');
log(
  'Reconcile is the pure decision (operator/controller/reconcile.ts) in one ' +
    'process, without the API server: cold is the first pass (CronJob and status',
);
log(
  'written), steady the next minute (nothing to write). Writes count ' +
    'CronJob applies, status writes and Jobs created, started or dropped.',
);
log(
  "The window row's start minutes are each Backup's status.effectiveSchedule: " +
    'an independent uniform choice per Backup, so the busiest',
);
log('minute holds about 1.5 times the mean.');
log(
  'A 2-core machine shared with other work: single rounds moved by up to 2×, hence medians ' +
    "of interleaved rounds. The operator's added memory is bounded caches: daylight-saving " +
    'answers per schedule, zone and minute (at most 10 000), window minutes per Backup ' +
    '(at most 20 000), zone changes per zone and day, and one queue place per queued Backup.',
);
fs.writeFileSync(
  path.join(__dirname, 'SPREAD.md'),
  ['# Spreading and daylight saving at 10 000 Backups (`npx tsx bench/spread.ts`)', '', ...lines, ''].join('\n'),
);
