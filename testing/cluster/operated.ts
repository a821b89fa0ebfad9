/**
 * What the operator suites on the shared control plane have in common: the CRDs and the operator's RBAC from
 * dist/, fresh namespaces served by a test kubelet (whose namespaces a test may hold back, so their pods stay
 * pending), the bundled operator logged in as its ServiceAccount through a fault proxy of its own, and short
 * ways to file Backups and read what became of them.
 */
import { resticForRestore } from '../restic-binary';
import { client, eventually, installBackupCrd, installOperatorRbac, namespaces, serviceAccountLogin } from './cluster';
import { describeBackup } from './diagnose';
import { FaultProxy, type Rule } from './fault-proxy';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';
import { seedInitVaults } from './seeded-vaults';

export const admin = client();
export const backups = (ns: string) => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
export const restores = (ns: string) => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/restores`;
export const MERGE = 'application/merge-patch+json';

export class Operated {
  public kubelet!: TestKubelet;
  /** Namespaces whose pods the kubelet leaves pending for now. */
  public readonly held = new Set<string>();
  public readonly namespaces: string[] = [];
  /** Pods the kubelet leaves pending for now (see TestKubelet's `hold`). */
  public holdPods: (pod: any) => boolean = () => false;
  private readonly spaces;
  private readonly proxies: FaultProxy[] = [];
  private readonly operators: RealOperator[] = [];
  private token = '';

  /** `realInit`: init Jobs create their vaults with `restic init`; otherwise they find them made (seeded-vaults.ts). */
  constructor(
    prefix: string,
    private readonly options: { realInit?: boolean } = {},
  ) {
    this.spaces = namespaces(prefix);
  }

  /** Sets up `count` namespaces, each with a `vault` Secret and a `mall-vault` claim. */
  public async start(count: number): Promise<this> {
    await installBackupCrd();
    await installOperatorRbac();
    for (let i = 0; i < count; i++) {
      const ns = await this.spaces.create();
      this.namespaces.push(ns);
      await admin.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
        metadata: { name: 'vault' },
        stringData: { RESTIC_PASSWORD: 'shared cluster' },
      });
      await this.claim(ns, 'mall-vault');
    }
    this.kubelet = await new TestKubelet({
      api: admin,
      namespaces: () => this.namespaces.filter((n) => !this.held.has(n)),
      resticDir: resticForRestore().dir,
      hold: (pod) => this.holdPods(pod),
      beforeStart: this.options.realInit ? undefined : seedInitVaults,
    }).start();
    this.token = (await serviceAccountLogin('mall-backup-system', 'mall-backup-operator')).token;
    return this;
  }

  /** The bundled operator through a fault proxy of its own, watching this suite's namespaces (no leader election). */
  public async operator(
    identity: string,
    args: string[] = [],
    options: { env?: Record<string, string>; waitForSync?: boolean; namespaces?: string[]; proxyRules?: Rule[] } = {},
  ): Promise<{ operator: RealOperator; proxy: FaultProxy }> {
    const proxy = await new FaultProxy(process.env.MALL_BACKUP_KUBECONFIG!).start();
    this.proxies.push(proxy);
    // Rules that must be in place before the process's first request.
    for (const rule of options.proxyRules ?? []) proxy.rule(rule);
    const operator = new RealOperator(
      proxy.kubeconfig(this.token, 'mall-backup-system'),
      identity,
      [`--namespaces=${(options.namespaces ?? this.namespaces).join(',')}`, '--leader-elect=false', ...args],
      options.env,
    );
    this.operators.push(operator);
    await operator.start({ waitForSync: options.waitForSync });
    return { operator, proxy };
  }

  public async stop(): Promise<void> {
    await Promise.all(this.operators.map((o) => o.stop('SIGKILL')));
    await Promise.all(this.proxies.map((p) => p.stop()));
    await this.kubelet?.stop();
    await this.spaces.cleanup();
  }

  public claim(ns: string, name: string, labels?: Record<string, string>): Promise<any> {
    return admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      metadata: { name, labels },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  }

  /** A shop's claim and its Backup (a vault of its own on the namespace's vault claim unless `spec` says otherwise). */
  public async backup(
    ns: string,
    name: string,
    spec: Record<string, unknown> = {},
    annotations?: Record<string, string>,
  ): Promise<any> {
    await this.claim(ns, `${name}-data`, { 'mall.example.com/shop': name });
    return admin.ok('POST', backups(ns), {
      apiVersion: 'mall.example.com/v1alpha1',
      kind: 'Backup',
      metadata: { name, annotations },
      spec: {
        shopName: name,
        backupTime: '02:30',
        vaultLocation: `pvc://mall-vault/${name}`,
        vaultCredentialsSecret: 'vault',
        ...spec,
      },
    });
  }
}

export const getBackup = (ns: string, name: string) => admin.ok('GET', `${backups(ns)}/${name}`);
export const statusOf = async (ns: string, name: string) => (await getBackup(ns, name)).status;
export const reasonOf = async (ns: string, name: string) => (await statusOf(ns, name))?.conditions?.[0]?.reason;

export const list = async (ns: string, resource: string, labelSelector?: string): Promise<any[]> =>
  (
    await admin.ok(
      'GET',
      `${['pods', 'events', 'persistentvolumeclaims'].includes(resource) ? '/api/v1' : '/apis/batch/v1'}` +
        `/namespaces/${ns}/${resource}` +
        `${labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : ''}`,
    )
  ).items;

export const component = (c: string) => `app.kubernetes.io/component=${c}`;

/** Waits for the Backup's phase; returns the Backup. A timeout says what the Backup, its Jobs and pods looked like. */
export const phase = (ns: string, name: string, want: string, timeoutMs = 60_000) =>
  eventually(
    `${ns}/${name} ${want}`,
    async () => {
      const b = await getBackup(ns, name);
      return b.status?.phase === want && b;
    },
    timeoutMs,
    () => describeBackup(admin, ns, name),
  );

/** Waits for an Event about `name` with `reason`. */
export const event = (ns: string, reason: string, name?: string) =>
  eventually(`a ${reason} Event`, async () =>
    (await list(ns, 'events')).find((e) => e.reason === reason && (!name || e.involvedObject.name === name)),
  );
