/**
 * `--out` never destroys anything that is not its own earlier output; tested with real folders and the real command.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OUTPUT_MARKER, outputTree } from '../lib/delivery/manifest-writer';
import { readTree } from '../testing/files';
import { renderDefaultApp } from '../testing/synth';

const ROOT = path.join(__dirname, '..');
const SYNTH = path.join(ROOT, 'scripts', 'synth.sh');
const expected = () => Object.fromEntries(outputTree(renderDefaultApp()));
const synth = (...args: string[]) =>
  spawnSync('sh', [SYNTH, ...args], { encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: '' } });

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-out-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function folderWith(files: Record<string, string>): string {
  const dir = path.join(work, 'target');
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

test.each([
  [
    "someone's files",
    { 'notes.txt': 'keep me\n', 'photos/cat.jpg': 'meow' },
    'is not empty and was not written by the synth',
  ],
  [
    'a checkout (package.json)',
    { 'package.json': '{}\n', 'src/x.ts': 'x\n' },
    'holds package.json, so it looks like a project',
  ],
  ['a repository (.git)', { '.git/HEAD': 'ref: refs/heads/main\n' }, 'holds .git, so it looks like a project'],
  [
    'an earlier output with a file added by hand',
    { ...Object.fromEntries(outputTree(new Map([['a.yaml', 'kind: A\n']]))), 'mine.yaml': 'kind: Mine\n' },
    'holds files the synth did not write (mine.yaml)',
  ],
])(
  'refuses %s and leaves it exactly as it was',
  (_what, files, why) => {
    const dir = folderWith(files);
    const run = synth('--out', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`output folder ${dir} ${why}`);
    expect(readTree(dir)).toEqual(files);
    expect(fs.readdirSync(work)).toEqual(['target']);
  },
  30_000,
);

test('refuses a file and leaves it a file', () => {
  const file = path.join(work, 'manifests.yaml');
  fs.writeFileSync(file, 'kind: Mine\n');
  const run = synth(`--out=${file}`);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`output folder ${file} is not a folder`);
  expect(fs.readFileSync(file, 'utf8')).toBe('kind: Mine\n');
  expect(fs.readdirSync(work)).toEqual(['manifests.yaml']);
}, 30_000);

test('`--out .` in a checkout is refused and the checkout is untouched', () => {
  const checkout = folderWith({ 'package.json': '{"name":"mine"}\n', 'README.md': 'hello\n' });
  const run = spawnSync('sh', [SYNTH, '--out', '.'], { cwd: checkout, encoding: 'utf8' });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('looks like a project');
  expect(readTree(checkout)).toEqual({ 'package.json': '{"name":"mine"}\n', 'README.md': 'hello\n' });
}, 30_000);

test('an empty folder and an earlier output are replaced; the folder keeps its mode', () => {
  const dir = path.join(work, 'out');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o750);
  expect(synth('--out', dir).status).toBe(0);
  expect(readTree(dir)).toEqual(expected());
  expect(fs.statSync(dir).mode & 0o777).toBe(0o750);
  fs.chmodSync(dir, 0o755);
  expect(synth('--out', dir).status).toBe(0);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  expect(readTree(dir)).toEqual(expected());
  expect(fs.readdirSync(work)).toEqual(['out']);
}, 30_000);

test('a new folder gets the usual mode (umask applies), not 0700', () => {
  const dir = path.join(work, 'fresh');
  const run = spawnSync('sh', ['-c', `umask 022 && exec sh ${SYNTH} --out ${dir}`], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  expect(fs.readFileSync(path.join(dir, OUTPUT_MARKER), 'utf8')).toContain('00-backup-crd.yaml');
}, 30_000);

test('concurrent synths into one folder all succeed, leave one complete output and nothing beside it', async () => {
  const dir = path.join(work, 'out');
  const runs = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn('sh', [SYNTH, '--out', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (c) => {
            stderr += c;
          });
          child.on('exit', (code) => resolve({ code, stderr }));
        }),
    ),
  );
  expect(runs).toEqual([1, 2, 3, 4].map(() => ({ code: 0, stderr: '' })));
  expect(readTree(dir)).toEqual(expected());
  expect(fs.readdirSync(work)).toEqual(['out']);
}, 60_000);

test('a staging folder left by a synth that was killed is removed by the next synth', () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const stray = path.join(work, `.out.synth-${dead.stdout}-abc123`);
  fs.mkdirSync(stray);
  fs.writeFileSync(path.join(stray, 'half.yaml'), 'kind: Ha');
  const unrelated = path.join(work, '.other.synth-1-abc');
  fs.mkdirSync(unrelated);
  expect(synth('--out', path.join(work, 'out')).status).toBe(0);
  expect(fs.readdirSync(work).sort()).toEqual(['.other.synth-1-abc', 'out']);
}, 30_000);

describe('the other runners the README names', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const run = (command: string, out: string) =>
    spawnSync('sh', ['-c', command], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, HOME: work, CDK8S_OUTDIR: out, npm_config_update_notifier: 'false' },
    });

  test('`npx cdk8s synth --no-check-upgrade` writes the same output and prints no stack trace, even offline', () => {
    expect(readme).toContain('npx cdk8s synth --no-check-upgrade');
    const out = path.join(work, 'cdk8s');
    // An unreachable registry: the upgrade check is what used to print a stack trace.
    const r = spawnSync('sh', ['-c', `npx cdk8s synth --no-check-upgrade -o ${out}`], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, HOME: work, npm_config_registry: 'http://127.0.0.1:9/' },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readTree(out)).toEqual(expected());
  }, 60_000);

  test('`npx ts-node --compiler typescript5 main.ts` writes the same output', () => {
    expect(readme).toContain('npx ts-node --compiler typescript5 main.ts');
    const out = path.join(work, 'ts-node');
    const r = run('npx ts-node --compiler typescript5 main.ts', out);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(readTree(out)).toEqual(expected());
  }, 60_000);
});
