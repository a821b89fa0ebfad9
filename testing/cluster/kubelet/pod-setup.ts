/**
 * What the kubelet prepares before a container starts: its volumes as host folders (claims as one folder
 * per claim, shared by every pod that mounts it; emptyDirs per pod; projected service-account tokens minted
 * for the pod) and its environment (env, valueFrom, envFrom over Secrets and ConfigMaps). A reference that
 * cannot be resolved is an error in the kubelet's words (CreateContainerConfigError).
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '../cluster';
import type { Mount, SandboxSpec } from './sandbox';

export class ConfigError extends Error {}

export interface Node {
  readonly claimsDir: string;
  readonly apiHost: string;
  readonly apiPort: string;
}

async function dataOf(
  api: Client,
  ns: string,
  kind: 'secrets' | 'configmaps',
  name: string,
  optional = false,
): Promise<Record<string, string> | undefined> {
  const res = await api.request('GET', `/api/v1/namespaces/${ns}/${kind}/${name}`);
  if (res.status === 404) {
    if (optional) return undefined;
    throw new ConfigError(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
  }
  if (res.status !== 200) throw new Error(`GET ${kind}/${name}: ${res.status} ${res.body?.message}`);
  if (kind === 'configmaps') return res.body.data ?? {};
  return Object.fromEntries(
    Object.entries<string>(res.body.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

function field(pod: any, path: string): string {
  const known: Record<string, string | undefined> = {
    'metadata.name': pod.metadata.name,
    'metadata.namespace': pod.metadata.namespace,
    'metadata.uid': pod.metadata.uid,
    'spec.nodeName': pod.spec.nodeName,
    'spec.serviceAccountName': pod.spec.serviceAccountName,
    'status.podIP': '127.0.0.1',
    'status.hostIP': '127.0.0.1',
  };
  if (!(path in known)) throw new ConfigError(`fieldRef ${path} is not supported by the test kubelet`);
  return known[path] ?? '';
}

/** The container's environment: the image's, the service variables, envFrom, then env (later wins). */
export async function environment(
  api: Client,
  node: Node,
  pod: any,
  container: any,
  imageEnv: Record<string, string>,
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {
    ...imageEnv,
    HOSTNAME: pod.metadata.name,
    KUBERNETES_SERVICE_HOST: node.apiHost,
    KUBERNETES_SERVICE_PORT: node.apiPort,
  };
  for (const from of container.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    const data = await dataOf(api, ns, from.secretRef ? 'secrets' : 'configmaps', ref.name, ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      // $(VAR) references to earlier variables, as the kubelet expands them; $$ escapes.
      env[e.name] = String(e.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) =>
        m === '$$' ? '$' : (env[name] ?? m),
      );
    } else if (e.valueFrom.fieldRef) {
      env[e.name] = field(pod, e.valueFrom.fieldRef.fieldPath);
    } else {
      const ref = e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef;
      if (!ref) throw new ConfigError(`env ${e.name}: resourceFieldRef is not supported by the test kubelet`);
      const data = await dataOf(api, ns, e.valueFrom.secretKeyRef ? 'secrets' : 'configmaps', ref.name, ref.optional);
      if (data && ref.key in data) env[e.name] = data[ref.key];
      else if (!ref.optional)
        throw new ConfigError(
          `couldn't find key ${ref.key} in ${e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`,
        );
    }
  }
  return env;
}

/** A folder the pod's user may write, as fsGroup makes volumes on a real node (group-owned, setgid). */
function ownedFolder(dir: string, fsGroup: number | undefined): string {
  mkdirSync(dir, { recursive: true });
  if (fsGroup !== undefined) {
    chownSync(dir, 0, fsGroup);
    chmodSync(dir, 0o2775);
  } else {
    chmodSync(dir, 0o777);
  }
  return dir;
}

/** Host folders for the pod's volumes, by volume name. */
export async function volumes(api: Client, node: Node, pod: any, podDir: string): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace;
  const fsGroup: number | undefined = pod.spec.securityContext?.fsGroup;
  const out = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim) {
      const claim = await api.request(
        'GET',
        `/api/v1/namespaces/${ns}/persistentvolumeclaims/${v.persistentVolumeClaim.claimName}`,
      );
      if (claim.status === 404)
        throw new ConfigError(`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`);
      // A claim made from a snapshot has data only once provisioned (bound), as on a real node the pod waits for it.
      if (claim.body.spec?.dataSource && claim.body.status?.phase !== 'Bound')
        throw new ConfigError(`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" is not bound yet`);
      out.set(v.name, ownedFolder(join(node.claimsDir, ns, v.persistentVolumeClaim.claimName), fsGroup));
    } else if (v.emptyDir) {
      out.set(v.name, ownedFolder(join(podDir, 'volumes', v.name), fsGroup));
    } else if (v.projected) {
      const dir = join(podDir, 'volumes', v.name);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      for (const source of v.projected.sources) await project(api, pod, dir, source);
      out.set(v.name, dir);
    } else {
      throw new ConfigError(
        `volume ${v.name}: only persistentVolumeClaim, emptyDir ` +
          `and projected volumes are supported by the test kubelet`,
      );
    }
  }
  return out;
}

async function project(api: Client, pod: any, dir: string, source: any): Promise<void> {
  const ns = pod.metadata.namespace;
  const write = (path: string, text: string) => writeFileSync(join(dir, path), text, { mode: 0o644 });
  if (source.serviceAccountToken) {
    // A token bound to this pod, as the kubelet requests it: it dies with the pod.
    const token = await api.ok(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/${pod.spec.serviceAccountName ?? 'default'}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3600,
          audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : undefined,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      },
    );
    write(source.serviceAccountToken.path, token.status.token);
  } else if (source.configMap || source.secret) {
    const ref = source.configMap ?? source.secret;
    const data = await dataOf(api, ns, source.configMap ? 'configmaps' : 'secrets', ref.name, ref.optional);
    for (const item of ref.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key }))) {
      if (data && item.key in data) write(item.path, data[item.key]);
    }
  } else if (source.downwardAPI) {
    for (const item of source.downwardAPI.items) write(item.path, field(pod, item.fieldRef.fieldPath));
  }
}

/** The container's mounts: its volumeMounts (subPath too) on top of the image's own. */
export function mountsOf(container: any, hostFolders: Map<string, string>, imageMounts: readonly Mount[]): Mount[] {
  return [
    ...imageMounts,
    ...(container.volumeMounts ?? []).map((m: any) => {
      const host = hostFolders.get(m.name);
      if (!host) throw new ConfigError(`volumeMount ${m.mountPath}: no volume named ${m.name}`);
      return { hostPath: m.subPath ? join(host, m.subPath) : host, path: m.mountPath, readOnly: Boolean(m.readOnly) };
    }),
  ];
}

/**
 * The container's sandbox: its command with $(VAR) references expanded from its environment (and $$ as $), as the
 * kubelet expands them, and the user, groups and root filesystem its security contexts ask for.
 */
export function sandboxSpecOf(
  pod: any,
  container: any,
  entrypoint: readonly string[],
  env: Record<string, string>,
  mounts: readonly Mount[],
  dir: string,
): SandboxSpec {
  const security = { ...pod.spec.securityContext, ...container.securityContext };
  const argv = [...(container.command ?? entrypoint), ...(container.args ?? [])].map((a: string) =>
    a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (m === '$$' ? '$' : (env[name] ?? m))),
  );
  return {
    dir,
    argv,
    env,
    mounts,
    uid: security.runAsUser ?? 0,
    gid: security.runAsGroup ?? 0,
    groups: [
      security.runAsGroup ?? 0,
      ...(pod.spec.securityContext?.fsGroup !== undefined ? [pod.spec.securityContext.fsGroup] : []),
      ...(pod.spec.securityContext?.supplementalGroups ?? []),
    ],
    readOnlyRoot: Boolean(security.readOnlyRootFilesystem),
    terminationMessagePath: container.terminationMessagePath ?? '/dev/termination-log',
    workingDir: container.workingDir,
  };
}
