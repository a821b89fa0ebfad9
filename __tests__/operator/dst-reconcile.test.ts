import { reconcile } from '../../operator/controller/reconcile';
import { SCHEDULED_TIMESTAMP_ANNOTATION, SKIPPED_RUN_ANNOTATION } from '../../operator/controller/run-admission';
import { gateProblems } from '../../testing/k8s-rules';
import { asStored, backupObject, job, observed } from '../../testing/reconcile-fixtures';

const rome = backupObject({ backupTime: '02:30', timeZone: 'Europe/Rome' });
const cronJob = asStored(reconcile(observed({ backup: rome })).cronJob!);

describe('reconcile around a spring change (Rome, 2027-03-28: 02:00 jumps to 03:00 = 01:00 UTC)', () => {
  test('before the change: nothing extra, and a wake-up at the jump', () => {
    const d = reconcile(observed({ backup: rome, cronJob, now: new Date('2027-03-28T00:59:00Z') }));
    expect(d.createJobs).toEqual([]);
    expect(d.requeueAt).toEqual(new Date('2027-03-28T01:00:00Z'));
  });

  test(
    'at the jump: the skipped run is created once, as the CronJob ' +
      'would name it, owned by the CronJob, and passes the gate',
    () => {
      const d = reconcile(observed({ backup: rome, cronJob, now: new Date('2027-03-28T01:00:05Z') }));
      expect(d.createJobs).toHaveLength(1);
      const created = d.createJobs[0];
      expect(created.metadata.name).toBe(`backup-bakery-${Date.parse('2027-03-28T01:00:00Z') / 60000}`);
      expect(created.metadata.annotations).toEqual({
        [SCHEDULED_TIMESTAMP_ANNOTATION]: '2027-03-28T01:00:00Z',
        [SKIPPED_RUN_ANNOTATION]: '2027-03-28 02:30',
      });
      expect(created.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'CronJob', uid: 'cron-uid', controller: true }),
      ]);
      expect(created.spec.suspend).toBe(false);
      expect(created.spec.template.spec.containers[0].image).toBe(
        cronJob.spec.jobTemplate.spec.template.spec.containers[0].image,
      );
      expect(gateProblems([created as any])).toEqual([]);
      // A second leader, or this one after a restart, sees the Job and creates nothing.
      const again = reconcile(
        observed({
          backup: rome,
          cronJob,
          now: new Date('2027-03-28T01:00:09Z'),
          jobs: [{ ...job(created.metadata.name, { start: '2027-03-28T01:00:06Z' }) }],
        }),
      );
      expect(again.createJobs).toEqual([]);
    },
  );

  test(
    'a run still going under Forbid holds the skipped run ' + 'back; after the next regular run it is no longer due',
    () => {
      const running = job('backup-bakery-manual', { start: '2027-03-28T00:50:00Z' });
      expect(
        reconcile(observed({ backup: rome, cronJob, now: new Date('2027-03-28T01:00:05Z'), jobs: [running] }))
          .createJobs,
      ).toEqual([]);
      expect(reconcile(observed({ backup: rome, cronJob, now: new Date('2027-03-29T00:31:00Z') })).createJobs).toEqual(
        [],
      );
    },
  );

  test('a suspended Backup or one with a missed starting deadline gets no skipped run', () => {
    expect(
      reconcile(
        observed({
          backup: backupObject({ backupTime: '02:30', timeZone: 'Europe/Rome', suspend: true }),
          cronJob,
          now: new Date('2027-03-28T01:00:05Z'),
        }),
      ).createJobs,
    ).toEqual([]);
    const deadline = backupObject({ backupTime: '02:30', timeZone: 'Europe/Rome', startingDeadlineSeconds: 60 });
    expect(
      reconcile(observed({ backup: deadline, cronJob, now: new Date('2027-03-28T01:05:00Z') })).createJobs,
    ).toEqual([]);
  });
});

describe('reconcile around an autumn change (Rome, 2026-10-25: 03:00 goes back to 02:00 = 01:00 UTC)', () => {
  const first = '2026-10-25T00:30:00Z';
  const second = '2026-10-25T01:30:00Z';
  const held = (at: string) => {
    const j = job(`backup-bakery-${Date.parse(at) / 60000}`, { start: at });
    j.spec = { suspend: true };
    j.metadata.annotations = { [SCHEDULED_TIMESTAMP_ANNOTATION]: at };
    delete j.status.startTime;
    return j;
  };

  test('the CronJob holds its Jobs from six hours before until an hour after the repeated hour, and only then', () => {
    const at = (now: string) => reconcile(observed({ backup: rome, now: new Date(now) }));
    expect(at('2026-10-24T18:59:00Z').cronJob!.spec.jobTemplate.spec.suspend).toBeUndefined();
    expect(at('2026-10-24T19:00:00Z').cronJob!.spec.jobTemplate.spec.suspend).toBe(true);
    expect(at('2026-10-25T02:59:00Z').cronJob!.spec.jobTemplate.spec.suspend).toBe(true);
    expect(at('2026-10-25T03:00:00Z').cronJob!.spec.jobTemplate.spec.suspend).toBeUndefined();
    // The hold changes the inputs digest, so the CronJob is re-applied when it starts and when it ends.
    expect(at('2026-10-24T19:00:00Z').cronJobInputs).not.toBe(at('2026-10-24T18:59:00Z').cronJobInputs);
    expect(at('2026-10-25T03:00:00Z').cronJobInputs).toBe(at('2026-10-24T18:59:00Z').cronJobInputs);
  });

  test('the first 02:30 is started, the second is deleted before it ran, and the status says so', () => {
    const d = reconcile(
      observed({ backup: rome, cronJob, now: new Date('2026-10-25T01:30:02Z'), jobs: [held(first), held(second)] }),
    );
    expect(d.admitJobs).toEqual([held(first).metadata.name]);
    expect(d.dropJobs).toEqual([held(second).metadata.name]);
    expect(d.status.message).toBe(`${held(first).metadata.name} is waiting for the operator to start it`);
    expect(d.status.conditions![0].message).toContain('2026-10-25 02:00–02:59 happens twice in Europe/Rome');
  });

  test('a Job the operator did not make from the schedule is never started or dropped by it', () => {
    const foreign = job('someone-elses', { start: second });
    foreign.spec = { suspend: true };
    const d = reconcile(observed({ backup: rome, cronJob, now: new Date(second), jobs: [foreign] }));
    expect([d.admitJobs, d.dropJobs]).toEqual([[], []]);
  });
});
