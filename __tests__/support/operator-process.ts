/** Starts the bundled operator (what the image runs) as a child process against a fake API server. */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FakeApiServer } from './fake-apiserver';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildOperator } = require('../../scripts/build-operator.js');

let bundle: Promise<string> | undefined;

/**
 * Builds the operator bundle once per test file. Its temp folder is removed when the test process exits
 * (the bundle is used until the last test of the file).
 */
export function operatorBundle(): Promise<string> {
  if (!bundle) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-op-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    bundle = buildOperator(path.join(dir, 'operator.cjs')) as Promise<string>;
  }
  return bundle!;
}

/** Polls `check` every `intervalMs` until it returns a value, failing after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class OperatorProcess {
  public readonly logs: any[] = [];
  private exit?: Promise<number | null>;
  private child?: ChildProcess;

  constructor(
    private readonly server: FakeApiServer,
    public readonly identity: string,
    private readonly extraArgs: string[] = [],
    private readonly env: Record<string, string> = {},
  ) {}

  public async start(options: { waitForSync?: boolean } = {}): Promise<this> {
    const file = await operatorBundle();
    const kubeconfigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-kc-'));
    const kubeconfig = path.join(kubeconfigDir, 'config');
    fs.writeFileSync(kubeconfig, this.server.kubeconfig(this.identity));
    this.child = spawn(
      process.execPath,
      [
        file,
        `--kubeconfig=${kubeconfig}`,
        `--identity=${this.identity}`,
        '--metrics-port=0',
        '--probe-port=0',
        '--bind-address=127.0.0.1',
        '--lease-duration-seconds=3',
        '--lease-retry-seconds=1',
        '--log-level=debug',
        ...this.extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...this.env } },
    );
    let buffer = '';
    this.child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.trim()) this.logs.push(JSON.parse(line));
    });
    let stderr = '';
    this.child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    this.exit = new Promise((resolve) =>
      this.child!.on('exit', (code) => {
        fs.rmSync(kubeconfigDir, { recursive: true, force: true });
        if (code !== 0 && stderr) this.logs.push({ msg: 'stderr', stderr });
        resolve(code);
      }),
    );
    if (options.waitForSync === false) await waitFor(`${this.identity} to listen`, () => this.ports);
    else
      await waitFor(
        `${this.identity} to sync its caches`,
        () => this.logs.some((l) => l.msg === 'caches synced'),
        15_000,
      );
    return this;
  }

  public get ports(): { probePort: number; metricsPort: number } {
    return this.logs.find((l) => l.msg === 'starting');
  }

  public async get(which: 'probe' | 'metrics', urlPath: string): Promise<{ status: number; text: string }> {
    const port = which === 'probe' ? this.ports.probePort : this.ports.metricsPort;
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
    return { status: res.status, text: await res.text() };
  }

  public isLeader(): boolean {
    return this.logs.some((l) => l.msg === 'became leader');
  }

  /** SIGTERM, then the exit code. */
  public async stop(): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill('SIGTERM');
    return Promise.race([
      this.exit!,
      new Promise<null>((_, reject) =>
        setTimeout(() => reject(new Error('operator did not stop within 10 s')), 10_000),
      ),
    ]);
  }

  public kill(): void {
    this.child?.kill('SIGKILL');
  }
}
