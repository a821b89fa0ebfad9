/**
 * A thin fault-injecting HTTPS reverse proxy in front of the real API server, on 127.0.0.1, for the faults the
 * real one cannot produce on demand: an answer with a chosen status to chosen requests, a request that hangs,
 * watches cut off. Everything else is passed through unchanged (the client's bearer token included, so the
 * API server still authenticates and authorizes the client). One proxy per operator process: what it saw is
 * that operator's traffic, in order, with when each request was forwarded to the API server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request as httpsRequest, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { selfSignedCertificate } from '../tls';

export interface Seen {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly watch: boolean;
  /** When it arrived (Date.now()). */
  readonly at: number;
  /** When it was sent on to the API server; undefined when a rule answered it or the client left first. */
  forwardedAt?: number;
  /** The status the client got (0 while pending or when the client left first). */
  status: number;
  /** The client closed the connection before an answer. */
  abandoned?: boolean;
  /** Which rule acted on it. */
  rule?: string;
  /** A watch's ERROR event (e.g. 410 Gone: the resourceVersion asked for is no longer in etcd), as sent. */
  watchError?: string;
  /** A write's request body (its first 2 000 characters): what an unexpected write wanted, for a failure's message. */
  body?: string;
}

export interface Rule {
  readonly name: string;
  /** Matched against the method (GET, POST, ...); `WATCH` matches GET with ?watch=true only. */
  readonly verb?: string;
  readonly path: RegExp;
  /** Answer this many matching requests, then pass the rest through. @default every one */
  readonly times?: number;
  /** Answer with this status and a Kubernetes Status body. */
  readonly code?: number;
  /** Hold matching requests until `release()` (then forward those whose client is still there) or the client leaves. */
  readonly hang?: boolean;
  /** Forward it, but cut the answer off after its headers and first chunk, as an API server killed mid-answer does. */
  readonly cut?: boolean;
}

export interface ActiveRule {
  /** How many requests it acted on. */
  readonly hits: number;
  /** Stops matching; held requests whose client is still connected are forwarded. */
  release(): void;
}

const REASONS: Record<number, string> = {
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Expired',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
};

export class FaultProxy {
  public readonly seen: Seen[] = [];
  private server?: Server;
  private readonly dir = mkdtempSync(join(tmpdir(), 'mall-backup-proxy-'));
  private readonly rules: (Rule & { hits: number; held: (() => void)[]; active: boolean })[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly upstream: URL;
  private readonly agent: Agent;
  private certificate = '';

  /** `kubeconfig`: the admin kubeconfig of the API server behind it (its address and CA). */
  constructor(kubeconfig: string) {
    const config = parse(readFileSync(kubeconfig, 'utf8'));
    const cluster = config.clusters[0].cluster;
    this.upstream = new URL(cluster.server);
    this.agent = new Agent({ keepAlive: true, ca: Buffer.from(cluster['certificate-authority-data'], 'base64') });
  }

  public get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  public async start(): Promise<this> {
    // Its clients trust exactly this certificate.
    const tls = selfSignedCertificate(this.dir, 'mall-backup-fault-proxy');
    this.certificate = tls.cert.toString('utf8');
    this.server = createServer(tls, (req, res) => this.handle(req, res));
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return this;
  }

  /** A kubeconfig for this proxy that logs in with `token` (a ServiceAccount's), written beside the proxy's keys. */
  public kubeconfig(token: string, namespace = 'default'): string {
    const file = join(this.dir, `kubeconfig-${Math.random().toString(36).slice(2, 8)}`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'proxy',
            cluster: {
              server: this.url,
              'certificate-authority-data': Buffer.from(this.certificate).toString('base64'),
            },
          },
        ],
        users: [{ name: 'sa', user: { token } }],
        contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'sa', namespace } }],
        'current-context': 'proxy',
      }),
      { mode: 0o600 },
    );
    return file;
  }

  public rule(rule: Rule): ActiveRule {
    const entry = { ...rule, hits: 0, held: [] as (() => void)[], active: true };
    this.rules.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      release: () => {
        entry.active = false;
        for (const forward of entry.held.splice(0)) forward();
      },
    };
  }

  /** Cuts every watch now open, as a load balancer or an API server going away would. */
  public dropWatches(): number {
    const open = [...this.watches];
    for (const res of open) res.destroy();
    this.watches.clear();
    return open.length;
  }

  public async stop(): Promise<void> {
    for (const rule of this.rules) rule.active = false;
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise((done) => (this.server ? this.server.close(done) : done(undefined)));
    this.agent.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.upstream);
    const watch = req.method === 'GET' && url.searchParams.get('watch') === 'true';
    const seen: Seen = {
      method: req.method!,
      path: url.pathname,
      query: url.searchParams,
      watch,
      at: Date.now(),
      status: 0,
    };
    this.seen.push(seen);
    const chunks: Buffer[] = [];
    let gone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        gone = true;
        if (seen.status === 0) seen.abandoned = true;
      }
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'GET') seen.body = Buffer.concat(chunks).toString('utf8').slice(0, 2000);
      const rule = this.rules.find(
        (r) =>
          r.active &&
          (r.times === undefined || r.hits < r.times) &&
          (r.verb === undefined || (r.verb === 'WATCH' ? watch : r.verb === req.method && !watch)) &&
          r.path.test(url.pathname),
      );
      const forward = (cut = false) => {
        if (gone) return;
        seen.forwardedAt = Date.now();
        this.forward(req, res, url, Buffer.concat(chunks), seen, cut);
      };
      if (!rule) return forward();
      rule.hits++;
      (seen as { rule?: string }).rule = rule.name;
      if (rule.hang) return void rule.held.push(forward);
      if (rule.cut) return forward(true);
      const code = rule.code ?? 500;
      seen.status = code;
      res.writeHead(code, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: `injected failure (${rule.name})`,
          reason: REASONS[code] ?? 'InternalError',
          code,
        }),
      );
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, seen: Seen, cut: boolean): void {
    const headers = { ...req.headers, host: this.upstream.host };
    const upstream = httpsRequest(url, { method: req.method, headers, agent: this.agent }, (answer) => {
      seen.status = answer.statusCode ?? 0;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      // A watch's client waits for the headers, which the API server sends before any event.
      res.flushHeaders();
      if (cut) {
        answer.once('data', (chunk: Buffer) => {
          res.write(chunk.subarray(0, Math.ceil(chunk.length / 2)));
          answer.destroy();
          res.destroy();
        });
        return;
      }
      if (seen.watch) {
        answer.on('data', (chunk: Buffer) => {
          const text = chunk.toString('utf8');
          if (!seen.watchError && text.includes('"type":"ERROR"')) seen.watchError = text.trim();
        });
        this.watches.add(res);
        res.on('close', () => {
          this.watches.delete(res);
          answer.destroy();
        });
      }
      // The API server's connection dying mid-answer (a crash, a restart) must reach the client as it would
      // without the proxy: `pipe` passes no error on, and the client would wait for ever on a half answer.
      answer.on('close', () => {
        if (!answer.complete) res.destroy();
      });
      answer.pipe(res);
    });
    // The client left: so does the request to the API server (a request not yet sent is never sent).
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }
}
