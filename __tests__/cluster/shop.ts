/** A shop on the real control plane: its vault Secret, its claim labelled with the shop, and files a pod wrote there. */
import { type Client, eventually } from './cluster';

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
