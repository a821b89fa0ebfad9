/**
 * Runs from CSI VolumeSnapshots on the real control plane: the bundled operator with the rights of dist/,
 * the real CronJob, Job controller and garbage collector, the test kubelet running the pinned restic, and
 * the test's snapshotter (./snapshotter.ts) playing the CSI driver. A SQLite database written all through
 * the backup restores intact, with exactly the rows it had at the snapshot's instant; a snapshot that never
 * becomes ready, or fails, ends the run before any pod reads a file, and says why; a claim whose storage
 * class cannot be snapshotted is read live, and the status says so. Snapshots and temporary claims are
 * removed when the run ends.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resticForRestore } from '../support/restic-binary';
import { sqlite, SqliteWriter } from '../support/sqlite-writer';
import { client, eventually, installBackupCrd, kubectlOk, manifest, namespaces, serviceAccountLogin } from './cluster';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';
import { installSnapshotCrds, TakenSnapshot, TestSnapshotter } from './snapshotter';

jest.setTimeout(240_000);

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
const SNAPSHOT_TIMEOUT_SECONDS = 10;
const admin = client();
const spaces = namespaces('snapshots');
const restic = resticForRestore();
const scratch = mkdtempSync(join(tmpdir(), 'mall-backup-snapshot-suite-'));
let ns: string;
let driver: string;
let kubelet: TestKubelet;
let snapshotter: TestSnapshotter;
let operator: RealOperator;
const clusterObjects: string[] = [];

const backups = () => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
const volumeSnapshots = async (): Promise<any[]> =>
  (await admin.ok('GET', `/apis/snapshot.storage.k8s.io/v1/namespaces/${ns}/volumesnapshots`)).items;
const claimsNow = async (): Promise<any[]> =>
  (await admin.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items;
const jobsOf = async (backup: string): Promise<any[]> =>
  (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=mall.example.com/backup=${backup}`)).items;

/** A storage class per behaviour of the snapshotter, and a VolumeSnapshotClass for each but `plain`. */
async function storageClasses(): Promise<void> {
  for (const kind of ['ok', 'never', 'error', 'plain']) {
    const name = `${ns}-${kind}`;
    await admin.ok('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      metadata: { name },
      provisioner: `${driver}/${kind}`,
    });
    clusterObjects.push(`/apis/storage.k8s.io/v1/storageclasses/${name}`);
    if (kind === 'plain') continue;
    await admin.ok('POST', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name },
      driver: `${driver}/${kind}`,
      deletionPolicy: 'Delete',
    });
    clusterObjects.push(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/${name}`);
  }
}

/** A shop: its vault Secret and its claim in the storage class `kind`, with the claim's folder ready for files. */
async function shop(name: string, kind: string): Promise<string> {
  await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
    metadata: { name: `${name}-vault` },
    stringData: { RESTIC_PASSWORD: `${name} password` },
  });
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: `${name}-data`, labels: { 'mall.example.com/shop': name } },
    spec: {
      storageClassName: `${ns}-${kind}`,
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    },
  });
  const folder = kubelet.claimFolder(ns, `${name}-data`);
  mkdirSync(folder, { recursive: true });
  chmodSync(folder, 0o755);
  return folder;
}

async function runNow(name: string): Promise<void> {
  await admin.ok('POST', backups(), {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, annotations: { 'mall.example.com/run-now': String(Date.now()) } },
    spec: {
      shopName: name,
      backupTime: '02:30',
      vaultLocation: `pvc://mall-vault/${name}`,
      vaultCredentialsSecret: `${name}-vault`,
      backoffLimit: 0,
    },
  });
}

const finished = (name: string, phase: string) =>
  eventually(
    `${name} to be ${phase}`,
    async () => {
      const b = await admin.ok('GET', `${backups()}/${name}`);
      return b.status?.phase === phase ? b : undefined;
    },
    150_000,
  );

const condition = (backup: any, type: string) => backup.status.conditions.find((c: any) => c.type === type);

function resticIn(repo: string, password: string, args: string[]): string {
  const run = spawnSync(restic.binary, args, {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      RESTIC_REPOSITORY: repo,
      RESTIC_PASSWORD: password,
      RESTIC_CACHE_DIR: '/nonexistent',
      XDG_CACHE_HOME: '/nonexistent',
    },
  });
  if (run.status !== 0) throw new Error(`restic ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** Nothing of a finished run's snapshot step is left: its VolumeSnapshots are gone, its claims gone or going. */
async function released(job: any): Promise<boolean> {
  const owned = (o: any) => o.metadata.ownerReferences?.some((r: any) => r.uid === job.metadata.uid);
  const snapshotsLeft = (await volumeSnapshots()).filter(owned);
  const claimsLeft = (await claimsNow()).filter((c) => owned(c) && !c.metadata.deletionTimestamp);
  return snapshotsLeft.length === 0 && claimsLeft.length === 0;
}

beforeAll(async () => {
  await installBackupCrd();
  await installSnapshotCrds();
  await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', '-'], {
    input: manifest('dist/01-operator.yaml')
      .filter((o) => RBAC_KINDS.has(o.kind))
      .map((o) => JSON.stringify(o))
      .join('\n'),
  });
  ns = await spaces.create();
  driver = `${ns}.snapshots.example.com`;
  await storageClasses();
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: 'mall-vault' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  kubelet = await new TestKubelet({ api: admin, namespaces: () => [ns], resticDir: restic.dir }).start();
  snapshotter = new TestSnapshotter(admin, kubelet, ns, driver).start();
  const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator');
  // Started after the classes exist: its first listing of them already sees them.
  operator = await new RealOperator(login.kubeconfig, 'snapshots', [
    `--namespaces=${ns}`,
    '--leader-elect=false',
    `--snapshot-timeout-seconds=${SNAPSHOT_TIMEOUT_SECONDS}`,
  ]).start();
});

afterAll(async () => {
  await operator?.stop();
  snapshotter?.stop();
  await kubelet?.stop();
  for (const path of clusterObjects) await admin.request('DELETE', path);
  await spaces.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a run from a CSI VolumeSnapshot', () => {
  test('a SQLite database written during the whole backup restores intact, with the rows of the snapshot instant', async () => {
    const folder = await shop('deli', 'ok');
    const writer = new SqliteWriter(join(folder, 'orders.db'));
    snapshotter.freezeWhileCopying('deli-data', writer.pid);
    // What the snapshot holds, read from a copy of it the moment it is taken (opening a database may write to it).
    let atSnapshot: { rows: number; integrity: string; snapshot: TakenSnapshot } | undefined;
    snapshotter.onTaken = (snapshot) => {
      const copy = join(scratch, `inspect-${snapshot.name}`);
      spawnSync('cp', ['-a', snapshot.folder, copy]);
      const db = join(copy, 'orders.db');
      atSnapshot = {
        rows: Number(sqlite(db, 'SELECT count(*) FROM orders')),
        integrity: sqlite(db, 'PRAGMA integrity_check'),
        snapshot,
      };
    };
    try {
      await eventually(
        'the database to hold 300 rows',
        async () => {
          const rows = Number(sqlite(join(folder, 'orders.db'), 'SELECT count(*) FROM orders'));
          return rows >= 300 ? rows : undefined;
        },
        60_000,
      );
      await runNow('deli');
      const done = await finished('deli', 'Completed');
      const rowsAfterRun = Number(sqlite(join(folder, 'orders.db'), 'SELECT count(*) FROM orders'));
      await writer.stop();

      // The status said where the files came from.
      expect(condition(done, 'Ready').message).toContain('from VolumeSnapshots: deli-data');
      expect(atSnapshot).toBeDefined();
      expect(atSnapshot!.integrity).toBe('ok');
      // The database kept growing while the run read the snapshot: the backup ran against live writes.
      expect(rowsAfterRun).toBeGreaterThan(atSnapshot!.rows);

      // The pod read the temporary claim made from the snapshot, at the shop claim's own path.
      const [job] = await jobsOf('deli');
      const [pod] = (await admin.ok('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=job-name=${job.metadata.name}`))
        .items;
      const mounted = pod.spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName?.startsWith('snap-deli-'));
      expect(mounted).toBeDefined();
      expect(snapshotter.provisioned.get(`${ns}/${mounted.persistentVolumeClaim.claimName}`)).toBe(
        atSnapshot!.snapshot.name,
      );

      // Restored from the vault with the pinned restic: intact, and exactly the rows of the snapshot's instant.
      const repo = `${kubelet.claimFolder(ns, 'mall-vault')}/deli`;
      const snapshots = JSON.parse(resticIn(repo, 'deli password', ['snapshots', '--json', '--no-lock']));
      expect(snapshots.map((s: any) => s.paths)).toEqual([['/data/deli-data']]);
      const target = join(scratch, 'restored');
      resticIn(repo, 'deli password', ['restore', 'latest', '--target', target, '--no-lock']);
      const restored = join(target, 'data', 'deli-data', 'orders.db');
      expect(sqlite(restored, 'PRAGMA integrity_check')).toBe('ok');
      expect(Number(sqlite(restored, 'SELECT count(*) FROM orders'))).toBe(atSnapshot!.rows);

      // Cleaned up after success; the Job records it.
      await eventually('the snapshot and the temporary claim of the run to be removed', () => released(job), 30_000);
      const after = (await jobsOf('deli'))[0];
      expect(after.metadata.annotations['mall.example.com/snapshots-released']).toBe('true');
    } finally {
      await writer.stop().catch(() => undefined);
    }
  });

  test('a snapshot that is never ready, or fails: the run ends without a pod, the status says why, nothing is left', async () => {
    await shop('slow', 'never');
    await shop('broken', 'error');
    await runNow('slow');
    await runNow('broken');
    const [slow, broken] = await Promise.all([finished('slow', 'Failed'), finished('broken', 'Failed')]);
    expect(condition(slow, 'LastBackupSucceeded')).toMatchObject({ status: 'False', reason: 'SnapshotFailed' });
    expect(condition(slow, 'LastBackupSucceeded').message).toMatch(
      new RegExp(
        `did not run: snapshots not ready after ${SNAPSHOT_TIMEOUT_SECONDS}s: VolumeSnapshot \\S+ of claim slow-data is not ready`,
      ),
    );
    expect(condition(broken, 'LastBackupSucceeded')).toMatchObject({ status: 'False', reason: 'SnapshotFailed' });
    expect(condition(broken, 'LastBackupSucceeded').message).toContain('failed: the test volume is offline');
    for (const name of ['slow', 'broken']) {
      const [job] = await jobsOf(name);
      // Ended by the operator before any pod existed: no live file was read in place of the snapshot.
      const pods = await admin.ok('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=job-name=${job.metadata.name}`);
      expect(pods.items).toEqual([]);
      expect(job.status.conditions.find((c: any) => c.type === 'Failed')?.status).toBe('True');
      await eventually(`the snapshot of ${name} to be removed`, () => released(job), 30_000);
    }
    // Their temporary claims were never made: a claim comes from a ready snapshot only.
    const names = (await claimsNow()).map((c) => c.metadata.name);
    expect(names.filter((n) => n.startsWith('snap-slow-') || n.startsWith('snap-broken-'))).toEqual([]);
  });

  test('deleting the Backup mid-run: the garbage collector removes its Job, snapshot and all', async () => {
    await shop('gone', 'never');
    await runNow('gone');
    const [snapshot] = await eventually(
      'the run of gone to have its VolumeSnapshot',
      async () => {
        const found = (await volumeSnapshots()).filter((v) => v.spec.source.persistentVolumeClaimName === 'gone-data');
        return found.length ? found : undefined;
      },
      60_000,
    );
    const [job] = await jobsOf('gone');
    expect(snapshot.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: job.metadata.name, uid: job.metadata.uid }),
    ]);
    // A deleted Backup is not reconciled again: what removes the snapshot is the owner chain Backup → Job → snapshot.
    await admin.ok('DELETE', `${backups()}/gone`);
    await eventually(
      'the garbage collector to remove the Job and its VolumeSnapshot',
      async () =>
        (await jobsOf('gone')).length === 0 &&
        !(await volumeSnapshots()).some((v) => v.metadata.uid === snapshot.metadata.uid),
      60_000,
    );
  });

  test('a claim whose storage class has no VolumeSnapshotClass is read live, and the status says so', async () => {
    const folder = await shop('kiosk', 'plain');
    spawnSync('sh', ['-c', `echo open > "${folder}/hours.txt"`]);
    const before = (await volumeSnapshots()).length;
    await runNow('kiosk');
    const done = await finished('kiosk', 'Completed');
    expect(condition(done, 'Ready').message).toContain(
      `from live files (not a point in time): kiosk-data (no VolumeSnapshotClass for ${driver}/plain)`,
    );
    expect((await volumeSnapshots()).length).toBe(before);
    const [job] = await jobsOf('kiosk');
    expect(job.metadata.annotations?.['mall.example.com/snapshot-plan']).toBeUndefined();
  });
});
