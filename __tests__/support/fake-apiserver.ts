/**
 * A fake Kubernetes API server on 127.0.0.1 for the operator's tests and benchmarks. It speaks the parts
 * of the API the operator uses, with their real semantics: list and watch with resourceVersion (and
 * 410 Gone once history is compacted), label selectors, create (409 AlreadyExists, generateName),
 * replace (409 Conflict on a stale resourceVersion), JSON merge patch and server-side apply, the status
 * subresource of Backups and Restores, generation bumps on spec changes, and owner-reference garbage collection.
 * Tests drive the cluster's own controllers (CronJob, Job, kubelet) through `put`/`patchStatus`.
 *
 * Simplification: server-side apply merges the applied fields into the object and removes the fields
 * the same field manager applied last time and left out now; it does not track shared ownership.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';

export type Obj = { apiVersion: string; kind: string; metadata: any; spec?: any; status?: any; [k: string]: any };

interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  statusSubresource: boolean;
}

const TYPES: ResourceType[] = [
  {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    plural: 'backups',
    namespaced: true,
    statusSubresource: true,
  },
  {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Restore',
    plural: 'restores',
    namespaced: true,
    statusSubresource: true,
  },
  { apiVersion: 'batch/v1', kind: 'CronJob', plural: 'cronjobs', namespaced: true, statusSubresource: true },
  { apiVersion: 'batch/v1', kind: 'Job', plural: 'jobs', namespaced: true, statusSubresource: true },
  { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, statusSubresource: true },
  {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    namespaced: true,
    statusSubresource: true,
  },
  { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true, statusSubresource: false },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true, statusSubresource: false },
];

interface WatchEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}
interface Watcher {
  type: ResourceType;
  namespace?: string;
  selector?: string;
  res: http.ServerResponse;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  watch: boolean;
  user: string;
}

function parsePath(
  url: URL,
): { type: ResourceType; namespace?: string; name?: string; subresource?: string } | undefined {
  const m =
    /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(
      url.pathname,
    );
  if (!m) return undefined;
  const apiVersion = m[1] ?? m[2];
  const type = TYPES.find((t) => t.apiVersion === apiVersion && t.plural === m[4]);
  return type && { type, namespace: m[3], name: m[5], subresource: m[6] };
}

/** Equality (`a=b`, `a!=b`) and existence (`a`, `!a`) terms joined by commas, as the API server reads them. */
export function matchesSelector(labels: Record<string, string> = {}, selector?: string): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const t = term.trim();
    const unequal = /^([^!=]+)!=(.*)$/.exec(t);
    if (unequal) return labels[unequal[1]] !== unequal[2];
    const equal = /^([^!=]+)==?(.*)$/.exec(t);
    if (equal) return labels[equal[1]] === equal[2];
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Paths of the fields `before` set and `after` leaves out (lists count as one field). */
function droppedPaths(before: any, after: any, at: string[] = []): string[][] {
  if (before === null || typeof before !== 'object' || Array.isArray(before)) return [];
  return Object.keys(before).flatMap((k) =>
    after?.[k] === undefined ? [[...at, k]] : droppedPaths(before[k], after[k], [...at, k]),
  );
}

function removeAt(obj: any, path: string[]): void {
  const parent = path.slice(0, -1).reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
  if (parent && typeof parent === 'object') delete parent[path[path.length - 1]];
}

export class FakeApiServer {
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly store = new Map<string, Obj>();
  /** Per object and field manager: the body it last applied. */
  private readonly applied = new Map<string, Map<string, Obj>>();
  private readonly history: WatchEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 1;
  /** Watches from a resourceVersion older than this get 410 Gone. */
  private compactedBefore = 0;
  private failures: { count: number; match: (method: string, path: string) => boolean; status: number }[] = [];
  public readonly requests: RequestRecord[] = [];
  /** The query of every watch request, to check what clients ask for (e.g. allowWatchBookmarks). */
  public readonly watchQueries: URLSearchParams[] = [];
  public port = 0;

  public async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `http://127.0.0.1:${this.port}`;
  }

  public async stop(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A kubeconfig for this server; `token` tells requests from different clients apart. */
  public kubeconfig(token = 'fake-token'): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'fake',
      clusters: [
        { name: 'fake', cluster: { server: `http://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'operator', user: { token } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'operator' } }],
    });
  }

  // ---- what tests see and do ----

  public get resourceVersion(): number {
    return this.rv;
  }

  public list(kind: string, namespace?: string): Obj[] {
    return [...this.store.values()]
      .filter((o) => o.kind === kind && (!namespace || o.metadata.namespace === namespace))
      .map(clone);
  }

  /** How many objects of `kind` satisfy `test`, without copying them (for polling large stores). */
  public count(kind: string, test: (o: Readonly<Obj>) => boolean = () => true): number {
    let n = 0;
    for (const o of this.store.values()) if (o.kind === kind && test(o)) n++;
    return n;
  }

  public get(kind: string, namespace: string, name: string): Obj | undefined {
    const o = this.store.get(this.key(this.typeOf(kind), namespace, name));
    return o && clone(o);
  }

  /** Creates or replaces an object as a cluster component would (no resourceVersion check). */
  public put(obj: Obj): Obj {
    const type = this.typeOf(obj.kind);
    const key = this.key(type, obj.metadata.namespace, obj.metadata.name);
    const old = this.store.get(key);
    return this.write(
      type,
      key,
      old ? { ...clone(obj), metadata: { ...old.metadata, ...obj.metadata } } : this.fresh(clone(obj)),
      old,
    );
  }

  /** Sets an object's status as its controller would. */
  public patchStatus(kind: string, namespace: string, name: string, status: any): Obj {
    const type = this.typeOf(kind);
    const key = this.key(type, namespace, name);
    const old = this.store.get(key);
    if (!old) throw new Error(`${kind} ${namespace}/${name} not found`);
    return this.write(type, key, { ...clone(old), status: mergePatch(old.status, status) }, old);
  }

  public remove(kind: string, namespace: string, name: string): void {
    const type = this.typeOf(kind);
    const key = this.key(type, namespace, name);
    const old = this.store.get(key);
    if (old) this.erase(type, key, old);
  }

  /** Ends every open watch, as an API server restart or a load balancer would. */
  public dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Forgets watch history: watches resuming from an older resourceVersion get 410 Gone. */
  public compact(): void {
    this.compactedBefore = this.rv;
    this.history.length = 0;
  }

  /** Makes the next `count` requests matching `match` fail with `status`. */
  public failNext(count: number, match: (method: string, path: string) => boolean, status = 500): void {
    this.failures.push({ count, match, status });
  }

  public writes(filter: (r: RequestRecord) => boolean = () => true): RequestRecord[] {
    return this.requests.filter((r) => r.method !== 'GET' && filter(r));
  }

  // ---- internals ----

  private typeOf(kind: string): ResourceType {
    const type = TYPES.find((t) => t.kind === kind);
    if (!type) throw new Error(`unknown kind ${kind}`);
    return type;
  }

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.plural}/${namespace ?? ''}/${name}`;
  }

  private fresh(obj: Obj): Obj {
    obj.metadata = {
      ...obj.metadata,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      generation: 1,
    };
    return obj;
  }

  private write(type: ResourceType, key: string, obj: Obj, old: Obj | undefined): Obj {
    obj.apiVersion = type.apiVersion;
    obj.kind = type.kind;
    if (old && JSON.stringify(old.spec) !== JSON.stringify(obj.spec))
      obj.metadata.generation = (old.metadata.generation ?? 1) + 1;
    obj.metadata.resourceVersion = String(++this.rv);
    this.store.set(key, obj);
    this.emit(type, { rv: this.rv, type: old ? 'MODIFIED' : 'ADDED', object: clone(obj) });
    return clone(obj);
  }

  private erase(type: ResourceType, key: string, old: Obj): void {
    this.store.delete(key);
    const gone = { ...clone(old), metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.emit(type, { rv: this.rv, type: 'DELETED', object: gone });
    // Garbage collection: a dependent goes with its last owner (one that has others left stays).
    const uids = new Set([...this.store.values()].map((o) => o.metadata.uid));
    for (const [k, o] of [...this.store.entries()]) {
      const owners: any[] = o.metadata.ownerReferences ?? [];
      if (this.store.has(k) && owners.some((r) => r.uid === old.metadata.uid) && owners.every((r) => !uids.has(r.uid)))
        this.erase(this.typeOf(o.kind), k, o);
    }
  }

  private emit(type: ResourceType, event: WatchEvent): void {
    this.history.push(event);
    for (const w of this.watchers) {
      if (this.watchSees(w, event.object, type))
        w.res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
  }

  private watchSees(w: Watcher, obj: Obj, type: ResourceType): boolean {
    return (
      w.type === type &&
      (!w.namespace || obj.metadata.namespace === w.namespace) &&
      matchesSelector(obj.metadata.labels, w.selector)
    );
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }

  private statusError(res: http.ServerResponse, code: number, reason: string, message: string): void {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
  }

  private async body(req: http.IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const watch = url.searchParams.get('watch') === 'true';
    const user = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    const record: RequestRecord = { method, path: url.pathname, status: 0, watch, user };
    if (watch) this.watchQueries.push(url.searchParams);
    this.requests.push(record);
    const originalWriteHead = res.writeHead.bind(res);
    res.writeHead = ((status: number, ...rest: any[]) => {
      record.status = status;
      return originalWriteHead(status, ...rest);
    }) as never;

    const failure = this.failures.find((f) => f.count > 0 && f.match(method, url.pathname));
    if (failure) {
      failure.count--;
      return this.statusError(res, failure.status, 'InternalError', 'injected failure');
    }
    const target = parsePath(url);
    if (!target) return this.statusError(res, 404, 'NotFound', `no such path ${url.pathname}`);
    const { type, namespace, name, subresource } = target;
    try {
      if (method === 'GET' && !name)
        return watch ? this.watch(url, type, namespace, res) : this.listResponse(url, type, namespace, res);
      if (method === 'POST' && !name) return this.create(type, namespace!, await this.body(req), res);
      const key = this.key(type, namespace, name!);
      const existing = this.store.get(key);
      if (method === 'GET')
        return existing
          ? this.send(res, 200, existing)
          : this.statusError(res, 404, 'NotFound', `${type.plural} "${name}" not found`);
      if (method === 'DELETE') {
        if (!existing) return this.statusError(res, 404, 'NotFound', `${type.plural} "${name}" not found`);
        this.erase(type, key, existing);
        return this.send(res, 200, { kind: 'Status', status: 'Success' });
      }
      const body = await this.body(req);
      const contentType = String(req.headers['content-type'] ?? '');
      const manager = url.searchParams.get('fieldManager') ?? '';
      let applyBase: Obj | undefined;
      if (method === 'PATCH' && contentType.startsWith('application/apply-patch') && !subresource) {
        const byManager = this.applied.get(key) ?? new Map<string, Obj>();
        this.applied.set(key, byManager);
        const previous = existing ? byManager.get(manager) : undefined;
        byManager.set(manager, clone(body));
        if (!existing) return this.create(type, namespace!, body, res);
        for (const removed of previous ? droppedPaths(previous, body) : []) {
          applyBase ??= clone(existing);
          removeAt(applyBase, removed);
        }
      }
      if (!existing) return this.statusError(res, 404, 'NotFound', `${type.plural} "${name}" not found`);
      let next: Obj;
      if (method === 'PUT') {
        if (body.metadata?.resourceVersion !== existing.metadata.resourceVersion) {
          return this.statusError(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${type.plural} "${name}": the object has ` +
              `been modified; please apply your changes to the latest version and try again`,
          );
        }
        next = { ...body, metadata: { ...existing.metadata, ...body.metadata } };
      } else if (
        method === 'PATCH' &&
        (contentType.startsWith('application/merge-patch') || contentType.startsWith('application/apply-patch'))
      ) {
        const wanted = body.metadata?.resourceVersion;
        if (wanted && wanted !== existing.metadata.resourceVersion) {
          return this.statusError(
            res,
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified`,
          );
        }
        // A patch without metadata (e.g. `{ spec: { suspend: false } }`) leaves the metadata as it is.
        const patch = body.metadata ? { ...body, metadata: { ...body.metadata, resourceVersion: null } } : body;
        next = mergePatch(applyBase ?? existing, patch);
      } else {
        return this.statusError(res, 415, 'UnsupportedMediaType', `unsupported ${method} ${contentType}`);
      }
      // The status subresource changes status only; the main resource never changes status.
      if (type.statusSubresource) {
        next =
          subresource === 'status'
            ? { ...clone(existing), status: next.status }
            : { ...next, status: clone(existing.status) };
      }
      if (JSON.stringify(next) === JSON.stringify(existing)) return this.send(res, 200, existing);
      return this.send(res, 200, this.write(type, key, next, existing));
    } catch (error) {
      return this.statusError(res, 500, 'InternalError', (error as Error).message);
    }
  }

  private create(type: ResourceType, namespace: string, body: Obj, res: http.ServerResponse): void {
    const obj = clone(body);
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = `${obj.metadata.generateName}${randomUUID().slice(0, 5)}`;
    obj.metadata.namespace = namespace;
    const key = this.key(type, namespace, obj.metadata.name);
    if (this.store.has(key))
      return this.statusError(res, 409, 'AlreadyExists', `${type.plural} "${obj.metadata.name}" already exists`);
    // A create through the API ignores the status of a custom resource with a status subresource.
    if (type.statusSubresource && type.apiVersion.startsWith('mall.example.com/')) delete obj.status;
    this.send(res, 201, this.write(type, key, this.fresh(obj), undefined));
  }

  private listResponse(url: URL, type: ResourceType, namespace: string | undefined, res: http.ServerResponse): void {
    const selector = url.searchParams.get('labelSelector') ?? undefined;
    const items = [...this.store.values()].filter(
      (o) =>
        o.kind === type.kind &&
        (!namespace || o.metadata.namespace === namespace) &&
        matchesSelector(o.metadata.labels, selector),
    );
    this.send(res, 200, {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private watch(url: URL, type: ResourceType, namespace: string | undefined, res: http.ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') || this.rv);
    const watcher: Watcher = { type, namespace, selector: url.searchParams.get('labelSelector') ?? undefined, res };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (from < this.compactedBefore) {
      const message = `too old resource version: ${from} (${this.compactedBefore})`;
      const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', message };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    for (const event of this.history) {
      if (event.rv > from && this.watchSees(watcher, event.object, type))
        res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }
}
