/**
 * Semantic checks of rendered Kubernetes objects that do not rely on snapshots: schema validity
 * (kubernetes-models for types and required fields, plus the Kubernetes 1.28 definitions for unknown
 * fields), Pod Security Standard "restricted", bounded containers and least-privilege RBAC.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type K8sObject = { apiVersion: string; kind: string; metadata?: any; [key: string]: any };

interface Definition {
  properties?: Record<string, Definition>;
  additionalProperties?: Definition | boolean;
  items?: Definition;
  $ref?: string;
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
}

const DEFINITIONS: Record<string, Definition> = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '__tests__', 'fixtures', 'k8s-1.28-definitions.json'), 'utf8'),
).definitions;

function definitionFor(apiVersion: string, kind: string): Definition | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return Object.values(DEFINITIONS).find((d) =>
    d['x-kubernetes-group-version-kind']?.some(
      (gvk) => gvk.group === group && gvk.version === version && gvk.kind === kind,
    ),
  );
}

function resolve(def: Definition): Definition {
  return def.$ref ? resolve(DEFINITIONS[def.$ref.replace('#/definitions/', '')]) : def;
}

function unknownFields(def: Definition, value: unknown, at: string, out: string[]): void {
  const d = resolve(def);
  if (Array.isArray(value)) {
    if (d.items) value.forEach((v, i) => unknownFields(d.items!, v, `${at}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (d.properties) {
      const sub = d.properties[key];
      if (!sub) out.push(`${at}.${key}: unknown field`);
      else unknownFields(sub, child, `${at}.${key}`, out);
    } else if (typeof d.additionalProperties === 'object') {
      unknownFields(d.additionalProperties, child, `${at}.${key}`, out);
    }
  }
}

/** kubernetes-models' model class for a built-in kind. */
function modelFor(apiVersion: string, kind: string): (new (data: unknown) => { validate(): void }) | undefined {
  const dir = apiVersion.includes('/') ? apiVersion : apiVersion; // "v1" and "group/version" are both folder paths
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`kubernetes-models/${dir}/${kind}`)[kind];
  } catch {
    return undefined;
  }
}

/** Problems with `obj` as a Kubernetes 1.28 object; custom resources are checked elsewhere. */
export function schemaProblems(obj: K8sObject): string[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const def = definitionFor(obj.apiVersion, obj.kind);
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!def || !Model) return [`${where}: ${obj.apiVersion} ${obj.kind} is not a known Kubernetes 1.28 kind`];
  const problems: string[] = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${where}: ${(e as Error).message}`);
  }
  const unknown: string[] = [];
  unknownFields(def, obj, '', unknown);
  problems.push(...unknown.map((u) => `${where}: ${u}`));
  return problems;
}

export const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

/** The pod spec inside any workload kind, or undefined. */
export function podSpecOf(obj: K8sObject): any | undefined {
  switch (obj.kind) {
    case 'Pod':
      return obj.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return obj.spec?.template?.spec;
    case 'CronJob':
      return obj.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Violations of Pod Security Standard "restricted" (v1.28), plus our own read-only root file system rule. */
export function restrictedProblems(podSpec: any, where: string): string[] {
  const p: string[] = [];
  const podSc = podSpec.securityContext ?? {};
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC']) if (podSpec[host]) p.push(`${where}: ${host} is set`);
  for (const v of podSpec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name')!;
    if (!RESTRICTED_VOLUME_TYPES.has(type)) p.push(`${where}: volume ${v.name} of type ${type} is not allowed`);
  }
  if (podSc.sysctls?.length) p.push(`${where}: sysctls are set`);
  if (podSc.runAsUser === 0) p.push(`${where}: pod runAsUser is 0`);
  const containers = [
    ...(podSpec.initContainers ?? []),
    ...(podSpec.containers ?? []),
    ...(podSpec.ephemeralContainers ?? []),
  ];
  if (containers.length === 0) p.push(`${where}: no containers`);
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const at = `${where} container ${c.name}`;
    if (sc.privileged) p.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) p.push(`${at}: allowPrivilegeEscalation is not false`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) p.push(`${at}: capabilities do not drop ALL`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') p.push(`${at}: adds capability ${cap}`);
    if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) p.push(`${at}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? podSc.runAsUser) === 0) p.push(`${at}: runs as user 0`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      p.push(`${at}: seccompProfile is ${seccomp ?? 'unset'}`);
    if (sc.readOnlyRootFilesystem !== true) p.push(`${at}: root file system is writable`);
    if ((c.ports ?? []).some((port: any) => port.hostPort)) p.push(`${at}: uses a hostPort`);
    for (const kind of ['cpu', 'memory']) {
      if (c.resources?.requests?.[kind] === undefined) p.push(`${at}: no ${kind} request`);
      if (c.resources?.limits?.[kind] === undefined) p.push(`${at}: no ${kind} limit`);
    }
  }
  return p;
}

const DANGEROUS_VERBS = new Set(['escalate', 'bind', 'impersonate', '*']);

/** Wildcards, Secret access and privilege-granting verbs in a Role or ClusterRole. */
export function rbacProblems(obj: K8sObject): string[] {
  if (obj.kind !== 'Role' && obj.kind !== 'ClusterRole') return [];
  const where = `${obj.kind}/${obj.metadata.name}`;
  const p: string[] = [];
  for (const rule of obj.rules ?? []) {
    for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
      if ((rule[field] ?? []).some((v: string) => v.includes('*'))) p.push(`${where}: wildcard in ${field}`);
    }
    if ((rule.resources ?? []).some((r: string) => r === 'secrets' || r.startsWith('secrets/')))
      p.push(`${where}: grants access to secrets`);
    for (const verb of rule.verbs ?? []) if (DANGEROUS_VERBS.has(verb)) p.push(`${where}: grants verb ${verb}`);
  }
  return p;
}

/** Every problem the gate knows about in a set of rendered built-in objects. */
export function gateProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const obj of objects) {
    const where = `${obj.kind}/${obj.metadata?.name}`;
    problems.push(...schemaProblems(obj), ...rbacProblems(obj));
    if (CLUSTER_SCOPED_KINDS.has(obj.kind) && obj.metadata?.namespace !== undefined)
      problems.push(`${where}: cluster-scoped object carries a namespace`);
    if (!CLUSTER_SCOPED_KINDS.has(obj.kind) && !obj.metadata?.namespace)
      problems.push(`${where}: namespaced object has no namespace`);
    const pod = podSpecOf(obj);
    if (pod) problems.push(...restrictedProblems(pod, where));
  }
  return problems;
}
