/** An in-memory Lease endpoint for leader election tests, whose answers, clock and hangs the tests control. */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { ApiError } from '../operator/runtime/kube';
import { LeaderElector, LeaseClient } from '../operator/runtime/leader';
import { JITTER_FACTOR } from '../operator/runtime/leader-timings';

const log = pino({ level: 'silent' });

/** The timings every elector here runs with, and the bounds derived from them. */
export const LEASE_MS = 1_000;
export const RENEW_MS = 600;
export const RETRY_MS = 100;
/** The longest a candidate waits between two attempts (client-go's jitter). */
export const ATTEMPT_MS = RETRY_MS * (1 + JITTER_FACTOR);
/**
 * Room for timers firing late: two retry periods, plus the longest this process's event loop has been held up
 * since the test began (the electors run in it, so that is exactly how late their timers may fire). Strict on
 * an idle machine, and on a loaded one it widens by what was measured, not by a guess.
 */
export function slackMs(): number {
  return 2 * RETRY_MS + loopDelay.max / 1e6;
}
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
beforeEach(() => loopDelay.reset());

/** One Lease, with optimistic concurrency; `hang` makes every call wait for ever. */
export class MemoryLeases implements LeaseClient {
  public lease?: any;
  public hang = false;
  public readonly timeouts: (number | undefined)[] = [];
  /** When (monotonic clock, as the elector's) `renewAs` last changed the record. */
  public changedAt = 0;
  private version = 0;

  private answer<T>(value: () => T, timeoutMs?: number): Promise<T> {
    this.timeouts.push(timeoutMs);
    if (this.hang) return new Promise(() => undefined);
    try {
      return Promise.resolve(value());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  public get(_path: string, options?: { timeoutMs?: number }): Promise<any> {
    return this.answer(() => {
      if (!this.lease) throw new ApiError(404, 'NotFound', 'not found');
      return structuredClone(this.lease);
    }, options?.timeoutMs);
  }

  public create(_path: string, body: any, options?: { timeoutMs?: number }): Promise<any> {
    return this.answer(() => {
      if (this.lease) throw new ApiError(409, 'AlreadyExists', 'exists');
      this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      return this.lease;
    }, options?.timeoutMs);
  }

  public replace(_path: string, body: any, options?: { timeoutMs?: number }): Promise<any> {
    return this.answer(() => {
      if (body.metadata.resourceVersion !== this.lease.metadata.resourceVersion)
        throw new ApiError(409, 'Conflict', 'modified');
      this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      return this.lease;
    }, options?.timeoutMs);
  }

  /** Another replica renewing with its own (wrong) clock: the record changes, its times say nothing. */
  public renewAs(holder: string, clockMs: number): void {
    this.changedAt = performance.now();
    this.lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l', namespace: 'ns', resourceVersion: String(++this.version) },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 1,
        renewTime: new Date(clockMs).toISOString().replace('Z', '000Z'),
        leaseTransitions: 0,
      },
    };
  }
}

export function elector(client: LeaseClient, identity: string, timings: { now?: () => number } = {}) {
  /** `startedAt`: when (monotonic clock) it last started leading. */
  const state = { leading: false, started: 0, stopped: 0, startedAt: 0 };
  const e = new LeaderElector(
    client,
    {
      namespace: 'ns',
      name: 'l',
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      ...timings,
    },
    {
      onStartedLeading: () => {
        state.leading = true;
        state.started++;
        state.startedAt = performance.now();
      },
      onStoppedLeading: () => {
        state.leading = false;
        state.stopped++;
      },
    },
    log,
  );
  return { e, state };
}

/** Electors a test started, released after it. */
export const electors: LeaderElector[] = [];
