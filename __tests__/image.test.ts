/**
 * The image's build stage, reproduced without a container engine: the files its COPY lines take (honouring
 * .dockerignore) go into an empty folder, its RUN build command runs there, and the bundle it produces
 * answers --help. node_modules is linked from this checkout in place of the stage's `npm ci` from the same
 * lock file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const buildStage = dockerfile.split(/^FROM /m)[1];
const instructions = buildStage.split('\n').filter((l) => /^(COPY|RUN) /.test(l));

/** .dockerignore's patterns: a name or path (anything below it too) or a `*.ext` glob at the root. */
function ignored(rel: string): boolean {
  const patterns = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return patterns.some((p) =>
    p.startsWith('*.') ? !rel.includes('/') && rel.endsWith(p.slice(1)) : rel === p || rel.startsWith(`${p}/`),
  );
}

function copyContext(from: string, to: string, rel = ''): void {
  for (const e of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (ignored(r)) continue;
    if (e.isDirectory()) copyContext(from, to, r);
    else {
      fs.mkdirSync(path.dirname(path.join(to, r)), { recursive: true });
      fs.copyFileSync(path.join(from, r), path.join(to, r));
    }
  }
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-image-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the build stage is: install from the lock file, copy the whole context, build the bundle', () => {
  expect(instructions).toEqual([
    'COPY package.json package-lock.json ./',
    'RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild esbuild',
    'COPY . .',
    'RUN node scripts/build-operator.js',
  ]);
  expect(dockerfile).toMatch(/^COPY --from=build \/src\/build\/operator\.cjs \/app\/operator\.cjs$/m);
  expect(require('../package.json').scripts['build:operator']).toBe('node scripts/build-operator.js');
});

test(
  '.dockerignore leaves out only what the bundle never ' + 'reads (not the sources, the scripts or the lock file)',
  () => {
    for (const needed of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'operator/main.ts',
      'lib/run/backup-job.ts',
      'imports/mall.example.com.ts',
      'scripts/build-operator.js',
    ]) {
      expect([needed, ignored(needed)]).toEqual([needed, false]);
    }
    expect(
      ['.git/HEAD', 'node_modules/x', '__tests__/a.ts', 'README.md', 'dist/00-backup-crd.yaml'].filter(ignored),
    ).toHaveLength(5);
  },
);

/**
 * Runs the build stage's COPY and RUN lines in `src` (WORKDIR /src); `npm ci` is a link to this checkout's
 * node_modules.
 */
function reproduceBuildStage(src: string): void {
  for (const line of instructions) {
    const [op, ...args] = line.split(/\s+/);
    if (op === 'COPY') {
      const dest = path.join(src, args.at(-1)!);
      for (const from of args.slice(0, -1)) {
        if (from === '.') copyContext(ROOT, dest);
        else if (fs.statSync(path.join(ROOT, from)).isDirectory())
          copyContext(path.join(ROOT, from), path.join(dest, args.length === 2 && !args[1].endsWith('/') ? '' : from));
        else {
          const target = args.length === 2 && !args[1].endsWith('/') ? dest : path.join(dest, path.basename(from));
          fs.mkdirSync(path.dirname(target), { recursive: true });
          fs.copyFileSync(path.join(ROOT, from), target);
        }
      }
    } else if (/^RUN npm ci /.test(line)) {
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    } else {
      execFileSync('sh', ['-c', line.replace(/^RUN /, '')], { cwd: src, stdio: 'pipe' });
    }
  }
}

test('from exactly the files the stage copies, the build runs and its bundle answers --help', () => {
  const src = path.join(work, 'src');
  fs.mkdirSync(src);
  reproduceBuildStage(src);
  const bundle = path.join(src, 'build', 'operator.cjs');
  // The runtime image has no node_modules: the bundle must run from a folder of its own.
  const alone = path.join(work, 'app');
  fs.mkdirSync(alone);
  fs.copyFileSync(bundle, path.join(alone, 'operator.cjs'));
  // As the ENTRYPOINT starts it: node, its flags (a flag node refuses fails here), the bundle.
  const entrypoint: string[] = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]);
  expect(entrypoint.at(-1)).toBe('/app/operator.cjs');
  const flags = entrypoint.slice(1, -1);
  const run = spawnSync(process.execPath, [...flags, path.join(alone, 'operator.cjs'), '--help'], {
    cwd: alone,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
  });
  expect([run.status, run.stderr]).toEqual([0, '']);
  expect(run.stdout).toContain('--kubeconfig <file>');
}, 120_000);
