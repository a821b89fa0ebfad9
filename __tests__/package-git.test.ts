import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The README's other way in: `npm install <git URL>`. npm clones the repository, installs its dependencies
 * and packs it running `prepare` (never `prepack`), so without a `prepare` that compiles the library the
 * installed package has no JavaScript at all. The repository here is this work tree as it stands (tracked
 * and new files), committed into a throwaway git repository.
 */
const ROOT = path.join(__dirname, '..');
const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

let tmp: string;
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a cdk8s app installs the package from a git URL and gets the compiled library', () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-git-'));
  const repo = path.join(tmp, 'repo');
  const files = git(ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard')
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
  for (const f of files) fs.cpSync(path.join(ROOT, f), path.join(repo, f), { dereference: false });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'the work tree');

  const app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer-app',
      version: '1.0.0',
      private: true,
      dependencies: { cdk8s: own.devDependencies.cdk8s, constructs: own.devDependencies.constructs },
    }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `git+file://${repo}`], {
    cwd: app,
    stdio: 'pipe',
  });
  const script = `
    const { App, Chart } = require('cdk8s');
    const { BackupCrd, DEFAULT_OPERATOR_IMAGE } = require('mall-backup');
    const app = new App();
    new BackupCrd(new Chart(app, 'api'), 'crd');
    console.log(JSON.stringify({
      image: DEFAULT_OPERATOR_IMAGE,
      crd: app.synthYaml().includes('backups.mall.example.com'),
    }));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
  expect(JSON.parse(out)).toEqual({ image: `ghcr.io/mall-example/mall-backup-operator:v${own.version}`, crd: true });
}, 600_000);
