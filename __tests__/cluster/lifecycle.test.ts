/**
 * A Backup's whole life on the real control plane: the bundled operator logged in as its ServiceAccount
 * (the rights of dist/), the real CronJob validation, the real Job controller and garbage collector, and the
 * test kubelet running the backup pod's script with the pinned restic against a vault claim on this machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseRunResult } from '../../lib/run/run-result';
import { resticForRestore } from '../support/restic-binary';
import { client, eventually, installBackupCrd, installOperatorRbac, namespaces, serviceAccountLogin } from './cluster';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';

jest.setTimeout(180_000);

const admin = client();
const spaces = namespaces('lifecycle');
let ns: string;
let kubelet: TestKubelet;
let operator: RealOperator;
const restic = resticForRestore();

const backups = () => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;

async function createShop(shop: string, password: string, files: Record<string, string>): Promise<void> {
  await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
    metadata: { name: `${shop}-vault` },
    stringData: { RESTIC_PASSWORD: password },
  });
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: `${shop}-data`, labels: { 'mall.example.com/shop': shop } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  // The shop's data, written by a pod as in a real cluster.
  const script = Object.entries(files)
    .map(([name], i) => `printf '%s' "$F${i}" > "/data/${name}"`)
    .join(' && ');
  await admin.ok('POST', `/api/v1/namespaces/${ns}/pods`, {
    metadata: { name: `${shop}-seed` },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
      containers: [
        {
          name: 'seed',
          image: 'docker.io/library/busybox:1.36.1',
          command: ['sh', '-c', script],
          env: Object.values(files).map((text, i) => ({ name: `F${i}`, value: text })),
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `${shop}-data` } }],
    },
  });
  await eventually(
    `${shop}-seed to succeed`,
    async () => (await admin.ok('GET', `/api/v1/namespaces/${ns}/pods/${shop}-seed`)).status?.phase === 'Succeeded',
    60_000,
  );
}

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
  await installBackupCrd();
  await installOperatorRbac();
  ns = await spaces.create();
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: 'mall-vault' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  kubelet = await new TestKubelet({ api: admin, namespaces: () => [ns], resticDir: restic.dir }).start();
  const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator');
  operator = await new RealOperator(login.kubeconfig, 'lifecycle', [
    `--namespaces=${ns}`,
    '--leader-elect=false',
  ]).start();
});

afterAll(async () => {
  await operator?.stop();
  await kubelet?.stop();
  await spaces.cleanup();
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
    await createShop('bakery', 'correct horse', { 'recipe.txt': 'sourdough: 500 g flour, 350 g water' });
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
    const vault = kubelet.claimFolder(ns, 'mall-vault');
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
    const vault = kubelet.claimFolder(ns, 'mall-vault');
    expect(snapshotsIn(`${vault}/bakery`, 'correct horse')).toHaveLength(1);
  });

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
    expect(snapshotsIn(`${kubelet.claimFolder(ns, 'mall-vault')}/bakery`, 'correct horse')).toHaveLength(1);
    expect(readFileSync(`${kubelet.claimFolder(ns, 'bakery-data')}/recipe.txt`, 'utf8')).toBe(
      'sourdough: 500 g flour, 350 g water',
    );
  });
});
