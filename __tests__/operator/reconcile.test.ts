import { dropJobTemplate } from '../../operator/runtime/trim';
import { cronJobNameFor, runNowToken } from '../../lib/run/backup-names';
import { RUN_NOW_ANNOTATION, RUN_NOW_DIGEST_LABEL, RUN_NOW_DIGEST_LABEL_UNTIL_0_1 } from '../../lib/permits/backup-api';
import type { Observed } from '../../operator/controller/types';
import { reconcile } from '../../operator/controller/reconcile';
import { gateProblems } from '../../testing/k8s-rules';
import { asStored, backupObject, claim, job, jobPod, observed, workloadPod } from '../../testing/reconcile-fixtures';

/** Runs reconcile, then feeds its status and CronJob back as the API server would store them. */
function settle(o: Observed) {
  const first = reconcile(o);
  const backup = { ...o.backup, status: first.status };
  const cronJob = first.cronJob ? asStored(first.cronJob) : o.cronJob;
  return { first, next: reconcile({ ...o, backup, cronJob }), backup, cronJob };
}

describe('schedules and time zones', () => {
  test.each<[string, string, string, string, string]>([
    ['HH:MM in UTC', '02:30', 'UTC', '30 2 * * *', '2026-11-26T02:30:00Z'],
    ['HH:MM in Rome (UTC+1 in winter)', '02:30', 'Europe/Rome', '30 2 * * *', '2026-11-26T01:30:00Z'],
    ['HH:MM in New York (UTC-5 in winter)', '23:05', 'America/New_York', '5 23 * * *', '2026-11-26T04:05:00Z'],
    ['@daily in Tokyo', '@daily', 'Asia/Tokyo', '@daily', '2026-11-25T15:00:00Z'],
    ['weekdays only, asked on a Wednesday', '15 3 * * 1-5', 'UTC', '15 3 * * 1-5', '2026-11-26T03:15:00Z'],
    ['a Saturday-only cron', '0 4 * * SAT', 'UTC', '0 4 * * SAT', '2026-11-28T04:00:00Z'],
    ['hourly', '@hourly', 'UTC', '@hourly', '2026-11-25T11:00:00Z'],
    ["a numeric-prefix step: 5-59/15 past 2 o'clock", '5/15 2 * * *', 'UTC', '5/15 2 * * *', '2026-11-26T02:05:00Z'],
    ['a step larger than its field: minute 0 only', '*/90 * * * *', 'UTC', '*/90 * * * *', '2026-11-25T11:00:00Z'],
    ['day names in lower case', '0 4 * * sat', 'UTC', '0 4 * * sat', '2026-11-28T04:00:00Z'],
    ['a legacy zone name Go knows', '02:30', 'US/Eastern', '30 2 * * *', '2026-11-26T07:30:00Z'],
  ])('%s', (_, backupTime, timeZone, schedule, next) => {
    const d = reconcile(observed({ backup: backupObject({ backupTime, timeZone }) }));
    expect(d.cronJob!.spec.schedule).toBe(schedule);
    expect(d.cronJob!.spec.timeZone).toBe(timeZone);
    expect(d.status.nextScheduleTime).toBe(next);
  });

  test("a window runs at the minute the Backup's namespace and name choose, shown in status.effectiveSchedule", () => {
    // mall-shops/bakery gets 01:16 in "01:00-05:00" (pinned in schedule-window.test.ts).
    const d = reconcile(observed({ backup: backupObject({ backupTime: '01:00-05:00', timeZone: 'Europe/Rome' }) }));
    expect(d.cronJob!.spec.schedule).toBe('16 1 * * *');
    expect(d.status.effectiveSchedule).toBe('16 1 * * *');
    expect(d.status.nextScheduleTime).toBe('2026-11-26T00:16:00Z');
    expect(d.status.conditions![0].message).toContain('runs "16 1 * * *" in Europe/Rome');
    const other = reconcile(observed({ backup: backupObject({ backupTime: '01:00-05:00' }, { name: 'florist' }) }));
    expect(other.status.effectiveSchedule).toBe('43 4 * * *');
    expect(reconcile(observed({ backup: backupObject({ backupTime: '02:30' }) })).status.effectiveSchedule).toBe(
      '30 2 * * *',
    );
  });

  test('the next run follows the daylight-saving change of its zone', () => {
    const spec = { backupTime: '02:30', timeZone: 'America/New_York' };
    // 2026-03-08: clocks go from 02:00 to 03:00 in New York.
    expect(
      reconcile(observed({ backup: backupObject(spec), now: new Date('2026-03-06T12:00:00Z') })).status
        .nextScheduleTime,
    ).toBe('2026-03-07T07:30:00Z');
    expect(
      reconcile(observed({ backup: backupObject(spec), now: new Date('2026-03-09T00:00:00Z') })).status
        .nextScheduleTime,
    ).toBe('2026-03-09T06:30:00Z');
  });

  test('the CronJob carries concurrency, suspend, deadlines, history limits and an owner reference', () => {
    const d = reconcile(
      observed({
        backup: backupObject({
          concurrencyPolicy: 'Replace' as never,
          suspend: true,
          startingDeadlineSeconds: 300,
          activeDeadlineSeconds: 3600,
          backoffLimit: 4,
        }),
      }),
    );
    const cron = d.cronJob!;
    expect(cron.metadata).toMatchObject({ name: 'backup-bakery', namespace: 'mall-shops' });
    expect(cron.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Backup', name: 'bakery', uid: expect.any(String), controller: true }),
    ]);
    expect(cron.spec).toMatchObject({
      concurrencyPolicy: 'Replace',
      suspend: true,
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(cron.spec.jobTemplate.spec).toMatchObject({ activeDeadlineSeconds: 3600, backoffLimit: 4 });
    expect(gateProblems([cron as any])).toEqual([]);
  });

  test('a long Backup name gives a CronJob name within 52 characters, stable and distinct', () => {
    const long = 'a'.repeat(60);
    expect(cronJobNameFor(long)).toHaveLength(52);
    expect(cronJobNameFor(long)).toBe(cronJobNameFor(long));
    expect(cronJobNameFor(long)).not.toBe(cronJobNameFor(`${'a'.repeat(59)}b`));
  });
});

describe('the backup pod', () => {
  const pod = (o: Observed) => reconcile(o).cronJob!.spec.jobTemplate.spec.template.spec;

  test("mounts the shop's claims read-only under /data, takes credentials from the Secret, and has no token", () => {
    const p = pod(
      observed({
        claims: [
          claim('bakery-data', { shop: 'bakery' }),
          claim('bakery-db', { shop: 'bakery' }),
          claim('florist-data', { shop: 'florist' }),
        ],
      }),
    );
    const c = p.containers[0];
    expect(c.volumeMounts.filter((m: any) => m.mountPath.startsWith('/data/'))).toEqual([
      { name: 'shop-0', mountPath: '/data/bakery-data', readOnly: true },
      { name: 'shop-1', mountPath: '/data/bakery-db', readOnly: true },
    ]);
    expect(p.volumes.filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim)).toEqual([
      { claimName: 'bakery-data', readOnly: true },
      { claimName: 'bakery-db', readOnly: true },
    ]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'bakery-vault' } }]);
    expect(c.command.slice(3)).toEqual(['mall-backup', '/data/bakery-data', '/data/bakery-db']);
    expect(p.automountServiceAccountToken).toBe(false);
    expect(c.image).toMatch(/^docker\.io\/restic\/restic:\d+\.\d+\.\d+$/);
  });

  test('no spec value appears in the script text: values travel as environment and arguments', () => {
    const hostile = { shopName: 'bakery', vaultLocation: 's3:https://h/bucket/$(reboot)', vaultCredentialsSecret: 'v' };
    const c = reconcile(observed({ backup: backupObject({ ...hostile, retention: { keepLast: 3, keepDaily: 5 } }) }));
    // The spec is invalid ($ in the vault), so nothing is rendered for it …
    expect(c.cronJob).toBeUndefined();
    // … and for a valid one, the script is the fixed text whatever the spec says.
    const a = pod(observed({ backup: backupObject({ retention: { keepLast: 3 } }) })).containers[0];
    const b = pod(
      observed({
        backup: backupObject({
          retention: { keepLast: 9, keepWeekly: 2 },
          shopName: 'bakery',
          vaultLocation: 'pvc://vault/x',
        }),
      }),
    ).containers[0];
    expect(a.command[2]).toBe(b.command[2]);
    expect(b.env).toEqual(
      expect.arrayContaining([
        { name: 'KEEP_LAST', value: '9' },
        { name: 'KEEP_WEEKLY', value: '2' },
        { name: 'RESTIC_REPOSITORY', value: '/vault/x' },
        { name: 'SHOP_NAME', value: 'bakery' },
        { name: 'BACKUP_REF', value: 'mall-shops/bakery' },
      ]),
    );
  });

  test('a pvc:// vault mounts its claim read-write at /vault and is never backed up', () => {
    const p = pod(
      observed({
        backup: backupObject({ vaultLocation: 'pvc://mall-vault/shops/bakery' }),
        claims: [claim('bakery-data', { shop: 'bakery' }), claim('mall-vault', { shop: 'bakery' })],
      }),
    );
    expect(p.volumes).toEqual(
      expect.arrayContaining([{ name: 'vault', persistentVolumeClaim: { claimName: 'mall-vault' } }]),
    );
    expect(p.containers[0].volumeMounts).toEqual(expect.arrayContaining([{ name: 'vault', mountPath: '/vault' }]));
    expect(p.containers[0].command.slice(4)).toEqual(['/data/bakery-data']);
  });

  test('a ReadWriteOnce claim in use pins the pod to that node', () => {
    const p = pod(observed({ namespacePods: [workloadPod('bakery-web', 'node-b', 'bakery-data')] }));
    expect(p.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['node-b'] }] },
    ]);
    expect(
      pod(
        observed({
          claims: [claim('bakery-data', { shop: 'bakery', modes: ['ReadWriteMany'] })],
          namespacePods: [workloadPod('w', 'node-b', 'bakery-data')],
        }),
      ).affinity,
    ).toBeUndefined();
  });

  test('securityContext and resources from the spec reach the pod', () => {
    const p = pod(
      observed({
        backup: backupObject({
          securityContext: { runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000 },
          resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { cpu: 2, memory: '2Gi' } } as never,
        }),
      }),
    );
    expect(p.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000, runAsNonRoot: true });
    expect(p.containers[0].resources).toEqual({
      requests: { cpu: '200m', memory: '512Mi' },
      limits: { cpu: '2', memory: '2Gi' },
    });
  });
});

describe('status from the Job history', () => {
  const finished = (name: string, outcome: 'Complete' | 'Failed', start: string, finish: string) =>
    job(name, { start, outcome, finish });

  test('no run yet: Scheduled and Ready, and the CronJob is to be created', () => {
    const d = reconcile(observed());
    expect(d.status).toMatchObject({
      phase: 'Scheduled',
      observedGeneration: 1,
      nextScheduleTime: '2026-11-26T02:30:00Z',
    });
    expect(d.status.conditions!.filter((c) => c.type !== 'Fresh')).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'CronJobReady',
        message: 'runs "30 2 * * *" in UTC',
        observedGeneration: 1,
        lastTransitionTime: '2026-11-25T10:00:00Z',
      },
    ]);
    // Filed 24 days ago with no success yet: past two daily periods.
    expect(d.status.conditions!.find((c) => c.type === 'Fresh')).toMatchObject({ status: 'False', reason: 'Stale' });
    expect([d.cronJobChanged, d.statusChanged]).toEqual([true, true]);
  });

  test('steady state: nothing to write and nothing to say', () => {
    const { next } = settle(observed());
    expect([next.cronJobChanged, next.statusChanged, next.events, next.createJobs, next.deleteJobs]).toEqual([
      false,
      false,
      [],
      [],
      [],
    ]);
  });

  test('a spec change is a CronJob change', () => {
    const { backup, cronJob } = settle(observed());
    const changed = reconcile(
      observed({
        backup: {
          ...backup,
          spec: { ...backup.spec, backupTime: '04:00' },
          metadata: { ...backup.metadata, generation: 2 },
        },
        cronJob,
      }),
    );
    expect(changed.cronJobChanged).toBe(true);
    expect(changed.cronJob!.spec.schedule).toBe('0 4 * * *');
    expect(changed.status.observedGeneration).toBe(2);
  });

  test('a running Job: Running, lastScheduleTime, and a BackupStarted event', () => {
    const d = reconcile(observed({ jobs: [job('backup-bakery-1', { start: '2026-11-25T02:30:05Z' })] }));
    expect(d.status).toMatchObject({
      phase: 'Running',
      lastScheduleTime: '2026-11-25T02:30:05Z',
      message: 'backup-bakery-1 is running',
    });
    expect(d.events.filter((e) => e.reason !== 'Stale')).toEqual([
      { type: 'Normal', reason: 'BackupStarted', message: 'backup-bakery-1 started' },
    ]);
  });

  test('a missing vault Secret reported on the pod shows up in the message', () => {
    const running = job('backup-bakery-1', { start: '2026-11-25T02:30:05Z' });
    const d = reconcile(
      observed({
        jobs: [running],
        jobPods: [
          jobPod('backup-bakery-1', {
            waiting: { reason: 'CreateContainerConfigError', message: 'secret "bakery-vault" not found' },
          }),
        ],
      }),
    );
    expect(d.status.phase).toBe('Running');
    expect(d.status.message).toBe(
      'backup-bakery-1 is stuck: CreateContainerConfigError: secret "bakery-vault" not found',
    );
  });

  test('an image pull error shows up in the message', () => {
    const d = reconcile(
      observed({
        jobs: [job('j', { start: '2026-11-25T02:30:05Z' })],
        jobPods: [jobPod('j', { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } })],
      }),
    );
    expect(d.status.message).toBe('j is stuck: ImagePullBackOff: Back-off pulling image');
  });

  test('success: Completed, lastSuccessfulTime, the snapshot ID, and a BackupSucceeded event', () => {
    const done = finished('backup-bakery-1', 'Complete', '2026-11-25T02:30:05Z', '2026-11-25T02:41:00Z');
    const pod = jobPod('backup-bakery-1', {
      terminated: { exitCode: 0, reason: 'Completed', message: 'snapshot=4bba301e' },
    });
    const d = reconcile(observed({ jobs: [done], jobPods: [pod] }));
    expect(d.status).toMatchObject({
      phase: 'Completed',
      lastSuccessfulTime: '2026-11-25T02:41:00Z',
      lastSnapshotID: '4bba301e',
      lastScheduleTime: '2026-11-25T02:30:05Z',
    });
    expect(d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
      status: 'True',
      reason: 'BackupSucceeded',
      message: 'backup-bakery-1 finished, snapshot 4bba301e',
    });
    expect(d.events.map((e) => e.reason)).toEqual(['BackupStarted', 'BackupSucceeded']);
  });

  test("failure: Failed, lastFailureTime, the pod's own words, and a Warning event", () => {
    const bad = finished('backup-bakery-1', 'Failed', '2026-11-25T02:30:05Z', '2026-11-25T02:35:00Z');
    const pod = jobPod('backup-bakery-1', {
      terminated: { exitCode: 1, reason: 'Error', message: 'Fatal: wrong password or no key found' },
    });
    const d = reconcile(observed({ jobs: [bad], jobPods: [pod] }));
    expect(d.status).toMatchObject({ phase: 'Failed', lastFailureTime: '2026-11-25T02:35:00Z' });
    expect(d.status.lastSuccessfulTime).toBeUndefined();
    expect(d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
      status: 'False',
      reason: 'BackoffLimitExceeded',
      message:
        'backup-bakery-1 failed: Job has reached the specified backoff ' +
        'limit (Error (exit code 1): Fatal: wrong password or no key found)',
    });
    expect(d.events).toContainEqual({
      type: 'Warning',
      reason: 'BackupFailed',
      message: expect.stringContaining('wrong password'),
    });
  });

  test('a run stopped by activeDeadlineSeconds reports DeadlineExceeded', () => {
    const d = reconcile(
      observed({
        jobs: [
          job('j', {
            start: '2026-11-25T02:30:05Z',
            outcome: 'Failed',
            finish: '2026-11-25T03:30:05Z',
            reason: 'DeadlineExceeded',
          }),
        ],
      }),
    );
    expect(d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')!.reason).toBe('DeadlineExceeded');
  });

  test('the newest outcome decides the phase; older times are kept', () => {
    const ok = finished('j1', 'Complete', '2026-11-23T02:30:00Z', '2026-11-23T02:40:00Z');
    const bad = finished('j2', 'Failed', '2026-11-24T02:30:00Z', '2026-11-24T02:33:00Z');
    const okAgain = finished('j3', 'Complete', '2026-11-25T02:30:00Z', '2026-11-25T02:39:00Z');
    expect(reconcile(observed({ jobs: [bad, ok] })).status).toMatchObject({
      phase: 'Failed',
      lastSuccessfulTime: '2026-11-23T02:40:00Z',
      lastFailureTime: '2026-11-24T02:33:00Z',
    });
    expect(reconcile(observed({ jobs: [ok, bad, okAgain] })).status).toMatchObject({
      phase: 'Completed',
      lastSuccessfulTime: '2026-11-25T02:39:00Z',
      lastFailureTime: '2026-11-24T02:33:00Z',
    });
  });

  test('times already in the status survive Jobs the CronJob has cleaned up', () => {
    const o = observed({
      backup: backupObject({}, {}, { lastSuccessfulTime: '2026-11-20T02:40:00Z', lastSnapshotID: 'aaaa1111' }),
    });
    expect(reconcile(o).status).toMatchObject({
      lastSuccessfulTime: '2026-11-20T02:40:00Z',
      lastSnapshotID: 'aaaa1111',
    });
  });

  test('suspended: Suspended, no next run, the CronJob suspended', () => {
    const d = reconcile(observed({ backup: backupObject({ suspend: true }) }));
    expect(d.status.phase).toBe('Suspended');
    expect(d.status.nextScheduleTime).toBeUndefined();
    expect(d.cronJob!.spec.suspend).toBe(true);
  });

  test('a run suspended mid-way still shows Running', () => {
    expect(
      reconcile(
        observed({ backup: backupObject({ suspend: true }), jobs: [job('j', { start: '2026-11-25T02:30:00Z' })] }),
      ).status.phase,
    ).toBe('Running');
  });

  test('a missed starting deadline is reported', () => {
    const { cronJob } = settle(observed());
    const o = observed({
      backup: backupObject({ startingDeadlineSeconds: 600 }),
      cronJob: asStored(cronJob!, '2026-11-01T00:00:00Z'),
    });
    const d = reconcile(o);
    expect(d.status.phase).toBe('Failed');
    expect(d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
      status: 'False',
      reason: 'MissedSchedule',
      message: 'the run due at 2026-11-25T02:30:00Z did not start within 600s',
    });
    // Not missed: a run started after it was due; or no deadline is set; or the CronJob is newer than the due time.
    expect(
      reconcile({
        ...o,
        jobs: [job('j', { start: '2026-11-25T02:30:02Z', outcome: 'Complete', finish: '2026-11-25T02:40:00Z' })],
      }).status.phase,
    ).toBe('Completed');
    expect(reconcile({ ...o, backup: backupObject() }).status.phase).toBe('Scheduled');
    expect(reconcile({ ...o, cronJob: asStored(cronJob!, '2026-11-25T09:00:00Z') }).status.phase).toBe('Scheduled');
  });

  test('a condition keeps its lastTransitionTime while its status holds', () => {
    const { backup } = settle(observed());
    const later = reconcile(observed({ backup, now: new Date('2026-11-25T12:00:00Z') }));
    expect(later.status.conditions![0].lastTransitionTime).toBe('2026-11-25T10:00:00Z');
  });
});

describe('specs the operator cannot carry out', () => {
  test.each(['Mars/Olympus_Mons', 'europe/rome', 'PST'])(
    'a time zone Kubernetes would refuse (%s): InvalidSpec, Failed, no CronJob, a Warning event',
    (timeZone) => {
      const d = reconcile(observed({ backup: backupObject({ timeZone }) }));
      expect(d.cronJob).toBeUndefined();
      expect(d.status).toMatchObject({
        phase: 'Failed',
        message: expect.stringContaining(`spec.timeZone "${timeZone}" is not a time zone Kubernetes knows`),
      });
      expect(d.status.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'InvalidSpec' });
      expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec' })]);
    },
  );

  test.each(['0 2 * * 5-1', '0 2 * * 7', '*/0 2 * * *'])(
    'a schedule Kubernetes refuses (%s) is InvalidSpec with its reason, and nothing throws',
    (backupTime) => {
      const d = reconcile(observed({ backup: backupObject({ backupTime }) }));
      expect(d.cronJob).toBeUndefined();
      expect(d.status.conditions![0]).toMatchObject({
        type: 'Ready',
        status: 'False',
        reason: 'InvalidSpec',
        message: expect.stringContaining('backupTime'),
      });
      expect(d.statusChanged).toBe(true);
    },
  );

  test('a Backup name longer than a label value is InvalidSpec, not a CronJob the API server refuses', () => {
    const d = reconcile(observed({ backup: backupObject({}, { name: 'b'.repeat(64) }) }));
    expect(d.cronJob).toBeUndefined();
    expect(d.status).toMatchObject({ phase: 'Failed', message: expect.stringContaining('at most 63 allowed') });
  });

  test('a schedule that never fires (30 February) is Scheduled without a next time, and says so', () => {
    const d = reconcile(observed({ backup: backupObject({ backupTime: '0 2 30 2 *' }) }));
    expect(d.status.nextScheduleTime).toBeUndefined();
    expect(d.status.message).toMatch(/has no run in the next five years/);
  });

  test('a request above the default limit keeps the pod valid: the clashing default limit is left out', () => {
    const pod = reconcile(observed({ backup: backupObject({ resources: { requests: { memory: '4Gi' } } as never }) }))
      .cronJob!.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].resources).toEqual({ requests: { memory: '4Gi', cpu: '100m' }, limits: { cpu: '1' } });
  });

  test('a spec that slipped past the API server is refused the same way', () => {
    expect(reconcile(observed({ backup: backupObject({ backupTime: '25:00' }) })).status.conditions![0]).toMatchObject({
      reason: 'InvalidSpec',
      message: expect.stringContaining('spec.backupTime "25:00" is not valid'),
    });
  });

  test('no labelled claims: Pending, NoVolumes', () => {
    const d = reconcile(observed({ claims: [claim('florist-data', { shop: 'florist' })] }));
    expect(d.status).toMatchObject({
      phase: 'Pending',
      message: 'no PersistentVolumeClaim labelled mall.example.com/shop=bakery in this namespace',
    });
    expect(d.cronJob).toBeUndefined();
  });

  test('a listed claim that does not exist: NoVolumes', () => {
    expect(
      reconcile(observed({ backup: backupObject({ volumeClaims: ['bakery-data', 'bakery-db'] }) })).status.message,
    ).toBe('volume claims not found: bakery-db');
  });

  test('ReadWriteOnce claims in use on two nodes: Pending, VolumesOnDifferentNodes', () => {
    const d = reconcile(
      observed({
        claims: [claim('bakery-data', { shop: 'bakery' }), claim('bakery-db', { shop: 'bakery' })],
        namespacePods: [workloadPod('web', 'node-a', 'bakery-data'), workloadPod('db', 'node-b', 'bakery-db')],
      }),
    );
    expect(d.status.conditions![0]).toMatchObject({
      reason: 'VolumesOnDifferentNodes',
      message: 'ReadWriteOnce claims are in use on several nodes: node-a, node-b',
    });
  });
});

describe('run now', () => {
  const annotated = (value: string, spec = {}, status?: any) =>
    backupObject(spec, { annotations: { [RUN_NOW_ANNOTATION]: value } }, status);

  test('a new annotation value starts one Job from the same template, owned by the Backup', () => {
    const d = reconcile(observed({ backup: annotated('2026-11-25T10:00') }));
    expect(d.createJobs).toHaveLength(1);
    const j = d.createJobs[0];
    expect(j.metadata.labels![RUN_NOW_DIGEST_LABEL]).toBe(runNowToken('2026-11-25T10:00'));
    expect(j.metadata.labels![RUN_NOW_ANNOTATION]).toBeUndefined();
    expect(j.metadata.annotations![RUN_NOW_ANNOTATION]).toBe('2026-11-25T10:00');
    expect(j.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Backup', uid: expect.any(String) })]);
    expect(j.spec.template.spec.containers[0].command).toEqual(
      d.cronJob!.spec.jobTemplate.spec.template.spec.containers[0].command,
    );
    expect(d.status.lastRunNowRequest).toBe('2026-11-25T10:00');
    expect(gateProblems([j as any])).toEqual([]);
  });

  test('the same value again, or a Job already started for it, starts nothing', () => {
    expect(reconcile(observed({ backup: annotated('a', {}, { lastRunNowRequest: 'a' }) })).createJobs).toEqual([]);
    const started = job('backup-bakery-now-x', { start: '2026-11-25T10:00:01Z', runNowToken: runNowToken('a') });
    const d = reconcile(observed({ backup: annotated('a'), jobs: [started] }));
    expect([d.createJobs, d.status.lastRunNowRequest]).toEqual([[], 'a']);
  });

  test('a Job labelled under the key of 0.1.0 (started before an upgrade) answers its request: no second run', () => {
    const before = { start: '2026-11-25T10:00:01Z', runNowToken: runNowToken('a') };
    const old = job('backup-bakery-now-x', { ...before, runNowLabel: RUN_NOW_DIGEST_LABEL_UNTIL_0_1 });
    const d = reconcile(observed({ backup: annotated('a'), jobs: [old] }));
    expect([d.createJobs, d.deleteJobs, d.status.lastRunNowRequest]).toEqual([[], [], 'a']);
    // Under another key the Job is not this request's, so the request runs.
    const other = job('backup-bakery-now-x', { ...before, runNowLabel: 'example.com/run-now' });
    expect(
      reconcile(observed({ backup: annotated('a', { concurrencyPolicy: 'Replace' }), jobs: [other] })).createJobs,
    ).toHaveLength(1);
  });

  test('Forbid: a request during a run is skipped with a Warning', () => {
    const d = reconcile(
      observed({ backup: annotated('b'), jobs: [job('backup-bakery-1', { start: '2026-11-25T09:59:00Z' })] }),
    );
    expect(d.createJobs).toEqual([]);
    expect(d.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'RunNowSkipped' }));
  });

  test('Replace: the running Job is deleted and the new one started', () => {
    const d = reconcile(
      observed({
        backup: annotated('b', { concurrencyPolicy: 'Replace' }),
        jobs: [job('backup-bakery-1', { start: '2026-11-25T09:59:00Z' })],
      }),
    );
    expect(d.deleteJobs).toEqual(['backup-bakery-1']);
    expect(d.createJobs).toHaveLength(1);
  });
});

describe('rendered children', () => {
  test('the CronJob and a run-now Job match their snapshots and pass the gate', () => {
    const d = reconcile(observed({ backup: backupObject({}, { annotations: { [RUN_NOW_ANNOTATION]: 'now' } }) }));
    expect(d.cronJob).toMatchSnapshot('cronjob');
    expect(d.createJobs[0]).toMatchSnapshot('run-now job');
    expect(gateProblems([d.cronJob as any, d.createJobs[0] as any])).toEqual([]);
  });
});

describe('rendering only when inputs change', () => {
  test('a CronJob applied from the same inputs and unchanged since is not rendered or compared again', () => {
    const { first, cronJob } = settle(observed());
    const lastApplied = { inputs: first.cronJobInputs!, resourceVersion: cronJob!.metadata.resourceVersion! };
    const again = reconcile(observed({ cronJob, lastApplied }));
    expect([again.cronJob, again.cronJobChanged]).toEqual([undefined, false]);
    // Someone edited the CronJob (new resourceVersion): render and compare again.
    const edited = {
      ...cronJob!,
      metadata: { ...cronJob!.metadata, resourceVersion: '99' },
      spec: { ...cronJob!.spec, schedule: '0 0 * * *' },
    };
    expect(reconcile(observed({ cronJob: edited, lastApplied })).cronJobChanged).toBe(true);
    // The Backup changed (new inputs): render again.
    expect(
      reconcile(observed({ backup: backupObject({ backupTime: '05:00' }), cronJob, lastApplied })).cronJob!.spec
        .schedule,
    ).toBe('0 5 * * *');
  });

  test(
    'a cached CronJob whose job template was dropped is left ' +
      'alone while the memo holds, and re-applied when inputs change',
    () => {
      const { first, cronJob } = settle(observed());
      const lastApplied = { inputs: first.cronJobInputs!, resourceVersion: cronJob!.metadata.resourceVersion! };
      const trimmed = structuredClone(cronJob!);
      expect(dropJobTemplate(trimmed)).toBe(true);
      expect(trimmed.spec.jobTemplate).toBeUndefined();
      expect(trimmed.spec.schedule).toBe(cronJob!.spec.schedule);
      expect(reconcile(observed({ cronJob: trimmed, lastApplied })).cronJobChanged).toBe(false);
      // New inputs cannot be compared with a template that is gone: apply (one write), never skip.
      const changed = reconcile(
        observed({ backup: backupObject({ retention: { keepLast: 9 } }), cronJob: trimmed, lastApplied }),
      );
      expect(changed.cronJobChanged).toBe(true);
      // Without the memo (a restart) the whole object comes from the list, and an equal one is not rewritten.
      expect(reconcile(observed({ cronJob })).cronJobChanged).toBe(false);
    },
  );

  test('the inputs are recorded as a fixed-size digest, the same for the same inputs', () => {
    const a = reconcile(observed()).cronJobInputs!;
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(reconcile(observed()).cronJobInputs).toBe(a);
    expect(reconcile(observed({ backup: backupObject({ backupTime: '05:00' }) })).cronJobInputs).not.toBe(a);
  });
});
