/**
 * `npm test` stopped half-way (Ctrl-C, a killed CI job) cannot run its teardown: the next run removes what such
 * runs left in the temp folder, and only theirs. Real jest processes, a real SIGINT.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const SUPPORT = path.join(__dirname, '..', 'testing', 'temp-folder.js');
let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-tmpcheck-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the global setup and teardown in a process of their own, with `tmp` as its temp folder. */
const setupAndTeardown = () =>
  spawnSync(
    process.execPath,
    [
      '-e',
      `const t = require(${JSON.stringify(SUPPORT)}); t.setup(); ` +
        `console.log(process.env.MALL_BACKUP_TEST_TMPDIR); t.teardown();`,
    ],
    { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } },
  );

test('a run removes the folders of earlier runs whose process is gone, keeps live ones and anything else', () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  const stale = path.join(tmp, `mall-backup-test-${dead}-AbC123`);
  fs.mkdirSync(path.join(stale, 'cdk8s.outdir.x'), { recursive: true });
  const live = path.join(tmp, `mall-backup-test-${process.pid}-XyZ789`);
  fs.mkdirSync(live);
  const older = path.join(tmp, 'mall-backup-test-Qw3rTy');
  fs.mkdirSync(older);
  const run = setupAndTeardown();
  expect([run.status, run.stderr]).toEqual([0, '']);
  expect(path.basename(run.stdout.trim())).toMatch(/^mall-backup-test-\d+-[A-Za-z0-9]{6}$/);
  expect(fs.readdirSync(tmp).sort()).toEqual([path.basename(older), path.basename(live)].sort());
});

test('jest stopped with Ctrl-C leaves its folder; the next run removes it, and jest keeps no cache there', async () => {
  const jest = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--selectProjects',
      'unit',
      '__tests__/output-folder.test.ts',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    },
  );
  try {
    const deadline = Date.now() + 60_000;
    const ours = () => fs.readdirSync(tmp).filter((n) => n.startsWith('mall-backup-test-'));
    while (ours().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(ours()).toHaveLength(1);
    jest.kill('SIGINT');
    await new Promise((r) => jest.once('exit', r));
    expect(setupAndTeardown().status).toBe(0);
    // Nothing else either: jest's transform cache lives in node_modules/.cache, not in the temp folder.
    expect(fs.readdirSync(tmp)).toEqual([]);
  } finally {
    jest.kill('SIGKILL');
  }
}, 90_000);
