/**
 * Leader election by client-go's rules, against an in-memory Lease endpoint whose answers, clock and
 * hangs the tests control.
 */
import pino from 'pino';
import { ApiError } from '../../operator/runtime/kube';
import { LeaderElector, LeaseClient, leaderElectionProblems } from '../../operator/runtime/leader';
import { waitFor } from '../../testing/operator-process';

const log = pino({ level: 'silent' });

/** One Lease, with optimistic concurrency; `hang` makes every call wait for ever. */
class MemoryLeases implements LeaseClient {
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

function elector(client: LeaseClient, identity: string, timings: { now?: () => number } = {}) {
  /** `startedAt`: when (monotonic clock) it last started leading. */
  const state = { leading: false, started: 0, stopped: 0, startedAt: 0 };
  const e = new LeaderElector(
    client,
    {
      namespace: 'ns',
      name: 'l',
      identity,
      leaseDurationMs: 1_000,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
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

const electors: LeaderElector[] = [];
afterEach(async () => {
  for (const e of electors.splice(0)) await e.release();
});

test('timings are checked as client-go checks them', () => {
  expect(leaderElectionProblems(15_000, 10_000, 2_000)).toEqual([]);
  expect(leaderElectionProblems(10_000, 10_000, 2_000)).toEqual([
    'leaseDuration (10000 ms) must be greater than renewDeadline (10000 ms)',
  ]);
  expect(leaderElectionProblems(15_000, 2_000, 2_000)).toEqual([
    'renewDeadline (2000 ms) must be greater than retryPeriod × 1.2 (2400 ms)',
  ]);
  expect(() => elector(new MemoryLeases(), 'a', { leaseDurationMs: 500 } as never)).toThrow(
    /invalid leader election timings: leaseDuration \(500 ms\) must be greater than renewDeadline \(600 ms\)/,
  );
});

test("expiry is judged by the local time the record last changed, not the holder's clock", async () => {
  const leases = new MemoryLeases();
  // The holder's clock is an hour behind ours: judged by its renewTime, its Lease would look long expired.
  const holderClock = () => Date.now() - 3_600_000;
  leases.renewAs('healthy-leader', holderClock());
  const renewing = setInterval(() => leases.renewAs('healthy-leader', holderClock()), 50);
  try {
    const { e, state } = elector(leases, 'ahead', { now: () => Date.now() + 3_600_000 });
    electors.push(e);
    e.start();
    // Several lease durations of a healthy leader renewing: no takeover.
    const until = Date.now() + 2_500;
    await waitFor('2.5 s to pass', () => Date.now() > until, 5_000);
    expect(state.started).toBe(0);
    expect(leases.lease.spec.holderIdentity).toBe('healthy-leader');
    clearInterval(renewing);
    // Silence from the leader: taken over once the record has not changed for a lease duration. The rule is
    // checked on the monotonic clock between the last change and the takeover, so a loaded machine (timers
    // firing late) can only lengthen the gap, never make a too-early takeover pass.
    await waitFor('the takeover', () => state.leading, 5_000);
    expect(state.startedAt - leases.changedAt).toBeGreaterThanOrEqual(1_000);
    expect(leases.lease.spec).toMatchObject({ holderIdentity: 'ahead', leaseTransitions: 1 });
  } finally {
    clearInterval(renewing);
  }
});

test('a leader whose Lease calls hang stops leading within the renew deadline; every call has a timeout', async () => {
  const leases = new MemoryLeases();
  const { e, state } = elector(leases, 'leader');
  electors.push(e);
  e.start();
  await waitFor('leading', () => state.leading, 5_000);
  leases.hang = true;
  const hungAt = Date.now();
  await waitFor('stopped leading', () => !state.leading, 5_000);
  // The deadline counts from the last renewal, which came at most one retry period before the hang.
  expect(Date.now() - hungAt).toBeLessThan(600 + 100 + 300);
  expect(state.stopped).toBe(1);
  expect(new Set(leases.timeouts)).toEqual(new Set([600]));
});

/** Lease calls applied at once by the server, but with answers that can be held back, as over a congested link. */
class SlowAnswers extends MemoryLeases {
  public lastWriteAt?: number;
  private slowNext?: number;

  /** The next renewal lands at once, its answer comes `ms` later, and every call after it hangs. */
  public slowNextReplace(ms: number): void {
    this.slowNext = ms;
  }

  public override async replace(path: string, body: any, options?: { timeoutMs?: number }): Promise<any> {
    const result = await super.replace(path, body, options);
    this.lastWriteAt = Date.now();
    const delay = this.slowNext;
    if (delay === undefined) return result;
    this.slowNext = undefined;
    this.hang = true;
    return new Promise((done) => setTimeout(() => done(result), delay));
  }
}

test(
  'a renewal answered late does not stretch the term: ' + 'the renew deadline counts from when the renewal was sent',
  async () => {
    const leases = new SlowAnswers();
    const { e, state } = elector(leases, 'leader');
    electors.push(e);
    e.start();
    await waitFor('leading', () => state.leading, 5_000);
    leases.slowNextReplace(450);
    await waitFor('stopped leading', () => !state.leading, 5_000);
    // A standby saw the record change when the renewal landed, and takes over one lease duration (1000 ms)
    // later; the leader must have stopped by then: within the renew deadline (600 ms) of sending it.
    expect(Date.now() - leases.lastWriteAt!).toBeLessThan(600 + 100);
  },
);

describe('a wall clock stepped (NTP) while electing', () => {
  let stepMs = 0;
  beforeEach(() => {
    stepMs = 0;
    const wall = Date.now.bind(Date);
    jest.spyOn(Date, 'now').mockImplementation(() => wall() + stepMs);
  });
  afterEach(() => jest.restoreAllMocks());

  /** Waits on the monotonic clock, which the step does not move. */
  async function monotonicWait(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The leader's renewal interval, which the scenario plays out in real time. */
  const renewalInterval = () => new Promise((r) => setTimeout(r, 600));

  test('a standby whose clock jumps an hour ahead does not take the Lease from a healthy leader', async () => {
    const leases = new MemoryLeases();
    leases.renewAs('healthy-leader', Date.now());
    const { e, state } = elector(leases, 'standby');
    electors.push(e);
    e.start();
    await monotonicWait('the standby to read the Lease', () => leases.timeouts.length > 0, 2_000);
    // The standby has seen the record; its clock now steps while the leader keeps renewing well within 1 s.
    stepMs = 3_600_000;
    for (let i = 0; i < 3; i++) {
      await renewalInterval();
      leases.renewAs('healthy-leader', Date.now());
    }
    expect(state.started).toBe(0);
    expect(leases.lease.spec.holderIdentity).toBe('healthy-leader');
  });

  test('a leader whose clock jumps an hour back during a renewal still stops within the renew deadline', async () => {
    const leases = new SlowAnswers();
    const { e, state } = elector(leases, 'leader');
    electors.push(e);
    e.start();
    await monotonicWait('leading', () => state.leading, 5_000);
    leases.slowNextReplace(300);
    await monotonicWait('the slow renewal sent', () => leases.hang, 2_000);
    stepMs = -3_600_000;
    await monotonicWait('stopped leading', () => !state.leading, 5_000);
    expect(Date.now() - stepMs - leases.lastWriteAt!).toBeLessThan(600 + 100);
  });
});

test('a released Lease is taken over at once', async () => {
  const leases = new MemoryLeases();
  const a = elector(leases, 'a');
  a.e.start();
  await waitFor('a leading', () => a.state.leading, 5_000);
  const b = elector(leases, 'b');
  electors.push(b.e);
  b.e.start();
  await a.e.release();
  await waitFor('b leading', () => b.state.leading, 2_000);
  expect(leases.lease.spec.holderIdentity).toBe('b');
});
