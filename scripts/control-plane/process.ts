/**
 * One control-plane process (etcd, kube-apiserver, kube-controller-manager): started with its log in a
 * file, stopped by PID (SIGTERM, then SIGKILL after a bounded wait), restartable with the same arguments
 * (fault tests restart the API server mid-run). Readiness is polled with a bounded loop that fails at once,
 * with the log's tail, if the process exits.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

export class Component {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  public readonly logPath: string;

  constructor(
    public readonly name: string,
    private readonly binary: string,
    private readonly args: string[],
    dataDir: string,
  ) {
    this.logPath = join(dataDir, `${name}.log`);
  }

  public get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  public start(): void {
    if (this.pid !== undefined) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    const log = openSync(this.logPath, 'a');
    try {
      this.child = spawn(this.binary, this.args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined); // a missing binary shows as an exit; `failure()` reports it
  }

  /** Why the process is not running, or undefined while it runs. */
  public failure(): string | undefined {
    const child = this.child;
    if (!child) return `${this.name} was never started`;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) return undefined;
    const how =
      child.pid === undefined ? `could not start ${this.binary}` : `exited (${child.exitCode ?? child.signalCode})`;
    return `${this.name} ${how}; the end of ${this.logPath}:\n${this.logTail()}`;
  }

  public logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once the process is gone. */
  public async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || this.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** For process-exit handlers, which cannot wait. */
  public killNow(): void {
    if (this.pid !== undefined) this.child!.kill('SIGKILL');
  }

  /** A crash: SIGKILL, no chance to clean up. Resolves once the process is gone. */
  public async kill(): Promise<void> {
    if (this.pid === undefined) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Stops (gracefully, or as a crash with `crash: true`) and starts again with the same arguments and data.
   * A graceful stop of the API server takes ~10 s while clients hold watches open.
   */
  public async restart(options: { crash?: boolean } = {}): Promise<void> {
    await (options.crash ? this.kill() : this.stop());
    this.start();
  }
}

/** Polls `check` until it returns true, `component` dies, or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  component?: Component,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let last = '';
  for (;;) {
    const dead = component?.failure();
    if (dead) throw new Error(`waiting for ${what}: ${dead}`);
    try {
      if (await check()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      const log = component ? `\nthe end of ${component.logPath}:\n${component.logTail()}` : '';
      throw new Error(`${what} not ready after ${timeoutMs / 1000}s${last ? ` (last error: ${last})` : ''}${log}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}

export interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A GET with a short timeout: the status code and body, or an error. */
export function get(url: string, tls?: Tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', timeout: 2000, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
