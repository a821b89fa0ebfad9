/**
 * The operator's edge to the API server: plain JSON, with @kubernetes/client-node's KubeConfig for
 * credentials and TLS (its fetch options: headers and agent) over Node's own http(s) client, so objects
 * stay as the API server wrote them, connections are kept alive, and every request is counted.
 * Watches use client-node's Watch.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from './kube-object';

export class ApiError extends Error {
  constructor(
    public readonly statusCode: number,
    public readonly reason: string,
    message: string,
    public readonly serverMessage = message,
  ) {
    super(message);
  }
}

/**
 * What a patch is answered with: the object's metadata alone (PartialObjectMetadata), or the whole object from a
 * server that cannot (the second media type). The operator reads a write's answer for its resourceVersion only (the
 * object itself comes back through its watches), and the whole answer, a CronJob's job template above all, was parsed
 * and collected twice per Backup: ~5% of the operator's CPU in the initial sync of 3 000 Backups on the real API
 * server, which also encoded it. The field ownership (metadata.managedFields) is metadata and still comes back: the
 * API server has no way to leave it out of an answer.
 */
export const WRITE_ANSWER = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json';

/** A write's answer: the metadata of the object as written (undefined when the server answers with no body). */
export interface WriteAnswer {
  readonly metadata: KubeObject['metadata'];
}

export interface RequestOptions {
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** The media types the answer may come in. @default application/json */
  readonly accept?: string;
  /** Give up after this long without an answer. @default 30 s */
  readonly timeoutMs?: number;
  /** Not cut off by `fenceWrites` (the Lease calls, which win leadership back). */
  readonly unfenced?: boolean;
}

/**
 * A write refused, or cut off in flight, because this replica is not leading: its next leader must be the only
 * writer. Passing trouble, not the API server's answer.
 */
export class WritesFencedError extends Error {
  constructor(method: string, path: string, why: string) {
    super(`${method} ${path}: not sent, this replica is not leading (${why})`);
  }
}

export type RequestListener = (method: string, path: string, statusCode: number) => void;

/** What client-node's KubeConfig.applyToFetchOptions yields that the requests use. */
interface RequestSettings {
  headers?: unknown;
  agent?: unknown;
}

/** Headers as a plain object, whichever form the kubeconfig's authenticator produced. */
function plainHeaders(headers: unknown): Record<string, string> {
  if (!headers) return {};
  if (typeof (headers as any).forEach === 'function' && !Array.isArray(headers)) {
    const out: Record<string, string> = {};
    (headers as any).forEach((value: string, key: string) => {
      out[key] = value;
    });
    return out;
  }
  return Array.isArray(headers) ? Object.fromEntries(headers) : { ...(headers as Record<string, string>) };
}

/** Objects per page of a LIST (client-go's reflector reads 500 at a time). */
export const LIST_PAGE = 500;

/** How long request settings (credentials, TLS agent) are reused before the kubeconfig is read again. */
const SETTINGS_TTL_MS = 60_000;

export class KubeClient {
  private readonly listeners: RequestListener[] = [];
  private settings?: { init: RequestSettings; expires: number };
  /** Why writes are cut off; undefined while they may go out. */
  private fenced?: string;
  /** Aborted when writes are fenced: every write in flight then carries its signal. */
  private writes = new AbortController();
  /** Asked before each write leaves (see `guardWrites`). */
  private guard?: () => string | undefined;

  constructor(public readonly config: KubeConfig) {}

  /**
   * From now on, until `unfenceWrites`, no write starts and every write in flight is aborted (its socket
   * destroyed, so a request not yet sent is never sent). Leader election calls this when the renew deadline
   * passes: client-go exits the process there; fencing the client does the same for the API server's sake
   * while the process keeps its caches and its probes, ready to lead again.
   */
  public fenceWrites(why: string): void {
    this.fenced = why;
    this.writes.abort(why);
  }

  /**
   * `check` is asked right before each write leaves; a reason refuses it. Leader election checks its term by the
   * clock here: the fence alone waits for a timer, which a busy event loop runs late.
   */
  public guardWrites(check: () => string | undefined): void {
    this.guard = check;
  }

  public unfenceWrites(): void {
    this.fenced = undefined;
    this.writes = new AbortController();
  }

  public onRequest(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  public async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const fence = method === 'GET' || options.unfenced ? undefined : this.writes.signal;
    const refusal = () => (fence?.aborted ? String(fence.reason) : fence && (this.fenced ?? this.guard?.()));
    const refused = refusal();
    if (refused) throw new WritesFencedError(method, path, refused);
    const settings = await this.requestSettings();
    const late = refusal();
    if (late) throw new WritesFencedError(method, path, late);
    const headers: Record<string, string> = {
      ...plainHeaders(settings.headers),
      Accept: options.accept ?? 'application/json',
    };
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const transport = url.protocol === 'https:' ? https : http;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 30_000;
      const req = transport.request(
        url,
        { method, headers, agent: settings.agent as http.Agent | undefined, timeout: timeoutMs, signal: fence },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', (error) =>
        reject(fence?.aborted ? new WritesFencedError(method, path, String(fence.reason)) : error),
      );
      req.end(payload);
    });
    for (const listener of this.listeners) listener(method, path, status);
    const body = parseAnswer(text);
    if (status < 200 || status >= 300) {
      // Not every refusal is a Status object: a group the API server does not serve answers 404 with the text
      // "404 page not found", a proxy in between may answer in HTML. The status code still decides.
      const said = body.json?.message ?? text.trim().slice(0, 200);
      throw new ApiError(
        status,
        body.json?.reason ?? String(status),
        `${method} ${path}: ${status} ${said}`.trim(),
        body.json?.message ?? text.slice(0, 1024),
      );
    }
    if (text && body.json === undefined) {
      throw new Error(`${method} ${path}: answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    return body.json as T;
  }

  /**
   * Credentials and the TLS agent, built once a minute rather than per request: a new agent per request
   * means a new connection (and TLS handshake) per request. Rebuilding picks up rotated tokens.
   */
  private async requestSettings(): Promise<RequestSettings> {
    if (!this.settings || this.settings.expires < Date.now()) {
      const init = (await this.config.applyToFetchOptions({})) as RequestSettings;
      const agent = init.agent as { keepAlive?: boolean; keepAliveMsecs?: number } | undefined;
      if (agent && typeof agent === 'object') {
        agent.keepAlive = true;
        agent.keepAliveMsecs = 30_000;
      }
      this.settings = { init, expires: Date.now() + SETTINGS_TTL_MS };
    }
    return this.settings.init;
  }

  public get<T = any>(path: string, options: { timeoutMs?: number; unfenced?: boolean } = {}): Promise<T> {
    return this.request('GET', path, options);
  }

  /**
   * Every object under `path`, read in pages of LIST_PAGE like client-go's reflector: one answer for thousands of
   * Backups is a string of tens of MiB held while it is parsed, which set the operator's peak memory. A continue
   * token that expired (410) is answered, as client-go does, by one unpaged LIST. `each` is called on every item as
   * its page arrives (an informer trims there, so only one page is ever held whole).
   */
  public async list<T = any>(
    path: string,
    labelSelector?: string,
    each?: (item: T) => void,
  ): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
    const items: T[] = [];
    let page: { items?: T[]; metadata?: { resourceVersion?: string; continue?: string } } | undefined;
    do {
      const token = page?.metadata?.continue;
      try {
        page = await this.request('GET', path, { query: { labelSelector, limit: String(LIST_PAGE), continue: token } });
      } catch (error) {
        if (!token || (error as ApiError).statusCode !== 410) throw error;
        const whole = await this.request('GET', path, { query: { labelSelector } });
        if (each) for (const item of whole.items ?? []) each(item);
        return whole;
      }
      for (const item of page!.items ?? []) {
        each?.(item);
        items.push(item);
      }
    } while (page?.metadata?.continue);
    return { ...page, items, metadata: { resourceVersion: page?.metadata?.resourceVersion } };
  }

  public create<T = any>(
    path: string,
    body: unknown,
    options: { timeoutMs?: number; unfenced?: boolean } = {},
  ): Promise<T> {
    return this.request('POST', path, { body, ...options });
  }

  public replace<T = any>(
    path: string,
    body: unknown,
    options: { timeoutMs?: number; unfenced?: boolean } = {},
  ): Promise<T> {
    return this.request('PUT', path, { body, ...options });
  }

  /** Answered with the object's metadata only (see `WRITE_ANSWER`). */
  public mergePatch(path: string, body: unknown): Promise<WriteAnswer | undefined> {
    return this.request('PATCH', path, { body, contentType: 'application/merge-patch+json', accept: WRITE_ANSWER });
  }

  /** Server-side apply: the operator owns the fields it sends, and only those. Answered with metadata only. */
  public apply(path: string, body: unknown, fieldManager: string): Promise<WriteAnswer | undefined> {
    return this.request('PATCH', path, {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: 'true' },
      accept: WRITE_ANSWER,
    });
  }

  /** With `uid`, deleted only if the object under that name is still the one looked at (else 409). */
  public delete(path: string, uid?: string): Promise<unknown> {
    return this.request('DELETE', path, {
      body: { propagationPolicy: 'Background', ...(uid && { preconditions: { uid } }) },
    });
  }
}

/** The REST path of a resource collection, or of one object when `name` is given. */
export function resourcePath(
  apiVersion: string,
  plural: string,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const scope = namespace ? `/namespaces/${namespace}` : '';
  return `${base}${scope}/${plural}${name ? `/${name}` : ''}${subresource ? `/${subresource}` : ''}`;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 409;
}

/**
 * The API server refused the request as asked (bad request, forbidden, invalid): sending it again
 * unchanged gets the same answer, so the Backup's status must say why. Conflicts, throttling and
 * server errors are passing trouble instead.
 */
export function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && [400, 403, 404, 422].includes(error.statusCode);
}

/** The answer's JSON, or undefined when it is empty or not JSON (a plain-text or HTML refusal). */
function parseAnswer(text: string): { json?: any } {
  if (!text) return {};
  try {
    return { json: JSON.parse(text) };
  } catch {
    return {};
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 404;
}
