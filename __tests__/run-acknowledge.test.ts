/**
 * The shrink acknowledgement is a person's word about one snapshot: a value that does not name one of this Backup's
 * snapshots unambiguously (a one-letter prefix, junk) must not lift the guard, and the status says why.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import { here, place, repo, shop, useFaultFolders } from '../testing/vault-faults';

useFaultFolders();

test('a short or malformed acknowledgement does not lift the shrink guard; the pre-wipe snapshot stays', () => {
  const s = shop('bakery');
  pod.initVault(s, place());
  const good = pod.backupRun(s, place()).result!.snapshot!;
  fs.rmSync(path.join(here.data, s.claims[0], 'orders'), { recursive: true });
  const wiped = pod.backupRun(s, place()).result!;
  expect(wiped).toMatchObject({ reason: 'ShrinkUnacknowledged' });
  // The one-letter prefix of the wiped snapshot, a value with a quote and a shell substitution: none names it.
  for (const ack of [wiped.snapshot![0], `${wiped.snapshot!.slice(0, 8)}"$(id)`]) {
    const out = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: ack } }, place());
    expect(out.result).toMatchObject({
      outcome: 'Completed',
      reason: 'ShrinkUnacknowledged',
      retention: 'skipped-shrunk',
    });
    expect(out.result!.message).toMatch(/acknowledged snapshot .* is not one of this Backup's/);
    expect(pod.snapshots(repo(), here.work).map((x) => x.id)).toContain(good);
  }
  // The ID's first 8 digits do name it.
  const out = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: wiped.snapshot!.slice(0, 8) } }, place());
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied' });
}, 60_000);
