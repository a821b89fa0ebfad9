/**
 * The runs of one vault fired together (their CronJobs share the minute), with the pinned restic running the
 * rendered backup pod's command: a live lock makes every run's forget (restic's exclusive lock) wait; once it goes,
 * every run takes the lock in turn and applies its retention, none deferred. The waits are the script's own, drawn
 * at random (restic's --retry-lock waits 5 s, 10 s, 20 s... for every run alike, so runs that start together retry
 * together and two exclusive lockers keep stepping back from each other).
 */
import { resticDurationSeconds } from '../lib/run/backup-job-spec';
import * as pod from '../testing/backup-pod';
import { checkClean, here, liveLock, place, quick, shop, until, useFaultFolders } from '../testing/vault-faults';
import { vaultFromTemplate } from '../testing/vault-template';

useFaultFolders();

const RUNS = 4;
const waitsOf = (stderr: string) =>
  [...stderr.matchAll(/the vault is locked \(forget\): trying again in ([0-9]+\.[0-9]{3}) s/g)].map((m) =>
    Number(m[1]),
  );

test(`${RUNS} runs of one vault started together all apply retention, their lock retries spread apart`, async () => {
  vaultFromTemplate(here.vault);
  const shops = Array.from({ length: RUNS }, (_, i) =>
    shop(`shop-${i}`, { props: { vaultSettings: { ...quick, lockWait: '3m' } } }),
  );
  // A snapshot each already, so each run's retention (keepLast 1) has one to forget.
  for (const s of shops) expect(pod.backupRun(s, place()).result?.outcome).toBe('Completed');

  const holder = await liveLock();
  let runs: ReturnType<typeof pod.startBackup>[] = [];
  try {
    runs = shops.map((s) => pod.startBackup(s, place()));
    await until(
      'every run to find the vault locked for its forget',
      () => runs.every((r) => waitsOf(r.stderr()).length > 0),
      120_000,
    );
  } finally {
    await holder.release();
  }
  const outs = await Promise.all(runs.map((r) => r.done));
  for (const out of outs)
    expect(out.result).toMatchObject({
      outcome: 'Completed',
      reason: 'BackupSucceeded',
      retention: 'applied',
      removed: 1,
      lockWaited: true,
    });
  const waits = runs.map((r) => waitsOf(r.stderr()));
  // Not in step: the first waits spread over more than 100 ms (restic's schedule would give every one 5 s). Drawn
  // uniformly up to 5 s, four land within 100 ms of each other about 3 times in 100 000; two may well coincide.
  const firsts = waits.map((w) => w[0]);
  expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(0.1);
  // Bounded: each wait within its ceiling (5 s, doubling, at most 60 s).
  for (const w of waits) w.forEach((s, i) => expect(s).toBeLessThanOrEqual(Math.min(60, 5 * 2 ** i)));
  checkClean();
}, 300_000);

test('the lock wait reaches the script in seconds; a wait restic would not read is refused', () => {
  expect(['10m', '2s', '1h30m', '90s'].map(resticDurationSeconds)).toEqual([600, 2, 5400, 90]);
  expect(() => resticDurationSeconds('10 minutes')).toThrow(
    'lock wait "10 minutes" is not valid: use a duration such as "10m", "90s" or "1h30m"',
  );
});
