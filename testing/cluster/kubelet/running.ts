/**
 * A container the test kubelet started, as it keeps track of it: its process (a PID group), its log and
 * termination-message files, when it started and how it ended. Here: stopping it (SIGTERM, SIGKILL after the
 * pod's grace period) and the container state a kubelet reports for it, read from those files.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Running {
  /** namespace/name of its pod, for `kubectl logs` and `describe()`. */
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly terminationFile: string;
  readonly startedAt: string;
  /** `at`: when it ended, the same in every report of it. */
  exited?: { code: number | null; signal: NodeJS.Signals | null; at: string };
  ready: boolean;
  killTimer?: NodeJS.Timeout;
}

/** Signals the container's whole PID group; on SIGKILL, resolves once the process has exited. */
export async function kill(r: Running, signal: NodeJS.Signals): Promise<void> {
  if (r.exited) return;
  try {
    process.kill(-r.child.pid!, signal);
  } catch {
    // already gone
  }
  if (signal === 'SIGKILL') await new Promise((done) => (r.exited ? done(undefined) : r.child.once('exit', done)));
}

/** A deleted pod's container: SIGTERM now, SIGKILL once the grace period is over (once per container). */
export async function terminate(r: Running, gracePeriodSeconds: number): Promise<void> {
  if (r.killTimer) return;
  await kill(r, 'SIGTERM');
  r.killTimer = setTimeout(() => void kill(r, 'SIGKILL'), 1000 * gracePeriodSeconds);
}

/** For a failed wait's message. */
export function describeRunning(r: Running): string {
  return r.exited ? `ended (${r.exited.code ?? r.exited.signal}) at ${r.exited.at}` : 'running';
}

/**
 * The container's state and the pod's phase as the kubelet reports them: running, or terminated with the exit
 * code (128 + the signal's number when a signal ended it) and the termination message as the kubelet reads it
 * (the log tail instead under FallbackToLogsOnError when the file is empty and the container failed).
 */
export function containerState(container: any, r: Running): { phase: string; state: object } {
  if (!r.exited) return { phase: 'Running', state: { running: { startedAt: r.startedAt } } };
  const signals: Record<string, number> = { SIGTERM: 15, SIGINT: 2 };
  const exitCode = r.exited.code ?? 128 + (signals[r.exited.signal ?? ''] ?? 9);
  // The kubelet keeps the file's last 4 KiB (tail.ReadAtMost): a longer report loses its first lines.
  let message = readFileSync(r.terminationFile).subarray(-4096).toString('utf8');
  if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
    message = readFileSync(r.logFile, 'utf8').split('\n').slice(-80).join('\n').slice(-2048);
  }
  const terminated = {
    exitCode,
    reason: exitCode === 0 ? 'Completed' : 'Error',
    message: message || undefined,
    startedAt: r.startedAt,
    finishedAt: r.exited.at,
  };
  return { phase: exitCode === 0 ? 'Succeeded' : 'Failed', state: { terminated } };
}

/** Whether the pod's status as listed shows what the container is doing (running, ready, ended). */
export function reported(pod: any, r: Running): boolean {
  const status = pod.status?.containerStatuses?.[0];
  if (!status) return false;
  if (r.exited) return ['Succeeded', 'Failed'].includes(pod.status.phase);
  return status.state?.running !== undefined && status.ready === r.ready;
}
