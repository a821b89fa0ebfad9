/**
 * What a finished run's result does to the status: PartiallyFailed, the numbers, the shrink guard and its
 * acknowledgement.
 */
import { reconcile } from '../../operator/controller/reconcile';
import { OperatorMetrics } from '../../operator/controller/metrics';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../../lib/run/backup-job-spec';
import { backupObject, job, jobPod, observed } from '../../testing/reconcile-fixtures';

const SNAPSHOT = '4bba301e9c1f7a22';
const stats = {
  filesNew: 3,
  filesChanged: 2,
  bytesAdded: 4096,
  totalFiles: 120,
  totalBytes: 1048576,
  durationSeconds: 12.6,
};
function finishedRun(result: Record<string, unknown>) {
  const name = 'backup-bakery-29000000';
  return {
    jobs: [job(name, { start: '2026-11-25T02:30:00Z', outcome: 'Complete', finish: '2026-11-25T02:41:00Z' })],
    jobPods: [
      jobPod(name, {
        terminated: {
          exitCode: 0,
          message: JSON.stringify({ v: 1, snapshot: SNAPSHOT, stats, lockWaited: false, ...result }),
        },
      }),
    ],
  };
}
const envOf = (cronJob: any) =>
  Object.fromEntries(cronJob.spec.jobTemplate.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]));

test(
  'exit 3: phase PartiallyFailed, the snapshot recorded, the ' +
    'count and paths in words, a Warning, the numbers in lastRun',
  () => {
    const desired = reconcile(
      observed(
        finishedRun({
          outcome: 'PartiallyFailed',
          reason: 'SomeFilesUnreadable',
          message: `snapshot ${SNAPSHOT} saved without 2 unreadable file(s); retention removed 0 older snapshot(s)`,
          unreadable: { count: 2, paths: ['/data/bakery-data/locked.db', '/data/bakery-data/tmp'] },
          retention: 'applied',
          removed: 0,
        }),
      ),
    );
    expect(desired.status).toMatchObject({ phase: 'PartiallyFailed', lastSnapshotID: SNAPSHOT });
    expect(desired.status.conditions?.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
      status: 'False',
      reason: 'SomeFilesUnreadable',
      message: expect.stringContaining('2 unreadable file(s), e.g. /data/bakery-data/locked.db, /data/bakery-data/tmp'),
    });
    expect(desired.status.lastRun).toEqual({
      job: 'backup-bakery-29000000',
      outcome: 'PartiallyFailed',
      reason: 'SomeFilesUnreadable',
      snapshotID: SNAPSHOT,
      filesNew: 3,
      filesChanged: 2,
      bytesAdded: 4096,
      durationSeconds: 13,
      snapshotFiles: 120,
      snapshotBytes: 1048576,
      unreadableFiles: 2,
      retention: 'applied',
    });
    expect(desired.events.map((e) => `${e.type} ${e.reason}`)).toContain('Warning SomeFilesUnreadable');
    expect(desired.events.map((e) => e.reason)).not.toContain('BackupSucceeded');
  },
);

test(
  'a drastic shrink: ShrinkDetected with the command that ' +
    'acknowledges it, a Warning once; the acknowledgement reaches the run',
  () => {
    const shrunk = finishedRun({
      outcome: 'Completed',
      reason: 'ShrinkUnacknowledged',
      retention: 'skipped-shrunk',
      removed: 0,
      message:
        `snapshot ${SNAPSHOT} saved; the shop shrank drastically (files ` +
        `120 -> 3): retention skipped until the snapshot is acknowledged`,
    });
    const first = reconcile(observed(shrunk));
    const condition = first.status.conditions?.find((c) => c.type === 'ShrinkDetected');
    expect(condition).toMatchObject({ status: 'True', reason: 'ShrinkDetected' });
    expect(condition?.message).toMatch(
      new RegExp(
        /files 120 -> 3.*Older snapshots are kept.*kubectl annotate backup bakery /.source +
          /mall\.example\.com\/acknowledge-shrink=4bba301e9c1f7a22 --overwrite$/.source,
      ),
    );
    expect(first.events.filter((e) => e.reason === 'ShrinkDetected')).toEqual([
      { type: 'Warning', reason: 'ShrinkDetected', message: condition!.message },
    ]);
    // Written and seen again: no second Warning.
    const again = reconcile(observed({ ...shrunk, backup: backupObject({}, {}, first.status) }));
    expect(again.events.filter((e) => e.reason === 'ShrinkDetected')).toEqual([]);
    expect(again.statusChanged).toBe(false);

    // A person acknowledges the snapshot: the run gets it as SHRINK_ACK (anything but a snapshot ID is ignored).
    const acked = reconcile(
      observed({
        ...shrunk,
        backup: backupObject({}, { annotations: { 'mall.example.com/acknowledge-shrink': SNAPSHOT } }, first.status),
      }),
    );
    expect(envOf(acked.cronJob).SHRINK_ACK).toBe(SNAPSHOT);
    const junk = reconcile(
      observed({
        ...shrunk,
        backup: backupObject({}, { annotations: { 'mall.example.com/acknowledge-shrink': '$(reboot)' } }),
      }),
    );
    expect(envOf(junk.cronJob).SHRINK_ACK).toBeUndefined();
    // The next run applies retention: the condition turns False.
    const applied = reconcile(
      observed({
        ...finishedRun({
          outcome: 'Completed',
          reason: 'BackupSucceeded',
          message: 'ok',
          retention: 'applied',
          removed: 1,
        }),
        backup: backupObject({}, {}, first.status),
      }),
    );
    expect(applied.status.conditions?.find((c) => c.type === 'ShrinkDetected')).toMatchObject({
      status: 'False',
      reason: 'NoShrink',
    });
  },
);

test("the cluster's floor and shrink threshold reach every run; without settings the defaults do", () => {
  const desired = reconcile(observed(), {
    vaultRunSettings: { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 30, shrinkPercent: 20 },
  });
  expect(envOf(desired.cronJob)).toMatchObject({ RETENTION_FLOOR: '30d', SHRINK_PERCENT: '20' });
  expect(envOf(reconcile(observed()).cronJob)).toMatchObject({ RETENTION_FLOOR: '7d', SHRINK_PERCENT: '50' });
});

test("metrics: the newest run's numbers per Backup and the shrink flag, removed with the Backup", async () => {
  const metrics = new OperatorMetrics();
  const shrunk = reconcile(
    observed(
      finishedRun({
        outcome: 'Completed',
        reason: 'ShrinkUnacknowledged',
        retention: 'skipped-shrunk',
        message: 'shrank',
      }),
    ),
  );
  metrics.recordStatus('mall-shops', 'bakery', shrunk.status);
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/mall_backup_last_run_bytes_added\{namespace="mall-shops",name="bakery"\} 4096/);
  expect(text).toMatch(/mall_backup_last_run_files_new\{namespace="mall-shops",name="bakery"\} 3/);
  expect(text).toMatch(/mall_backup_last_run_snapshot_bytes\{namespace="mall-shops",name="bakery"\} 1048576/);
  expect(text).toMatch(/mall_backup_last_run_duration_seconds\{namespace="mall-shops",name="bakery"\} 13/);
  expect(text).toMatch(/mall_backup_shrink_detected\{namespace="mall-shops",name="bakery"\} 1/);
  metrics.forget('mall-shops', 'bakery');
  expect(await metrics.registry.metrics()).not.toMatch(/name="bakery"/);
});
