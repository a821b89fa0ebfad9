/**
 * spec.verify's side of the operator, pure: one check CronJob per vault (scheduled by the Backup that asked first,
 * reading the largest subset asked for), a test-restore CronJob per verifying Backup, and the Verified condition
 * and its fields in the status reconcile writes.
 */
import { planVault, type VaultObserved, type VaultSettings } from '../../operator/controller/vault-plan';
import { planVerify } from '../../operator/controller/verify-plan';
import { reconcile } from '../../operator/controller/reconcile';
import type { BackupObject, KubeObject } from '../../operator/controller/types';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from '../../lib/run/verify-script';
import { restrictedProblems } from '../../testing/k8s-rules';
import { backupObject, observed } from '../../testing/reconcile-fixtures';

const SHARED = 's3:https://s3.amazonaws.com/vault/shared';
const SETTINGS: VaultSettings = { allowCrossNamespace: false, maintenanceSchedule: '0 4 * * 0' };

function shop(name: string, created: number, verify?: BackupObject['spec']['verify'], namespace = 'mall-shops') {
  return backupObject(
    { shopName: name, vaultLocation: SHARED, vaultCredentialsSecret: `${name}-vault`, timeZone: 'Europe/Rome', verify },
    { name, namespace, uid: `uid-${namespace}-${name}`, creationTimestamp: `2026-11-0${created}T00:00:00Z` },
  );
}

const complete = (job: KubeObject): KubeObject => ({
  ...job,
  status: { conditions: [{ type: 'Complete', status: 'True' }] },
});

/** Three Backups on one vault, its repository in place. */
function vaultOf(users: BackupObject[], checks: VaultObserved['checks'] = undefined): VaultObserved {
  const init = planVault(users[0], { users, initJobs: [], initPods: [], maintenance: [] }, SETTINGS).createInitJob!;
  return { users, initJobs: [complete(init)], initPods: [], maintenance: [], checks };
}

test(
  'one check per vault: the steward writes it, on the schedule of the first to ask, reading the largest ' + 'subset',
  () => {
    const users = [
      shop('bakery', 1),
      shop('florist', 2, { schedule: '0 3 * * 0', readDataSubset: '5%' }),
      shop('grocer', 3, { schedule: '30 1 * * *', readDataSubset: '12.5%' }),
    ];
    const plans = users.map((b) => planVault(b, vaultOf(users), SETTINGS));
    // Only the steward (the oldest Backup, even though it does not verify) writes; nobody deletes.
    expect(plans.map((p) => Boolean(p.applyCheck))).toEqual([true, false, false]);
    expect(plans.some((p) => p.deleteCheck)).toBe(false);
    const check = plans[0].applyCheck!;
    expect(check.metadata).toMatchObject({
      name: `vault-check-${plans[0].hash}`,
      namespace: 'mall-shops',
      labels: { 'app.kubernetes.io/component': 'vault-check', 'mall.example.com/repository': plans[0].hash },
    });
    expect(check.metadata.ownerReferences!.map((o: any) => o.name).sort()).toEqual(['bakery', 'florist', 'grocer']);
    expect(check.spec).toMatchObject({ schedule: '0 3 * * 0', timeZone: 'Europe/Rome', concurrencyPolicy: 'Forbid' });
    const pod = check.spec.jobTemplate.spec.template.spec;
    expect(pod.containers[0].command).toEqual(['/bin/sh', '-c', CHECK_SCRIPT, 'mall-backup-vault']);
    expect(pod.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'READ_DATA_SUBSET', value: '12.5%' },
        { name: 'RESTIC_REPOSITORY', value: SHARED },
      ]),
    );
    // The steward's Secret: it lives in the vault's namespace.
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: 'bakery-vault' } }]);
    expect(restrictedProblems(pod, 'vault check')).toEqual([]);

    // Applied and stored as the API server returns it: nothing more to do.
    const stored = { cronJobs: [{ ...check, status: {} }], jobs: [], pods: [] };
    expect(planVault(users[0], vaultOf(users, stored), SETTINGS).applyCheck).toBeUndefined();
    // The first to ask stops asking: the next one's schedule and zone, and the largest subset still asked for.
    const later = [users[0], shop('florist', 2), users[2]];
    const moved = planVault(later[0], vaultOf(later, stored), SETTINGS).applyCheck!;
    expect(moved.spec.schedule).toBe('30 1 * * *');
    // Nobody asks any more: the check goes.
    const none = [users[0], shop('florist', 2), shop('grocer', 3)];
    const gone = planVault(none[0], vaultOf(none, stored), SETTINGS);
    expect([gone.applyCheck, gone.deleteCheck]).toEqual([
      undefined,
      { namespace: 'mall-shops', name: check.metadata.name },
    ]);
  },
);

test('no check before the repository exists, and none for a Backup elsewhere unless sharing is allowed', () => {
  const users = [shop('bakery', 1, { schedule: '@weekly' })];
  expect(planVault(users[0], { users, initJobs: [], initPods: [], maintenance: [] }, SETTINGS).applyCheck).toBe(
    undefined,
  );
  const elsewhere = [shop('bakery', 1), shop('outlet', 2, { schedule: '@weekly' }, 'other-shops')];
  expect(planVault(elsewhere[0], vaultOf(elsewhere), SETTINGS).applyCheck).toBeUndefined();
  const allowed = planVault(elsewhere[0], vaultOf(elsewhere), { ...SETTINGS, allowCrossNamespace: true });
  expect(allowed.applyCheck!.metadata.namespace).toBe('mall-shops');
  // Owned only by the Backups of its own namespace (owner references cannot cross namespaces).
  expect(allowed.applyCheck!.metadata.ownerReferences!.map((o: any) => o.name)).toEqual(['bakery']);
});

test("a verifying Backup's own CronJob test-restores as the Backup's user; it goes when verify is dropped", () => {
  const backup = backupObject({
    verify: { schedule: '03:00-05:00', readDataSubset: '5%' },
    securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
  });
  const none = { jobs: [], checkJobs: [], pods: [] };
  const plan = planVerify({ backup, runnable: true, ...none });
  const cron = plan.applyCronJob!;
  expect(cron.metadata).toMatchObject({
    name: 'verify-bakery',
    labels: { 'app.kubernetes.io/component': 'verify', 'mall.example.com/backup-uid': backup.metadata.uid },
    ownerReferences: [{ kind: 'Backup', name: 'bakery', controller: true }],
  });
  // A window resolves to a minute inside it, stable for this Backup.
  const [minute, hour] = cron.spec.schedule.split(' ').map(Number);
  expect(hour * 60 + minute).toBeGreaterThanOrEqual(180);
  expect(hour * 60 + minute).toBeLessThan(300);
  expect(planVerify({ backup, runnable: true, ...none }).applyCronJob!.spec.schedule).toBe(cron.spec.schedule);
  const pod = cron.spec.jobTemplate.spec.template.spec;
  expect(pod.containers[0].command[2]).toBe(TEST_RESTORE_SCRIPT);
  expect(pod.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
  expect(pod.containers[0].env).toEqual(expect.arrayContaining([{ name: 'BACKUP_REF', value: 'mall-shops/bakery' }]));
  expect(restrictedProblems(pod, 'test restore')).toEqual([]);
  expect(planVerify({ backup, cronJob: cron, runnable: true, ...none }).applyCronJob).toBeUndefined();
  // Not runnable (its vault not yet initialized): nothing is written, nothing removed.
  expect(planVerify({ backup, runnable: false, ...none })).toEqual({ events: [] });
  const off = backupObject();
  expect(planVerify({ backup: off, cronJob: cron, runnable: true, ...none })).toEqual({
    deleteCronJob: 'verify-bakery',
    events: [],
  });
});

test(
  'the verdict lands in the status: Verified, lastVerifiedTime, lastVerifiedSnapshotID, a Warning on ' + 'failure',
  () => {
    const backup = backupObject({ verify: { schedule: '@weekly' } });
    const job = (name: string, component: string): KubeObject => ({
      metadata: { name, labels: { 'app.kubernetes.io/component': component } },
      status: {
        completionTime: '2026-11-25T03:10:00Z',
        conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2026-11-25T03:10:00Z' }],
      },
    });
    const pod = (jobName: string, message: string): KubeObject => ({
      metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
      status: { containerStatuses: [{ state: { terminated: { exitCode: 0, message } } }] },
    });
    const verify = planVerify({
      backup,
      cronJob: undefined,
      runnable: true,
      jobs: [job('verify-bakery-1', 'verify')],
      checkJobs: [job('vault-check-1', 'vault-check')],
      pods: [
        pod('verify-bakery-1', 'verified 4bba301e 2026-11-25T02:30:00Z 21 1000012'),
        pod('vault-check-1', 'checked 5%'),
      ],
    });
    const passed = reconcile(observed({ backup, verification: verify }));
    expect(passed.status.conditions!.find((c) => c.type === 'Verified')).toMatchObject({
      status: 'True',
      reason: 'Verified',
    });
    expect(passed.status).toMatchObject({
      lastVerifiedTime: '2026-11-25T03:10:00Z',
      lastVerifiedSnapshotID: '4bba301e',
    });

    // Next week the check fails: False with the check's reason and a Warning; the last verified snapshot stays.
    const after = { ...backup, status: passed.status };
    const failing = planVerify({
      backup: after,
      runnable: true,
      jobs: [],
      checkJobs: [
        {
          metadata: { name: 'vault-check-2' },
          status: { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: '2026-12-02T03:10:00Z' }] },
        },
      ],
      pods: [pod('vault-check-2', 'failed CheckFailed restic check found the vault damaged or unreadable')],
    });
    const failed = reconcile(observed({ backup: after, verification: failing }));
    expect(failed.status.conditions!.find((c) => c.type === 'Verified')).toMatchObject({
      status: 'False',
      reason: 'CheckFailed',
    });
    expect(failed.status.lastVerifiedSnapshotID).toBe('4bba301e');
    expect(failed.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'CheckFailed' }));
    // Verification dropped from the spec: no claim either way any more.
    const dropped = reconcile(
      observed({
        backup: { ...after, spec: backupObject().spec },
        verification: planVerify({ backup: backupObject(), runnable: true, jobs: [], checkJobs: [], pods: [] }),
      }),
    );
    expect(dropped.status.conditions!.map((c) => c.type)).not.toContain('Verified');
  },
);

test(
  'before the first backup there is nothing to test-restore: Unknown, no Warning; once one was saved, a ' + 'finding',
  () => {
    const backup = backupObject({ verify: { schedule: '@weekly' } });
    const restore: KubeObject = {
      metadata: { name: 'verify-bakery-1' },
      status: { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: '2026-11-25T03:10:00Z' }] },
    };
    const pods: KubeObject[] = [
      {
        metadata: { name: 'verify-bakery-1-x', labels: { 'job-name': 'verify-bakery-1' } },
        status: {
          containerStatuses: [
            {
              state: {
                terminated: {
                  exitCode: 1,
                  message: 'failed NoSnapshot no snapshot of Backup mall-shops/bakery in the vault to test-restore',
                },
              },
            },
          ],
        },
      },
    ];
    const seen = { runnable: true, cronJob: undefined, jobs: [restore], checkJobs: [], pods };
    expect(planVerify({ ...seen, backup })).toMatchObject({
      condition: {
        status: 'Unknown',
        reason: 'NoSnapshot',
        message:
          'verify-bakery-1: no snapshot of Backup mall-shops/bakery in the vault to test-restore; waiting for the ' +
          'first backup',
      },
      events: [],
    });
    const saved = { ...backup, status: { lastSnapshotID: '4bba301e' } };
    expect(planVerify({ ...seen, backup: saved })).toMatchObject({
      condition: { status: 'False', reason: 'NoSnapshot' },
      events: [{ type: 'Warning', reason: 'NoSnapshot' }],
    });
  },
);
