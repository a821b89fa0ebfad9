/** Every command answers --help and refuses unknown flags, positionals and missing values: the real commands. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { operatorBundle } from '../testing/operator-process';

const ROOT = path.join(__dirname, '..');
let work: string;
let bundle: string;
beforeAll(async () => {
  bundle = await operatorBundle();
}, 60_000);
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-cli-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const COMMANDS: Record<string, { run: (args: string[]) => ReturnType<typeof spawnSync>; flags: string[] }> = {
  'npm run synth': {
    run: (args) =>
      spawnSync('npm', ['run', '--silent', 'synth', '--', ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK8S_OUTDIR: '' },
      }),
    flags: ['--config <file>', '--out <folder>', '--format <plain|helm>'],
  },
  'npm run synth:helm': {
    run: (args) => spawnSync('npm', ['run', '--silent', 'synth:helm', '--', ...args], { cwd: ROOT, encoding: 'utf8' }),
    flags: ['--config <file>', '--out <folder>'],
  },
  operator: {
    run: (args) =>
      spawnSync(process.execPath, [bundle, ...args], {
        cwd: work,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: work },
      }),
    flags: [
      '--namespaces <a,b>',
      '--kubeconfig <file>',
      '--log-level <fatal|error|warn|info|debug|trace>',
      '--connect-timeout-seconds <seconds>',
    ],
  },
};

describe.each(Object.keys(COMMANDS))('%s', (name) => {
  const { run, flags } = COMMANDS[name];
  const listsOptions = (text: string) => {
    for (const f of [...flags, '--help']) expect(text).toContain(f);
  };

  test.each(['--help', '-h'])(
    '%s prints every option and exits 0 without doing anything',
    (help) => {
      const r = run([help]);
      expect([r.status, r.stderr]).toEqual([0, '']);
      listsOptions(String(r.stdout));
      expect(fs.readdirSync(work)).toEqual([]);
    },
    30_000,
  );

  test.each([
    [['--ouput', 'x'], 'unknown option --ouput'],
    [['stray'], 'unexpected argument "stray"'],
    [['--config'], '--config needs a value'],
    [['--config', '--out', 'x'], '--config needs a value'],
    [['--config='], '--config needs a value'],
    [['--config', 'a.yaml', '--config=b.yaml'], '--config is given twice ("a.yaml", then "b.yaml"): give it once'],
  ])(
    '%j is refused (exit 2) with the reason and the options',
    (args, reason) => {
      const opArgs = name === 'operator' ? args.map((a) => a.replace('--config', '--kubeconfig')) : args;
      const r = run(opArgs);
      expect(r.status).toBe(2);
      expect(String(r.stderr)).toContain(name === 'operator' ? reason.replace('--config', '--kubeconfig') : reason);
      listsOptions(String(r.stderr));
      expect(fs.readdirSync(work)).toEqual([]);
    },
    30_000,
  );
});

test('synth:helm takes --config and --out (no folder named "--config")', () => {
  fs.writeFileSync(path.join(work, 'c.yaml'), 'operator: { logLevel: debug }\n');
  const out = path.join(work, 'chart');
  const r = spawnSync(
    'npm',
    ['run', '--silent', 'synth:helm', '--', '--config', path.join(work, 'c.yaml'), `--out=${out}`],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect([r.status, r.stderr]).toEqual([0, '']);
  expect(fs.readFileSync(path.join(out, 'values.yaml'), 'utf8')).toMatch(/^logLevel: debug$/m);
  expect(fs.readdirSync(work).sort()).toEqual(['c.yaml', 'chart']);
}, 30_000);

test('the operator takes both --flag value and --flag=value, and names every bad value at once', () => {
  const r = spawnSync(process.execPath, [bundle, '--log-level', 'loud', '--workers=0', '--leader-elect', 'maybe'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: work },
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--log-level "loud" is not valid: use one of fatal, error, warn, info, debug, trace');
  expect(r.stderr).toContain('--workers "0" is not valid: use an integer from 1 to 64');
  expect(r.stderr).toContain('--leader-elect "maybe" is not valid: use true or false');
});
