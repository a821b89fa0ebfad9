/**
 * The shrink acknowledgement is a person's word about one snapshot: a value that does not name one of this Backup's
 * snapshots unambiguously (a one-letter prefix, junk) must not lift the guard, and the status says why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job';
import * as pod from '../testing/backup-pod';
import { resticBinary } from '../testing/restic';

let work: string;
beforeAll(() => {
  resticBinary();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-ack-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('a short or malformed acknowledgement does not lift the shrink guard; the pre-wipe snapshot stays', () => {
  const data = path.join(work, 'data');
  const vault = path.join(work, 'vault');
  const orders = path.join(data, 'bakery-data', 'orders');
  fs.mkdirSync(orders, { recursive: true });
  fs.mkdirSync(vault);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(orders, `${i}.txt`), `order ${i}\n`);
  const place = { data, vault, work };
  const settings = { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0, lockWait: '2s' };
  const s: pod.Shop = {
    name: 'bakery',
    namespace: 'mall-shops',
    spec: { retention: { keepLast: 1 } },
    claims: ['bakery-data'],
    props: { vaultSettings: settings },
  };
  pod.initVault(s, place);
  const good = pod.backupRun(s, place).result!.snapshot!;
  fs.rmSync(orders, { recursive: true });
  const wiped = pod.backupRun(s, place).result!;
  expect(wiped).toMatchObject({ reason: 'ShrinkUnacknowledged' });
  // The one-letter prefix of the wiped snapshot, a value with a quote and a shell substitution: none names it.
  for (const ack of [wiped.snapshot![0], `${wiped.snapshot!.slice(0, 8)}"$(id)`]) {
    const out = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: ack } }, place);
    expect(out.result).toMatchObject({
      outcome: 'Completed',
      reason: 'ShrinkUnacknowledged',
      retention: 'skipped-shrunk',
    });
    expect(out.result!.message).toMatch(/acknowledged snapshot .* is not one of this Backup's/);
    expect(pod.snapshots(path.join(vault, 'shops'), work).map((x) => x.id)).toContain(good);
  }
  // The ID's first 8 digits do name it.
  const out = pod.backupRun({ ...s, props: { ...s.props, shrinkAcknowledged: wiped.snapshot!.slice(0, 8) } }, place);
  expect(out.result).toMatchObject({ outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied' });
}, 60_000);
