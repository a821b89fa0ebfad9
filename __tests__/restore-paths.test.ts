/**
 * spec.paths for real: the rendered restore Job restores only the given files and folders of one claim with the
 * pinned restic, names with spaces, quotes, shell text, newlines and a leading "-" come back as they were, a path
 * the snapshot lacks fails the run before anything is written, and the numbers are those of the paths only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { restoreJobManifest } from '../lib/run/restore-job';
import { parseRestoreReport } from '../operator/controller/restore-reconcile';
import { RESTORE_REASON } from '../operator/controller/vocabulary';
import { resticForRestore } from '../testing/restic-binary';
import {
  backupRun,
  backupSpec,
  claimDir,
  fingerprint,
  newWorld,
  restoreRun,
  World,
  writeClaim,
} from '../testing/restore-run';

const restic = resticForRestore();
let world: World;

beforeEach(() => {
  world = newWorld('mall-backup-restore-paths-', restic.dir);
});
afterEach(() => fs.rmSync(world.work, { recursive: true, force: true }));

const bakery = { name: 'bakery', namespace: 'mall-shops' };
const spec = backupSpec('bakery');
const HOSTILE = `a b'c"d$(touch pwned)\u2028<&>`;

/** The claim `a` with the usual files, plus names that a shell or restic's filter would read as more. */
function backUp(): { id: string; files: Record<string, [string, string]> } {
  writeClaim(world, 'a', 'v1');
  const dir = claimDir(world, 'a');
  fs.mkdirSync(path.join(dir, HOSTILE, '-n'), { recursive: true });
  fs.writeFileSync(path.join(dir, HOSTILE, '-n', 'line\nbreak.txt'), 'two lines\n');
  fs.writeFileSync(path.join(dir, HOSTILE, '<&>.txt'), 'markup\n');
  fs.writeFileSync(path.join(dir, '-rf'), 'not an option\n');
  fs.writeFileSync(path.join(dir, 'caf\u00e9 \u6f22'), 'unicode\n');
  fs.mkdirSync(path.join(dir, 'db'));
  fs.writeFileSync(path.join(dir, 'db', 'dump.sql'), 'select 1;\n'.repeat(100));
  fs.writeFileSync(path.join(dir, 'db', 'empty'), '');
  const id = backupRun(world, bakery, spec, ['a']);
  return { id, files: fingerprint(dir) };
}

const run = (paths: string[], target = 'r-a', extra: { inPlace?: boolean; snapshotID?: string } = {}) =>
  restoreRun(world, {
    backupName: 'bakery',
    backupSpec: spec,
    claims: [{ claim: 'a', targetClaim: target, path: '' }],
    paths,
    ...extra,
  });

/** The snapshot's entries below the given paths (and the folders leading to them), as `fingerprint` gives them. */
function expected(files: Record<string, [string, string]>, paths: string[]): Record<string, [string, string]> {
  const rel = paths.map((p) => p.slice(1));
  return Object.fromEntries(
    Object.entries(files).filter(([f]) =>
      rel.some((p) => f === p || f.startsWith(`${p}/`) || (p.startsWith(`${f}/`) && files[f][1] === 'dir')),
    ),
  );
}

/** Regular files and their bytes among `entries`, under `root`. */
function numbers(root: string, entries: Record<string, [string, string]>): [string, string] {
  const files = Object.entries(entries).filter(([, [, sum]]) => sum !== 'dir');
  return [String(files.length), String(files.reduce((n, [f]) => n + fs.statSync(path.join(root, f)).size, 0))];
}

function restoredLine(report: string): string[] {
  const [line, ...rest] = report.trim().split('\n');
  expect(rest).toEqual([]);
  return line.split(' ');
}

test('a folder and a single file come back, nothing else; the numbers are theirs only', () => {
  const { id, files } = backUp();
  const paths = ['/db', '/nested/run.sh'];
  const r = run(paths);
  expect([r.status, r.stderr]).toEqual([0, '']);
  const want = expected(files, paths);
  const got = fingerprint(claimDir(world, 'r-a'));
  // The folders leading to a file are made for it; their modes are restic's to choose.
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const f of ['db', 'db/dump.sql', 'db/empty', 'nested/run.sh']) expect(got[f]).toEqual(files[f]);
  const line = restoredLine(r.report);
  expect(line.slice(0, 3)).toEqual(['restored', 'a', id]);
  expect(line.slice(4)).toEqual(numbers(claimDir(world, 'a'), expected(files, ['/db', '/nested/run.sh'])));
  expect(line.slice(4)).toEqual([
    '3',
    String(1000 + 0 + fs.statSync(path.join(claimDir(world, 'a'), 'nested/run.sh')).size),
  ]);
});

test('spaces, quotes, shell text, newlines, markup, Unicode and a leading "-" round-trip, as paths and below', () => {
  const { files } = backUp();
  const paths = [`/${HOSTILE}`, '/-rf', '/caf\u00e9 \u6f22'];
  const r = run(paths);
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(fingerprint(claimDir(world, 'r-a'))).toEqual(expected(files, paths));
  expect(fs.readFileSync(path.join(claimDir(world, 'r-a'), HOSTILE, '-n', 'line\nbreak.txt'), 'utf8')).toBe(
    'two lines\n',
  );
  expect(fs.existsSync(path.join(world.work, 'pwned'))).toBe(false);
  expect(fs.readdirSync(world.work).filter((f) => f.includes('pwned'))).toEqual([]);
  expect(restoredLine(r.report).slice(4)).toEqual(numbers(claimDir(world, 'a'), expected(files, paths)));
  // The paths reach the pod as arguments, never in its script.
  const job = restoreJobManifest({
    restore: { name: 'r', namespace: 'mall-shops', uid: 'u' },
    backupName: 'bakery',
    backupSpec: spec,
    claims: [{ claim: 'a', targetClaim: 'r-a', path: '' }],
    paths,
  });
  const [, , script, , ...args] = job.spec.template.spec.containers[0].command;
  expect(script).not.toContain('pwned');
  expect(args.slice(3)).toEqual(paths);
});

test('a path the snapshot lacks fails the run naming it and the snapshot; the target is untouched', () => {
  const { id } = backUp();
  fs.mkdirSync(claimDir(world, 'r-a'), { recursive: true });
  const r = run(['/db', '/uploads/2026', '/db/dump.sq']);
  expect(r.status).not.toBe(0);
  expect(r.report).toBe(
    `failed PathNotInSnapshot "/uploads/2026", "/db/dump.sq" not in snapshot ${id} of claim a (taken ` +
      `${r.report.split('(taken ')[1].split(')')[0]}): nothing was restored; name paths that snapshot holds ` +
      `(restic ls ${id.slice(0, 8)})\n`,
  );
  expect(fs.readdirSync(claimDir(world, 'r-a'))).toEqual([]);
  const parsed = parseRestoreReport(r.report);
  expect(parsed.reason).toBe(RESTORE_REASON.PathNotInSnapshot);
  expect(parsed.error).toMatch(/^"\/uploads\/2026", "\/db\/dump\.sq" not in snapshot [0-9a-f]{64} of claim a/);
});

test('in place, only the paths are put back: other files keep their edits, files the snapshot lacks stay', () => {
  const { id, files } = backUp();
  const dir = claimDir(world, 'a');
  fs.writeFileSync(path.join(dir, 'db', 'dump.sql'), 'damaged\n');
  fs.writeFileSync(path.join(dir, 'version.txt'), 'edited since\n');
  fs.writeFileSync(path.join(dir, 'db', 'new-since.sql'), 'kept\n');
  const r = run(['/db'], 'a', { inPlace: true });
  expect([r.status, r.stderr]).toEqual([0, '']);
  const after = fingerprint(dir);
  expect(after['db/dump.sql']).toEqual(files['db/dump.sql']);
  expect(fs.readFileSync(path.join(dir, 'version.txt'), 'utf8')).toBe('edited since\n');
  expect(fs.readFileSync(path.join(dir, 'db', 'new-since.sql'), 'utf8')).toBe('kept\n');
  expect(restoredLine(r.report).slice(2)).toEqual([
    id,
    expect.any(String),
    '2',
    String(fs.statSync(path.join(dir, 'db', 'dump.sql')).size),
  ]);
});

test('overlapping paths count each file once; a snapshot ID picks the snapshot', () => {
  const { id: first, files } = backUp();
  fs.rmSync(path.join(claimDir(world, 'a'), 'db'), { recursive: true });
  backupRun(world, bakery, spec, ['a']);
  const r = run(['/db', '/db/dump.sql'], 'r-a', { snapshotID: first.slice(0, 8) });
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(fingerprint(path.join(claimDir(world, 'r-a'), 'db'))).toEqual(
    Object.fromEntries(
      Object.entries(files)
        .filter(([f]) => f.startsWith('db/'))
        .map(([f, v]) => [f.slice(3), v]),
    ),
  );
  expect(restoredLine(r.report).slice(2)).toEqual([first, expect.any(String), '2', '1000']);
  // The newest snapshot no longer holds /db: it is refused there.
  const newest = run(['/db'], 'r-b');
  expect(newest.report).toMatch(/^failed PathNotInSnapshot "\/db" not in snapshot /);
  expect(fs.readdirSync(claimDir(world, 'r-b'))).toEqual([]);
});

test('the Job refuses paths the schema refuses, and paths with more than one claim', () => {
  const render = (paths: string[], claims = ['a']) =>
    restoreJobManifest({
      restore: { name: 'r', namespace: 'mall-shops', uid: 'u' },
      backupName: 'bakery',
      backupSpec: spec,
      claims: claims.map((claim) => ({ claim, targetClaim: `r-${claim}`, path: '' })),
      paths,
    });
  expect(() => render(['/db/*.sql'])).toThrow(/paths\[0\] "\/db\/\*\.sql" is not valid: a path is taken literally/);
  expect(() => render(['/db/../etc'])).toThrow(/must not hold a "\." or "\.\." folder/);
  expect(() => render(['/db'], ['a', 'b'])).toThrow(/paths need exactly one claim, not 2/);
  expect(render(['/db']).spec.template.spec.containers[0].env).toContainEqual({ name: 'INCLUDE_PATHS', value: '1' });
});
