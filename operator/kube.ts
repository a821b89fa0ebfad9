/**
 * The operator's edge to the API server: plain JSON over the same transport @kubernetes/client-node
 * uses (its KubeConfig for credentials and TLS, node-fetch for requests), so objects stay as the API
 * server wrote them, and every request is counted.
 */
import { KubeConfig } from '@kubernetes/client-node';
import fetch, { RequestInit } from 'node-fetch';

export class ApiError extends Error {
  constructor(public readonly statusCode: number, public readonly reason: string, message: string) {
    super(message);
  }
}

export interface RequestOptions {
  readonly query?: Record<string, string | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
}

export type RequestListener = (method: string, path: string, statusCode: number) => void;

/** Headers as a plain object, whichever form the kubeconfig's authenticator produced. */
function plainHeaders(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (typeof (headers as any).forEach === 'function' && !Array.isArray(headers)) {
    const out: Record<string, string> = {};
    (headers as any).forEach((value: string, key: string) => { out[key] = value; });
    return out;
  }
  return Array.isArray(headers) ? Object.fromEntries(headers) : { ...(headers as Record<string, string>) };
}

export class KubeClient {
  private readonly listeners: RequestListener[] = [];

  constructor(public readonly config: KubeConfig) {}

  public onRequest(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  public async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('no current cluster in the kubeconfig');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const init: RequestInit = await this.config.applyToFetchOptions({});
    init.method = method;
    init.headers = { ...plainHeaders(init.headers), Accept: 'application/json' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      (init.headers as Record<string, string>)['Content-Type'] = options.contentType ?? 'application/json';
    }
    const response = await fetch(url.toString(), { ...init, timeout: 30_000 } as RequestInit);
    for (const listener of this.listeners) listener(method, path, response.status);
    const text = await response.text();
    const body = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      throw new ApiError(response.status, body?.reason ?? response.statusText, `${method} ${path}: ${response.status} ${body?.message ?? response.statusText}`);
    }
    return body as T;
  }

  public get<T = any>(path: string): Promise<T> {
    return this.request('GET', path);
  }

  public list<T = any>(path: string, labelSelector?: string): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
    return this.request('GET', path, { query: { labelSelector } });
  }

  public create<T = any>(path: string, body: unknown): Promise<T> {
    return this.request('POST', path, { body });
  }

  public replace<T = any>(path: string, body: unknown): Promise<T> {
    return this.request('PUT', path, { body });
  }

  public mergePatch<T = any>(path: string, body: unknown): Promise<T> {
    return this.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }

  /** Server-side apply: the operator owns the fields it sends, and only those. */
  public apply<T = any>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return this.request('PATCH', path, { body, contentType: 'application/apply-patch+yaml', query: { fieldManager, force: 'true' } });
  }

  public delete(path: string): Promise<unknown> {
    return this.request('DELETE', path, { body: { propagationPolicy: 'Background' } });
  }
}

/** The REST path of a resource collection, or of one object when `name` is given. */
export function resourcePath(apiVersion: string, plural: string, namespace?: string, name?: string, subresource?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${plural}${name ? `/${name}` : ''}${subresource ? `/${subresource}` : ''}`;
}

export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 409;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.statusCode === 404;
}
