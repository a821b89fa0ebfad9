/**
 * VaultMaintained: the vault's newest finished maintenance, on every Backup of that vault, with the cause from the
 * maintenance pod's result; a Warning Event when it turns failed; mall_backup_vault_maintained.
 */
import { MAINTAINED_REASON, maintenanceCronJobManifest, REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import { OperatorMetrics } from '../../operator/controller/metrics';
import { reconcile } from '../../operator/controller/reconcile';
import type { KubeObject } from '../../operator/controller/types';
import { VaultIndex } from '../../operator/controller/vault-index';
import { maintainedEvents, maintainedVerdict } from '../../operator/controller/vault-maintained';
import { backupObject, observed } from '../../testing/reconcile-fixtures';

const HASH = 'aaaabbbbccccdddd';
const labels = { 'app.kubernetes.io/component': 'vault-maintenance', [REPOSITORY_LABEL]: HASH };

function maintenanceJob(name: string, outcome: 'Complete' | 'Failed' | undefined, at: string): KubeObject {
  return {
    metadata: { name, namespace: 'mall-shops', labels, creationTimestamp: at },
    spec: { template: {} },
    status: {
      startTime: at,
      ...(outcome === 'Complete' ? { completionTime: at } : {}),
      conditions: outcome
        ? [
            {
              type: outcome,
              status: 'True',
              lastTransitionTime: at,
              ...(outcome === 'Failed'
                ? { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }
                : {}),
            },
          ]
        : [],
    },
  };
}
const pod = (job: string, result?: object): KubeObject => ({
  metadata: { name: `${job}-p`, namespace: 'mall-shops', labels: { 'job-name': job } },
  status: {
    containerStatuses: [
      {
        name: 'restic',
        state: { terminated: { exitCode: result ? 1 : 137, message: result ? JSON.stringify(result) : '' } },
      },
    ],
  },
});
const wrongPassword = {
  v: 1,
  outcome: 'Failed',
  reason: 'WrongPassword',
  message:
    "restic unlock failed: the vault's password (RESTIC_PASSWORD in the credentials Secret) does not open the " +
    'repository',
};
const done = {
  v: 1,
  outcome: 'Completed',
  reason: MAINTAINED_REASON,
  message: 'stale locks cleared, unused data pruned, the repository checked',
};

test(
  'the newest finished maintenance decides: a failure names the cause from its result and how to run it ' + 'again',
  () => {
    const jobs = [
      maintenanceJob('vault-maintenance-aaaabbbbccccdddd-1', 'Complete', '2026-11-15T04:00:00Z'),
      maintenanceJob('vault-maintenance-aaaabbbbccccdddd-2', 'Failed', '2026-11-22T04:00:00Z'),
      maintenanceJob('vault-maintenance-aaaabbbbccccdddd-3', undefined, '2026-11-29T04:00:00Z'),
    ];
    const pods = [pod(jobs[0].metadata.name, done), pod(jobs[1].metadata.name, wrongPassword)];
    const podsOf = (j: KubeObject) => pods.filter((p) => p.metadata.labels!['job-name'] === j.metadata.name);
    const verdict = maintainedVerdict(jobs, podsOf)!;
    expect(verdict).toMatchObject({ type: 'VaultMaintained', status: 'False', reason: 'WrongPassword' });
    expect(verdict.message).toContain(
      'vault maintenance Job mall-shops/vault-maintenance-aaaabbbbccccdddd-2 failed at 2026-11-22T04:00:00Z',
    );
    expect(verdict.message).toContain('RESTIC_PASSWORD in the credentials Secret');
    expect(verdict.message).toContain(
      'kubectl -n mall-shops create job vault-maintenance-aaaabbbbccccdddd-now ' +
        '--from=cronjob/vault-maintenance-aaaabbbbccccdddd',
    );
    expect(maintainedVerdict(jobs.slice(0, 1), podsOf)).toMatchObject({ status: 'True', reason: MAINTAINED_REASON });
    expect(maintainedVerdict(jobs.slice(2), podsOf)).toBeUndefined();
  },
);

test(
  "a maintenance that left no result (its pod killed, never started): MaintenanceFailed with the Job's " + 'words',
  () => {
    const failed = maintenanceJob('vault-maintenance-aaaabbbbccccdddd-2', 'Failed', '2026-11-22T04:00:00Z');
    const verdict = maintainedVerdict([failed], () => [pod(failed.metadata.name)])!;
    expect(verdict).toMatchObject({ status: 'False', reason: 'MaintenanceFailed' });
    expect(verdict.message).toContain('Job has reached the specified backoff limit');
  },
);

test('a Warning Event when maintenance turns failed or fails anew; none while nothing changes or it succeeds', () => {
  const verdict = { type: 'VaultMaintained', status: 'False' as const, reason: 'VaultLocked', message: 'm' };
  expect(maintainedEvents(undefined, verdict)).toEqual([
    { type: 'Warning', reason: 'VaultMaintenanceFailed', message: 'm' },
  ]);
  expect(maintainedEvents([{ ...verdict, lastTransitionTime: 't' }], verdict)).toEqual([]);
  expect(maintainedEvents([{ ...verdict, lastTransitionTime: 't' }], { ...verdict, message: 'n' })).toHaveLength(1);
  expect(maintainedEvents(undefined, { ...verdict, status: 'True', reason: MAINTAINED_REASON })).toEqual([]);
});

test(
  'the Backup shows VaultMaintained, keeps it when the Jobs are gone, and exports ' + 'mall_backup_vault_maintained',
  async () => {
    const verdict = {
      type: 'VaultMaintained',
      status: 'False' as const,
      reason: 'VaultFull',
      message: 'no space left',
    };
    const first = reconcile(observed({ vaultMaintained: verdict }));
    expect(first.status.conditions?.find((c) => c.type === 'VaultMaintained')).toMatchObject(verdict);
    expect(first.events).toContainEqual({
      type: 'Warning',
      reason: 'VaultMaintenanceFailed',
      message: 'no space left',
    });
    const later = reconcile(observed({ backup: backupObject({}, {}, first.status) }));
    expect(later.status.conditions?.find((c) => c.type === 'VaultMaintained')).toMatchObject(verdict);
    expect(later.events.filter((e) => e.reason === 'VaultMaintenanceFailed')).toEqual([]);

    const metrics = new OperatorMetrics();
    metrics.recordStatus('mall-shops', 'bakery', first.status);
    expect(await metrics.registry.getSingleMetricAsString('mall_backup_vault_maintained')).toContain(
      'mall_backup_vault_maintained{namespace="mall-shops",name="bakery"} 0',
    );
    const fixed = reconcile(observed({ vaultMaintained: { ...verdict, status: 'True', reason: MAINTAINED_REASON } }));
    metrics.recordStatus('mall-shops', 'bakery', fixed.status);
    expect(await metrics.registry.getSingleMetricAsString('mall_backup_vault_maintained')).toContain('} 1');
    metrics.forget('mall-shops', 'bakery');
    expect(await metrics.registry.getSingleMetricAsString('mall_backup_vault_maintained')).not.toContain('bakery');
  },
);

test(
  "the vault index reads the maintenance CronJob's Jobs (not the CronJob, not the init Job) for every Backup of " +
    'the vault',
  () => {
    const index = new VaultIndex(() => {});
    const handlers: Record<string, Record<string, (o: any) => void>> = { users: {}, work: {} };
    for (const kind of ['users', 'work'] as const)
      index.watch(kind, {
        on: (event: string, handler: (o: any) => void) => (handlers[kind][event] = handler),
      } as never);
    const backup = backupObject({ vaultLocation: 's3:https://s3.example.com/vault/shops' });
    handlers.users.add(backup);
    const cron = maintenanceCronJobManifest({ namespace: 'mall-shops', spec: backup.spec, schedule: '0 4 * * 0' });
    const hash = cron.metadata.labels[REPOSITORY_LABEL];
    handlers.work.add(cron);
    const failed = maintenanceJob(`vault-maintenance-${hash}-1`, 'Failed', '2026-11-22T04:00:00Z');
    failed.metadata.labels = cron.spec.jobTemplate.metadata.labels;
    handlers.work.add(failed);
    const plan = index.planFor(backup, (_ns, job) => (job === failed.metadata.name ? [pod(job, wrongPassword)] : []), {
      allowCrossNamespace: false,
      maintenanceSchedule: '0 4 * * 0',
    });
    expect(plan?.maintained).toMatchObject({ status: 'False', reason: 'WrongPassword' });
  },
);
