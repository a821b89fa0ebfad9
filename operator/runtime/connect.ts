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
}

export class NoClusterError extends Error {}

/**
 * Loads into `kc` the kubeconfig the operator uses: --kubeconfig, else $KUBECONFIG, else the pod's service
 * account, else ~/.kube/config.
 */
export function loadKubeConnection(kc: KubeConfig, kubeconfigFlag: string | undefined, env: NodeJS.ProcessEnv, tokenFile = SERVICE_ACCOUNT_TOKEN): KubeConnection {
  const load = (file: string, why: string) => {
    if (!fs.existsSync(file)) throw new NoClusterError(`kubeconfig ${file} (${why}) does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (error) {
      throw new NoClusterError(`kubeconfig ${file} (${why}) cannot be read: ${(error as Error).message}`);
    }
    if (!kc.getCurrentCluster()) throw new NoClusterError(`kubeconfig ${file} (${why}) names no current cluster: set current-context`);
    return { kc, source: `kubeconfig ${file} (${why}), context ${kc.getCurrentContext()}`, inCluster: false };
  };
  if (kubeconfigFlag) return load(kubeconfigFlag, '--kubeconfig');
  // client-node reads only the first file of a KUBECONFIG list.
  if (env.KUBECONFIG) return load(env.KUBECONFIG.split(path.delimiter)[0], '$KUBECONFIG');
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(tokenFile)) {
    kc.loadFromCluster();
    return { kc, source: `in-cluster service account (https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? 443})`, inCluster: true };
  }
  const home = path.join(env.HOME || os.homedir(), '.kube', 'config');
  if (fs.existsSync(home)) return load(home, 'the default');
  throw new NoClusterError(`no kubeconfig found: --kubeconfig not given, KUBECONFIG not set, ${home} does not exist, and not in a pod `
    + '(KUBERNETES_SERVICE_HOST unset or no service-account token); point --kubeconfig at a cluster\'s kubeconfig');
}

export interface ConnectOptions {
  readonly timeoutMs: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** True while the operator should keep trying (false once it is shutting down). */
  readonly keepGoing?: () => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once the API server answers GET /version; retries with exponential backoff (capped). Outside a
 * cluster it throws a NoClusterError when the server was not reached within `timeoutMs`.
 */
export async function waitForApiServer(client: { get(path: string): Promise<unknown> }, server: string, connection: Omit<KubeConnection, 'kc'>,
  log: Logger, options: ConnectOptions): Promise<boolean> {
  const started = Date.now();
  let delay = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    if (options.keepGoing && !options.keepGoing()) return false;
    try {
      const version = (await client.get('/version')) as { gitVersion?: string } | undefined;
      log.info({ server, kubeconfig: connection.source, kubernetes: version?.gitVersion, attempts: attempt }, 'API server reached');
      return true;
    } catch (error) {
      // Any HTTP answer means the server is there; what it thinks of our rights is for later requests to say.
      const status = (error as { statusCode?: unknown }).statusCode;
      if (typeof status === 'number') {
        log.info({ server, kubeconfig: connection.source, status, attempts: attempt }, 'API server reached');
        return true;
      }
      const elapsed = Date.now() - started;
      const reason = (error as Error).message;
      if (!connection.inCluster && elapsed + delay > options.timeoutMs) {
        throw new NoClusterError(`could not reach the Kubernetes API server ${server} (${connection.source}) in ${Math.round(elapsed / 1000)} s `
          + `and ${attempt} attempts: ${reason}. Check that the cluster is running and the kubeconfig points at it, or raise --connect-timeout-seconds`);
      }
      log.warn({ server, kubeconfig: connection.source, err: reason, attempt, retryInMs: delay }, 'API server not reachable; retrying');
      await sleep(delay);
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
