import { BACKUP_SCHEMA } from '../../lib/permits/backup-schema';
import { schemaProblems } from '../../lib/permits/backup-validation';
import { reconcile } from '../../operator/controller/reconcile';
import { runNowRecord } from '../../operator/controller/reconcile-plan';
import { INPUTS_ANNOTATION, REASON } from '../../operator/controller/vocabulary';
import { withRefusals } from '../../operator/controller/write-outcome';
import { asStored, backupObject, observed, workloadPod } from '../../testing/reconcile-fixtures';

const statusProblems = (status: unknown) => schemaProblems(BACKUP_SCHEMA.properties!.status, status, 'status');

describe('refused writes are reported in the status, which is written last', () => {
  const decided = reconcile(observed()).status;

  test(
    'a CronJob the API server refuses (422): Ready=False ' +
      "CronJobRefused, Failed, the server's words and what to do, a Warning",
    () => {
      const { status, events } = withRefusals(
        decided,
        undefined,
        [
          {
            what: 'CronJob backup-bakery',
            reason: REASON.CronJobRefused,
            statusCode: 422,
            message: 'spec.timeZone: Invalid value: "Mars/X": unknown time zone Mars/X',
          },
        ],
        '2026-11-25T10:00:00Z',
      );
      expect(status.phase).toBe('Failed');
      expect(status.conditions![0]).toMatchObject({
        type: 'Ready',
        status: 'False',
        reason: 'CronJobRefused',
        lastTransitionTime: '2026-11-25T10:00:00Z',
      });
      expect(status.message).toBe(
        'the API server refused CronJob backup-bakery (HTTP 422): spec.timeZone: Invalid value: "Mars/X": ' +
          "unknown time zone Mars/X; correct the Backup's spec; the operator retries after every change",
      );
      expect(events).toEqual([{ type: 'Warning', reason: 'CronJobRefused', message: status.message }]);
      expect(statusProblems(status)).toEqual([]);
    },
  );

  test('the same refusal again says nothing new and keeps its transition time', () => {
    const refusal = {
      what: 'run-now Job j',
      reason: REASON.RunNowRefused,
      statusCode: 403,
      message: 'exceeded quota: shop-quota, requested: limits.memory=1Gi',
    } as const;
    const first = withRefusals(decided, undefined, [refusal], '2026-11-25T10:00:00Z');
    const again = withRefusals(decided, first.status, [refusal], '2026-11-25T10:05:00Z');
    expect(again.events).toEqual([]);
    expect(again.status).toEqual(first.status);
    expect(first.status.message).toMatch(/ResourceQuota/);
  });

  test('a refused run-now request stays unrecorded, so it is tried again', () => {
    const request = reconcile(
      observed({ backup: backupObject({}, { annotations: { 'mall.example.com/run-now': 'now' } }) }),
    ).status;
    expect(request.lastRunNowRequest).toBe('now');
    const { status } = withRefusals(
      request,
      { lastRunNowRequest: 'earlier' },
      [{ what: 'run-now Job j', reason: REASON.RunNowRefused, statusCode: 403, message: 'quota' }],
      't',
    );
    expect(status.lastRunNowRequest).toBe('earlier');
  });

  test('nothing refused: the decided status as it is', () => {
    expect(withRefusals(decided, undefined, [], 't')).toEqual({ status: decided, events: [] });
  });
});

describe('status fields stay within the schema', () => {
  test(
    'a run-now annotation longer than lastRunNowRequest allows ' +
      'is recorded as a digest; later reconciles start nothing more',
    () => {
      const request = 'x'.repeat(5000);
      const o = observed({ backup: backupObject({}, { annotations: { 'mall.example.com/run-now': request } }) });
      const first = reconcile(o);
      expect(first.createJobs).toHaveLength(1);
      expect(first.status.lastRunNowRequest).toBe(runNowRecord(request));
      expect(first.status.lastRunNowRequest!.length).toBeLessThanOrEqual(1024);
      expect(statusProblems(first.status)).toEqual([]);
      const next = reconcile({ ...o, backup: { ...o.backup, status: first.status } });
      expect(next.createJobs).toEqual([]);
    },
  );

  test('a short request is recorded as written', () => {
    expect(runNowRecord('2026-11-25')).toBe('2026-11-25');
  });
});

describe('a field removed from the spec leaves the CronJob', () => {
  test.each([
    ['startingDeadlineSeconds', { startingDeadlineSeconds: 300 }],
    ['activeDeadlineSeconds', { activeDeadlineSeconds: 3600 }],
  ])('%s: the CronJob is applied again, whole, without it', (field, extra) => {
    const before = reconcile(observed({ backup: backupObject(extra) }));
    const stored = asStored(before.cronJob!);
    const after = reconcile(observed({ backup: backupObject({}), cronJob: stored }));
    expect(after.cronJobChanged).toBe(true);
    expect(JSON.stringify(after.cronJob)).not.toContain(field);
    expect(after.cronJob!.metadata.annotations?.[INPUTS_ANNOTATION]).toBe(after.cronJobInputs);
  });

  test('the ReadWriteOnce node pin: once the claim is free, the CronJob is applied without the affinity', () => {
    const pinned = reconcile(observed({ namespacePods: [workloadPod('web', 'node-b', 'bakery-data')] }));
    expect(pinned.cronJob!.spec.jobTemplate.spec.template.spec.affinity).toBeDefined();
    const freed = reconcile(observed({ cronJob: asStored(pinned.cronJob!) }));
    expect(freed.cronJobChanged).toBe(true);
    expect(freed.cronJob!.spec.jobTemplate.spec.template.spec.affinity).toBeUndefined();
  });

  test('an unchanged spec is still no change', () => {
    const first = reconcile(observed());
    expect(reconcile(observed({ cronJob: asStored(first.cronJob!) })).cronJobChanged).toBe(false);
  });
});
