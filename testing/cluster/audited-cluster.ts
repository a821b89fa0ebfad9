/**
 * A control plane of a suite's own, for faults that would disturb the suites sharing the run's one: it is
 * restarted, its etcd compacted, and its one operator Lease fought over. The API server writes an audit log of
 * every create/update/patch/delete by the operator's ServiceAccount, so writes are counted at the server, not
 * by the operator. The watch cache is off: a watch then reads etcd directly, so a compacted etcd answers an old
 * resourceVersion with 410 Gone, as a cache that fell behind would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane, start } from '../../scripts/control-plane/cluster';
import { resticForRestore } from '../restic-binary';
import { Client, client, installBackupCrd, installOperatorRbac, serviceAccountLogin } from './cluster';
import { TestKubelet } from './kubelet/kubelet';
import { seedInitVaults } from './seeded-vaults';

export const OPERATOR_USER = 'system:serviceaccount:mall-backup-system:mall-backup-operator';

export interface Write {
  verb: string;
  resource: string;
  code: number;
  name: string;
}

export interface AuditedCluster {
  readonly cluster: ControlPlane;
  readonly admin: Client;
  readonly kubelet: TestKubelet;
  /** The operator's ServiceAccount login (a TokenRequest token) and a kubeconfig holding it. */
  readonly login: { token: string; kubeconfig: string };
  /** The operator's writes so far, from the audit log; Lease writes only with `leaseToo`. */
  writes(leaseToo?: boolean): Write[];
  /** The current etcd revision. */
  etcdRevision(): Promise<number>;
  /** Compacts etcd's history up to `revision` (etcd's own API, through its HTTP gateway). */
  compact(revision: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The API server flags that log every write by the operator's ServiceAccount (metadata only) to `log`, with
 * the policy written into `dir`.
 */
export function auditWrites(dir: string, log: string): string[] {
  writeFileSync(
    join(dir, 'audit-policy.json'),
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
  writeFileSync(log, '');
  return [`--audit-policy-file=${join(dir, 'audit-policy.json')}`, `--audit-log-path=${log}`];
}

/** Starts it with the CRDs, the operator's RBAC from dist/, and `namespaces` (each with a vault Secret and claim). */
export async function startAuditedCluster(namespaces: string[]): Promise<AuditedCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mall-backup-faults-'));
  const audit = join(dir, 'audit.log');
  let cluster: ControlPlane | undefined;
  let kubelet: TestKubelet | undefined;
  const stop = async () => {
    await kubelet?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    cluster = await start({
      binDir: process.env.MALL_BACKUP_KUBE_BIN,
      apiServerArgs: [...auditWrites(dir, audit), '--watch-cache=false'],
    });
    const admin = client({ kubeconfig: cluster.kubeconfigPath });
    const kc = { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir };
    await installBackupCrd(kc);
    await installOperatorRbac(kc);
    for (const name of namespaces) {
      await admin.ok('POST', '/api/v1/namespaces', { metadata: { name } });
      await admin.ok('POST', `/api/v1/namespaces/${name}/secrets`, {
        metadata: { name: 'vault' },
        stringData: { RESTIC_PASSWORD: 'fault lines' },
      });
      await admin.ok('POST', `/api/v1/namespaces/${name}/persistentvolumeclaims`, {
        metadata: { name: 'mall-vault' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
    }
    kubelet = await new TestKubelet({
      api: admin,
      namespaces: () => namespaces,
      resticDir: resticForRestore().dir,
      beforeStart: seedInitVaults,
    }).start();
    const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator', 3600, cluster.kubeconfigPath);
    const etcd = async (call: string, body: unknown) => {
      const res = await fetch(`${cluster!.etcdUrl}/v3/kv/${call}`, { method: 'POST', body: JSON.stringify(body) });
      const answer: any = await res.json();
      if (!res.ok) throw new Error(`etcd ${call}: ${res.status} ${JSON.stringify(answer)}`);
      return answer;
    };
    return {
      cluster,
      admin,
      kubelet,
      login,
      writes: (leaseToo = false) =>
        readFileSync(audit, 'utf8')
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
          .filter((w) => leaseToo || w.resource !== 'leases'),
      // A range over one key answers with the store's current revision in its header.
      etcdRevision: async () =>
        Number((await etcd('range', { key: Buffer.from('/').toString('base64') })).header.revision),
      compact: async (revision) => void (await etcd('compaction', { revision: String(revision), physical: true })),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
