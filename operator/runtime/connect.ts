/**
 * Finding and reaching the API server before anything else starts: which kubeconfig is used (or that none
 * was found) is said once, and an unreachable server is retried with capped exponential backoff. Outside a
 * cluster a server that never answers is a mistake to report (exit 1 after --connect-timeout-seconds); in a
 * cluster it is an outage to ride out, so the operator keeps trying.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConnection {
  readonly kc: KubeConfig;
  /** Where the credentials came from, in words. */
  readonly source: string;
  readonly inCluster: boolean;
  /** The exec credential plugin of the kubeconfig's user, which runs before each request can be sent. */
  readonly plugin?: string;
}

export class NoClusterError extends Error {}

/**
 * Loads into `kc` the kubeconfig the operator uses: --kubeconfig, else $KUBECONFIG, else the pod's service
 * account, else ~/.kube/config.
 */
export function loadKubeConnection(
  kc: KubeConfig,
  kubeconfigFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  tokenFile = SERVICE_ACCOUNT_TOKEN,
): KubeConnection {
  const load = (file: string, why: string) => {
    if (!fs.existsSync(file)) throw new NoClusterError(`kubeconfig ${file} (${why}) does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (error) {
      throw new NoClusterError(`kubeconfig ${file} (${why}) cannot be read: ${(error as Error).message}`);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new NoClusterError(`kubeconfig ${file} (${why}) names no current cluster: set current-context`);
    // client-node refuses every request to such a server; retrying would only repeat its refusal.
    if (/^http:/i.test(cluster.server) && !cluster.skipTLSVerify) {
      throw new NoClusterError(
        `kubeconfig ${file} (${why}) names the server ${cluster.server} ` +
          `of cluster ${cluster.name}: plain HTTP is refused unless ` +
          "the cluster sets insecure-skip-tls-verify: true; use the server's https:// address",
      );
    }
    const plugin = kc.getCurrentUser()?.exec?.command;
    return {
      kc,
      source: `kubeconfig ${file} (${why}), context ${kc.getCurrentContext()}`,
      inCluster: false,
      ...(plugin ? { plugin } : {}),
    };
  };
  if (kubeconfigFlag) return load(kubeconfigFlag, '--kubeconfig');
  // client-node reads only one file of a KUBECONFIG list: the first that exists, as kubectl skips missing ones.
  if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    return load(files.find((f) => fs.existsSync(f)) ?? files.join(path.delimiter), '$KUBECONFIG');
  }
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(tokenFile)) {
    kc.loadFromCluster();
    return {
      kc,
      source:
        `in-cluster service account ` +
        `(https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? 443})`,
      inCluster: true,
    };
  }
  const home = path.join(env.HOME || os.homedir(), '.kube', 'config');
  if (fs.existsSync(home)) return load(home, 'the default');
  throw new NoClusterError(
    `no kubeconfig found: --kubeconfig not given, KUBECONFIG not set, ${home} does not exist, and not in a pod ` +
      "(KUBERNETES_SERVICE_HOST unset or no service-account token); point --kubeconfig at a cluster's kubeconfig",
  );
}

export interface ConnectOptions {
  readonly timeoutMs: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** True while the operator should keep trying (false once it is shutting down). */
  readonly keepGoing?: () => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Longest one attempt may take: the request's own timeout does not cover an exec plugin that never returns. */
const ATTEMPT_MS = 30_000;

function withDeadline<T>(work: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Resolves once the API server answers GET /version; retries with exponential backoff (capped). Outside a
 * cluster it throws a NoClusterError when the server was not reached within `timeoutMs`.
 */
export async function waitForApiServer(
  client: { get(path: string, options?: { timeoutMs?: number }): Promise<unknown> },
  server: string,
  connection: Omit<KubeConnection, 'kc'>,
  log: Logger,
  options: ConnectOptions,
): Promise<boolean> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const plugin = connection.plugin ? `the kubeconfig's exec credential plugin ${connection.plugin}` : undefined;
  for (let attempt = 1; ; attempt++) {
    if (options.keepGoing && !options.keepGoing()) return false;
    // Outside a cluster no attempt outlasts the time left, so the timeout holds even against a silent server.
    const attemptMs = connection.inCluster
      ? ATTEMPT_MS
      : Math.max(1, Math.min(ATTEMPT_MS, options.timeoutMs - (Date.now() - started)));
    try {
      const version = (await withDeadline(
        client.get('/version', { timeoutMs: attemptMs }),
        attemptMs,
        `GET /version: no answer within ${attemptMs} ms${plugin ? ` (${plugin} may be waiting)` : ''}`,
      )) as { gitVersion?: string } | undefined;
      log.info(
        { server, kubeconfig: connection.source, kubernetes: version?.gitVersion, attempts: attempt },
        'API server reached',
      );
      return true;
    } catch (error) {
      // Any HTTP answer means the server is there; what it thinks of our rights is for later requests to say.
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status === 'number') {
        log.info({ server, kubeconfig: connection.source, status, attempts: attempt }, 'API server reached');
        return true;
      }
      const elapsed = Date.now() - started;
      // client-node rejects with the plugin's stderr, which may be empty.
      const reason =
        (error as Error).message ||
        (plugin ? `${plugin} failed without a message` : 'the request failed without a message');
      if (!connection.inCluster && elapsed + delay > options.timeoutMs) {
        throw new NoClusterError(
          `could not reach the Kubernetes API server ${server} ` +
            `(${connection.source}) in ${Math.round(elapsed / 1000)} s ` +
            `and ${attempt} attempt${attempt === 1 ? '' : 's'}: ${reason}. Check that the ` +
            `cluster is running and the kubeconfig points at it, or raise --connect-timeout-seconds`,
        );
      }
      log.warn(
        { server, kubeconfig: connection.source, err: reason, attempt, retryInMs: delay },
        'API server not reachable; retrying',
      );
      await sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
