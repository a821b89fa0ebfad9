/**
 * Every string the operator writes into a Backup's status fits the status schema, whose maxLength the
 * API server counts in Unicode code points: a condition message above 32768 of them makes it refuse the
 * whole status write, so the Backup would never say why it is not ready.
 */
import { bounded } from '../../operator/controller/write-outcome';
import { reconcile } from '../../operator/controller/reconcile';
import { STATUS_LIMITS } from '../../operator/controller/vocabulary';
import { backupObject, job, jobPod, observed } from '../../testing/reconcile-fixtures';

/** Characters as the API server counts them for maxLength. */
const characters = (text: string) => Array.from(text).length;

test(
  'a failed run whose pod reports a 40 000-character ' + 'reason still gives condition messages within the schema',
  () => {
    // The kubelet caps termination messages, not the message of a waiting container.
    const failed = job('backup-bakery-1', {
      outcome: 'Failed',
      start: '2026-11-24T02:30:00Z',
      finish: '2026-11-24T02:31:00Z',
    });
    const pod = jobPod('backup-bakery-1', {
      waiting: { reason: 'CreateContainerConfigError', message: `secret "bakery-vault" ${'x'.repeat(40_000)}` },
    });
    const d = reconcile(observed({ jobs: [failed], jobPods: [pod] }));
    const last = d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')!;
    expect(last).toMatchObject({ status: 'False', reason: 'BackoffLimitExceeded' });
    expect(last.message).toMatch(/^backup-bakery-1 failed: .*CreateContainerConfigError: secret "bakery-vault" x+…$/);
    for (const c of d.status.conditions!) expect(characters(c.message)).toBeLessThanOrEqual(STATUS_LIMITS.message);
    expect(characters(d.status.message!)).toBeLessThanOrEqual(STATUS_LIMITS.message);
  },
);

test(
  'a spec problem that quotes a 40 000-digit quantity (stored ' +
    'before the CRD limited quantities) stays within the schema',
  () => {
    const d = reconcile(
      observed({
        backup: backupObject({
          resources: { requests: { memory: '9'.repeat(40_000) }, limits: { memory: '1' } },
        } as any),
      }),
    );
    const ready = d.status.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    for (const c of d.status.conditions!) expect(characters(c.message)).toBeLessThanOrEqual(STATUS_LIMITS.message);
  },
);

test('messages are cut by code points, whole characters only, and marked as cut', () => {
  const cut = bounded('😀'.repeat(40_000), STATUS_LIMITS.message);
  expect(characters(cut)).toBe(STATUS_LIMITS.message);
  expect(cut).toMatch(/^(😀)+…$/u);
  // 20 000 emoji are 40 000 UTF-16 units but 20 000 characters for the API server: kept whole.
  expect(bounded('😀'.repeat(20_000), STATUS_LIMITS.message)).toBe('😀'.repeat(20_000));
  expect(bounded('short', 10)).toBe('short');
  expect(bounded('😀😀😀', 2)).toBe('😀…');
});
