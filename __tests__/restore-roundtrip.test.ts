/**
 * Restores for real: the Backup's pod writes snapshots with restic into a local (pvc://) vault, then the
 * restore Job rendered for a Restore brings claims back, for each source (latest, a snapshot ID, a point
 * in time) and each target (new claims, an existing claim, in place), including the wrong-claim trap.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { restoreJobManifest } from '../lib/run/restore-job';
import { restrictedProblems } from '../testing/k8s-rules';
import { resticForRestore } from '../testing/restic-binary';
import {
  backupRun,
  backupSpec,
  claimDir,
  fingerprint,
  newWorld,
  PASSWORD,
  restoreRun,
  World,
  writeClaim,
} from '../testing/restore-run';

const restic = resticForRestore();
let world: World;
let snapshotFingerprints: Map<string, Record<string, [string, string]>>;

beforeEach(() => {
  world = newWorld('mall-backup-restore-', restic.dir);
  snapshotFingerprints = new Map();
});
afterEach(() => fs.rmSync(world.work, { recursive: true, force: true }));

const bakery = { name: 'bakery', namespace: 'mall-shops' };
const spec = backupSpec('bakery');

function snapshots(): { id: string; time: string; paths: string[] }[] {
  return JSON.parse(
    execFileSync(restic.binary, ['snapshots', '--json'], {
      env: {
        RESTIC_REPOSITORY: path.join(world.vault, 'shops'),
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_CACHE_DIR: path.join(world.work, 'cli-cache'),
      },
      encoding: 'utf8',
    }),
  );
}

/** Writes `version` into each claim and backs them up; remembers each claim's files per snapshot. */
function backupVersion(
  version: string,
  claims: string[],
  ref = bakery,
  env: Record<string, string> = {},
  shopSpec = spec,
): string {
  for (const claim of claims) writeClaim(world, claim, version);
  const id = backupRun(world, ref, shopSpec, claims, env);
  for (const claim of claims) snapshotFingerprints.set(`${id}/${claim}`, fingerprint(claimDir(world, claim)));
  return id;
}

function expectRestored(targetDir: string, snapshot: string, claim: string): void {
  expect(fingerprint(targetDir)).toEqual(snapshotFingerprints.get(`${snapshot}/${claim}`));
}

function reportLines(report: string): string[][] {
  return report
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '));
}

test(`restic under test is ${restic.version} (at least 0.16)`, () => expect(restic.version).toMatch(/^\d+\.\d+\.\d+$/));

test('the restore Job passes Pod Security restricted and carries no spec value in its script', () => {
  const job = restoreJobManifest({
    restore: { name: 'r', namespace: 'mall-shops', uid: 'u' },
    backupName: 'bakery',
    backupSpec: spec,
    claims: [{ claim: 'x$(reboot)', targetClaim: 'r-x', path: '' }],
    snapshotID: 'abc; reboot',
  });
  expect(restrictedProblems(job.spec.template.spec, 'restore Job')).toEqual([]);
  const script: string = job.spec.template.spec.containers[0].command[2];
  expect(script).not.toContain('reboot');
  expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
  expect(job.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'vault' } }]);
});

describe('latest (the default)', () => {
  test('into new claims: every claim from its newest snapshot, bytes and modes', () => {
    backupVersion('v1', ['bakery-data', 'bakery-db']);
    const s2 = backupVersion('v2', ['bakery-data', 'bakery-db']);
    const run = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      claims: [
        { claim: 'bakery-data', targetClaim: 'r-bakery-data', path: '' },
        { claim: 'bakery-db', targetClaim: 'r-bakery-db', path: '' },
      ],
    });
    expect([run.status, run.stderr]).toEqual([0, '']);
    expectRestored(claimDir(world, 'r-bakery-data'), s2, 'bakery-data');
    expectRestored(claimDir(world, 'r-bakery-db'), s2, 'bakery-db');
    const bytes = (claim: string) =>
      String(
        Object.keys(snapshotFingerprints.get(`${s2}/${claim}`)!)
          .map((f) => fs.statSync(path.join(claimDir(world, claim), f)))
          .filter((st) => st.isFile())
          .reduce((sum, st) => sum + st.size, 0),
      );
    expect(reportLines(run.report).map((l) => [l[0], l[1], l[2].slice(0, 8), l[4], l[5]])).toEqual([
      ['restored', 'bakery-data', s2.slice(0, 8), '3', bytes('bakery-data')],
      ['restored', 'bakery-db', s2.slice(0, 8), '3', bytes('bakery-db')],
    ]);
  });

  test(
    'the wrong-claim trap: claim A comes from the newest snapshot ' +
      "holding A, never from B's newer one or another shop's",
    () => {
      const s1 = backupVersion('v1', ['a', 'b']);
      // The Backup now covers only b: the newest snapshot holds b alone.
      const s2 = backupVersion('v2', ['b']);
      // The same claim name backed up by another Backup into the same vault, even newer.
      backupVersion('other', ['a'], { name: 'bakery', namespace: 'other-shops' });
      backupVersion('florist', ['a'], { name: 'florist', namespace: 'mall-shops' }, {}, backupSpec('florist'));
      expect(snapshots()).toHaveLength(4);
      const run = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        claims: [
          { claim: 'a', targetClaim: 'r-a', path: '' },
          { claim: 'b', targetClaim: 'r-b', path: '' },
        ],
      });
      expect(run.status).toBe(0);
      expectRestored(claimDir(world, 'r-a'), s1, 'a');
      expect(fs.readFileSync(path.join(claimDir(world, 'r-a'), 'version.txt'), 'utf8')).toBe('a v1\n');
      expectRestored(claimDir(world, 'r-b'), s2, 'b');
      expect(reportLines(run.report).map((l) => [l[1], l[2]])).toEqual([
        // Chosen from restic's listing: the full ID.
        ['a', s1],
        ['b', s2],
      ]);
      // A alone takes the restore's one opening of the vault, restic picking the snapshot: the same choice.
      const alone = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        claims: [{ claim: 'a', targetClaim: 'r-a-alone', path: '' }],
      });
      expect([alone.status, alone.stderr]).toEqual([0, '']);
      expectRestored(claimDir(world, 'r-a-alone'), s1, 'a');
      expect(reportLines(alone.report)).toEqual([
        [
          'restored',
          'a',
          // The ID restic printed when it picked the snapshot (its short form), not one looked up in restic's cache:
          // the same form as when the script chose the snapshot from restic's JSON listing above.
          s1.slice(0, 8),
          expect.stringMatching(/^\d{4}-/),
          '3',
          expect.stringMatching(/^\d+$/),
        ],
      ]);
      expect(Date.parse(alone.report.split(' ')[3])).toBe(
        Date.parse(snapshots().find((s) => s.id.startsWith(s1))!.time),
      );
      // Nor from another Backup's snapshot when this one has none of the claim.
      backupVersion('florist', ['z'], { name: 'florist', namespace: 'mall-shops' }, {}, backupSpec('florist'));
      const none = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        claims: [{ claim: 'z', targetClaim: 'scratch', path: 'z' }],
      });
      expect(none.status).not.toBe(0);
      expect(none.report).toBe('error no snapshot of Backup mall-shops/bakery holds claim z\n');
      // Into an existing claim: not even its folder is made.
      expect(fs.readdirSync(claimDir(world, 'scratch'))).toEqual([]);
    },
  );
});

describe('a snapshot ID', () => {
  test("restores that snapshot, and refuses an ID that does not hold the claim or is not this Backup's", () => {
    const s1 = backupVersion('v1', ['a', 'b']);
    const s2 = backupVersion('v2', ['b']);
    const other = backupVersion('x', ['a'], { name: 'florist', namespace: 'mall-shops' }, {}, backupSpec('florist'));
    const ok = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      snapshotID: s1.slice(0, 8),
      claims: [{ claim: 'b', targetClaim: 'r-b', path: '' }],
    });
    expect(ok.status).toBe(0);
    expectRestored(claimDir(world, 'r-b'), s1, 'b');
    for (const [id, claim] of [
      [s2, 'a'],
      [other, 'a'],
    ]) {
      const refused = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        snapshotID: id.slice(0, 8),
        claims: [{ claim, targetClaim: `r-${id}`, path: '' }],
      });
      expect(refused.status).not.toBe(0);
      expect(refused.report).toBe(
        `error no snapshot of Backup mall-shops/bakery holds claim ${claim} with ID ${id.slice(0, 8)}\n`,
      );
      expect(fs.readdirSync(claimDir(world, `r-${id}`))).toEqual([]);
    }
  });

  test('refuses an ID that starts more than one of its snapshots, as restic does, naming how many', () => {
    // Back up until two snapshots share their first digit (at most 17 by pigeonhole), then name that digit alone.
    const ids: string[] = [];
    let shared: string | undefined;
    while (!shared && ids.length < 17) {
      const id = backupVersion(`v${ids.length}`, ['a']);
      shared = ids.find((other) => other[0] === id[0])?.[0];
      ids.push(id);
    }
    expect(shared).toBeDefined();
    const matching = ids.filter((id) => id[0] === shared).length;
    const refused = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      snapshotID: shared,
      claims: [{ claim: 'a', targetClaim: 'r-a', path: '' }],
    });
    expect([refused.status, refused.report]).toEqual([
      1,
      `error snapshot ID ${shared} matches ${matching} snapshots of Backup mall-shops/bakery: give more digits ` +
        '(restic snapshots lists them)\n',
    ]);
    expect(fs.readdirSync(claimDir(world, 'r-a'))).toEqual([]);
    // One more digit than they share picks one; the report gives its full ID.
    const id = ids.find((i) => i[0] === shared)!;
    const digits = 1 + Math.max(...ids.filter((o) => o !== id).map((o) => [...o].findIndex((c, i) => c !== id[i])));
    const picked = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      snapshotID: id.slice(0, digits),
      claims: [{ claim: 'a', targetClaim: 'r-a', path: '' }],
    });
    expect([picked.status, reportLines(picked.report)[0]?.[2]]).toEqual([0, id]);
  });
});

describe('a point in time', () => {
  test('restores the newest snapshot at or before it, whatever UTC offset restic wrote', () => {
    const s1 = backupVersion('v1', ['a']);
    // Written with a +09:00 offset: the times compare as instants, not as text.
    const s2 = backupVersion('v2', ['a'], bakery, { TZ: 'Asia/Tokyo' });
    backupVersion('v3', ['a']);
    const times = new Map(snapshots().map((s) => [s.id, s.time]));
    expect(times.get([...times.keys()].find((k) => k.startsWith(s2))!)).toMatch(/\+09:00$/);
    const t2 = Date.parse(times.get([...times.keys()].find((k) => k.startsWith(s2))!)!);
    const at = (ms: number) =>
      restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        pointInTime: new Date(ms).toISOString(),
        claims: [{ claim: 'a', targetClaim: `r-${ms}`, path: '' }],
      });
    const run = at(t2 + 1);
    expect(run.status).toBe(0);
    expectRestored(claimDir(world, `r-${t2 + 1}`), s2, 'a');
    const t1 = Date.parse(times.get([...times.keys()].find((k) => k.startsWith(s1))!)!);
    const early = at(t1 - 1000);
    expect(early.status).not.toBe(0);
    expect(early.report).toMatch(
      /^error no snapshot of Backup mall-shops\/bakery holds claim a taken at or before \d{4}-/,
    );
  });

  test(
    "a snapshot's own time, as restic wrote it or cut to whole seconds as the status shows it, takes that " +
      'snapshot',
    async () => {
      const s1 = backupVersion('v1', ['a']);
      const exact = snapshots().find((s) => s.id.startsWith(s1))!.time;
      // The next snapshot in a later second than s1's: cut to whole seconds, a time names every snapshot of its
      // second (the newest wins), and two runs on an idle machine follow each other within one.
      const nextSecond = Math.floor(Date.parse(exact) / 1000) * 1000 + 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, nextSecond - Date.now())));
      backupVersion('v2', ['a']);
      expect(exact).toMatch(/\.\d{7,9}(Z|[+-]\d{2}:\d{2})$/);
      const seconds = exact.replace(/\.\d+/, '');
      for (const [i, pointInTime] of [exact, seconds, new Date(Date.parse(exact)).toISOString()].entries()) {
        const run = restoreRun(world, {
          backupName: 'bakery',
          backupSpec: spec,
          pointInTime,
          claims: [{ claim: 'a', targetClaim: `r-${i}`, path: '' }],
        });
        expect([pointInTime, run.status, run.report.split(' ')[2]?.slice(0, 8)]).toEqual([
          pointInTime,
          0,
          s1.slice(0, 8),
        ]);
        expectRestored(claimDir(world, `r-${i}`), s1, 'a');
      }
    },
  );
});

describe('targets', () => {
  test(
    'an existing claim: a folder per claim; a second ' + 'restore into the same folders refuses and changes nothing',
    () => {
      const s1 = backupVersion('v1', ['a', 'b']);
      const props = {
        backupName: 'bakery',
        backupSpec: spec,
        claims: [
          { claim: 'a', targetClaim: 'scratch', path: 'a' },
          { claim: 'b', targetClaim: 'scratch', path: 'b' },
        ],
      };
      expect(restoreRun(world, props).status).toBe(0);
      expectRestored(path.join(claimDir(world, 'scratch'), 'a'), s1, 'a');
      expectRestored(path.join(claimDir(world, 'scratch'), 'b'), s1, 'b');
      fs.writeFileSync(path.join(claimDir(world, 'scratch'), 'a', 'version.txt'), 'edited\n');
      const before = fingerprint(claimDir(world, 'scratch'));
      const again = restoreRun(world, props);
      expect(again.status).not.toBe(0);
      expect(again.report).toBe(
        'error the target folder for claim a is not empty: a restore never ' +
          'writes over files; use a new claim, an empty folder or inPlace\n',
      );
      expect(fingerprint(claimDir(world, 'scratch'))).toEqual(before);
    },
  );

  test(
    'every claim is checked before any is written: a later claim without a snapshot or with a full folder leaves ' +
      'the earlier ones untouched',
    () => {
      backupVersion('v1', ['a']);
      // b joined the Backup later: no snapshot at or before the first one holds it.
      backupVersion('v2', ['a', 'b']);
      const [first] = snapshots().sort((x, y) => Date.parse(x.time) - Date.parse(y.time));
      const noSnapshot = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        pointInTime: first.time,
        claims: [
          { claim: 'a', targetClaim: 'r1-a', path: '' },
          { claim: 'b', targetClaim: 'r1-b', path: '' },
        ],
      });
      expect(noSnapshot.status).not.toBe(0);
      expect(noSnapshot.report).toMatch(
        /^error no snapshot of Backup mall-shops\/bakery holds claim b taken at or before /,
      );
      expect(fs.readdirSync(claimDir(world, 'r1-a'))).toEqual([]);

      fs.mkdirSync(path.join(claimDir(world, 'scratch'), 'b'), { recursive: true });
      fs.writeFileSync(path.join(claimDir(world, 'scratch'), 'b', 'precious.txt'), 'mine\n');
      const full = restoreRun(world, {
        backupName: 'bakery',
        backupSpec: spec,
        claims: [
          { claim: 'a', targetClaim: 'scratch', path: 'a' },
          { claim: 'b', targetClaim: 'scratch', path: 'b' },
        ],
      });
      expect(full.status).not.toBe(0);
      expect(full.report).toBe(
        'error the target folder for claim b is not empty: a restore never writes over files; use a new claim, an ' +
          'empty folder or inPlace\n',
      );
      expect(fs.readdirSync(claimDir(world, 'scratch'))).toEqual(['b']);
      expect(fs.readdirSync(path.join(claimDir(world, 'scratch'), 'b'))).toEqual(['precious.txt']);
    },
  );

  test('a new claim holding only lost+found counts as empty', () => {
    const s1 = backupVersion('v1', ['a']);
    fs.mkdirSync(path.join(claimDir(world, 'r-a'), 'lost+found'), { recursive: true });
    const run = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      claims: [{ claim: 'a', targetClaim: 'r-a', path: '' }],
    });
    expect(run.status).toBe(0);
    fs.rmdirSync(path.join(claimDir(world, 'r-a'), 'lost+found'));
    expectRestored(claimDir(world, 'r-a'), s1, 'a');
  });

  test("in place: the snapshot's files come back over the live ones; files the snapshot lacks stay", () => {
    const s1 = backupVersion('v1', ['a']);
    const snapshotFiles = snapshotFingerprints.get(`${s1}/a`)!;
    writeClaim(world, 'a', 'v2 (damaged)');
    fs.writeFileSync(path.join(claimDir(world, 'a'), 'new-since.txt'), 'kept\n');
    const run = restoreRun(world, {
      backupName: 'bakery',
      backupSpec: spec,
      inPlace: true,
      claims: [{ claim: 'a', targetClaim: 'a', path: '' }],
    });
    expect(run.status).toBe(0);
    // The numbers are what came back from the snapshot, not the claim's files since.
    const bytes = Object.entries(snapshotFiles)
      .filter(([, [, sum]]) => sum !== 'dir')
      .reduce((n, [f]) => n + fs.statSync(path.join(claimDir(world, 'a'), f)).size, 0);
    expect(reportLines(run.report).map((l) => [l[1], l[2].slice(0, 8), l[4], l[5]])).toEqual([
      ['a', s1.slice(0, 8), '3', String(bytes)],
    ]);
    const after = fingerprint(claimDir(world, 'a'));
    expect(after['new-since.txt']).toBeDefined();
    delete after['new-since.txt'];
    expect(after).toEqual(snapshotFiles);
  });
});

test("a wrong vault password fails with restic's reason and writes nothing, with one opening or two", () => {
  backupVersion('v1', ['a']);
  const wrong = (extra: { pointInTime?: string }, target: string) =>
    restoreRun(
      world,
      { backupName: 'bakery', backupSpec: spec, claims: [{ claim: 'a', targetClaim: target, path: '' }], ...extra },
      { RESTIC_PASSWORD: 'wrong' },
    );
  // The newest snapshot: restic picks it inside the restore, the only opening of the vault.
  const newest = wrong({}, 'r-a');
  expect(newest.status).not.toBe(0);
  expect(newest.stderr).toMatch(/wrong password|no key found/);
  expect(newest.report).toBe('error cannot open the vault (see the log above)\n');
  expect(fs.readdirSync(claimDir(world, 'r-a'))).toEqual([]);
  // A point in time: the snapshots are listed first.
  const listed = wrong({ pointInTime: new Date().toISOString() }, 'r-b');
  expect(listed.report).toBe('error cannot list the snapshots in the vault (see the log above)\n');
  expect(fs.readdirSync(claimDir(world, 'r-b'))).toEqual([]);
});

test('hostile claim names and snapshot IDs are data, never commands', () => {
  const marker = path.join(world.work, 'pwned');
  const claim = `c$(touch ${marker.replace(/\//g, '_')})`;
  backupVersion('v1', [claim]);
  const run = restoreRun(world, {
    backupName: 'bakery',
    backupSpec: spec,
    snapshotID: `x"; touch ${marker}; echo "`,
    claims: [{ claim, targetClaim: 'r', path: '' }],
  });
  expect(fs.existsSync(marker)).toBe(false);
  expect(fs.readdirSync(world.work).some((f) => f.startsWith('c$') || f.includes('pwned'))).toBe(false);
  expect(run.status).not.toBe(0);
  expect(run.report).toContain(`holds claim ${claim} with ID x"; touch`);
});
