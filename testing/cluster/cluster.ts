/**
 * What a cluster suite uses to reach the real control plane started by `global-setup.ts`:
 *
 *   MALL_BACKUP_KUBECONFIG  admin kubeconfig (system:masters, certificates inline)
 *   MALL_BACKUP_KUBE_BIN    directory with kubectl (and etcd, kube-apiserver, kube-controller-manager)
 *
 * `client()` is a small JSON client for the API server (@kubernetes/client-node 1.x is ESM only, which jest's
 * CommonJS runtime cannot load; the operator itself runs as a bundled process), `kubectl()` runs the pinned
 * kubectl, `namespaces()` hands out fresh namespaces that are deleted after the suite. Suites share the cluster,
 * so each works in namespaces of its own and treats cluster-scoped objects (the CRD) as shared.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, request } from 'node:https';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../operator/runtime/kube';

export const ROOT = resolve(__dirname, '../..');

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: cluster suites run through jest's "cluster" project, whose global setup ` +
        'starts the control plane (run them with `npx jest __tests__/cluster`, not on their own)',
    );
  }
  return value;
}

export const kubeconfigPath = (): string => env('MALL_BACKUP_KUBECONFIG');
export const kubectlPath = (): string => join(env('MALL_BACKUP_KUBE_BIN'), 'kubectl');

export interface Response<T = any> {
  status: number;
  body: T;
}

export interface Client {
  readonly server: string;
  /**
   * A JSON request; `body` objects are sent as JSON (`contentType` for patches, `accept` for the answer's media types,
   * default application/json). Never throws on a status.
   */
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
    accept?: string,
  ): Promise<Response<T>>;
  /** Like `request`, but fails with the API server's message unless the status is 2xx. */
  ok<T = any>(method: string, path: string, body?: unknown, contentType?: string, accept?: string): Promise<T>;
  /**
   * A watch (`path` with `watch=1`): `onData` for each chunk the server sends, `onEnd` once when the stream ends
   * for any reason (an error, a non-200 answer, the server going away, or `close()`).
   */
  watch(path: string, onData: () => void, onEnd: () => void): { close(): void };
}

/** The server and the TLS agent of a kubeconfig (its client certificate, unless a token is given). */
function connection(options: { kubeconfig?: string; token?: string }): { server: string; agent: Agent } {
  const config = parse(readFileSync(options.kubeconfig ?? kubeconfigPath(), 'utf8'));
  const context = config.contexts.find((c: any) => c.name === config['current-context']).context;
  const cluster = config.clusters.find((c: any) => c.name === context.cluster).cluster;
  const user = config.users.find((u: any) => u.name === context.user).user;
  const b64 = (v?: string) => (v ? Buffer.from(v, 'base64') : undefined);
  const agent = new Agent({
    keepAlive: true,
    ca: b64(cluster['certificate-authority-data']),
    ...(options.token ? {} : { cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) }),
  });
  return { server: cluster.server, agent };
}

/**
 * The operator's own API client on the cluster, for a test that calls it directly. Its kubeconfig loader
 * (@kubernetes/client-node) is an ES module jest cannot load, so the connection is given to it ready-made.
 */
export function operatorClient(options: { kubeconfig?: string } = {}): KubeClient {
  const { server, agent } = connection(options);
  const config = { getCurrentCluster: () => ({ server }), applyToFetchOptions: async () => ({ agent }) };
  return new KubeClient(config as unknown as KubeConfig);
}

/**
 * A client for the cluster of `kubeconfig` (default: the shared one, as admin), or, with `token`, for the
 * same server acting as whoever the bearer token names (e.g. a service account's TokenRequest token).
 */
export function client(options: { kubeconfig?: string; token?: string } = {}): Client {
  const { server, agent } = connection(options);
  const send = <T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<Response<T>> =>
    new Promise((done, fail) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { accept };
      if (payload !== undefined) headers['content-type'] = contentType;
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const req = request(new URL(path, server), { method, agent, headers, timeout: 30_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        // An answer cut off mid-body (the API server killed while it sent it) ends with 'close' and no 'end':
        // without this the request would wait for ever, and so would whoever awaits it (the test kubelet's pass).
        res.on('close', () => {
          if (!res.complete)
            fail(new Error(`${method} ${path}: the answer was cut off after ${text.length} characters`));
        });
        res.on('end', () => {
          let parsed: any = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON (e.g. /readyz): keep the text
          }
          done({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', fail);
      req.end(payload);
    });
  const watch = (path: string, onData: () => void, onEnd: () => void) => {
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        onEnd();
      }
    };
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const req = request(new URL(path, server), { method: 'GET', agent, headers }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end();
        return;
      }
      res.on('data', onData);
      res.on('end', end);
      res.on('error', end);
      res.on('close', end);
    });
    req.on('error', end);
    req.on('close', end);
    req.end();
    return { close: () => req.destroy() };
  };
  return {
    server,
    request: send,
    watch,
    async ok(method, path, body, contentType, accept) {
      const res = await send<any>(method, path, body, contentType, accept);
      if (res.status < 200 || res.status > 299) {
        throw new Error(
          `${method} ${path}: ${res.status} ${typeof res.body === 'object' ? res.body.message : res.body}`,
        );
      }
      return res.body;
    },
  };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the pinned kubectl against `kubeconfig` (default: the shared cluster's admin); never throws on exit codes. */
export function kubectl(
  args: string[],
  options: { kubeconfig?: string; bin?: string; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  const bin = options.bin ? join(options.bin, 'kubectl') : kubectlPath();
  return new Promise((done) => {
    const child = execFile(
      bin,
      [`--kubeconfig=${options.kubeconfig ?? kubeconfigPath()}`, ...args],
      { cwd: ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20, env: { ...process.env, KUBECONFIG: '' } },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** Fails with kubectl's own words when it did not exit 0. */
export async function kubectlOk(args: string[], options: Parameters<typeof kubectl>[1] = {}): Promise<string> {
  const run = await kubectl(args, options);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${run.code}: ${run.stderr || run.stdout}`);
  return run.stdout;
}

/**
 * Fresh namespaces named `<prefix>-<random>`; `cleanup()` (in afterAll) deletes them without waiting:
 * the namespace controller empties them in the background.
 */
export function namespaces(prefix: string): { create(): Promise<string>; cleanup(): Promise<void> } {
  const created: string[] = [];
  return {
    async create() {
      const ns = await client().ok('POST', '/api/v1/namespaces', {
        metadata: { generateName: `${prefix}-`, labels: { 'test.mall.example.com/suite': prefix } },
      });
      created.push(ns.metadata.name);
      return ns.metadata.name as string;
    },
    async cleanup() {
      const admin = client();
      await Promise.all(created.splice(0).map((name) => admin.request('DELETE', `/api/v1/namespaces/${name}`)));
    },
  };
}

/**
 * Polls `check` until it returns a value, failing after `timeoutMs` with the last error seen and, when given,
 * what `explain` says the world looked like then (so a wait that fails says why it waited in vain).
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  explain?: () => Promise<string> | string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      let seen = '';
      if (explain)
        seen = `\nseen then:\n${await Promise.resolve(explain()).catch((e) => `(could not say: ${e.message})`)}`;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${seen}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Which cluster a helper acts on: default, the shared one as admin. */
type On = { kubeconfig?: string; bin?: string };

/**
 * Installs the synthesized Backup CRD (server-side apply: idempotent when suites race) and waits until it is served.
 */
export async function installBackupCrd(on: On = {}): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', 'dist/00-backup-crd.yaml'], on);
  // kubectl wait fails at once, rather than waiting, on a CRD the API server has not yet given any condition.
  const established = ['wait', '--for=condition=established', '--timeout=20s'];
  const crds = ['crd/backups.mall.example.com', 'crd/restores.mall.example.com'];
  await eventually(
    'the CRDs to be established',
    async () => {
      const run = await kubectl([...established, ...crds], on);
      if (run.code !== 0) throw new Error(run.stderr || run.stdout);
      return true;
    },
    60_000,
  );
}

/** The kinds of dist/01-operator.yaml that make the operator's identity and rights. */
export const RBAC_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

/**
 * Installs the operator's namespace, ServiceAccount and RBAC from dist/ (not its Deployment: tests run it as a
 * process).
 */
export async function installOperatorRbac(on: On = {}): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', '-'], {
    ...on,
    input: manifest('dist/01-operator.yaml')
      .filter((o) => RBAC_KINDS.has(o.kind))
      .map((o) => JSON.stringify(o))
      .join('\n'),
  });
}

/**
 * Logs in as a ServiceAccount: a token from the TokenRequest API and a kubeconfig holding only that token
 * (no client certificate, which the API server would prefer). What the operator runs with in the cluster.
 */
export async function serviceAccountLogin(
  namespace: string,
  name: string,
  expirationSeconds = 3600,
  adminKubeconfig = kubeconfigPath(),
): Promise<{ token: string; kubeconfig: string }> {
  const request = await client({ kubeconfig: adminKubeconfig }).ok(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds },
    },
  );
  const token: string = request.status.token;
  const admin = parse(readFileSync(adminKubeconfig, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'mall-backup-sa-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: admin.clusters,
      'current-context': 'sa',
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: admin.clusters[0].name, user: 'sa', namespace } }],
    }),
    { mode: 0o600 },
  );
  afterAllCleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { token, kubeconfig };
}

const afterAllCleanups: (() => void)[] = [];
// Outside jest (the cluster bench) there is no afterAll: the caller removes its temp folders.
if (typeof afterAll === 'function') afterAll(() => afterAllCleanups.splice(0).forEach((f) => f()));

/** Objects of a YAML file of the repository, e.g. `dist/01-operator.yaml`. */
export function manifest(file: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8'))
    .map((d) => d.toJS())
    .filter(Boolean);
}
