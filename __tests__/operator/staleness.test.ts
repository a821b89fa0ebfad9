/**
 * Turning Stale is a change of the clock: reconcile says when it will happen, the controller wakes the
 * Backup then, and the metrics follow the conditions.
 */
import { reconcile } from '../../operator/controller/reconcile';
import { OperatorMetrics, runOutcomeOf } from '../../operator/controller/metrics';
import { WakeUps } from '../../operator/runtime/wake-ups';
import { backupObject, job, jobPod, observed } from '../../testing/reconcile-fixtures';

const now = new Date('2026-11-25T10:00:00Z');

describe('staleAt', () => {
  test('a fresh Backup is told when it turns Stale: its newest success plus the objective', () => {
    const d = reconcile(
      observed({ backup: backupObject({ freshness: '36h' }, {}, { lastSuccessfulTime: '2026-11-25T02:41:00Z' }), now }),
    );
    expect(d.status.conditions!.find((c) => c.type === 'Fresh')!.status).toBe('True');
    expect(d.staleAt).toEqual(new Date('2026-11-26T14:41:00Z'));
  });

  test('without a success yet, from its creation; the default objective is two schedule periods', () => {
    const d = reconcile(observed({ backup: backupObject({}, { creationTimestamp: '2026-11-25T09:00:00Z' }), now }));
    expect(d.staleAt).toEqual(new Date('2026-11-27T09:00:00Z'));
  });

  test('a Backup already Stale, or with an invalid spec, needs no wake-up', () => {
    const stale = reconcile(
      observed({ backup: backupObject({ freshness: '1h' }, {}, { lastSuccessfulTime: '2026-11-25T02:41:00Z' }), now }),
    );
    expect(stale.status.conditions!.find((c) => c.type === 'Fresh')!.status).toBe('False');
    expect(stale.staleAt).toBeUndefined();
    expect(reconcile(observed({ backup: backupObject({ backupTime: '25:00' }), now })).staleAt).toBeUndefined();
  });
});

describe('WakeUps', () => {
  beforeEach(() => jest.useFakeTimers({ now }));
  afterEach(() => jest.useRealTimers());

  test('fires once at the moment asked; a new moment replaces the old one; undefined cancels', () => {
    const fired: string[] = [];
    const wake = new WakeUps((k) => fired.push(k));
    wake.set('a', new Date(now.getTime() + 5_000));
    wake.set('a', new Date(now.getTime() + 2_000));
    wake.set('b', new Date(now.getTime() + 3_000));
    wake.set('b', undefined);
    jest.advanceTimersByTime(1_999);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    jest.advanceTimersByTime(10_000);
    expect(fired).toEqual(['a']);
    expect(wake.size).toBe(0);
  });

  test("a moment in the past fires at once; one beyond setTimeout's range is left to the resync", () => {
    const fired: string[] = [];
    const wake = new WakeUps((k) => fired.push(k));
    wake.set('late', new Date(now.getTime() - 60_000));
    wake.set('far', new Date(now.getTime() + 40 * 86_400_000));
    jest.advanceTimersByTime(0);
    expect(fired).toEqual(['late']);
    expect(wake.size).toBe(0);
  });
});

describe('metrics', () => {
  const series = async (m: OperatorMetrics, name: string) =>
    (await m.registry.getSingleMetric(name)!.get()).values.map((v) => ({ ...v.labels, value: v.value }));
  const condition = (type: string, status: 'True' | 'False', reason = 'R') => ({
    type,
    status,
    reason,
    message: '',
    lastTransitionTime: '2026-11-25T10:00:00Z',
  });

  test('mall_backup_fresh follows the Fresh condition, and has no series while it is Unknown', async () => {
    const m = new OperatorMetrics();
    m.recordStatus('ns', 'bakery', { conditions: [condition('Fresh', 'True')] });
    expect(await series(m, 'mall_backup_fresh')).toEqual([{ namespace: 'ns', name: 'bakery', value: 1 }]);
    m.recordStatus('ns', 'bakery', { conditions: [condition('Fresh', 'False', 'Stale')] });
    expect(await series(m, 'mall_backup_fresh')).toEqual([{ namespace: 'ns', name: 'bakery', value: 0 }]);
    m.recordStatus('ns', 'bakery', { conditions: [{ ...condition('Fresh', 'True'), status: 'Unknown' }] });
    expect(await series(m, 'mall_backup_fresh')).toEqual([]);
  });

  test('one outcome series per Backup, for its newest finished run; forgetting a Backup drops its series', async () => {
    const m = new OperatorMetrics();
    m.recordStatus('ns', 'bakery', {
      conditions: [condition('LastBackupSucceeded', 'False', 'BackoffLimitExceeded'), condition('Verified', 'False')],
    });
    m.recordStatus('ns', 'bakery', {
      conditions: [condition('LastBackupSucceeded', 'True', 'BackupSucceeded'), condition('Verified', 'True')],
    });
    expect(await series(m, 'mall_backup_last_run_outcome')).toEqual([
      { namespace: 'ns', name: 'bakery', outcome: 'Completed', value: 1 },
    ]);
    expect(await series(m, 'mall_backup_verified')).toEqual([{ namespace: 'ns', name: 'bakery', value: 1 }]);
    m.forget('ns', 'bakery');
    for (const name of [
      'mall_backup_last_run_outcome',
      'mall_backup_verified',
      'mall_backup_fresh',
      'mall_backup_phase',
    ])
      expect(await series(m, name)).toEqual([]);
  });

  test('forgetAll drops every Backup of every namespace (what a process that stops leading does)', async () => {
    const m = new OperatorMetrics();
    m.recordStatus('ns', 'bakery', { phase: 'Failed', conditions: [condition('Fresh', 'False', 'Stale')] });
    m.recordStatus('other', 'florist', { phase: 'Scheduled', conditions: [condition('Fresh', 'True')] });
    m.forgetAll();
    for (const name of ['mall_backup_fresh', 'mall_backup_phase', 'mall_backup_shrink_detected'])
      expect(await series(m, name)).toEqual([]);
    m.recordStatus('ns', 'bakery', { phase: 'Scheduled' });
    expect(await series(m, 'mall_backup_phase')).toEqual([
      { namespace: 'ns', name: 'bakery', phase: 'Scheduled', value: 1 },
    ]);
  });

  test('a partial run as the backup pod reports it reaches the metric as PartiallyFailed', async () => {
    const message = JSON.stringify({
      v: 1,
      outcome: 'PartiallyFailed',
      reason: 'SomeFilesUnreadable',
      message: 'snapshot 4bba301e saved without 2 unreadable file(s)',
      snapshot: '4bba301e',
      lockWaited: false,
    });
    const d = reconcile(
      observed({
        jobs: [
          job('backup-bakery-1', {
            start: '2026-11-25T02:30:00Z',
            outcome: 'Complete',
            finish: '2026-11-25T02:41:00Z',
          }),
        ],
        jobPods: [jobPod('backup-bakery-1', { terminated: { exitCode: 0, message } })],
        now,
      }),
    );
    const m = new OperatorMetrics();
    m.recordStatus('ns', 'bakery', d.status);
    expect(await series(m, 'mall_backup_last_run_outcome')).toEqual([
      { namespace: 'ns', name: 'bakery', outcome: 'PartiallyFailed', value: 1 },
    ]);
  });

  test.each([
    ['True', 'BackupSucceeded', 'Completed'],
    ['True', 'SomeFilesUnreadable', 'PartiallyFailed'],
    ['False', 'DeadlineExceeded', 'Failed'],
  ] as const)('LastBackupSucceeded=%s reason %s is outcome %s', (status, reason, outcome) => {
    expect(runOutcomeOf({ conditions: [condition('LastBackupSucceeded', status, reason)] })).toBe(outcome);
  });
});
