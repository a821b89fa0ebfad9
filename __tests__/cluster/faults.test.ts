/**
 * Faults on the real control plane, with a control plane of this suite's own (it restarts the API server):
 * the leader killed and the standby taking over through the real Lease; the API server restarted while a
 * run is under way; two replicas reconciling the same Backups at once (no leader election), which must not
 * start a run twice, must converge, and must then stop writing. Writes are counted from the API server's
 * audit log (every create/update/patch/delete by the operator's ServiceAccount), not from the operator.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, start } from '../../scripts/control-plane/cluster';
import { resticForRestore } from '../support/restic-binary';
import { client, Client, eventually, kubectlOk, manifest, serviceAccountLogin } from './cluster';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';

jest.setTimeout(240_000);

const OPERATOR_USER = 'system:serviceaccount:mall-backup-system:mall-backup-operator';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mall-backup-system/leases/mall-backup-operator-leader';
const RBAC_KINDS = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

let dir: string;
let cluster: ControlPlane;
let admin: Client;
let kubelet: TestKubelet;
let login: { kubeconfig: string };
const operators: RealOperator[] = [];
const audit = () => join(dir, 'audit.log');

/** The operator's writes so far, from the audit log; the Lease renewals of a leader are counted apart (`leaseToo`). */
function writes(leaseToo = false): { verb: string; resource: string; code: number; name: string }[] {
  return readFileSync(audit(), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.stage === 'ResponseComplete')
    .map((e) => ({
      verb: e.verb,
      resource: `${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`,
      code: e.responseStatus?.code,
      name: e.objectRef?.name,
    }))
    .filter((w) => leaseToo || w.resource !== 'leases');
}

async function operator(identity: string, args: string[]): Promise<RealOperator> {
  const op = new RealOperator(login.kubeconfig, identity, [
    '--lease-duration-seconds=3',
    '--lease-retry-seconds=1',
    ...args,
  ]);
  operators.push(op);
  return op.start();
}

async function shop(ns: string, name: string): Promise<void> {
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: `${name}-data`, labels: { 'mall.example.com/shop': name } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await admin.ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`, {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, annotations: { 'mall.example.com/run-now': '1' } },
    spec: {
      shopName: name,
      backupTime: '02:30',
      vaultLocation: `pvc://mall-vault/${name}`,
      vaultCredentialsSecret: 'vault',
    },
  });
}

async function namespace(name: string): Promise<string> {
  await admin.ok('POST', '/api/v1/namespaces', { metadata: { name } });
  await admin.ok('POST', `/api/v1/namespaces/${name}/secrets`, {
    metadata: { name: 'vault' },
    stringData: { RESTIC_PASSWORD: 'fault lines' },
  });
  await admin.ok('POST', `/api/v1/namespaces/${name}/persistentvolumeclaims`, {
    metadata: { name: 'mall-vault' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  return name;
}

const phase = async (ns: string, name: string) =>
  (await admin.ok('GET', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups/${name}`)).status?.phase;
const jobsOf = async (ns: string, name: string) =>
  (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs?labelSelector=mall.example.com/backup=${name}`)).items;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mall-backup-faults-'));
  writeFileSync(
    join(dir, 'audit-policy.yaml'),
    JSON.stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [
        { level: 'Metadata', users: [OPERATOR_USER], verbs: ['create', 'update', 'patch', 'delete'] },
        { level: 'None' },
      ],
    }),
  );
  writeFileSync(audit(), '');
  cluster = await start({
    binDir: process.env.MALL_BACKUP_KUBE_BIN,
    apiServerArgs: [`--audit-policy-file=${join(dir, 'audit-policy.yaml')}`, `--audit-log-path=${audit()}`],
  });
  admin = client({ kubeconfig: cluster.kubeconfigPath });
  const kc = { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir };
  await kubectlOk(['apply', '-f', 'dist/00-backup-crd.yaml'], kc);
  await kubectlOk(['wait', '--for=condition=established', '--timeout=60s', 'crd/backups.mall.example.com'], kc);
  await kubectlOk(['apply', '-f', '-'], {
    ...kc,
    input: manifest('dist/01-operator.yaml')
      .filter((o) => RBAC_KINDS.has(o.kind))
      .map((o) => JSON.stringify(o))
      .join('\n'),
  });
  await namespace('failover');
  await namespace('racing');
  kubelet = await new TestKubelet({
    api: admin,
    namespaces: () => ['failover', 'racing'],
    resticDir: resticForRestore().dir,
  }).start();
  login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator', 3600, cluster.kubeconfigPath);
});

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await kubelet?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('leader election through the real Lease', () => {
  let standby: RealOperator;

  test('the leader is SIGKILLed: the standby takes the Lease and reconciles', async () => {
    const leader = await operator('replica-a', ['--leader-elect=true', '--namespaces=failover']);
    await leader.waitFor('became leader');
    standby = await operator('replica-b', ['--leader-elect=true', '--namespaces=failover']);
    expect((await admin.ok('GET', LEASE)).spec.holderIdentity).toBe('replica-a');
    await leader.stop('SIGKILL');
    const killedAt = Date.now();
    await standby.waitFor('became leader', 20_000);
    const lease = await admin.ok('GET', LEASE);
    expect(lease.spec.holderIdentity).toBe('replica-b');
    // Taken no sooner than the Lease could expire, and not much later.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    await shop('failover', 'after-failover');
    await eventually(
      'after-failover to complete',
      async () => (await phase('failover', 'after-failover')) === 'Completed',
      120_000,
    );
  });

  test('the API server restarts while a run is under way: the run completes once, and status catches up', async () => {
    await shop('failover', 'across-restart');
    await eventually('the run-now Job', async () => (await jobsOf('failover', 'across-restart')).length > 0, 60_000);
    await cluster.apiServer.restart({ crash: true });
    await cluster.waitReady();
    await eventually(
      'across-restart to complete',
      async () => (await phase('failover', 'across-restart')) === 'Completed',
      120_000,
    );
    expect(await jobsOf('failover', 'across-restart')).toHaveLength(1);
  });
});

describe('two replicas reconciling the same Backups at once (no leader election)', () => {
  const SHOPS = ['anchor', 'bistro', 'cobbler', 'deli', 'emporium', 'florist'];

  test('no run starts twice, every Backup completes, and then nobody writes', async () => {
    await Promise.all(
      ['replica-c', 'replica-d'].map((id) => operator(id, ['--leader-elect=false', '--namespaces=racing'])),
    );
    const before = writes().length;
    await Promise.all(SHOPS.map((s) => shop('racing', s)));
    await eventually(
      'every racing Backup to complete',
      async () => (await Promise.all(SHOPS.map((s) => phase('racing', s)))).every((p) => p === 'Completed'),
      180_000,
    );
    for (const s of SHOPS) expect(await jobsOf('racing', s)).toHaveLength(1);
    const raced = writes().slice(before);
    // Converged: the two replicas agree, so a quiet window sees no write but the other namespace's leader renewing
    // its Lease (a flapping status would show).
    let window: ReturnType<typeof writes> = [];
    await eventually(
      'a quiet audit log',
      async () => {
        const mark = writes().length;
        await new Promise((r) => setTimeout(r, 5_000));
        window = writes().slice(mark);
        return window.length === 0;
      },
      30_000,
    ).catch((e) => {
      throw new Error(`${e.message}; the last 5 s: ${JSON.stringify(window.slice(0, 12))} (${window.length} writes)`);
    });
    const summary: Record<string, number> = {};
    for (const w of raced) {
      const key = `${w.verb} ${w.resource} ${w.code}`;
      summary[key] = (summary[key] ?? 0) + 1;
    }
    process.stdout.write(`racing replicas, ${SHOPS.length} Backups: ${JSON.stringify(summary)}\n`);
    const creates = raced.filter((w) => w.verb === 'create' && w.resource === 'jobs' && w.code === 201);
    // One run-now Job per Backup, and one init Job per vault (each shop has its own), each created once.
    const inits = creates.filter((w) => w.name.startsWith('vault-init-'));
    expect(new Set(inits.map((w) => w.name)).size).toBe(inits.length);
    expect(inits).toHaveLength(SHOPS.length);
    expect(creates.filter((w) => !w.name.startsWith('vault-init-'))).toHaveLength(SHOPS.length);
  });
});
