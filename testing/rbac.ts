/**
 * RBAC as the API server's authorizer reads it, for checking a role against the requests a client
 * really made: each request becomes a (verb, group, resource[/subresource], name) attribute.
 */
import type { K8sObject } from './k8s-rules';

export interface RequestAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The authorizer's attributes of a REST request (`watch` and `list` are told apart by the query). */
export function requestAttributes(method: string, path: string, watch: boolean): RequestAttributes | undefined {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
    path,
  );
  if (!m) return undefined;
  const [, group = '', namespace, plural, name, subresource] = m;
  const resource = subresource ? `${plural}/${subresource}` : plural;
  const verb = {
    GET: name ? 'get' : watch ? 'watch' : 'list',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
  }[method];
  return verb === undefined ? undefined : { verb, group, resource, namespace, name };
}

/**
 * The requests that need a role: GET /version (the operator's connection check) is a non-resource URL every
 * authenticated client may read (system:public-info-viewer).
 */
export function resourceRequests<R extends { method: string; path: string }>(requests: readonly R[]): R[] {
  return requests.filter((r) => !(r.method === 'GET' && r.path === '/version'));
}

/** The role rules that grant `attributes`, or none. */
export function grantingRules(roles: readonly K8sObject[], attributes: RequestAttributes): Rule[] {
  return roles
    .flatMap((role) => (role.rules ?? []) as Rule[])
    .filter(
      (rule) =>
        rule.apiGroups.includes(attributes.group) &&
        rule.resources.includes(attributes.resource) &&
        rule.verbs.includes(attributes.verb) &&
        (!rule.resourceNames || (attributes.name !== undefined && rule.resourceNames.includes(attributes.name))),
    );
}

/** Every (group, resource, verb) a set of roles grants, as `group/resource: verb`. */
export function grants(roles: readonly K8sObject[]): string[] {
  return roles
    .flatMap((role) => (role.rules ?? []) as Rule[])
    .flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g}/${res}: ${v}`))));
}
