/**
 * The runs of one vault fired together (their CronJobs share the minute), with the pinned restic running the
 * rendered backup pod's command: a live lock makes every run's forget (restic's exclusive lock) wait; once it goes,
 * every run takes the lock in turn and applies its retention, none deferred. The waits are the script's own, drawn
 * at random (restic's --retry-lock waits 5 s, 10 s, 20 s... for every run alike, so runs that start together retry
 * together and two exclusive lockers keep stepping back from each other).
 *
 * Each run's random source is one this test chooses (see `seeded`): an assertion on real random draws can only say
 * "unlikely" (four uniform draws up to 5 s land within 100 ms of each other about 3 times in 100 000), so it either
 * fails by chance or asserts too little to catch a constant wait. With known draws every wait is known exactly:
 * the test cannot fail by chance, and fails if the waits stop coming from the random source (restic's fixed
 * schedule, a constant, a draw from the clock, which runs started together share) or stop doubling.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resticDurationSeconds } from '../lib/run/backup-job-spec';
import * as pod from '../testing/backup-pod';
import {
  checkClean,
  here,
  hostTool,
  liveLock,
  place,
  quick,
  shop,
  until,
  useFaultFolders,
} from '../testing/vault-faults';
import { vaultFromTemplate } from '../testing/vault-template';

useFaultFolders();

/**
 * The 16-bit draw each run's script reads from /dev/urandom (`od -N2 -tu2`): spread over the range, so the runs'
 * first waits are about 0.5, 1.75, 3 and 4.25 s apart from nothing but their draws.
 */
const DRAWS = [6554, 22937, 39321, 55705];
const RUNS = DRAWS.length;

/**
 * The run's /dev/urandom, in a private mount namespace, is a file repeating `draw`: the script opens it afresh for
 * every wait, so every wait of the run reads the same draw (scaled to that wait's ceiling).
 */
function seeded(draw: number, name: string): string[] {
  const file = path.join(here.work, `${name}.random`);
  const bytes = Buffer.alloc(64);
  for (let i = 0; i < bytes.length; i += 2)
    os.endianness() === 'LE' ? bytes.writeUInt16LE(draw, i) : bytes.writeUInt16BE(draw, i);
  fs.writeFileSync(file, bytes);
  const bind = '"$0" --bind "$1" /dev/urandom && shift && exec "$@"';
  return [hostTool('unshare'), '--mount', '/bin/sh', '-c', bind, hostTool('mount'), file];
}

/** The wait the script draws from `draw` under `ceilingMs`, in seconds as it logs them (full jitter). */
const waitFor = (draw: number, ceilingMs: number) => Math.floor((draw * ceilingMs) / 65535) / 1000;
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
    runs = shops.map((s, i) => pod.startBackup(s, place({ wrap: seeded(DRAWS[i], s.name) })));
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
  // Each wait is the run's own draw under its ceiling (5 s, doubling, at most 60 s): not restic's 5 s for all, not
  // one constant, so runs with different draws are out of step (first waits 0.5, 1.75, 3 and 4.25 s).
  waits.forEach((w, run) => {
    expect(w.length).toBeGreaterThan(0);
    expect(w).toEqual(w.map((_, i) => waitFor(DRAWS[run], Math.min(60_000, 5000 * 2 ** i))));
  });
  expect(new Set(waits.map((w) => w[0])).size).toBe(RUNS);
  checkClean();
}, 300_000);

test('the lock wait reaches the script in seconds; a wait restic would not read is refused', () => {
  expect(['10m', '2s', '1h30m', '90s'].map(resticDurationSeconds)).toEqual([600, 2, 5400, 90]);
  expect(() => resticDurationSeconds('10 minutes')).toThrow(
    'lock wait "10 minutes" is not valid: use a duration such as "10m", "90s" or "1h30m"',
  );
});
