/** The vault's side of the operator, pure: tenancy, one init Job per repository, one maintenance CronJob. */
import { planVault, VaultObserved, VaultSettings } from '../../operator/controller/vault-plan';
import { reconcile } from '../../operator/controller/reconcile';
import type { BackupObject, KubeObject } from '../../operator/controller/types';
import { backupObject, observed } from '../../testing/reconcile-fixtures';

const SHARED = 's3:https://s3.amazonaws.com/vault/shared';
const SETTINGS: VaultSettings = { allowCrossNamespace: false, maintenanceSchedule: '0 4 * * 0' };

function shop(name: string, namespace = 'mall-shops', vaultLocation = SHARED, created = 1): BackupObject {
  return backupObject(
    { shopName: name, vaultLocation, vaultCredentialsSecret: `${name}-vault` },
    {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      creationTimestamp: `2026-11-0${created}T00:00:00Z`,
    },
  );
}

const done = (job: KubeObject, type: 'Complete' | 'Failed', message?: string): KubeObject => ({
  ...job,
  status: { conditions: [{ type, status: 'True', message }] },
});

test(
  'four Backups on a fresh vault: only the oldest creates ' +
    'the init Job, in its namespace with its Secret; all wait',
  () => {
    const users = ['bakery', 'florist', 'grocer', 'cobbler'].map((n, i) => shop(n, 'mall-shops', SHARED, 4 - i));
    const seen: VaultObserved = { users, initJobs: [], initPods: [], maintenance: [] };
    const plans = users.map((b) => planVault(b, seen, SETTINGS));
    const creates = plans.filter((p) => p.createInitJob).map((p) => p.createInitJob!);
    expect(creates).toHaveLength(1);
    expect(creates[0].metadata).toMatchObject({
      namespace: 'mall-shops',
      ownerReferences: [{ name: 'cobbler', controller: false }],
    });
    expect(creates[0].spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'cobbler-vault' } }]);
    expect(new Set(plans.map((p) => p.hash)).size).toBe(1);
    for (const p of plans)
      expect(p.problem).toMatchObject({
        reason: 'VaultInitializing',
        message: expect.stringMatching(/^waiting for the vault to be initialized/),
      });

    // Once the Job exists nobody creates another; once it completed nobody waits, and one maintenance is owned by all.
    const running = { ...seen, initJobs: creates };
    expect(users.map((b) => planVault(b, running, SETTINGS)).filter((p) => p.createInitJob || !p.problem)).toEqual([]);
    const ready = { ...seen, initJobs: [done(creates[0], 'Complete')] };
    const after = users.map((b) => planVault(b, ready, SETTINGS));
    expect(after.map((p) => p.problem)).toEqual([undefined, undefined, undefined, undefined]);
    const crons = after.filter((p) => p.applyMaintenance).map((p) => p.applyMaintenance!);
    expect(crons).toHaveLength(1);
    expect(crons[0].metadata.ownerReferences!.map((o: any) => o.name).sort()).toEqual([
      'bakery',
      'cobbler',
      'florist',
      'grocer',
    ]);
    expect(crons[0].spec.schedule).toBe('0 4 * * 0');
    // Applied and stored: nothing more to do.
    const stored = { ...ready, maintenance: [{ ...crons[0], status: {} }] };
    expect(users.map((b) => planVault(b, stored, SETTINGS)).filter((p) => p.applyMaintenance)).toEqual([]);
    // A new schedule is applied.
    expect(
      planVault(users[3], stored, { ...SETTINGS, maintenanceSchedule: '0 1 * * *' }).applyMaintenance?.spec.schedule,
    ).toBe('0 1 * * *');
  },
);

test("a failed init Job is VaultInitFailed, with the Job's and the pod's words and what to do", () => {
  const b = shop('bakery');
  const job = done(
    {
      metadata: {
        name: 'vault-init-x',
        namespace: 'mall-shops',
        labels: {
          'mall.example.com/repository': planVault(
            b,
            { users: [b], initJobs: [], initPods: [], maintenance: [] },
            SETTINGS,
          ).hash,
        },
      },
    },
    'Failed',
    'Job has reached the specified backoff limit',
  );
  const pod = {
    metadata: { name: 'vault-init-x-1' },
    status: {
      containerStatuses: [{ state: { terminated: { exitCode: 1, message: 'Fatal: wrong password or no key found' } } }],
    },
  };
  const plan = planVault(b, { users: [b], initJobs: [job], initPods: [pod], maintenance: [] }, SETTINGS);
  expect(plan.problem?.reason).toBe('VaultInitFailed');
  expect(plan.problem?.message).toBe(
    'the vault could not be initialized: Job mall-shops/vault-init-x ' +
      'failed (Job has reached the specified backoff limit): ' +
      'Fatal: wrong password or no key found; check the vault location and the Secret ' +
      'bakery-vault (RESTIC_PASSWORD, provider credentials), then delete that Job to try again',
  );
  expect(plan.createInitJob).toBeUndefined();
});

test(
  'tenancy: a vault named from a second namespace is ' + 'refused, naming the holder; allowed by the cluster setting',
  () => {
    const holder = shop('bakery', 'mall-shops', SHARED, 1);
    const other = shop('florist', 'other-shops', SHARED, 2);
    const seen: VaultObserved = { users: [holder, other], initJobs: [], initPods: [], maintenance: [] };
    expect(planVault(other, seen, SETTINGS).problem).toEqual({
      reason: 'VaultSharedAcrossNamespaces',
      message:
        `vault ${SHARED} is already used by Backup mall-shops/bakery in another ` +
        `namespace; sharing a vault shares its key (each can read and prune ` +
        "the other's snapshots): give this shop its own vault, or start " +
        'the operator with --allow-cross-namespace-vaults to allow it',
    });
    expect(planVault(holder, seen, SETTINGS).problem?.reason).toBe('VaultInitializing');
    const allowed = planVault(other, seen, { ...SETTINGS, allowCrossNamespace: true });
    expect(allowed.problem?.reason).toBe('VaultInitializing');
    expect(allowed.createInitJob).toBeUndefined();
    // pvc:// vaults are per namespace: the same location in two namespaces is two vaults.
    const a = shop('a', 'mall-shops', 'pvc://vault/x');
    const b = shop('b', 'other-shops', 'pvc://vault/x');
    expect(planVault(a, { ...seen, users: [a] }, SETTINGS).hash).not.toBe(
      planVault(b, { ...seen, users: [b] }, SETTINGS).hash,
    );
  },
);

test('reconcile: while the vault is not ready nothing is scheduled, and the status says why', () => {
  const waiting = reconcile(
    observed({
      vaultProblem: { reason: 'VaultInitializing', message: 'waiting for the vault to be initialized: Job x' },
    }),
  );
  expect(waiting.cronJob).toBeUndefined();
  expect(waiting.status).toMatchObject({ phase: 'Pending', message: 'waiting for the vault to be initialized: Job x' });
  expect(waiting.status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'VaultInitializing' });
  const refused = reconcile(observed({ vaultProblem: { reason: 'VaultSharedAcrossNamespaces', message: 'shared' } }));
  expect(refused.status.phase).toBe('Failed');
  expect(refused.events).toContainEqual({ type: 'Warning', reason: 'VaultSharedAcrossNamespaces', message: 'shared' });
});

test('the steward is the oldest user, ties broken by uid, whatever order the cache lists them in', () => {
  // Filed in one second (as a fleet applied at once is): the uid decides, the same on every Backup's reconcile.
  const users = ['e', 'b', 'd', 'a', 'c'].map((n) => shop(n, 'mall-shops', SHARED, 2));
  const older = shop('z', 'mall-shops', SHARED, 1);
  for (const order of [users, [...users].reverse(), [users[2], users[0], users[4], users[1], users[3]]]) {
    const seen: VaultObserved = { users: order, initJobs: [], initPods: [], maintenance: [] };
    expect(order.filter((b) => planVault(b, seen, SETTINGS).createInitJob).map((b) => b.metadata.name)).toEqual(['a']);
    const withOlder = { ...seen, users: [...order, older] };
    expect(
      [...order, older].filter((b) => planVault(b, withOlder, SETTINGS).createInitJob).map((b) => b.metadata.name),
    ).toEqual(['z']);
    const init = planVault(older, withOlder, SETTINGS).createInitJob!;
    const ready = { ...withOlder, initJobs: [done(init, 'Complete')] };
    // The maintenance CronJob lists its owners oldest first.
    expect(
      planVault(older, ready, SETTINGS).applyMaintenance!.metadata.ownerReferences!.map((o: any) => o.name),
    ).toEqual(['z', 'a', 'b', 'c', 'd', 'e']);
  }
});
