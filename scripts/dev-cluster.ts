/**
 * `npm run dev:cluster`: a local control plane to try the operator against, in the foreground.
 * Ctrl-C (or SIGTERM) stops every process and removes the cluster's data.
 */
import { start } from './control-plane/cluster';

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`dev:cluster: ${line}\n`);
  const cluster = await start({ progress: log });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the control plane and removing ${cluster.dataDir}`);
    cluster.stop().then(
      () => process.exit(0),
      (e) => {
        log(`stop failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  process.stdout.write(
    [
      '',
      `Kubernetes control plane on ${cluster.server} (no kubelet, no scheduler: pods stay Pending)`,
      `kubeconfig: ${cluster.kubeconfigPath}`,
      '',
      'In another terminal:',
      `  export KUBECONFIG=${cluster.kubeconfigPath} PATH=${cluster.binDir}:$PATH`,
      '  kubectl apply -f dist/ && kubectl wait --for condition=established crd/backups.mall.example.com',
      '  kubectl apply -f dist/samples/',
      '  npm run operator -- --leader-elect=false',
      '',
      `Logs: ${[cluster.etcd, cluster.apiServer, cluster.controllerManager].map((c) => c.logPath).join(' ')}`,
      'Ctrl-C stops the cluster and removes its data.',
      '',
    ].join('\n'),
  );

  // A control-plane process that dies takes the cluster down with it, loudly. So does losing the parent
  // (npm exits on SIGTERM without passing it on): the cluster must not outlive its terminal.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) shutdown('parent exited');
    const dead = [cluster.etcd, cluster.apiServer, cluster.controllerManager].map((c) => c.failure()).find(Boolean);
    if (dead && !stopping) {
      clearInterval(watch);
      log(dead);
      stopping = true;
      cluster.stop().finally(() => process.exit(1));
    }
  }, 1000);
}

main().catch((e) => {
  process.stderr.write(`dev:cluster: ${(e as Error).message}\n`);
  process.exit(1);
});
