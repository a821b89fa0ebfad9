/**
 * Starts the control plane the cluster suites share and hands it to the workers through the environment
 * (see `./cluster.ts`). MALL_BACKUP_KUBECONFIG already set (e.g. to a running `npm run dev:cluster`) means
 * "use that cluster": nothing is started. The binaries are built on first use (progress on stderr).
 */
import { resolveBinaries, start } from '../../scripts/control-plane/cluster';

export default async function globalSetup(): Promise<void> {
  if (process.env.MALL_BACKUP_KUBECONFIG) {
    process.env.MALL_BACKUP_KUBE_BIN ??= resolveBinaries();
    return;
  }
  const cluster = await start({ progress: (line) => process.stderr.write(`control plane: ${line}\n`) });
  (globalThis as any).__mallBackupControlPlane = cluster;
  process.env.MALL_BACKUP_KUBECONFIG = cluster.kubeconfigPath;
  process.env.MALL_BACKUP_KUBE_BIN = cluster.binDir;
}
