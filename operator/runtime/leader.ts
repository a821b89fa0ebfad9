/**
 * Leader election on a coordination.k8s.io/v1 Lease, by client-go's rules (client-node has no helper):
 * - expiry is judged by this process's own clock: the Lease counts as held until `leaseDuration` after
 *   this process last saw the record change, never by the holder's renewTime (clocks differ);
 * - the leader stops leading when it has not renewed within `renewDeadline`, even while a renew call
 *   hangs (every Lease call also has a timeout);
 * - timings are checked as client-go checks them: leaseDuration > renewDeadline > 1.2 × retryPeriod.
 * Every write carries the resourceVersion read, so two candidates cannot both win. Given a `fence` (the
 * operator's client), it also keeps that client's writes to the term: none leaves once the renew deadline has
 * passed, judged by the clock when the write is asked for, not only when the deadline's timer gets to run.
 */
import type { Logger } from 'pino';
import { ApiError, isConflict, isNotFound, isRefusal, resourcePath } from './kube';
import { JITTER_FACTOR, leaderElectionProblems } from './leader-timings';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** @default 15 s */
  readonly leaseDurationMs?: number;
  /** @default 10 s */
  readonly renewDeadlineMs?: number;
  /** @default 2 s */
  readonly retryPeriodMs?: number;
  /** The local wall clock, in milliseconds: dates what is written into the Lease. @default Date.now */
  readonly now?: () => number;
  /**
   * A clock that never jumps, in milliseconds, for every duration (expiry, the renew deadline): a wall
   * clock stepped by NTP would otherwise end a healthy leader's term early or stretch a hung one's.
   * @default performance.now
   */
  readonly monotonic?: () => number;
  /** The client whose writes must stay within this replica's term (KubeClient). */
  readonly fence?: WriteFence;
}

/** How leader election keeps a client's writes to its term; KubeClient has it. */
export interface WriteFence {
  /** Cuts off writes in flight and refuses new ones until `unfenceWrites`. */
  fenceWrites(why: string): void;
  unfenceWrites(): void;
  /** Asked before each write is sent: a reason refuses it. */
  guardWrites(check: () => string | undefined): void;
}

/** The calls leader election makes; KubeClient has them. */
export interface LeaseClient {
  get(path: string, options?: LeaseCallOptions): Promise<any>;
  create(path: string, body: unknown, options?: LeaseCallOptions): Promise<any>;
  replace(path: string, body: unknown, options?: LeaseCallOptions): Promise<any>;
}

/** Lease calls are `unfenced`: they go out while the other writes are cut off, to win leadership back. */
export interface LeaseCallOptions {
  timeoutMs?: number;
  unfenced?: boolean;
}

/** A Lease time: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** What was last read of the Lease, and when (monotonic clock) it was first seen in that form. */
interface Observed {
  readonly record: string;
  readonly at: number;
  readonly holder?: string;
  readonly durationMs: number;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  /** Until when (monotonic clock) the current term lasts: the last renewal's sending plus the renew deadline. */
  private termEnds = 0;
  private observed?: Observed;
  /** The Lease calls failing since (wall clock), and why; cleared by any answered attempt. */
  private failure?: { since: number; error: unknown };
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private readonly path: string;

  constructor(
    private readonly client: LeaseClient,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
    private readonly log: Logger,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    const problems = leaderElectionProblems(this.leaseDurationMs, this.renewDeadlineMs, this.retryPeriodMs);
    if (problems.length > 0) throw new Error(`invalid leader election timings: ${problems.join('; ')}`);
    this.path = resourcePath('coordination.k8s.io/v1', 'leases', options.namespace);
    options.fence?.fenceWrites('not yet leading');
    options.fence?.guardWrites(() => this.writeBlocker());
  }

  public get isLeader(): boolean {
    return this.leading && this.monotonic() < this.termEnds;
  }

  /** Why this replica may not write now, or undefined while its term lasts. */
  public writeBlocker(): string | undefined {
    if (!this.leading) return 'not leading';
    if (this.monotonic() >= this.termEnds) return `the lease was not renewed within ${this.renewDeadlineMs} ms`;
    return undefined;
  }

  /**
   * Why this replica cannot take part in the election, for /readyz: Lease calls refused (e.g. a 403 once the
   * RBAC rule is gone) at once, other failures once they have lasted a lease duration.
   */
  public problem(now = Date.now()): string | undefined {
    const f = this.failure;
    if (!f) return undefined;
    const refused = isRefusal(f.error) || (f.error instanceof ApiError && f.error.statusCode === 401);
    if (!refused && now - f.since < this.leaseDurationMs) return undefined;
    const lease = `${this.options.namespace}/${this.options.name}`;
    const forbidden = f.error instanceof ApiError && [401, 403].includes(f.error.statusCode);
    return (
      `leader election: the calls on Lease ${lease} fail since ${new Date(f.since).toISOString()}: ` +
      `${(f.error as Error)?.message ?? String(f.error)}` +
      (forbidden ? ' (the operator needs get, create and update on leases in that namespace)' : '')
    );
  }

  public start(): void {
    if (!this.stopped) void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Candidates spread their attempts out (client-go's JitterUntil); the leader renews on the period.
    const delay = this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR);
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  private async tick(): Promise<void> {
    try {
      // Others date the renewal from when it reached the API server, which can be well before its answer
      // arrives here: the term is counted from when it was sent.
      const sentAt = this.monotonic();
      const notHeld = await this.tryAcquireOrRenew();
      this.failure = undefined;
      const held = notHeld === undefined && this.armDeadline(sentAt);
      if (this.stopped) return;
      if (held) {
        if (!this.leading) {
          this.leading = true;
          this.log.info({ lease: this.options.name }, 'became leader');
          this.options.fence?.unfenceWrites();
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading) {
        this.lose(notHeld ?? `the renewal was answered after the ${this.renewDeadlineMs} ms renew deadline`);
      }
    } catch (error) {
      this.failure = { since: this.failure?.since ?? Date.now(), error };
      this.log.warn({ err: (error as Error).message }, 'lease update failed');
    }
    this.schedule();
  }

  /**
   * Leadership ends `renewDeadline` after the last renewal was sent unless another renewal lands first.
   * @returns false when that time has already passed (the answer came too late to count)
   */
  private armDeadline(sentAt: number): boolean {
    const remainingMs = sentAt + this.renewDeadlineMs - this.monotonic();
    if (remainingMs <= 0) return false;
    this.termEnds = sentAt + this.renewDeadlineMs;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (this.leading) this.lose(`could not renew the lease within ${this.renewDeadlineMs} ms`);
    }, remainingMs);
    this.deadline.unref?.();
    return true;
  }

  private lose(why: string): void {
    this.leading = false;
    this.termEnds = 0;
    if (this.deadline) clearTimeout(this.deadline);
    // Fenced before anything else: by the time a standby may take the Lease, no write of this replica may be left.
    this.options.fence?.fenceWrites(why);
    this.log.warn({ lease: this.options.name, why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  /** @returns undefined once the Lease is written as held by this replica, else why not */
  private async tryAcquireOrRenew(): Promise<string | undefined> {
    const now = this.now();
    const { name, namespace, identity } = this.options;
    const call = { timeoutMs: this.renewDeadlineMs, unfenced: true };
    const spec = (time: number, transitions: number) => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(time),
      renewTime: microTime(time),
      leaseTransitions: transitions,
    });
    let lease: any;
    try {
      lease = await this.client.get(`${this.path}/${name}`, call);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Deleted (by hand) under a holder seen alive: that holder may still lead until its term ends.
      const last = this.observed;
      if (last?.holder !== undefined && last.holder !== identity && last.at + last.durationMs > this.monotonic())
        return `the lease was deleted while ${last.holder} held it; waiting for it to expire`;
      try {
        await this.client.create(
          this.path,
          { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec(now, 0) },
          call,
        );
        this.observed = undefined;
        return undefined;
      } catch (createError) {
        if (isConflict(createError)) return 'another candidate created the lease first';
        throw createError;
      }
    }
    // Dated when the answer arrived (as client-go does): the record may have been written just before that.
    const seenAt = this.monotonic();
    const current = lease.spec ?? {};
    const holder: string | undefined = current.holderIdentity || undefined;
    const record = JSON.stringify([
      current.holderIdentity,
      current.renewTime,
      current.acquireTime,
      current.leaseTransitions,
      current.leaseDurationSeconds,
    ]);
    if (this.observed?.record !== record) {
      // The holder's own promise (client-go reads it from the record too); our own when it gives none.
      const durationMs = (current.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
      this.observed = { record, at: seenAt, holder, durationMs };
    }
    if (holder !== undefined && holder !== identity && this.observed.at + this.observed.durationMs > seenAt)
      return `${holder} holds the lease`;
    const takeover = holder !== identity;
    try {
      await this.client.replace(
        `${this.path}/${name}`,
        {
          ...lease,
          spec: {
            ...current,
            ...spec(now, takeover ? (current.leaseTransitions ?? 0) + 1 : (current.leaseTransitions ?? 0)),
            ...(takeover ? {} : { acquireTime: current.acquireTime }),
          },
        },
        call,
      );
      return undefined;
    } catch (error) {
      if (isConflict(error)) return 'the lease changed since it was read (409 Conflict)';
      throw error;
    }
  }

  /**
   * Stops campaigning and, when leading, hands the Lease back so a standby takes over at once. Writes are fenced
   * first: whatever this replica still had in flight is cut off before anyone else may lead.
   */
  public async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.lose('shutting down: the lease is handed back');
    const call = { timeoutMs: this.renewDeadlineMs, unfenced: true };
    const path = `${this.path}/${this.options.name}`;
    // A renewal still on its way may land between this read and this write: read again (a few times at most).
    for (let attempt = 1; ; attempt++) {
      try {
        const lease = await this.client.get(path, call);
        if (lease.spec?.holderIdentity !== this.options.identity) return;
        const spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(this.now()) };
        await this.client.replace(path, { ...lease, spec }, call);
        this.log.info({ lease: this.options.name }, 'released the lease');
        return;
      } catch (error) {
        if (isConflict(error) && attempt < 3) continue;
        this.log.warn({ err: (error as Error).message }, 'could not release the lease');
        return;
      }
    }
  }
}
