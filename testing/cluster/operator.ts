/**
 * The bundled operator (what the image runs) as a process on this machine, logged in to the real API server
 * with a kubeconfig (a ServiceAccount token from `serviceAccountLogin`). Its JSON log lines are kept for
 * the tests to wait on; it is stopped by PID.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { operatorBundle } from '../operator-process';
import { eventually } from './cluster';

export class RealOperator {
  public readonly lines: any[] = [];
  public output = '';
  private child?: ChildProcess;
  private exited?: Promise<unknown>;

  constructor(
    private readonly kubeconfig: string,
    public readonly identity: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
    /** Flags for node itself (e.g. --cpu-prof). */
    private readonly nodeArgs: string[] = [],
  ) {}

  /** Starts the process and waits for its caches to sync (or, with `waitForSync: false`, for its ports). */
  public async start(options: { waitForSync?: boolean } = {}): Promise<this> {
    this.child = spawn(
      process.execPath,
      [
        ...this.nodeArgs,
        await operatorBundle(),
        `--kubeconfig=${this.kubeconfig}`,
        `--identity=${this.identity}`,
        '--metrics-port=0',
        '--probe-port=0',
        '--bind-address=127.0.0.1',
        // Debug unless the caller picks a level (the operator refuses a flag given twice).
        ...(this.args.some((a) => a.startsWith('--log-level')) ? [] : ['--log-level=debug']),
        ...this.args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...this.env } },
    );
    this.exited = new Promise((done) => this.child!.once('exit', done));
    let buffer = '';
    this.child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      this.output += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          // not a log line
        }
      }
    });
    this.child.stderr!.on('data', (chunk) => (this.output += chunk));
    await this.waitFor(options.waitForSync === false ? 'starting' : 'caches synced').catch((e) => {
      throw new Error(`${e.message}; its output:\n${this.output.split('\n').slice(-15).join('\n')}`);
    });
    return this;
  }

  /** A GET of the probe or metrics endpoint. */
  public async get(which: 'probe' | 'metrics', path: string): Promise<{ status: number; text: string }> {
    const ports = this.lines.find((l) => l.msg === 'starting');
    const res = await fetch(`http://127.0.0.1:${which === 'probe' ? ports.probePort : ports.metricsPort}${path}`);
    return { status: res.status, text: await res.text() };
  }

  /** The time (ms) of its first log line saying `msg`, if any. */
  public when(msg: string): number | undefined {
    return this.lines.find((l) => l.msg === msg)?.time;
  }

  public get pid(): number | undefined {
    return this.child?.pid;
  }

  public waitFor(msg: string, timeoutMs = 30_000): Promise<any> {
    return eventually(`${this.identity} to log "${msg}"`, async () => this.lines.find((l) => l.msg === msg), timeoutMs);
  }

  /** Whether it runs, and its last log lines, for a failed wait's message. */
  public describe(lines = 6): string {
    const code = this.exitCode;
    const state = code === undefined ? `running (pid ${this.pid})` : `exited (${code ?? this.child?.signalCode})`;
    return `operator ${this.identity}: ${state}; its last lines:\n${this.output
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => l.slice(0, 400))
      .join('\n')}`;
  }

  /** How it exited: its exit code, or null when a signal ended it (undefined while it runs). */
  public get exitCode(): number | null | undefined {
    return this.child?.exitCode ?? (this.child?.signalCode ? null : undefined);
  }

  /** SIGTERM (or SIGKILL: a crash) and wait for the exit. */
  public async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** CPU seconds used so far (user + system), from /proc while it runs. */
  public cpuSeconds(): number {
    const fields = readFileSync(`/proc/${this.child!.pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    // utime and stime are fields 14 and 15 of stat; after the command name they are at 11 and 12; USER_HZ is 100 on
    // Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  /** Peak resident memory (kB), from /proc while it runs. */
  public peakRssKb(): number {
    const status = readFileSync(`/proc/${this.child!.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)![1]);
  }
}
