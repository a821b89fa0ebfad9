/**
 * Leader election by client-go's rules, against an in-memory Lease endpoint whose answers, clock and
 * hangs the tests control.
 */
import { leaderElectionProblems } from '../../operator/runtime/leader-timings';
import { waitFor } from '../../testing/operator-process';
import { ATTEMPT_MS, elector, electors, LEASE_MS, MemoryLeases, RENEW_MS, slackMs } from '../../testing/memory-leases';

// Within the bounded waits below even on a loaded machine (jest's default of 5 s is not).
jest.setTimeout(60_000);

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
    expect(state.startedAt - leases.changedAt).toBeGreaterThanOrEqual(LEASE_MS);
    // And not much later: the last change is seen within one attempt, taken a lease duration and an attempt on.
    expect(state.startedAt - leases.changedAt).toBeLessThan(ATTEMPT_MS + LEASE_MS + ATTEMPT_MS + slackMs());
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
  expect(Date.now() - hungAt).toBeLessThan(RENEW_MS + slackMs());
  expect(state.stopped).toBe(1);
  expect(new Set(leases.timeouts)).toEqual(new Set([RENEW_MS]));
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
    expect(Date.now() - leases.lastWriteAt!).toBeLessThan(RENEW_MS + slackMs());
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
    expect(Date.now() - stepMs - leases.lastWriteAt!).toBeLessThan(RENEW_MS + slackMs());
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
  const releasedAt = performance.now();
  expect(a.state.stopped).toBe(1);
  await waitFor('b leading', () => b.state.leading, 2_000);
  expect(leases.lease.spec.holderIdentity).toBe('b');
  // At b's next attempt, not a lease duration later.
  expect(b.state.startedAt - releasedAt).toBeLessThan(ATTEMPT_MS + slackMs());
});

/** A renewal still on its way lands between the release's read and its write, as on a busy link. */
class RenewalLandsDuringRelease extends MemoryLeases {
  private landed = false;

  public override replace(path: string, body: any, options?: { timeoutMs?: number }): Promise<any> {
    if (body.spec.holderIdentity === '' && !this.landed) {
      this.landed = true;
      // The earlier renewal (same holder) reaches the server first: the release now holds a stale resourceVersion.
      this.renewAs(this.lease.spec.holderIdentity, Date.now());
    }
    return super.replace(path, body, options);
  }
}

test('a release that meets a renewal landing first reads again and still hands the Lease back', async () => {
  const leases = new RenewalLandsDuringRelease();
  const a = elector(leases, 'a');
  a.e.start();
  await waitFor('a leading', () => a.state.leading, 5_000);
  await a.e.release();
  expect(leases.lease.spec.holderIdentity).toBe('');
  const b = elector(leases, 'b');
  electors.push(b.e);
  const from = performance.now();
  b.e.start();
  await waitFor('b leading', () => b.state.leading, 2_000);
  // At its first attempt: a Lease released is nobody's.
  expect(b.state.startedAt - from).toBeLessThan(slackMs());
});
