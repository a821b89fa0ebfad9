/**
 * Runs from CSI VolumeSnapshots on the real control plane: the bundled operator with the rights of dist/,
 * the real CronJob, Job controller and garbage collector, the test kubelet running the pinned restic, and
 * the test's snapshotter (./snapshotter.ts) playing the CSI driver. A SQLite database written all through
 * the backup restores intact, with exactly the rows it had at the snapshot's instant; a claim whose storage
 * class cannot be snapshotted is read live, and the status says so. Failures: ./snapshot-faults.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sqlite, SqliteWriter } from '../../testing/sqlite-writer';
import { eventually } from '../../testing/cluster/cluster';
import { condition, SnapshotFixture } from '../../testing/cluster/snapshot-fixture';
import type { TakenSnapshot } from '../../testing/cluster/snapshotter';

jest.setTimeout(240_000);

const suite = new SnapshotFixture('snapshots');

beforeAll(() => suite.start());
afterAll(() => suite.stop());

describe('a run from a CSI VolumeSnapshot', () => {
  test(
    'a SQLite database written during the whole backup restores intact, with the rows of the snapshot ' + 'instant',
    async () => {
      const folder = await suite.shop('deli', 'ok');
      const writer = new SqliteWriter(join(folder, 'orders.db'));
      suite.snapshotter.freezeWhileCopying('deli-data', writer.pid);
      // What the snapshot holds, read from a copy of it the moment it is taken (opening a database may write to it).
      let atSnapshot: { rows: number; integrity: string; snapshot: TakenSnapshot } | undefined;
      suite.snapshotter.onTaken = (snapshot) => {
        const copy = join(suite.scratch, `inspect-${snapshot.name}`);
        spawnSync('cp', ['-a', snapshot.folder, copy]);
        const db = join(copy, 'orders.db');
        atSnapshot = {
          rows: Number(sqlite(db, 'SELECT count(*) FROM orders')),
          integrity: sqlite(db, 'PRAGMA integrity_check'),
          snapshot,
        };
      };
      try {
        await eventually(
          'the database to hold 300 rows',
          async () => {
            const rows = Number(sqlite(join(folder, 'orders.db'), 'SELECT count(*) FROM orders'));
            return rows >= 300 ? rows : undefined;
          },
          60_000,
        );
        await suite.backup('deli');
        const done = await suite.finished('deli', 'Completed');
        const rowsAfterRun = Number(sqlite(join(folder, 'orders.db'), 'SELECT count(*) FROM orders'));
        await writer.stop();

        // The status said where the files came from.
        expect(condition(done, 'Ready').message).toContain('from VolumeSnapshots: deli-data');
        expect(atSnapshot).toBeDefined();
        expect(atSnapshot!.integrity).toBe('ok');
        // The database kept growing while the run read the snapshot: the backup ran against live writes.
        expect(rowsAfterRun).toBeGreaterThan(atSnapshot!.rows);

        // The pod read the temporary claim made from the snapshot, at the shop claim's own path.
        const [job] = await suite.jobsOf('deli');
        const [pod] = await suite.podsOf(job);
        const mounted = pod.spec.volumes.find((v: any) => v.persistentVolumeClaim?.claimName?.startsWith('snap-deli-'));
        expect(mounted).toBeDefined();
        expect(suite.snapshotter.provisioned.get(`${suite.ns}/${mounted.persistentVolumeClaim.claimName}`)).toBe(
          atSnapshot!.snapshot.name,
        );

        // Restored from the vault with the pinned restic: intact, and exactly the rows of the snapshot's instant.
        const snapshots = JSON.parse(suite.resticIn('deli', ['snapshots', '--json', '--no-lock']));
        expect(snapshots.map((s: any) => s.paths)).toEqual([['/data/deli-data']]);
        const target = join(suite.scratch, 'restored');
        suite.resticIn('deli', ['restore', 'latest', '--target', target, '--no-lock']);
        const restored = join(target, 'data', 'deli-data', 'orders.db');
        expect(sqlite(restored, 'PRAGMA integrity_check')).toBe('ok');
        expect(Number(sqlite(restored, 'SELECT count(*) FROM orders'))).toBe(atSnapshot!.rows);

        // Cleaned up after success; the Job records it.
        await eventually(
          'the snapshot and temporary claim of the run to be removed',
          () => suite.released(job),
          30_000,
        );
        const after = (await suite.jobsOf('deli'))[0];
        expect(after.metadata.annotations['mall.example.com/snapshots-released']).toBe('true');
      } finally {
        await writer.stop().catch(() => undefined);
      }
    },
  );

  test('a claim whose storage class has no VolumeSnapshotClass is read live, and the status says so', async () => {
    const folder = await suite.shop('kiosk', 'plain');
    spawnSync('sh', ['-c', `echo open > "${folder}/hours.txt"`]);
    const before = (await suite.volumeSnapshots()).length;
    await suite.backup('kiosk');
    const done = await suite.finished('kiosk', 'Completed');
    expect(condition(done, 'Ready').message).toContain(
      `from live files (not a point in time): kiosk-data (no VolumeSnapshotClass for ${suite.driver}/plain)`,
    );
    expect((await suite.volumeSnapshots()).length).toBe(before);
    const [job] = await suite.jobsOf('kiosk');
    expect(job.metadata.annotations?.['mall.example.com/snapshot-plan']).toBeUndefined();
  });
});
