/**
 * The vault index at fleet scale: N Backups on one vault must cost O(N) queueing and O(1) planning each, while a
 * change of who holds the vault still reaches every user.
 */
import { initJobManifest, maintenanceCronJobManifest } from '../../lib/run/vault-jobs';
import type { BackupObject, KubeObject } from '../../operator/controller/types';
import { VaultIndex } from '../../operator/controller/vault-index';
import { backupObject } from '../../testing/reconcile-fixtures';

const VAULT = 'pvc://vault/mall';
const SETTINGS = { allowCrossNamespace: false, maintenanceSchedule: '0 4 * * 0' };

function shop(i: number, namespace = 'mall-shops'): BackupObject {
  return backupObject(
    { shopName: `shop-${i}`, vaultLocation: VAULT },
    {
      name: `shop-${i}`,
      namespace,
      uid: `uid-${namespace}-${i}`,
      resourceVersion: '1',
      creationTimestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
    },
  );
}

/** A vault index fed as the informers would, counting what it queues. */
function fleet(leading = true) {
  const queued: string[] = [];
  let lead = leading;
  const index = new VaultIndex(
    (b) => queued.push(b.metadata.name),
    () => lead,
  );
  const handlers: Record<string, Record<string, (o: KubeObject) => void>> = { users: {}, work: {} };
  for (const kind of ['users', 'work'] as const)
    index.watch(kind, { on: (event: string, handler: (o: any) => void) => (handlers[kind][event] = handler) });
  return { index, queued, users: handlers.users, work: handlers.work, lead: () => (lead = true) };
}

const statusWritten = (b: BackupObject): BackupObject => ({
  ...b,
  metadata: { ...b.metadata, resourceVersion: String(Number(b.metadata.resourceVersion) + 1) },
  status: { phase: 'Scheduled' } as never,
});

test.each([100, 1000])(
  '%i Backups filed one by one on a running operator queue O(N) keys, not every user per new user',
  (n) => {
    const { queued, users } = fleet();
    const backups = Array.from({ length: n }, (_, i) => shop(i));
    for (const b of backups) users.add(b);
    // Each newcomer concerns the steward (its maintenance CronJob's owners), not the vault's other users.
    expect(queued.length).toBeLessThanOrEqual(2 * n);
    expect(queued.filter((name) => name !== 'shop-0')).toEqual([]);
    queued.length = 0;
    // The operator's own status writes coming back concern no other Backup.
    for (const b of backups) users.update(statusWritten(b));
    expect(queued).toEqual([]);
  },
);

test('the initial LIST queues nothing (taking the lead queues every Backup) and files every user', () => {
  const { index, queued, users, lead } = fleet(false);
  const backups = Array.from({ length: 500 }, (_, i) => shop(i));
  for (const b of backups) users.add(b);
  expect(queued).toEqual([]);
  lead();
  const plans = backups.map((b) => index.planFor(b, () => [], SETTINGS)!);
  expect(plans.filter((p) => p.createInitJob).length).toBe(1);
  expect(plans[0].createInitJob).toBeDefined();
});

test('a change of who holds the vault reaches every user; its work and Jobs do too', () => {
  const { index, queued, users, work } = fleet();
  const backups = Array.from({ length: 50 }, (_, i) => shop(i + 1));
  for (const b of backups) users.add(b);
  queued.length = 0;

  // An older Backup takes over the vault's work: every user's plan names the new steward.
  const older = shop(0);
  users.add(older);
  expect(new Set(queued).size).toBe(51);
  expect(index.planFor(older, () => [], SETTINGS)?.createInitJob).toBeDefined();
  expect(index.planFor(backups[0], () => [], SETTINGS)?.createInitJob).toBeUndefined();

  // The steward leaving hands the work to the next oldest, and tells everyone.
  queued.length = 0;
  users.delete(older);
  expect(new Set(queued).size).toBe(50);
  expect(index.planFor(backups[0], () => [], SETTINGS)?.createInitJob).toBeDefined();

  // Anyone else leaving concerns the steward only (the maintenance CronJob's owners).
  queued.length = 0;
  users.delete(backups[10]);
  expect(queued).toEqual(['shop-1']);

  // A finished init Job lets every user run.
  queued.length = 0;
  const init = initJobManifest({ namespace: 'mall-shops', spec: backups[0].spec });
  work.add({ ...init, status: { conditions: [{ type: 'Complete', status: 'True' }] } });
  expect(new Set(queued).size).toBe(49);
  expect(index.planFor(backups[5], () => [], SETTINGS)?.problem).toBeUndefined();

  // The steward's maintenance CronJob coming back concerns the steward only.
  queued.length = 0;
  work.add(maintenanceCronJobManifest({ namespace: 'mall-shops', spec: backups[0].spec, schedule: '0 4 * * 0' }));
  expect(queued).toEqual(['shop-1']);
});

test("a user's spec change concerns the steward; the steward's concerns every user", () => {
  const { queued, users } = fleet();
  const backups = Array.from({ length: 20 }, (_, i) => shop(i));
  for (const b of backups) users.add(b);
  const edited = (b: BackupObject): BackupObject => ({
    ...b,
    metadata: { ...b.metadata, generation: 2 },
    spec: { ...b.spec, vaultCredentialsSecret: 'other-vault' },
  });
  queued.length = 0;
  users.update(edited(backups[7]));
  expect(queued).toEqual(['shop-0']);
  queued.length = 0;
  users.update(edited(backups[0]));
  expect(new Set(queued).size).toBe(20);
});
