/**
 * `--out` against folders a careless or hostile hand prepared: symbolic links, forged markers, the root of the
 * file system, and synths racing each other. Real folders, the real command, real processes.
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
const synth = (...args: string[]) =>
  spawnSync('sh', [SYNTH, ...args], { encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: '' }, timeout: 60_000 });

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-attack-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function write(dir: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
}

test('a symbolic link to an earlier output stays a link: the synth writes where it points', () => {
  const real = path.join(work, 'real');
  const link = path.join(work, 'link');
  expect(synth('--out', real).status).toBe(0);
  fs.writeFileSync(path.join(real, '00-backup-crd.yaml'), 'stale\n');
  fs.symlinkSync(real, link);
  const run = synth('--out', link);
  expect([run.status, run.stderr]).toEqual([0, '']);
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.readlinkSync(link)).toBe(real);
  expect(readTree(real)).toEqual(Object.fromEntries(outputTree(renderDefaultApp())));
  expect(fs.readdirSync(work).sort()).toEqual(['link', 'real']);
}, 60_000);

test('a symbolic link to nowhere is refused and stays as it was', () => {
  const link = path.join(work, 'link');
  fs.symlinkSync(path.join(work, 'gone'), link);
  const run = synth('--out', link);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(
    `output folder ${link} is a symbolic link to ${path.join(work, 'gone')}, which does not exist`,
  );
  expect(fs.readlinkSync(link)).toBe(path.join(work, 'gone'));
  expect(fs.readdirSync(work)).toEqual(['link']);
}, 60_000);

describe('a forged marker cannot make the synth delete anything', () => {
  const data = { 'data.txt': 'keep me\n', 'notes/n.txt': 'me too\n' };

  test("a marker that is a symbolic link to a list naming the folder's files", () => {
    const dir = path.join(work, 'target');
    write(dir, data);
    const list = path.join(work, 'list');
    // Word for word what a synth writes, except that it lists the owner's files.
    fs.writeFileSync(
      list,
      outputTree(
        new Map([
          ['data.txt', ''],
          ['notes/n.txt', ''],
        ]),
      ).get(OUTPUT_MARKER)!,
    );
    fs.symlinkSync(list, path.join(dir, OUTPUT_MARKER));
    const run = synth('--out', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `output folder ${dir} holds a ${OUTPUT_MARKER} that is a symbolic link, which the synth never writes`,
    );
    expect(readTree(dir)).toEqual({ ...data, [OUTPUT_MARKER]: fs.readFileSync(list, 'utf8') });
  }, 60_000);

  test("a marker without the synth's first line", () => {
    const dir = path.join(work, 'target');
    write(dir, { ...data, [OUTPUT_MARKER]: 'data.txt\nnotes/n.txt\n' });
    const run = synth('--out', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `output folder ${dir} holds a ${OUTPUT_MARKER} the synth did not write (its first line is not the synth's)`,
    );
    expect(readTree(dir)).toEqual({ ...data, [OUTPUT_MARKER]: 'data.txt\nnotes/n.txt\n' });
  }, 60_000);

  test('a listed entry that is a symbolic link to a folder ' +
    'outside: the link goes, the folder and its files stay', () => {
    const outside = path.join(work, 'outside');
    write(outside, data);
    const dir = path.join(work, 'target');
    write(
      dir,
      Object.fromEntries(
        outputTree(
          new Map([
            ['a.yaml', 'kind: A\n'],
            ['samples', ''],
          ]),
        ),
      ),
    );
    fs.rmSync(path.join(dir, 'samples'));
    fs.symlinkSync(outside, path.join(dir, 'samples'));
    expect(synth('--out', dir).status).toBe(0);
    expect(readTree(outside)).toEqual(data);
    expect(fs.lstatSync(path.join(dir, 'samples')).isDirectory()).toBe(true);
  }, 60_000);

  test('a marker listing ../ and absolute paths touches nothing outside the folder', () => {
    const outside = path.join(work, 'outside.txt');
    fs.writeFileSync(outside, 'outside\n');
    const dir = path.join(work, 'target');
    write(dir, Object.fromEntries(outputTree(new Map([['a.yaml', 'kind: A\n']]))));
    fs.appendFileSync(path.join(dir, OUTPUT_MARKER), `../outside.txt\n${outside}\n/etc/hostname\n`);
    expect(synth('--out', dir).status).toBe(0);
    expect(fs.readFileSync(outside, 'utf8')).toBe('outside\n');
    expect(fs.existsSync('/etc/hostname')).toBe(true);
    expect(readTree(dir)).toEqual(Object.fromEntries(outputTree(renderDefaultApp())));
  }, 60_000);
});

test('/ is refused at once for what it is, without reading the whole file system', () => {
  const started = Date.now();
  const run = synth('--out', '/');
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`output folder / is not empty and was not written by the synth (no ${OUTPUT_MARKER})`);
  expect(Date.now() - started).toBeLessThan(15_000);
}, 60_000);

/** Synths racing into one folder, many times each, in separate processes (the real writer, no npm in between). */
test("concurrent synths never fail on each other's swaps, " +
  'and leave one complete output and nothing beside it', async () => {
  const dir = path.join(work, 'out');
  const script = [
    `const { writeManifestsAtomically } = ` +
      `require(${JSON.stringify(path.join(ROOT, 'lib', 'delivery', 'manifest-writer.ts'))});`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the child process's own template literal
    'const files = new Map(Array.from({ length: 12 }, (_, i) => [`d${i % 3}/f${i}.yaml`, "kind: X\\n".repeat(50)]));',
    'let failed = 0;',
    'for (let i = 0; i < 150; i++) { try { writeManifestsAtomically(files, ' +
      'process.argv[1]); } catch (e) { failed++; console.error(String(e)); } }',
    'process.exitCode = failed ? 1 : 0;',
  ].join('\n');
  const runs = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, dir], {
            cwd: ROOT,
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (c) => {
            stderr += c;
          });
          child.on('exit', (code) => resolve({ code, stderr: stderr.split('\n').slice(0, 3).join('\n') }));
        }),
    ),
  );
  expect(runs).toEqual([1, 2, 3, 4].map(() => ({ code: 0, stderr: '' })));
  expect(Object.keys(readTree(dir)).sort()).toEqual(
    [OUTPUT_MARKER, ...Array.from({ length: 12 }, (_, i) => `d${i % 3}/f${i}.yaml`)].sort(),
  );
  expect(fs.readdirSync(work)).toEqual(['out']);
}, 120_000);

describe('folders on a file system of their own (a mounted volume, as in a container or CI job)', () => {
  const mounted: string[] = [];
  /** A real tmpfs: mounting needs root, which CI has (.ci/run installs with apt-get). */
  const mountTmpfs = (dir: string, options: string) => {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `${options},size=4m`, 'tmpfs', dir], { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(`this test mounts a tmpfs, which needs root (as CI runs): mount said ${r.stderr || r.error}`);
    mounted.push(dir);
  };
  afterEach(() => {
    for (const dir of mounted.splice(0)) spawnSync('umount', [dir]);
  });

  test('a mount point is refused before anything is written, saying why and what to do', () => {
    const dir = path.join(work, 'volume');
    mountTmpfs(dir, 'rw');
    const run = synth('--out', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `output folder ${dir} is a mount point, which cannot be swapped for a ` +
        `new folder: name a folder inside it, e.g. ${path.join(dir, 'manifests')}`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.readdirSync(work)).toEqual(['volume']);
    expect(synth('--out', path.join(dir, 'manifests')).status).toBe(0);
  }, 60_000);

  test('a read-only parent is named as what cannot be written', () => {
    const dir = path.join(work, 'ro');
    mountTmpfs(dir, 'ro');
    const run = synth('--out', path.join(dir, 'out'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      `output folder ${path.join(dir, 'out')} cannot be written: the synth writes a ` +
        `new folder beside it in ${dir} and swaps it in, so ${dir} must be writable (EROFS`,
    );
  }, 60_000);
});
