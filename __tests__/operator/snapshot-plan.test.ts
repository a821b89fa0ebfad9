import { reconcile } from '../../operator/controller/reconcile';
import { describeSources, planSources, snapshotClassesOf } from '../../operator/controller/snapshot-support';
import {
  SNAPSHOT_FAILURE_ANNOTATION,
  SNAPSHOT_PLAN_ANNOTATION,
  SNAPSHOTS_READY_ANNOTATION,
  temporaryClaimName,
  waitsForSnapshots,
} from '../../lib/run/snapshot-source';
import { backupObject, claim, job, observed, UID, workloadPod } from '../../testing/reconcile-fixtures';

const storageClass = (name: string, provisioner: string) => ({ metadata: { name }, provisioner }) as any;
const snapshotClass = (name: string, driver: string, isDefault = false) =>
  ({
    metadata: {
      name,
      annotations: isDefault ? { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } : undefined,
    },
    driver,
  }) as any;
const classes = snapshotClassesOf(
  [storageClass('fast', 'csi.example.com'), storageClass('nfs', 'nfs.example.com')],
  [snapshotClass('b-snap', 'csi.example.com'), snapshotClass('a-snap', 'csi.example.com', true)],
);
const sized = (name: string, storageClassName?: string) => {
  const c = claim(name, { shop: 'bakery' });
  c.spec = { ...c.spec, storageClassName, resources: { requests: { storage: '5Gi' } } };
  return c;
};
const ref = { name: 'bakery', namespace: 'mall-shops', uid: UID };

describe('which claims are read from a snapshot', () => {
  test("a claim whose class's provisioner has a VolumeSnapshotClass: the default class is chosen", () => {
    const plan = planSources(ref, ['data'], [sized('data', 'fast')], classes);
    expect(plan.live).toEqual([]);
    expect(plan.snapshots).toEqual([
      {
        claim: 'data',
        temporaryClaim: temporaryClaimName('bakery', UID, 'data'),
        volumeSnapshotClass: 'a-snap',
        storageClass: 'fast',
        size: '5Gi',
      },
    ]);
  });

  test('every other claim is read live, each with why, and the words say so', () => {
    const plan = planSources(ref, ['a', 'b', 'c'], [sized('a', 'nfs'), sized('b'), sized('c', 'gone')], classes);
    expect(plan.snapshots).toEqual([]);
    expect(describeSources(plan)).toBe(
      'from live files (not a point in time): a (no VolumeSnapshotClass for nfs.example.com), b (the claim names no ' +
        'storage class), c (storage class gone not found)',
    );
    const noApi = planSources(
      ref,
      ['a'],
      [sized('a', 'fast')],
      snapshotClassesOf([storageClass('fast', 'csi.example.com')], undefined),
    );
    expect(noApi.live).toEqual([{ claim: 'a', why: 'the cluster has no VolumeSnapshot API' }]);
    const unlisted = planSources(ref, ['a'], [sized('a', 'fast')], {
      ...classes,
      problem: 'storage and snapshot classes could not be listed: 403 Forbidden',
    });
    expect(unlisted).toEqual({
      snapshots: [],
      live: [{ claim: 'a', why: 'storage and snapshot classes could not be listed: 403 Forbidden' }],
    });
  });

  test('a VolumeSnapshotClass that retains its snapshots is never used: each run would leave one behind', () => {
    const retain = (name: string, driver: string, isDefault = false) => ({
      ...snapshotClass(name, driver, isDefault),
      deletionPolicy: 'Retain',
    });
    const both = snapshotClassesOf(
      [storageClass('fast', 'csi.example.com')],
      [
        retain('a-keep', 'csi.example.com', true),
        { ...snapshotClass('z-drop', 'csi.example.com'), deletionPolicy: 'Delete' },
      ],
    );
    expect(planSources(ref, ['data'], [sized('data', 'fast')], both).snapshots[0].volumeSnapshotClass).toBe('z-drop');
    const only = snapshotClassesOf([storageClass('fast', 'csi.example.com')], [retain('a-keep', 'csi.example.com')]);
    expect(planSources(ref, ['data'], [sized('data', 'fast')], only)).toEqual({
      snapshots: [],
      live: [
        {
          claim: 'data',
          why:
            'VolumeSnapshotClass a-keep has deletionPolicy Retain (each run would leave a snapshot behind); add ' +
            'one with Delete',
        },
      ],
    });
  });

  test('temporary claim names are stable per Backup and claim, distinct, and fit a label value', () => {
    const long = 'x'.repeat(60);
    const names = [
      temporaryClaimName('a-b', UID, 'c'),
      temporaryClaimName('a', UID, 'b-c'),
      temporaryClaimName(long, UID, long),
    ];
    expect(new Set(names).size).toBe(3);
    expect(temporaryClaimName('a-b', UID, 'c')).toBe(names[0]);
    for (const n of names) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe('reconcile with snapshot-capable claims', () => {
  const backup = backupObject();
  const at = (parts: Parameters<typeof observed>[0]) =>
    reconcile(observed({ backup, claims: [sized('bakery-data', 'fast')], snapshotClasses: classes, ...parts }));

  test('the CronJob holds its Jobs, carries the plan, and mounts the temporary claim at the claim’s own path', () => {
    const d = at({});
    const template = d.cronJob!.spec.jobTemplate;
    expect(template.spec.suspend).toBe(true);
    expect(JSON.parse(template.metadata.annotations[SNAPSHOT_PLAN_ANNOTATION])).toHaveLength(1);
    const pod = template.spec.template.spec;
    expect(pod.volumes[0].persistentVolumeClaim).toEqual({
      claimName: temporaryClaimName('bakery', UID, 'bakery-data'),
      readOnly: true,
    });
    expect(pod.containers[0].volumeMounts[0].mountPath).toBe('/data/bakery-data');
    expect(d.status.conditions![0].message).toContain('from VolumeSnapshots: bakery-data');
  });

  test('a run-now Job is created held with the plan', () => {
    const d = at({ backup: backupObject({}, { annotations: { 'mall.example.com/run-now': '1' } }) });
    expect(d.createJobs[0].spec.suspend).toBe(true);
    expect(d.createJobs[0].metadata.annotations?.[SNAPSHOT_PLAN_ANNOTATION]).toBeDefined();
  });

  test('a held Job is started only once its snapshots are ready', () => {
    const plan = at({}).cronJob!.spec.jobTemplate.metadata.annotations;
    const held = job('backup-bakery-29400000', { start: '2026-11-25T09:59:00Z' });
    held.metadata.annotations = { ...plan };
    held.spec = { suspend: true };
    expect(waitsForSnapshots(held)).toBe(true);
    expect(at({ jobs: [held] }).admitJobs).toEqual([]);
    expect(at({ jobs: [held] }).status.message).toContain('is waiting for its VolumeSnapshots and temporary claims');
    const ready = {
      ...held,
      metadata: { ...held.metadata, annotations: { ...plan, [SNAPSHOTS_READY_ANNOTATION]: 'x' } },
    };
    expect(at({ jobs: [ready] }).admitJobs).toEqual(['backup-bakery-29400000']);
  });

  test('the snapshot step is told which of the Backup’s Jobs still go, a finished one not among them', () => {
    const plan = at({}).cronJob!.spec.jobTemplate.metadata.annotations;
    const held = job('backup-bakery-29400000', { start: '2026-11-25T09:59:00Z' });
    held.metadata.annotations = { ...plan };
    held.spec = { suspend: true };
    const going = job('backup-bakery-now-1', { start: '2026-11-25T09:58:00Z' });
    const done = job('backup-bakery-29300000', {
      start: '2026-11-24T09:59:00Z',
      outcome: 'Complete',
      finish: '2026-11-24T10:00:00Z',
    });
    expect([...at({ jobs: [held, going, done] }).snapshotRuns!.running].sort()).toEqual([
      'backup-bakery-29400000',
      'backup-bakery-now-1',
    ]);
  });

  test('a run whose snapshot failed: Failed with reason SnapshotFailed and the snapshotter’s words', () => {
    const failed = job('backup-bakery-29400000', {
      start: '2026-11-25T09:59:00Z',
      outcome: 'Failed',
      finish: '2026-11-25T09:59:30Z',
      reason: 'DeadlineExceeded',
    });
    failed.metadata.annotations = { [SNAPSHOT_FAILURE_ANNOTATION]: 'VolumeSnapshot x failed: disk offline' };
    const d = at({ jobs: [failed] });
    expect(d.status.phase).toBe('Failed');
    expect(d.status.conditions!.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
      status: 'False',
      reason: 'SnapshotFailed',
      message: 'backup-bakery-29400000 did not run: VolumeSnapshot x failed: disk offline',
    });
  });

  test(
    'a claim in use is no obstacle when it is read from a snapshot: no node pin, and ReadWriteOncePod may ' + 'run',
    () => {
      const inUse = [workloadPod('db-0', 'node-a', 'bakery-data')];
      const rwo = at({ namespacePods: inUse });
      expect(rwo.cronJob!.spec.jobTemplate.spec.template.spec.affinity).toBeUndefined();
      const rwop = sized('bakery-data', 'fast');
      rwop.spec.accessModes = ['ReadWriteOncePod'];
      const d = at({ claims: [rwop], namespacePods: inUse });
      expect(d.status.conditions![0]).toMatchObject({ status: 'True', reason: 'CronJobReady' });
      // Read live, the same claims still pin the pod, or keep a ReadWriteOncePod claim from being read at all.
      const live = { ...classes, snapshotClasses: new Map() };
      expect(
        at({ namespacePods: inUse, snapshotClasses: live }).cronJob!.spec.jobTemplate.spec.template.spec.affinity,
      ).toBeDefined();
      expect(at({ claims: [rwop], namespacePods: inUse, snapshotClasses: live }).status.conditions![0]).toMatchObject({
        status: 'False',
        reason: 'VolumeInUse',
      });
    },
  );
});
