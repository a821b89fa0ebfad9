/**
 * A passing verification ages: once no verification has passed for two periods of verify.schedule (its CronJob
 * suspended, its Jobs refused by a quota, the CronJob or its Jobs deleted), Verified turns False with
 * VerificationStale and one Warning, the gauge reads 0 (so MallBackupUnverified fires), and the operator wakes the
 * Backup at that moment rather than at the next resync. A new pass makes it True again.
 */
import { reconcile } from '../../operator/controller/reconcile';
import type { BackupObject, KubeObject } from '../../operator/controller/types';
import { planVerify } from '../../operator/controller/verify-plan';
import { backupObject, observed } from '../../testing/reconcile-fixtures';

const HOURLY = { schedule: '0 * * * *' };

function job(name: string, component: string, at: string, failed = false): KubeObject {
  return {
    metadata: { name, labels: { 'app.kubernetes.io/component': component } },
    status: {
      completionTime: failed ? undefined : at,
      conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True', lastTransitionTime: at }],
    },
  };
}
function pod(jobName: string, message: string): KubeObject {
  return {
    metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
    status: { containerStatuses: [{ state: { terminated: { exitCode: 0, message } } }] },
  };
}

/** A check at 10:00 and a test restore at 10:30 that both passed. */
const passing = {
  runnable: true,
  jobs: [job('verify-bakery-1', 'verify', '2026-11-25T10:30:00Z')],
  checkJobs: [job('vault-check-1', 'vault-check', '2026-11-25T10:00:00Z')],
  pods: [
    pod('verify-bakery-1', 'verified 4bba301e 2026-11-25T09:00:00Z 21 1000012'),
    pod('vault-check-1', 'checked 5%'),
  ],
};

test('Verified=True stands for two periods from the older passing run, then turns False: VerificationStale', () => {
  const backup = backupObject({ verify: HOURLY });
  const fresh = planVerify({ ...passing, backup, now: new Date('2026-11-25T11:59:00Z') });
  expect(fresh.condition).toMatchObject({ status: 'True', reason: 'Verified' });
  // From the check (10:00), not the later restore: each half proves only its own part.
  expect(fresh.staleAt).toEqual(new Date('2026-11-25T12:00:00Z'));
  const now = new Date('2026-11-25T11:59:00Z');
  // The operator wakes the Backup when the verification turns stale, before Fresh's own moment.
  expect(reconcile(observed({ backup, now, verification: fresh })).staleAt).toEqual(fresh.staleAt);

  const verified = reconcile(observed({ backup, now, verification: fresh })).status;
  const later = new Date('2026-11-25T12:00:01Z');
  const stale = planVerify({ ...passing, backup: { ...backup, status: verified }, now: later });
  expect(stale.condition).toMatchObject({
    status: 'False',
    reason: 'VerificationStale',
    message: expect.stringMatching(
      new RegExp(
        String.raw`^no verification has passed since 2026-11-25T10:00:00Z, more than two periods \(2h\) of ` +
          String.raw`verify.schedule "0 \* \* \* \*": the verification CronJobs \(verify-bakery and the vault's ` +
          'vault-check\\) are not producing passing runs',
      ),
    ),
  });
  expect(stale.staleAt).toBeUndefined();
  expect(stale.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'VerificationStale' })]);
  const status = reconcile(
    observed({ backup: { ...backup, status: verified }, now: later, verification: stale }),
  ).status;
  expect(status.conditions!.find((c) => c.type === 'Verified')).toMatchObject({ status: 'False' });
  // The proof's own fields stay as history.
  expect(status).toMatchObject({ lastVerifiedTime: '2026-11-25T10:30:00Z', lastVerifiedSnapshotID: '4bba301e' });
  // Still stale at the next look: no second Warning.
  const again = planVerify({ ...passing, backup: { ...backup, status }, now: new Date('2026-11-25T13:00:00Z') });
  expect(again).toMatchObject({ condition: { reason: 'VerificationStale' }, events: [] });

  // A new check and test restore pass: True again, with a Normal Event.
  const renewed = planVerify({
    ...passing,
    backup: { ...backup, status },
    jobs: [...passing.jobs, job('verify-bakery-2', 'verify', '2026-11-25T13:30:00Z')],
    checkJobs: [...passing.checkJobs, job('vault-check-2', 'vault-check', '2026-11-25T13:05:00Z')],
    pods: [
      ...passing.pods,
      pod('verify-bakery-2', 'verified 5ccb401f 2026-11-25T13:00:00Z 21 1000012'),
      pod('vault-check-2', 'checked 5%'),
    ],
    now: new Date('2026-11-25T13:31:00Z'),
  });
  expect(renewed).toMatchObject({
    condition: { status: 'True', reason: 'Verified' },
    events: [{ type: 'Normal', reason: 'Verified' }],
    staleAt: new Date('2026-11-25T15:05:00Z'),
  });
});

test('runs that stop while their old Jobs are gone: the last verdict stands only until it is stale', () => {
  const backup: BackupObject = {
    ...backupObject({ verify: HOURLY, suspend: true }),
    status: {
      lastVerifiedTime: '2026-11-25T10:30:00Z',
      conditions: [
        {
          type: 'Verified',
          status: 'True',
          reason: 'Verified',
          message: 'earlier',
          lastTransitionTime: '2026-11-25T10:30:00Z',
        },
      ],
    },
  };
  const none = { runnable: true, jobs: [], checkJobs: [], pods: [] };
  expect(planVerify({ ...none, backup, now: new Date('2026-11-25T12:00:00Z') })).toMatchObject({
    condition: { status: 'True', reason: 'Verified' },
    staleAt: new Date('2026-11-25T12:30:00Z'),
  });
  expect(planVerify({ ...none, backup, now: new Date('2026-11-25T12:31:00Z') })).toMatchObject({
    condition: {
      status: 'False',
      reason: 'VerificationStale',
      message: expect.stringContaining('"0 * * * *" (the Backup is suspended)'),
    },
    events: [{ type: 'Warning', reason: 'VerificationStale' }],
  });
  // A failing verdict is not made stale: its own reason stays.
  const failing = planVerify({
    ...passing,
    checkJobs: [job('vault-check-3', 'vault-check', '2026-11-25T10:00:00Z', true)],
    pods: [...passing.pods, pod('vault-check-3', 'failed CheckFailed restic check found the vault damaged')],
    backup,
    now: new Date('2026-11-26T12:31:00Z'),
  });
  expect(failing).toMatchObject({ condition: { status: 'False', reason: 'CheckFailed' } });
  expect(failing.staleAt).toBeUndefined();
});
