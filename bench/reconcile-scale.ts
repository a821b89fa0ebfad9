/**
 * The operator's per-reconcile CPU as the fleet grows, in process (no API server): N Backups on one vault whose
 * init Job has finished, each read through the vault index and reconciled once (a cold start) and again
 * (an echo: the reconcile after its own writes). A cost per reconcile that grows with N makes the initial sync
 * quadratic. Not a test: `npx tsx bench/reconcile-scale.ts [1000 3000 10000]` prints a table.
 */
import { performance } from 'node:perf_hooks';
import { reconcile } from '../operator/controller/reconcile';
import type { BackupObject, KubeObject } from '../operator/controller/types';
import { VaultIndex } from '../operator/controller/vault-index';
import { initJobManifest } from '../lib/run/vault-jobs';
import { asStored, backupObject, claim, observed } from '../testing/reconcile-fixtures';

const sizes = process.argv.slice(2).map(Number);
const SETTINGS = { allowCrossNamespace: false, maintenanceSchedule: '0 4 * * 0' };

function fleet(n: number): { index: VaultIndex; backups: BackupObject[]; enqueued: number } {
  let enqueued = 0;
  const index = new VaultIndex(() => enqueued++);
  const handlers: Record<string, Record<string, (o: KubeObject) => void>> = { users: {}, work: {} };
  for (const kind of ['users', 'work'] as const)
    index.watch(kind, { on: (event: string, handler: (o: any) => void) => (handlers[kind][event] = handler) });
  const backups = Array.from({ length: n }, (_, i) =>
    backupObject(
      {
        shopName: `shop-${i}`,
        backupTime: `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
        vaultLocation: 'pvc://vault/mall',
      },
      {
        name: `shop-${i}`,
        uid: `uid-${i}`,
        creationTimestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      },
    ),
  );
  for (const b of backups) handlers.users.add(b);
  const init = initJobManifest({ namespace: 'mall-shops', spec: backups[0].spec });
  init.metadata.creationTimestamp = '2026-11-01T00:00:00Z';
  init.status = { conditions: [{ type: 'Complete', status: 'True' }] };
  handlers.work.add(init);
  return {
    index,
    backups,
    get enqueued() {
      return enqueued;
    },
  };
}

interface Seen {
  readonly backup: BackupObject;
  readonly cronJob?: KubeObject;
}

/** Every Backup reconciled once; what each looks like after its writes (status, CronJob) for the next pass. */
function pass(index: VaultIndex, seen: Seen[]): { us: number; writes: number; next: Seen[] } {
  let writes = 0;
  const t0 = performance.now();
  const next = seen.map(({ backup, cronJob }) => {
    const vault = index.planFor(backup, () => [], SETTINGS);
    const desired = reconcile(
      observed({
        backup,
        cronJob,
        claims: [claim(`${backup.spec.shopName}-data`, { shop: backup.spec.shopName })],
        vaultProblem: vault?.problem,
        vaultMaintained: vault?.maintained,
        now: new Date(),
      }),
    );
    writes += Number(desired.statusChanged) + Number(!!desired.cronJobChanged);
    return {
      backup: { ...backup, status: desired.status },
      cronJob: desired.cronJob && (desired.cronJobChanged ? asStored(desired.cronJob) : cronJob),
    };
  });
  return { us: ((performance.now() - t0) * 1000) / seen.length, writes, next };
}

console.log(
  '| Backups on one vault | cold µs per reconcile | echo µs per reconcile | writes (cold, echo) | µs in planFor |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const n of sizes.length > 0 ? sizes : [1000, 3000, 10000]) {
  const { index, backups } = fleet(n);
  const cold = pass(
    index,
    backups.map((backup) => ({ backup })),
  );
  const echo = pass(index, cold.next);
  const t0 = performance.now();
  for (const b of backups) index.planFor(b, () => [], SETTINGS);
  const planUs = ((performance.now() - t0) * 1000) / n;
  console.log(
    `| ${n} | ${cold.us.toFixed(0)} | ${echo.us.toFixed(0)} | ${cold.writes}, ${echo.writes} | ${planUs.toFixed(0)} |`,
  );
}
