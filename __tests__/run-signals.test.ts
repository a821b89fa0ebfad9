/**
 * SIGTERM at every phase of the backup run, under the image's BusyBox sh with the pinned restic. The signal is made
 * to land in the one window a timing race cannot aim at reliably: after the shell decided to start a restic call and
 * before restic handles signals (a stand-in `restic` holds the call until the pod's signal reaches it, then runs the
 * real one). Whatever the phase, the run must stop there: no restic started after the stop, no lock left, the
 * cause said, the vault clean.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pod from '../testing/backup-pod';
import {
  here,
  holdResticAt,
  place,
  quick,
  repo,
  shop as filledShop,
  until,
  useFaultFolders,
} from '../testing/vault-faults';
import { vaultFromTemplate } from '../testing/vault-template';

useFaultFolders();
/** A minute's lock wait: the held forget must still be waiting when the signal lands. */
const shop = () => filledShop('bakery', { props: { vaultSettings: { ...quick, lockWait: '1m' } } });

const phases: [string, string, object][] = [
  ['the existence check (unlock)', 'unlock', { outcome: 'Failed', reason: 'Interrupted' }],
  // The held backup and forget run to their end (the stand-in let them): the run says what they did.
  ['backup', 'backup', { outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' }],
  ['the retention dry run', '--dry-run', { outcome: 'Completed', reason: 'Interrupted', retention: 'skipped' }],
  // The call that forgets the first run's snapshot (<first>), not the retention dry run before it.
  ['forget', 'forget <first>', { outcome: 'Completed', reason: 'BackupSucceeded', retention: 'applied', removed: 1 }],
];

test.each(phases)(
  'SIGTERM at %s: the run stops there, no later restic call, no lock, the vault clean',
  async (_name, marker, expected) => {
    const s = shop();
    vaultFromTemplate(here.vault);
    const first = pod.backupRun(s, place());
    expect(first.result).toMatchObject({ outcome: 'Completed' });
    const phase = marker.replace('<first>', first.result!.snapshot!);
    const hold = holdResticAt(phase);
    const run = pod.startBackup(s, place({ pathPrefix: [hold.bin] }));
    await until(`the run to reach ${phase}`, () => fs.existsSync(hold.held));
    process.kill(run.child.pid!, 'SIGTERM');
    const out = await run.done;
    expect(out.result).toMatchObject(expected);
    // The held call was the last one: nothing started after the stop.
    const calls = fs.readFileSync(hold.calls, 'utf8').trim().split('\n');
    expect(` ${calls[calls.length - 1]} `).toContain(` ${phase} `);
    const ids = pod.snapshots(repo(), here.work).map((x) => x.id);
    if (out.result!.retention !== 'applied') expect(ids).toContain(first.result!.snapshot);
    if (out.result!.outcome === 'Failed') expect(ids).toEqual([first.result!.snapshot]);
    else expect(ids).toContain(out.result!.snapshot);
    expect(fs.readdirSync(path.join(repo(), 'locks'))).toEqual([]);
    const check = pod.restic(repo(), here.work, ['check', '--no-lock']);
    expect(check.status).toBe(0);
  },
  60_000,
);

test('SIGTERM while waiting for the vault to be created: Interrupted, not "no repository"', async () => {
  const s = shop();
  const run = pod.startBackup(s, place());
  // The first check has ended (its output filed, its pipes gone): the run is pausing before the next.
  const state = (f: string) => fs.existsSync(path.join(run.scratch, 'state', f));
  await until('the run to wait for the vault', () => state('config.err') && !state('o'));
  process.kill(run.child.pid!, 'SIGTERM');
  const out = await run.done;
  expect(out.result).toMatchObject({ outcome: 'Failed', reason: 'Interrupted' });
  expect(fs.existsSync(path.join(repo(), 'config'))).toBe(false);
}, 60_000);
