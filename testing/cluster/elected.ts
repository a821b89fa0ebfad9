/**
 * Operator replicas electing a leader on a control plane of a suite's own (see ./audited-cluster.ts), each behind a
 * fault proxy of its own that records when each of its requests reached the API server, and the time bounds derived
 * from the timings they run with, so a takeover that comes too early or far too late fails.
 */
import { JITTER_FACTOR } from '../../operator/runtime/leader-timings';
import type { AuditedCluster } from './audited-cluster';
import { eventually } from './cluster';
import { FaultProxy, type Seen } from './fault-proxy';
import { RealOperator } from './operator';

export const LEASE_S = 6;
export const RETRY_S = 1;
export const LEASE_MS = LEASE_S * 1000;
export const RETRY_MS = RETRY_S * 1000;
/** The operator's default renew deadline: two thirds of the lease duration. */
export const RENEW_MS = Math.floor((LEASE_MS * 2) / 3);
/** The longest a candidate waits between two attempts (client-go's jitter). */
export const ATTEMPT_MS = RETRY_MS * (1 + JITTER_FACTOR);
/** Room for a process on a loaded machine to get to a timer or a log line: one retry period. */
export const SLACK_MS = RETRY_MS;
/** From a leader's last renewal to a takeover: an attempt to see it, a lease duration, an attempt to take it. */
export const TAKEOVER_MS = ATTEMPT_MS + LEASE_MS + ATTEMPT_MS + SLACK_MS;
/** From the start of a replica's election to its first term on a Lease nobody holds (or held before a restart). */
export const FIRST_TERM_MS = LEASE_MS + 2 * ATTEMPT_MS + SLACK_MS;

export const LEASE = '/apis/coordination.k8s.io/v1/namespaces/mall-backup-system/leases/mall-backup-operator-leader';
export const backups = (ns: string) => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;

/** The Lease created or renewed (a leader that has only created it yet has not renewed it). */
export const isLeaseWrite = (s: Seen) =>
  (s.method === 'PUT' && s.path === LEASE && s.status === 200) ||
  (s.method === 'POST' && LEASE.startsWith(`${s.path}/`) && s.status === 201);
export const isWrite = (s: Seen) => s.method !== 'GET' && !s.path.includes('/leases');
export const show = (seen: Seen[]) =>
  seen.map((s) => `${s.method} ${s.path} (${s.rule ?? 'passed'}, status ${s.status})`);

/** When the last Lease write through `proxy` was sent on to the API server. */
export function lastLeaseWrite(proxy: FaultProxy): number {
  const writes = proxy.seen.filter(isLeaseWrite);
  if (writes.length === 0) throw new Error('no Lease write went through this proxy');
  return writes.at(-1)!.forwardedAt!;
}

/** When (this process's clock) `op`, whose clock is `skewMs` off, first logged `msg` at or after `since`. */
export const logged = (op: RealOperator, msg: string, since: number, timeoutMs: number, skewMs = 0) =>
  eventually(
    `${op.identity} to log "${msg}"`,
    async () => op.lines.find((l) => l.msg === msg && l.time - skewMs >= since)?.time - skewMs,
    timeoutMs,
  );

/** A Backup of `name` in `ns` with its claim (run now when asked). */
export async function addShop(f: AuditedCluster, ns: string, name: string, runNow = false): Promise<void> {
  await f.admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: `${name}-data`, labels: { 'mall.example.com/shop': name } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  await f.admin.ok('POST', backups(ns), {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name, ...(runNow ? { annotations: { 'mall.example.com/run-now': '1' } } : {}) },
    spec: {
      shopName: name,
      backupTime: '02:30',
      vaultLocation: `pvc://mall-vault/${name}`,
      vaultCredentialsSecret: 'vault',
    },
  });
}

export interface Replica {
  readonly op: RealOperator;
  readonly proxy: FaultProxy;
}

/** The replicas a suite starts in `namespace`; `stopAll` after each test hands the Lease back. */
export class Replicas {
  private readonly operators: RealOperator[] = [];
  private readonly proxies: FaultProxy[] = [];

  constructor(
    private readonly f: () => AuditedCluster,
    private readonly namespace: string,
  ) {}

  /** A replica electing with these timings; `env` and `nodeArgs` for its process (e.g. a skewed clock). */
  public async start(identity: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Replica> {
    const f = this.f();
    const proxy = await new FaultProxy(f.cluster.kubeconfigPath).start();
    this.proxies.push(proxy);
    const op = new RealOperator(
      proxy.kubeconfig(f.login.token, 'mall-backup-system'),
      identity,
      [
        `--lease-duration-seconds=${LEASE_S}`,
        `--lease-retry-seconds=${RETRY_S}`,
        '--leader-elect=true',
        `--namespaces=${this.namespace}`,
      ],
      env,
      nodeArgs,
    );
    this.operators.push(op);
    return { op: await op.start(), proxy };
  }

  public async stopAll(): Promise<void> {
    await Promise.all(this.operators.splice(0).map((o) => o.stop()));
    await Promise.all(this.proxies.splice(0).map((p) => p.stop()));
  }
}
