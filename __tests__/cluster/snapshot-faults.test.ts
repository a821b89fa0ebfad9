/**
 * Runs from CSI VolumeSnapshots when the snapshot step goes wrong, on the real control plane (see
 * ./snapshot-fixture.ts): a snapshot that never becomes ready, or fails, ends the run before any pod reads a
 * file, and says why; a temporary claim an earlier run left behind is removed, never reused; deleting the
 * Backup mid-run lets the garbage collector remove the Job and its snapshot. Nothing is left behind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryClaimName } from '../../lib/run/snapshot-source';
import { eventually } from '../../testing/cluster/cluster';
import { condition, SNAPSHOT_TIMEOUT_SECONDS, SnapshotFixture } from '../../testing/cluster/snapshot-fixture';

jest.setTimeout(240_000);

const suite = new SnapshotFixture('snapshot-faults');

beforeAll(() => suite.start());
afterAll(() => suite.stop());

describe('a run from a CSI VolumeSnapshot, when the snapshot step goes wrong', () => {
  test(
    'a snapshot that is never ready, or fails: the run ends without a pod, the status says why, nothing is ' + 'left',
    async () => {
      await suite.shop('slow', 'never');
      await suite.shop('broken', 'error');
      await suite.backup('slow');
      await suite.backup('broken');
      const [slow, broken] = await Promise.all([suite.finished('slow', 'Failed'), suite.finished('broken', 'Failed')]);
      expect(condition(slow, 'LastBackupSucceeded')).toMatchObject({ status: 'False', reason: 'SnapshotFailed' });
      expect(condition(slow, 'LastBackupSucceeded').message).toMatch(
        new RegExp(
          `did not run: snapshots not ready after ${SNAPSHOT_TIMEOUT_SECONDS}s: VolumeSnapshot \\S+ of claim ` +
            `slow-data ` +
            `is not ready`,
        ),
      );
      expect(condition(broken, 'LastBackupSucceeded')).toMatchObject({ status: 'False', reason: 'SnapshotFailed' });
      expect(condition(broken, 'LastBackupSucceeded').message).toContain('failed: the test volume is offline');
      for (const name of ['slow', 'broken']) {
        const [job] = await suite.jobsOf(name);
        // Ended by the operator before any pod existed: no live file was read in place of the snapshot.
        expect(await suite.podsOf(job)).toEqual([]);
        expect(job.status.conditions.find((c: any) => c.type === 'Failed')?.status).toBe('True');
        await eventually(`the snapshot of ${name} to be removed`, () => suite.released(job), 30_000);
      }
      // Their temporary claims were never made: a claim comes from a ready snapshot only.
      const names = (await suite.claims()).map((c) => c.metadata.name);
      expect(names.filter((n) => n.startsWith('snap-slow-') || n.startsWith('snap-broken-'))).toEqual([]);
    },
  );

  test('deleting the Backup mid-run: the garbage collector removes its Job, snapshot and all', async () => {
    await suite.shop('gone', 'never');
    await suite.backup('gone');
    const [snapshot] = await eventually(
      'the run of gone to have its VolumeSnapshot',
      async () => {
        const found = (await suite.volumeSnapshots()).filter(
          (v) => v.spec.source.persistentVolumeClaimName === 'gone-data',
        );
        return found.length ? found : undefined;
      },
      60_000,
    );
    const [job] = await suite.jobsOf('gone');
    expect(snapshot.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Job', name: job.metadata.name, uid: job.metadata.uid }),
    ]);
    // A deleted Backup is not reconciled again: what removes the snapshot is the owner chain Backup → Job → snapshot.
    await suite.admin.ok('DELETE', `${suite.backups}/gone`);
    await eventually(
      'the garbage collector to remove the Job and its VolumeSnapshot',
      async () =>
        (await suite.jobsOf('gone')).length === 0 &&
        !(await suite.volumeSnapshots()).some((v) => v.metadata.uid === snapshot.metadata.uid),
      60_000,
    );
  });

  test('a temporary claim an earlier run left behind is removed first, never read', async () => {
    const folder = await suite.shop('cafe', 'ok');
    writeFileSync(join(folder, 'menu.txt'), 'espresso\n');
    const created = await suite.backup('cafe', false);
    // As a run whose cleanup never happened would leave it: the Backup's claim name, made for (and owned by)
    // an earlier Job of this Backup that has ended.
    const earlier = await suite.endedJob('backup-cafe-old');
    const leftover = temporaryClaimName('cafe', created.metadata.uid, 'cafe-data');
    const old = await suite.claim({
      name: leftover,
      labels: {
        'mall.example.com/snapshot-for-job': 'backup-cafe-old',
        'mall.example.com/backup-uid': created.metadata.uid,
      },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'backup-cafe-old', uid: earlier.metadata.uid }],
    });
    // This control plane runs no pvc-protection controller: without its finalizer the deletion completes at once.
    await suite.admin.ok(
      'PATCH',
      `/api/v1/namespaces/${suite.ns}/persistentvolumeclaims/${leftover}`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
    mkdirSync(suite.kubelet.claimFolder(suite.ns, leftover), { recursive: true });
    writeFileSync(join(suite.kubelet.claimFolder(suite.ns, leftover), 'stale.txt'), 'from an earlier run\n');
    await suite.runNow('cafe');
    await suite.finished('cafe', 'Completed');
    const claim = (await suite.claims()).find((c) => c.metadata.name === leftover);
    expect(claim?.metadata.uid).not.toBe(old.metadata.uid);
    // Read from a claim made from this run's snapshot: the shop's file, not the leftover's.
    const listed = suite
      .resticIn('cafe', ['ls', 'latest', '--no-lock'])
      .split('\n')
      .filter((l) => l.startsWith('/data/'));
    expect(listed.sort()).toEqual(['/data/cafe-data', '/data/cafe-data/menu.txt']);
  });

  test(
    'a person’s own claim under the temporary claim’s name: kept with its files, the run ends saying ' + 'so',
    async () => {
      await suite.shop('deli', 'ok');
      const created = await suite.backup('deli', false);
      const name = temporaryClaimName('deli', created.metadata.uid, 'deli-data');
      const mine = await suite.claim({ name, labels: { app: 'deli-reports' } });
      await suite.runNow('deli');
      const backup = await suite.finished('deli', 'Failed');
      expect(condition(backup, 'LastBackupSucceeded')).toMatchObject({ status: 'False', reason: 'SnapshotFailed' });
      expect(condition(backup, 'LastBackupSucceeded').message).toContain(
        `claim ${name} (the temporary claim of deli-data) exists and was not made by the operator for this run`,
      );
      const [job] = await suite.jobsOf('deli');
      expect(await suite.podsOf(job)).toEqual([]);
      await eventually('the run’s own snapshot to be removed', () => suite.released(job), 30_000);
      const kept = (await suite.claims()).find((c) => c.metadata.name === name);
      expect(kept?.metadata.uid).toBe(mine.metadata.uid);
      expect(kept?.metadata.deletionTimestamp).toBeUndefined();
    },
  );
});
