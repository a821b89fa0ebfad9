/**
 * A mall on the real control plane for a suite, and a shop in it: its vault Secret, its claim labelled with the shop,
 * and files a pod wrote there.
 */
import {
  type Client,
  client,
  eventually,
  installBackupCrd,
  installOperatorRbac,
  namespaces,
  serviceAccountLogin,
} from './cluster';
import { TestKubelet } from './kubelet/kubelet';
import { RealOperator } from './operator';
import { seedInitVaults } from './seeded-vaults';

/** The Secret `<shop>-vault`, the claim `<shop>-data` and `files` in it, written by a pod as in a real cluster. */
export async function createShop(
  admin: Client,
  ns: string,
  shop: string,
  password: string,
  files: Record<string, string>,
): Promise<void> {
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

/**
 * A mall for one suite: a namespace with a `mall-vault` claim, the test kubelet, the bundled operator as dist/ grants
 * it.
 */
export interface Mall {
  readonly ns: string;
  readonly kubelet: TestKubelet;
  readonly operator: RealOperator;
  stop(): Promise<void>;
}

/** `realInit`: init Jobs create their vaults with `restic init`; otherwise they find them made (seeded-vaults.ts). */
export async function openMall(suite: string, resticDir: string, options: { realInit?: boolean } = {}): Promise<Mall> {
  const admin = client();
  const spaces = namespaces(suite);
  await installBackupCrd();
  await installOperatorRbac();
  const ns = await spaces.create();
  let kubelet: TestKubelet | undefined;
  let operator: RealOperator | undefined;
  const stop = async () => {
    await operator?.stop();
    await kubelet?.stop();
    await spaces.cleanup();
  };
  try {
    await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      metadata: { name: 'mall-vault' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const beforeStart = options.realInit ? undefined : seedInitVaults;
    kubelet = await new TestKubelet({ api: admin, namespaces: () => [ns], resticDir, beforeStart }).start();
    const login = await serviceAccountLogin('mall-backup-system', 'mall-backup-operator');
    operator = await new RealOperator(login.kubeconfig, suite, [`--namespaces=${ns}`, '--leader-elect=false']).start();
    return { ns, kubelet, operator, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
