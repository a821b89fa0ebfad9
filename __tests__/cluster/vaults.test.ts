/**
 * Per-vault work on the shared control plane: one init Job per fresh vault that the Backups naming it wait
 * for (the test kubelet holds the namespace's pods back to show the waiting, then runs restic init for real),
 * one maintenance CronJob owned by every Backup of the vault and collected by the real garbage collector with
 * the last of them, and a vault named from two namespaces. An init Job that fails is judged in
 * __tests__/operator/vault-plan.test.ts: on the real Job controller its backoff (10 s doubling, 4 retries) would
 * take minutes.
 */
import { eventually } from '../../testing/cluster/cluster';
import { admin, backups, component, list, Operated, phase, reasonOf, statusOf } from '../../testing/cluster/operated';

jest.setTimeout(180_000);

const suite = new Operated('vaults', { realInit: true });
const S3 = 's3:https://s3.amazonaws.com/vault/shared';
const SHOPS = ['bakery', 'florist', 'grocer', 'cobbler'];
let ns: string[];

beforeAll(async () => {
  await suite.start(6);
  ns = suite.namespaces;
  // ns[1..2] and ns[4..5] name an S3 vault this machine cannot reach: their pods stay pending.
  for (const i of [1, 2, 4, 5]) suite.held.add(ns[i]);
  await suite.operator('vaults-1', [], { namespaces: ns.slice(0, 4) });
  await suite.operator('vaults-2', ['--allow-cross-namespace-vaults'], { namespaces: ns.slice(4) });
});
afterAll(() => suite.stop());

test(
  'four Backups on one fresh vault: one init Job, they wait for it, ' +
    'then run; one maintenance CronJob that goes with the last of them',
  async () => {
    const [home] = ns;
    suite.held.add(home);
    for (const shop of SHOPS) await suite.backup(home, shop, { vaultLocation: 'pvc://mall-vault/shared' });
    await eventually('all four waiting for the vault', async () =>
      (await Promise.all(SHOPS.map((s) => reasonOf(home, s)))).every((r) => r === 'VaultInitializing'),
    );
    for (const shop of SHOPS) {
      expect(await statusOf(home, shop)).toMatchObject({
        phase: 'Pending',
        message: expect.stringMatching(
          new RegExp(`^waiting for the vault to be initialized: Job ${home}/vault-init-[0-9a-f]{16}`),
        ),
      });
    }
    const inits = await list(home, 'jobs', component('vault-init'));
    expect(inits).toHaveLength(1);
    expect(SHOPS).toContain(inits[0].metadata.ownerReferences[0].name);
    expect(await list(home, 'cronjobs', component('backup-run'))).toEqual([]);

    suite.held.delete(home);
    for (const shop of SHOPS) await phase(home, shop, 'Scheduled');
    const maintenance = () => list(home, 'cronjobs', component('vault-maintenance'));
    const cron = await eventually('one maintenance CronJob owned by all four', async () => {
      const all = await maintenance();
      return all.length === 1 && all[0].metadata.ownerReferences?.length === 4 && all[0];
    });
    expect(cron.spec).toMatchObject({ schedule: '0 4 * * 0', concurrencyPolicy: 'Forbid' });
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].command.join(' ')).toMatch(
      /prune --retry-lock.*check --retry-lock/s,
    );
    expect(await list(home, 'jobs', component('vault-init'))).toHaveLength(1);
    expect(await list(home, 'cronjobs', component('backup-run'))).toHaveLength(4);

    for (const shop of SHOPS.slice(0, 3)) await admin.ok('DELETE', `${backups(home)}/${shop}`);
    await eventually('the maintenance CronJob owned by the last one', async () => {
      const all = await maintenance();
      return all.length === 1 && all[0].metadata.ownerReferences.map((o: any) => o.name).join() === 'cobbler';
    });
    await admin.ok('DELETE', `${backups(home)}/cobbler`);
    await eventually('the maintenance CronJob collected', async () => (await maintenance()).length === 0);
  },
);

test(
  'a vault named from two namespaces: the later Backup is refused, ' +
    'naming the other; the same claim path in two namespaces is two vaults',
  async () => {
    const first = await suite.backup(ns[1], 'bakery', { vaultLocation: S3 });
    await eventually(
      'bakery waiting for its vault',
      async () => (await reasonOf(ns[1], 'bakery')) === 'VaultInitializing',
    );
    // Creation times have whole seconds, and within one the uid decides which is older: florist must be later.
    await eventually('a second later', async () => Date.now() >= Date.parse(first.metadata.creationTimestamp) + 1000);
    await suite.backup(ns[2], 'florist', { vaultLocation: S3 });
    await eventually(
      'florist refused',
      async () => (await reasonOf(ns[2], 'florist')) === 'VaultSharedAcrossNamespaces',
    );
    const refused = await statusOf(ns[2], 'florist');
    expect(refused.phase).toBe('Failed');
    expect(refused.message).toMatch(
      new RegExp(`already used by Backup ${ns[1]}/bakery in another namespace.*--allow-cross-namespace-vaults`),
    );
    expect(await list(ns[2], 'jobs')).toEqual([]);
    // A vault on a claim is the namespace's own: the same pvc:// location elsewhere is another vault.
    await suite.backup(ns[0], 'hatter', { vaultLocation: 'pvc://mall-vault/shops' });
    await suite.backup(ns[3], 'hatter', { vaultLocation: 'pvc://mall-vault/shops' });
    await phase(ns[0], 'hatter', 'Scheduled');
    await phase(ns[3], 'hatter', 'Scheduled');
  },
);

test('with --allow-cross-namespace-vaults two namespaces share one vault: one init Job for both', async () => {
  await suite.backup(ns[4], 'bakery', { vaultLocation: S3 });
  await eventually(
    'bakery waiting for its vault',
    async () => (await reasonOf(ns[4], 'bakery')) === 'VaultInitializing',
  );
  await suite.backup(ns[5], 'florist', { vaultLocation: S3 });
  await eventually(
    'florist waiting for the same vault',
    async () => (await reasonOf(ns[5], 'florist')) === 'VaultInitializing',
  );
  const inits = [
    ...(await list(ns[4], 'jobs', component('vault-init'))),
    ...(await list(ns[5], 'jobs', component('vault-init'))),
  ];
  expect(inits.map((j) => j.metadata.namespace)).toEqual([ns[4]]);
  expect((await statusOf(ns[5], 'florist')).message).toContain(`Job ${ns[4]}/${inits[0].metadata.name}`);
});
