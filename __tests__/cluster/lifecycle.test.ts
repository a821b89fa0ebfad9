/**
 * A Backup's whole life on the real control plane: the bundled operator logged in as its ServiceAccount
 * (the rights of dist/), the real CronJob validation, the real Job controller and garbage collector, and the
 * test kubelet running the backup pod's script with the pinned restic against a vault claim on this machine.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseRunResult } from '../../lib/run/run-result';
import { resticForRestore } from '../../testing/restic-binary';
import { client, eventually } from '../../testing/cluster/cluster';
import { createShop, type Mall, openMall } from '../../testing/cluster/shop';

jest.setTimeout(180_000);

const admin = client();
let ns: string;
let mall: Mall;
const restic = resticForRestore();

const backups = () => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;

function fileBackup(name: string, shop: string): Record<string, unknown> {
  return {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, annotations: { 'mall.example.com/run-now': String(Math.floor(Date.now() / 1000)) } },
    spec: {
      shopName: shop,
      backupTime: '02:30',
      timeZone: 'Europe/Rome',
      vaultLocation: `pvc://mall-vault/${shop}`,
      vaultCredentialsSecret: `${shop}-vault`,
    },
  };
}

const phaseOf = async (name: string, phase: string) => {
  const b = await admin.ok('GET', `${backups()}/${name}`);
  return b.status?.phase === phase ? b : undefined;
};

beforeAll(async () => {
  mall = await openMall('lifecycle', restic.dir, { realInit: true });
  ns = mall.ns;
});

afterAll(async () => {
  await mall?.stop();
});

const snapshotsIn = (repo: string, password: string) => {
  const run = spawnSync(restic.binary, ['snapshots', '--json', '--no-lock'], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: repo,
      RESTIC_PASSWORD: password,
      RESTIC_CACHE_DIR: '/nonexistent',
      XDG_CACHE_HOME: '/nonexistent',
    },
  });
  if (run.status !== 0) throw new Error(`restic snapshots: ${run.stderr}`);
  return JSON.parse(run.stdout) as { id: string; short_id: string; paths: string[]; hostname: string }[];
};

describe('a Backup on the real control plane, with the test kubelet running restic', () => {
  test('run now: CronJob, Job, pod, restic, Completed with a lastSnapshotID that is in the vault', async () => {
    await createShop(admin, ns, 'bakery', 'correct horse', { 'recipe.txt': 'sourdough: 500 g flour, 350 g water' });
    const created = await admin.ok('POST', backups(), fileBackup('bakery', 'bakery'));

    // The Backup's own CronJob; the vault's maintenance CronJob (UTC) lives beside it.
    const cron = await eventually(
      'the CronJob',
      async () =>
        (await admin.request('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs`)).body.items?.find(
          (c: any) => c.metadata.name === 'backup-bakery',
        ),
      30_000,
    );
    expect(cron.spec.timeZone).toBe('Europe/Rome');
    expect(cron.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Backup', name: 'bakery', uid: created.metadata.uid, blockOwnerDeletion: true }),
    ]);

    const done = await eventually('bakery to complete', () => phaseOf('bakery', 'Completed'), 120_000);
    const vault = mall.kubelet.claimFolder(ns, 'mall-vault');
    const snapshots = snapshotsIn(`${vault}/bakery`, 'correct horse');
    expect(snapshots).toHaveLength(1);
    expect([snapshots[0].id, snapshots[0].short_id]).toContain(done.status.lastSnapshotID);
    // The pod saw the claim where a pod sees it, so the snapshot names it by that path.
    expect(snapshots[0].paths).toEqual(['/data/bakery-data']);
    expect(snapshots[0].hostname).toBe('bakery');

    // The vault's init Job created the repository first; then exactly one run, whose result names the snapshot.
    const jobs = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs`)).items;
    const byComponent = (c: string) => jobs.filter((j: any) => j.metadata.labels['app.kubernetes.io/component'] === c);
    expect(byComponent('vault-init').map((j: any) => j.status.succeeded)).toEqual([1]);
    // By the Job's own `restic init` (this suite runs it for real), not seeded from the run's template: restic
    // calibrates its key's scrypt cost to the machine, far above the template's 2^10.
    const keys = readdirSync(`${vault}/bakery/keys`);
    expect(keys).toHaveLength(1);
    expect(JSON.parse(readFileSync(`${vault}/bakery/keys/${keys[0]}`, 'utf8')).N).toBeGreaterThan(1 << 10);
    const runs = byComponent('backup-run');
    expect(runs.map((j: any) => j.status.succeeded)).toEqual([1]);
    const [pod] = (
      await admin.ok('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=job-name=${runs[0].metadata.name}`)
    ).items;
    const terminated = pod.status.containerStatuses[0].state.terminated;
    expect(terminated.exitCode).toBe(0);
    expect(parseRunResult(terminated.message)).toMatchObject({ outcome: 'Completed', snapshot: snapshots[0].id });
  });

  test('a wrong password: Failed, and the status says why', async () => {
    // The vault of "bakery" exists; a second permit for the same shop and vault with another password cannot open it.
    await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
      metadata: { name: 'wrong-vault' },
      stringData: { RESTIC_PASSWORD: 'not the password' },
    });
    const wrong = fileBackup('bakery-wrong', 'bakery') as any;
    wrong.spec.vaultCredentialsSecret = 'wrong-vault';
    wrong.spec.backoffLimit = 0;
    await admin.ok('POST', backups(), wrong);
    const failed = await eventually('bakery-wrong to fail', () => phaseOf('bakery-wrong', 'Failed'), 120_000);
    const last = failed.status.conditions.find((c: any) => c.type === 'LastBackupSucceeded');
    // The run's result (its termination message) names the cause and what to check, in place of restic's exit code.
    expect(last).toEqual(expect.objectContaining({ status: 'False', reason: 'WrongPassword' }));
    expect(last.message).toContain('RESTIC_PASSWORD in the credentials Secret) does not open the repository');
    const vault = mall.kubelet.claimFolder(ns, 'mall-vault');
    expect(snapshotsIn(`${vault}/bakery`, 'correct horse')).toHaveLength(1);
  });

  test(
    "the vault's maintenance: its newest result on every Backup of the vault, and the cause when it " + 'fails',
    async () => {
      const cron = await eventually(
        'the vault maintenance CronJob',
        async () =>
          (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs`)).items.find(
            (c: any) => c.metadata.labels?.['app.kubernetes.io/component'] === 'vault-maintenance',
          ),
        30_000,
      );
      // What `kubectl create job --from=cronjob/...` does, without the wait for its schedule.
      const runMaintenance = (name: string) =>
        admin.ok('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, {
          metadata: { name, labels: cron.spec.jobTemplate.metadata.labels },
          spec: { ...cron.spec.jobTemplate.spec, backoffLimit: 0 },
        });
      const maintained = (backup: string, status: string, reason: string) => async () => {
        const b = await admin.ok('GET', `${backups()}/${backup}`);
        const c = b.status?.conditions?.find((x: any) => x.type === 'VaultMaintained');
        return c?.status === status && c.reason === reason ? c : undefined;
      };
      await runMaintenance('maintenance-ok');
      await eventually('bakery to show its vault maintained', maintained('bakery', 'True', 'VaultMaintained'), 120_000);

      // The vault Secret the maintenance uses no longer opens the vault: the next one fails, both Backups say why.
      const secret = (password: string) =>
        admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
          metadata: { name: 'bakery-vault' },
          stringData: { RESTIC_PASSWORD: password },
        });
      await admin.ok('DELETE', `/api/v1/namespaces/${ns}/secrets/bakery-vault`);
      await secret('changed by mistake');
      try {
        await runMaintenance('maintenance-bad');
        for (const backup of ['bakery', 'bakery-wrong']) {
          const c = await eventually(
            `${backup} to show the failure`,
            maintained(backup, 'False', 'WrongPassword'),
            120_000,
          );
          expect(c.message).toContain(`vault maintenance Job ${ns}/maintenance-bad failed`);
          expect(c.message).toContain('RESTIC_PASSWORD in the credentials Secret');
        }
        const events = await eventually(
          'the Warning Event',
          async () => {
            const items = (await admin.ok('GET', `/api/v1/namespaces/${ns}/events`)).items.filter(
              (e: any) => e.reason === 'VaultMaintenanceFailed',
            );
            return items.length > 0 ? items : undefined;
          },
          30_000,
        );
        expect(events[0]).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Backup' } });
      } finally {
        await admin.ok('DELETE', `/api/v1/namespaces/${ns}/secrets/bakery-vault`);
        await secret('correct horse');
      }
    },
  );

  test(
    'a Restore into new claims: Completed with the snapshot, files and bytes; the real API server refuses a ' +
      'change and a long name',
    async () => {
      const restores = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/restores`;
      const backup = await admin.ok('GET', `${backups()}/bakery`);
      const filed = await admin.ok('POST', restores, {
        apiVersion: 'mall.example.com/v1alpha1',
        kind: 'Restore',
        metadata: { name: 'monday' },
        spec: { backupName: 'bakery', target: { newClaims: { size: '1Gi' } } },
      });
      // Immutable once filed, and a name that would not fit in its Job's labels is refused up front.
      const edit = await admin.request(
        'PATCH',
        `${restores}/monday`,
        { spec: { snapshotID: '4f3c2a1b' } },
        'application/merge-patch+json',
      );
      expect([edit.status, JSON.stringify(edit.body)]).toEqual([
        422,
        expect.stringContaining('a Restore cannot be changed once filed'),
      ]);
      const long = await admin.request('POST', restores, { ...filed, metadata: { name: 'r'.repeat(64) } });
      expect([long.status, JSON.stringify(long.body)]).toEqual([
        422,
        expect.stringContaining('metadata.name is too long: at most 63'),
      ]);

      const done = await eventually(
        'monday to complete',
        async () => {
          const r = await admin.ok('GET', `${restores}/monday`);
          if (r.status?.phase === 'Failed') throw new Error(`the Restore failed: ${r.status.message}`);
          return r.status?.phase === 'Completed' ? r : undefined;
        },
        120_000,
      );
      const text = 'sourdough: 500 g flour, 350 g water';
      expect(done.status.claims).toEqual([
        expect.objectContaining({
          claim: 'bakery-data',
          targetClaim: 'monday-bakery-data',
          path: '/',
          files: 1,
          bytes: text.length,
        }),
      ]);
      expect(backup.status.lastSnapshotID.startsWith(done.status.claims[0].snapshotID.slice(0, 8))).toBe(true);
      expect(readFileSync(`${mall.kubelet.claimFolder(ns, 'monday-bakery-data')}/recipe.txt`, 'utf8')).toBe(text);
      // The Job is the Restore's; the new claim is nobody's, so it outlives the permit.
      const job = await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs/restore-monday`);
      expect(job.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Restore', uid: filed.metadata.uid }),
      ]);
      const claim = await admin.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/monday-bakery-data`);
      expect(claim.metadata.ownerReferences).toBeUndefined();
    },
  );

  test('deleting the Backup: the real garbage collector removes its CronJob, Jobs and pods', async () => {
    const before = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs`)).items.filter((j: any) =>
      j.metadata.ownerReferences?.some((o: any) => o.name === 'bakery'),
    );
    expect(before.length).toBeGreaterThan(0);
    await admin.ok('DELETE', `${backups()}/bakery`);
    await eventually(
      'the CronJob and Jobs of bakery to be collected',
      async () => {
        const crons = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs`)).items.filter((c: any) =>
          c.metadata.ownerReferences?.some((o: any) => o.name === 'bakery'),
        );
        const jobs = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs`)).items.filter((j: any) =>
          before.some((b: any) => b.metadata.uid === j.metadata.uid),
        );
        return crons.length === 0 && jobs.length === 0;
      },
      60_000,
    );
    // The vault keeps the snapshot: deleting a permit never deletes backups.
    expect(snapshotsIn(`${mall.kubelet.claimFolder(ns, 'mall-vault')}/bakery`, 'correct horse')).toHaveLength(1);
    expect(readFileSync(`${mall.kubelet.claimFolder(ns, 'bakery-data')}/recipe.txt`, 'utf8')).toBe(
      'sourdough: 500 g flour, 350 g water',
    );
  });
});
