/**
 * One namespace set up for runs from VolumeSnapshots, shared by the snapshot suites: the snapshot CRDs, the
 * operator's RBAC from dist/, a storage class per behaviour of the test snapshotter (`ok`, `never`, `error`,
 * and `plain` with no VolumeSnapshotClass), a `pvc://mall-vault` vault, the test kubelet, the snapshotter and the
 * bundled operator logged in as its ServiceAccount. `stop()` removes it all (processes by PID, folders, the
 * cluster-scoped classes).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resticForRestore } from '../restic-binary';
import { explainBackup } from './diagnose';
import { client, eventually, installBackupCrd, kubectlOk, manifest, namespaces, serviceAccountLogin } from './cluster';
import { seedInitVaults } from './seeded-vaults';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';
import { installSnapshotCrds, TestSnapshotter } from './snapshotter';

const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
export const SNAPSHOT_TIMEOUT_SECONDS = 10;
export type StorageKind = 'ok' | 'never' | 'error' | 'plain';

export class SnapshotFixture {
  public readonly admin = client();
  public readonly restic = resticForRestore();
  public readonly scratch = mkdtempSync(join(tmpdir(), 'mall-backup-snapshot-suite-'));
  public ns = '';
  public driver = '';
  public kubelet!: TestKubelet;
  public snapshotter!: TestSnapshotter;
  private operator?: RealOperator;
  private readonly spaces;
  private readonly clusterObjects: string[] = [];

  constructor(prefix: string) {
    this.spaces = namespaces(prefix);
  }

  public async start(): Promise<this> {
    await installBackupCrd();
    await installSnapshotCrds();
    await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', '-'], {
      input: manifest('dist/01-operator.yaml')
        .filter((o) => RBAC_KINDS.has(o.kind))
        .map((o) => JSON.stringify(o))
        .join('\n'),
    });
    this.ns = await this.spaces.create();
    this.driver = `${this.ns}.snapshots.example.com`;
    await this.storageClasses();
    await this.admin.ok('POST', `/api/v1/namespaces/${this.ns}/persistentvolumeclaims`, {
      metadata: { name: 'mall-vault' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    this.kubelet = await new TestKubelet({
      api: this.admin,
      namespaces: () => [this.ns],
      resticDir: this.restic.dir,
      beforeStart: seedInitVaults,
    }).start();
    this.snapshotter = new TestSnapshotter(this.admin, this.kubelet, this.ns, this.driver).start();
    const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator');
    // Started after the classes exist: its first listing of them already sees them.
    this.operator = await new RealOperator(login.kubeconfig, this.ns, [
      `--namespaces=${this.ns}`,
      '--leader-elect=false',
      `--snapshot-timeout-seconds=${SNAPSHOT_TIMEOUT_SECONDS}`,
    ]).start();
    return this;
  }

  public async stop(): Promise<void> {
    await this.operator?.stop();
    this.snapshotter?.stop();
    await this.kubelet?.stop();
    for (const path of this.clusterObjects) await this.admin.request('DELETE', path);
    await this.spaces.cleanup();
    rmSync(this.scratch, { recursive: true, force: true });
  }

  /** A storage class per behaviour of the snapshotter, and a VolumeSnapshotClass for each but `plain`. */
  private async storageClasses(): Promise<void> {
    for (const kind of ['ok', 'never', 'error', 'plain']) {
      const name = `${this.ns}-${kind}`;
      await this.admin.ok('POST', '/apis/storage.k8s.io/v1/storageclasses', {
        metadata: { name },
        provisioner: `${this.driver}/${kind}`,
      });
      this.clusterObjects.push(`/apis/storage.k8s.io/v1/storageclasses/${name}`);
      if (kind === 'plain') continue;
      await this.admin.ok('POST', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name },
        driver: `${this.driver}/${kind}`,
        deletionPolicy: 'Delete',
      });
      this.clusterObjects.push(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/${name}`);
    }
  }

  public get backups(): string {
    return `/apis/mall.example.com/v1alpha1/namespaces/${this.ns}/backups`;
  }

  public async volumeSnapshots(): Promise<any[]> {
    return (await this.admin.ok('GET', `/apis/snapshot.storage.k8s.io/v1/namespaces/${this.ns}/volumesnapshots`)).items;
  }

  public async claims(): Promise<any[]> {
    return (await this.admin.ok('GET', `/api/v1/namespaces/${this.ns}/persistentvolumeclaims`)).items;
  }

  public async jobsOf(backup: string): Promise<any[]> {
    const selector = `mall.example.com/backup=${backup}`;
    return (await this.admin.ok('GET', `/apis/batch/v1/namespaces/${this.ns}/jobs?labelSelector=${selector}`)).items;
  }

  public async podsOf(job: any): Promise<any[]> {
    const selector = `job-name=${job.metadata.name}`;
    return (await this.admin.ok('GET', `/api/v1/namespaces/${this.ns}/pods?labelSelector=${selector}`)).items;
  }

  /** A shop: its vault Secret and its claim in the storage class `kind`, with the claim's folder ready for files. */
  public async shop(name: string, kind: StorageKind): Promise<string> {
    await this.admin.ok('POST', `/api/v1/namespaces/${this.ns}/secrets`, {
      metadata: { name: `${name}-vault` },
      stringData: { RESTIC_PASSWORD: `${name} password` },
    });
    await this.admin.ok('POST', `/api/v1/namespaces/${this.ns}/persistentvolumeclaims`, {
      metadata: { name: `${name}-data`, labels: { 'mall.example.com/shop': name } },
      spec: {
        storageClassName: `${this.ns}-${kind}`,
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    });
    const folder = this.kubelet.claimFolder(this.ns, `${name}-data`);
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
    return folder;
  }

  /** A Backup of the shop `name`, with a run-now request unless `runNow` is false. */
  public async backup(name: string, runNow = true): Promise<any> {
    return this.admin.ok('POST', this.backups, {
      apiVersion: 'mall.example.com/v1alpha1',
      kind: 'Backup',
      metadata: { name, annotations: runNow ? { 'mall.example.com/run-now': String(Date.now()) } : {} },
      spec: {
        shopName: name,
        backupTime: '02:30',
        vaultLocation: `pvc://mall-vault/${name}`,
        vaultCredentialsSecret: `${name}-vault`,
        backoffLimit: 0,
      },
    });
  }

  /** A 1Gi claim in the snapshot-capable class, with the given metadata. */
  public claim(metadata: object): Promise<any> {
    return this.admin.ok('POST', `/api/v1/namespaces/${this.ns}/persistentvolumeclaims`, {
      metadata,
      spec: {
        storageClassName: `${this.ns}-ok`,
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    });
  }

  public async runNow(name: string): Promise<void> {
    await this.admin.ok(
      'PATCH',
      `${this.backups}/${name}`,
      { metadata: { annotations: { 'mall.example.com/run-now': 'now' } } },
      'application/merge-patch+json',
    );
  }

  /** A Job that has ended without a pod (as a failed run does), belonging to no Backup. */
  public async endedJob(name: string): Promise<any> {
    await this.admin.ok('POST', `/apis/batch/v1/namespaces/${this.ns}/jobs`, {
      metadata: { name },
      spec: {
        parallelism: 0,
        activeDeadlineSeconds: 1,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'none', image: 'none' }] } },
      },
    });
    return eventually(
      `Job ${name} to end`,
      async () => {
        const job = await this.admin.ok('GET', `/apis/batch/v1/namespaces/${this.ns}/jobs/${name}`);
        return job.status?.conditions?.some((c: any) => c.type === 'Failed' && c.status === 'True') ? job : undefined;
      },
      30_000,
    );
  }

  public finished(name: string, phase: string): Promise<any> {
    return eventually(
      `${name} to be ${phase}`,
      async () => {
        const b = await this.admin.ok('GET', `${this.backups}/${name}`);
        return b.status?.phase === phase ? b : undefined;
      },
      150_000,
      explainBackup(
        { api: this.admin, kubelet: this.kubelet, operators: this.operator ? [this.operator] : [] },
        this.ns,
        name,
      ),
    );
  }

  /** restic on this machine, on the shop's repository in the vault claim's folder. */
  public resticIn(shop: string, args: string[]): string {
    const run = spawnSync(this.restic.binary, args, {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        RESTIC_REPOSITORY: `${this.kubelet.claimFolder(this.ns, 'mall-vault')}/${shop}`,
        RESTIC_PASSWORD: `${shop} password`,
        RESTIC_CACHE_DIR: '/nonexistent',
        XDG_CACHE_HOME: '/nonexistent',
      },
    });
    if (run.status !== 0) throw new Error(`restic ${args.join(' ')}: ${run.stderr}`);
    return run.stdout;
  }

  /** Nothing of a finished run's snapshot step is left: its VolumeSnapshots are gone, its claims gone or going. */
  public async released(job: any): Promise<boolean> {
    const owned = (o: any) => o.metadata.ownerReferences?.some((r: any) => r.uid === job.metadata.uid);
    const snapshotsLeft = (await this.volumeSnapshots()).filter(owned);
    const claimsLeft = (await this.claims()).filter((c) => owned(c) && !c.metadata.deletionTimestamp);
    return snapshotsLeft.length === 0 && claimsLeft.length === 0;
  }
}

export const condition = (backup: any, type: string) => backup.status.conditions.find((c: any) => c.type === type);
