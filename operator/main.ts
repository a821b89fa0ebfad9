/**
 * The mall-backup operator. In a pod it uses its service-account token; elsewhere the current
 * kubeconfig (`npm run operator`). See config.ts for flags (`--help`).
 */
import * as http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { UsageError } from '../lib/common/cli';
import { parseConfig } from './config';
import { OPERATOR_NAME } from '../lib/contractor/operator-props';
import { loadKubeConnection, NoClusterError, waitForApiServer } from './runtime/connect';
import { Controller } from './controller/controller';
import { KubeClient } from './runtime/kube';
import { LeaderElector } from './runtime/leader';
import { OperatorMetrics } from './controller/metrics';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';

/** Without leader election, how long in-flight work may take after SIGTERM (the Pod's grace period is 30 s). */
const SHUTDOWN_GRACE_MS = 20_000;

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  if (!config) return;
  const log = pino({ level: config.logLevel, base: { component: OPERATOR_NAME } });
  const connection = loadKubeConnection(new KubeConfig(), config.kubeconfig, process.env);
  const { kc } = connection;

  const metrics = new OperatorMetrics();
  const client = new KubeClient(kc);
  client.onRequest((method, _path, code) => metrics.apiRequests.inc({ method, code: String(code) }));
  const controller = new Controller(
    kc,
    client,
    {
      namespaces: config.namespaces,
      resyncMs: config.resyncSeconds * 1000,
      workers: config.workers,
      settings: {
        resticImage: config.resticImage,
        holdRuns: config.maxConcurrentRuns > 0 || config.maxConcurrentRunsPerVault > 0,
        snapshotTimeoutSeconds: config.snapshotTimeoutSeconds,
        verifyScratchSize: config.verifyScratchSize,
        vaultRunSettings: {
          ...DEFAULT_VAULT_RUN_SETTINGS,
          retentionFloorDays: config.retentionFloorDays,
          shrinkPercent: config.shrinkPercent,
        },
      },
      caps: {
        maxConcurrentRuns: config.maxConcurrentRuns,
        maxConcurrentRunsPerVault: config.maxConcurrentRunsPerVault,
      },
      vault: {
        allowCrossNamespace: config.allowCrossNamespaceVaults,
        maintenanceSchedule: config.maintenanceSchedule,
        image: config.resticImage,
      },
    },
    metrics,
    log,
  );

  // How long an informer may keep failing before /healthz asks for a restart (client-go has no such bound).
  const unhealthyAfterMs = Number(process.env.INFORMER_UNHEALTHY_AFTER_SECONDS ?? 120) * 1000;
  // Set once the elector exists (the probes answer before that).
  const election: { elector?: LeaderElector } = {};
  const probes = http.createServer((req, res) => {
    // A replica that cannot use its Lease (e.g. its RBAC rule removed) can never take over: not ready, and why.
    const electionProblem = election.elector?.problem();
    const ok =
      req.url === '/healthz'
        ? controller.healthy(unhealthyAfterMs)
        : req.url === '/readyz'
          ? controller.synced && !controller.isStopping && electionProblem === undefined
          : undefined;
    // A failing informer is named, so `kubectl describe pod` shows why the probe failed.
    const why = controller
      .failingInformers()
      .map((f) => `informer ${f.informer} failing since ${new Date(f.since).toISOString()}: ${f.error}`);
    if (req.url === '/readyz' && electionProblem) why.push(electionProblem);
    res
      .writeHead(ok === undefined ? 404 : ok ? 200 : 503, { 'Content-Type': 'text/plain' })
      .end(ok ? 'ok\n' : `not ready\n${why.join('\n')}\n`);
  });
  const metricsServer = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metrics.registry
      .metrics()
      .then((text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text));
  });
  const probePort = await listen(probes, config.probePort, config.bindAddress);
  const metricsPort = await listen(metricsServer, config.metricsPort, config.bindAddress);
  log.info(
    {
      probePort,
      metricsPort,
      namespaces: config.namespaces.length ? config.namespaces : 'all',
      leaderElection: config.leaderElect,
      kubeconfig: connection.source,
    },
    'starting',
  );

  const elector = config.leaderElect
    ? new LeaderElector(
        client,
        {
          namespace: config.leaseNamespace,
          name: config.leaseName,
          identity: config.identity,
          leaseDurationMs: config.leaseDurationSeconds * 1000,
          renewDeadlineMs: config.leaseRenewDeadlineMs,
          retryPeriodMs: config.leaseRetrySeconds * 1000,
          // A candidate writes nothing but its Lease until it leads, and nothing once its term is over.
          fence: client,
        },
        {
          onStartedLeading: () => {
            metrics.leader.set(1);
            controller.startLeading();
          },
          onStoppedLeading: () => {
            metrics.leader.set(0);
            controller.stopLeading();
          },
        },
        log,
      )
    : undefined;
  election.elector = elector;

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down: finishing in-flight work');
    // In-flight work gets one retry period (a hung write would otherwise hold the Lease, and so the standby, for
    // its whole timeout); whatever is left is cut off by the fence before the Lease is handed back.
    const graceMs = elector ? config.leaseRetrySeconds * 1000 : SHUTDOWN_GRACE_MS;
    const stopped = controller.stop().then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((done) => (timer = setTimeout(() => done(false), graceMs)));
    if (!(await Promise.race([stopped, expired])))
      log.warn({ graceMs }, 'in-flight work cut off: not finished in time');
    clearTimeout(timer);
    client.fenceWrites('shutting down');
    await elector?.release();
    probes.close();
    metricsServer.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const server = kc.getCurrentCluster()?.server ?? '(no server)';
  const reached = await waitForApiServer(client, server, connection, log, {
    timeoutMs: config.connectTimeoutSeconds * 1000,
    keepGoing: () => !shuttingDown,
  });
  if (!reached) return;
  await controller.start();
  log.info('caches synced');
  if (elector) elector.start();
  else {
    metrics.leader.set(1);
    controller.startLeading();
  }
}

main().catch((error) => {
  const known = error instanceof UsageError || error instanceof NoClusterError;
  process.stderr.write(`mall-backup operator: ${known ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
