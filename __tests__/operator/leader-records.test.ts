/**
 * Leader election against records read late, deleted, edited by hand or always in conflict: the standby waits a
 * whole lease duration from what it last saw, by its own clock, and no longer than that and one attempt.
 */
import { ApiError } from '../../operator/runtime/kube';
import { waitFor } from '../../testing/operator-process';
import { ATTEMPT_MS, elector, electors, LEASE_MS, MemoryLeases, RETRY_MS, SLACK_MS } from '../../testing/memory-leases';

afterEach(async () => {
  for (const e of electors.splice(0)) await e.release();
});

/** Lease reads answered late: the record returned is the one the server has when it answers. */
class SlowReads extends MemoryLeases {
  public slowGetMs = 0;
  /** When (monotonic) the record returned by the last slow read was written by the holder. */
  public writtenAt = 0;

  public override get(path: string, options?: { timeoutMs?: number }): Promise<any> {
    const delay = this.slowGetMs;
    if (delay === 0) return super.get(path, options);
    this.slowGetMs = 0;
    return new Promise((done) =>
      setTimeout(() => {
        // The holder renews while the read is on its way: the answer carries that fresh renewal.
        this.renewAs('holder', Date.now());
        this.writtenAt = this.changedAt;
        done(super.get(path, options));
      }, delay),
    );
  }
}

test('a candidate dates a record from when the answer arrived, not from when it asked', async () => {
  const leases = new SlowReads();
  leases.renewAs('holder', Date.now());
  // Under the 600 ms call timeout: an answer that took its time, carrying a renewal made just before it.
  leases.slowGetMs = 500;
  const { e, state } = elector(leases, 'candidate');
  electors.push(e);
  e.start();
  await waitFor('the takeover', () => state.leading, 5_000);
  // The holder stopped renewing right after that write: it may lead until a renew deadline after it, and the
  // candidate must wait a whole lease duration (1000 ms) from it.
  expect(state.startedAt - leases.writtenAt).toBeGreaterThanOrEqual(LEASE_MS);
  expect(state.startedAt - leases.writtenAt).toBeLessThan(LEASE_MS + ATTEMPT_MS + SLACK_MS);
});

test('a Lease deleted under a live holder is not recreated by a standby before it would have expired', async () => {
  const leases = new MemoryLeases();
  leases.renewAs('holder', Date.now());
  const { e, state } = elector(leases, 'standby');
  electors.push(e);
  e.start();
  await waitFor('the standby to read the Lease', () => leases.timeouts.length > 0, 2_000);
  const seenAt = leases.changedAt;
  // Deleted by hand; the holder (still leading until its renew deadline) is cut off from the API server.
  leases.lease = undefined;
  await waitFor('the standby to recreate the Lease', () => state.leading, 5_000);
  expect(state.startedAt - seenAt).toBeGreaterThanOrEqual(LEASE_MS);
  expect(state.startedAt - seenAt).toBeLessThan(LEASE_MS + ATTEMPT_MS + SLACK_MS);
  expect(leases.lease.spec.holderIdentity).toBe('standby');
});

test("a holder's own lease duration is honoured when longer than ours; without one, ours applies", async () => {
  const leases = new MemoryLeases();
  // A holder configured with a longer lease (e.g. mid-rollout of a new setting) may lead that long unrenewed.
  leases.renewAs('patient', Date.now());
  leases.lease.spec.leaseDurationSeconds = 3;
  const longSeenAt = leases.changedAt;
  const { e, state } = elector(leases, 'standby');
  electors.push(e);
  e.start();
  await waitFor('the takeover from the patient holder', () => state.leading, 10_000);
  expect(state.startedAt - longSeenAt).toBeGreaterThanOrEqual(3_000);
  expect(state.startedAt - longSeenAt).toBeLessThan(3_000 + ATTEMPT_MS + SLACK_MS);

  // Edited by hand to say nothing of its duration, and the renewal dated an hour ahead: our own duration applies.
  await e.release();
  leases.renewAs('terse', Date.now() + 3_600_000);
  delete leases.lease.spec.leaseDurationSeconds;
  const terseSeenAt = leases.changedAt;
  const other = elector(leases, 'other');
  electors.push(other.e);
  other.e.start();
  await waitFor('the takeover from the terse holder', () => other.state.leading, 5_000);
  expect(other.state.startedAt - terseSeenAt).toBeGreaterThanOrEqual(LEASE_MS);
  expect(other.state.startedAt - terseSeenAt).toBeLessThan(LEASE_MS + ATTEMPT_MS + SLACK_MS);
});

test('a leader whose every renewal meets a conflict stops at once and does not lead again', async () => {
  const leases = new MemoryLeases();
  const { e, state } = elector(leases, 'leader');
  electors.push(e);
  e.start();
  await waitFor('leading', () => state.leading, 5_000);
  const replace = leases.replace.bind(leases);
  let conflicts = 0;
  leases.replace = () => {
    conflicts++;
    return Promise.reject(new ApiError(409, 'Conflict', 'modified'));
  };
  const from = performance.now();
  await waitFor('stopped leading', () => !state.leading, 5_000);
  expect(performance.now() - from).toBeLessThan(RETRY_MS + SLACK_MS);
  await waitFor('more refused renewals', () => conflicts >= 5, 5_000);
  expect(state.started).toBe(1);
  expect(e.isLeader).toBe(false);
  leases.replace = replace;
});

test(
  'Lease calls refused show in problem() at once; passing ' + 'trouble only once it has lasted a lease duration',
  async () => {
    const leases = new MemoryLeases();
    let error = new ApiError(403, 'Forbidden', 'GET leases: 403 leases.coordination.k8s.io "l" is forbidden');
    leases.get = () => Promise.reject(error);
    const { e } = elector(leases, 'a');
    electors.push(e);
    e.start();
    await waitFor('a refused attempt', () => e.problem(), 2_000);
    expect(e.problem()).toMatch(
      new RegExp(
        String.raw`^leader election: the calls on Lease ns/l fail since \S+: GET leases: 403 .*forbidden ` +
          String.raw`\(the operator needs get, create and update on leases in that namespace\)$`,
      ),
    );
    error = new ApiError(500, 'InternalError', 'GET leases: 500 etcd timed out');
    await waitFor('a failed attempt', () => e.problem() === undefined, 2_000);
    // Still failing, but counted from the first failure: a lease duration on, it shows.
    expect(e.problem(Date.now() + LEASE_MS)).toMatch(/fail since \S+: GET leases: 500 etcd timed out$/);
    leases.get = MemoryLeases.prototype.get.bind(leases);
    await waitFor('an answered attempt', () => e.problem(Date.now() + LEASE_MS) === undefined, 2_000);
  },
);
