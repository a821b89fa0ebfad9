/**
 * A work queue keyed by namespace/name, after client-go's: a key waiting is not added twice, a key being
 * worked on is not handed to a second worker (it is queued again when done if it changed meanwhile), and
 * failures come back after an exponential backoff.
 */
import { Deadlines } from './deadlines';

export interface QueueOptions {
  /** First retry delay. @default 200 ms */
  readonly baseDelayMs?: number;
  /** Longest retry delay. @default 60 s */
  readonly maxDelayMs?: number;
}

export class WorkQueue {
  private readonly waiting: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting for a retry or a later look, on one timer; on the monotonic clock, as setTimeout is. */
  private readonly later = new Deadlines(
    (key) => this.add(key),
    () => performance.now(),
  );
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: QueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
  }

  public get length(): number {
    return this.waiting.length;
  }

  /** Keys queued, being worked on, or waiting for a retry. */
  public get pending(): number {
    return this.queued.size + this.processing.size + this.later.size;
  }

  public add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.waiting.push(key);
  }

  /**
   * Queues `key` after `delayMs`, or sooner if it already waits for an earlier moment (client-go's delaying queue
   * keeps the earliest too): a failed reconcile's short retry must not wait behind a long recheck it had set.
   */
  public addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    const at = performance.now() + delayMs;
    const waiting = this.later.get(key);
    if (waiting !== undefined && waiting <= at) return;
    this.later.set(key, at);
  }

  /** Retries `key` after a delay that doubles with each consecutive failure. */
  public addRateLimited(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count after a success. */
  public forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to work on; undefined once the queue is shut down and empty. */
  public get(): Promise<string | undefined> {
    const key = this.waiting.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  public done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /** Stops handing out keys: waiting workers get undefined. */
  public shutDown(): void {
    this.shuttingDown = true;
    this.later.clear();
    this.waiting.length = 0;
    this.queued.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}

/**
 * One worker: takes keys from `queue` until it shuts down, hands each to `work` and marks it done. A key
 * whose work writes nothing settles in microtasks alone, so the worker yields a turn of the event loop
 * after each: without it the workers drain the queue before any reply, watch event, probe or signal is
 * handled (thousands of keys at a resync hold everything else up for seconds). `work` handles its own
 * failures; one it throws still marks the key done and stops this worker.
 */
export async function runWorker(queue: WorkQueue, work: (key: string) => Promise<void>): Promise<void> {
  for (;;) {
    const key = await queue.get();
    if (key === undefined) return;
    try {
      await work(key);
    } finally {
      queue.done(key);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface BackoffOptions {
  /** @default 800 ms (client-go's reflector) */
  readonly initialMs?: number;
  /** @default 30 s */
  readonly maxMs?: number;
  /** Each wait is stretched by up to this fraction, so failing clients do not retry in step. @default 1 */
  readonly jitter?: number;
  /** Calm this long after a success before the next failure starts from `initialMs` again. @default 2 min */
  readonly resetAfterMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Exponential backoff with jitter and a cap, reset only after a calm period, like client-go's reflector. */
export class Backoff {
  private failures = 0;
  private lastFailure = -Infinity;
  private readonly o: Required<BackoffOptions>;

  constructor(options: BackoffOptions = {}) {
    this.o = {
      initialMs: 800,
      maxMs: 30_000,
      jitter: 1,
      resetAfterMs: 120_000,
      random: Math.random,
      now: Date.now,
      ...options,
    };
  }

  /** After a success: the next failure starts from the initial wait again. */
  public reset(): void {
    this.failures = 0;
  }

  /** The wait before the next attempt after a failure. */
  public next(): number {
    const now = this.o.now();
    if (now - this.lastFailure > this.o.resetAfterMs) this.failures = 0;
    this.lastFailure = now;
    const base = Math.min(this.o.maxMs, this.o.initialMs * 2 ** this.failures++);
    return Math.round(base * (1 + this.o.random() * this.o.jitter));
  }
}
