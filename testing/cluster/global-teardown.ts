import type { ControlPlane } from '../../scripts/control-plane/cluster';

/** Stops the shared control plane (by PID) and removes its data; runs after failed suites too. */
export default async function globalTeardown(): Promise<void> {
  const cluster = (globalThis as any).__mallBackupControlPlane as ControlPlane | undefined;
  if (!cluster) return;
  await cluster.stop();
  delete process.env.MALL_BACKUP_KUBECONFIG;
  delete process.env.MALL_BACKUP_KUBE_BIN;
}
