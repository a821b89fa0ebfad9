import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiObject, Lazy, Testing } from 'cdk8s';
import { outputTree, renderManifests, writeManifestsAtomically } from '../lib/delivery/manifest-writer';
import { readTree } from '../testing/files';
import { renderDefaultApp } from '../testing/synth';

const ROOT = path.join(__dirname, '..');
let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-synth-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** A folder as an earlier synth left it: its files and the marker listing them. */
function previousOutput(): string {
  const outdir = path.join(work, 'dist');
  for (const [file, text] of outputTree(
    new Map([
      ['old.yaml', 'kind: Old\n'],
      ['samples/old.yaml', 'kind: OldSample\n'],
    ]),
  )) {
    fs.mkdirSync(path.dirname(path.join(outdir, file)), { recursive: true });
    fs.writeFileSync(path.join(outdir, file), text);
  }
  return outdir;
}

test('writing replaces the folder exactly: stale files go, nothing is left beside it', () => {
  const outdir = previousOutput();
  writeManifestsAtomically(
    new Map([
      ['a.yaml', 'kind: A\n'],
      ['samples/b.yaml', 'kind: B\n'],
    ]),
    outdir,
  );
  expect(readTree(outdir)).toEqual(
    Object.fromEntries(
      outputTree(
        new Map([
          ['a.yaml', 'kind: A\n'],
          ['samples/b.yaml', 'kind: B\n'],
        ]),
      ),
    ),
  );
  expect(fs.readdirSync(work)).toEqual(['dist']);
});

test('a chart that throws while rendering leaves the previous output untouched', () => {
  const outdir = previousOutput();
  const before = readTree(outdir);
  const chart = Testing.chart();
  new ApiObject(chart, 'broken', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    data: Lazy.any({
      produce: () => {
        throw new Error('boom');
      },
    }),
  });
  expect(() => writeManifestsAtomically(renderManifests([{ path: 'x.yaml', chart }]), outdir)).toThrow('boom');
  expect(readTree(outdir)).toEqual(before);
  expect(fs.readdirSync(work)).toEqual(['dist']);
});

test('a write that fails half-way leaves the previous output untouched and no staging folder', () => {
  const outdir = previousOutput();
  const before = readTree(outdir);
  // The second file cannot be created below the first one, which is a file.
  expect(() =>
    writeManifestsAtomically(
      new Map([
        ['a.yaml', 'kind: A\n'],
        ['a.yaml/b.yaml', 'kind: B\n'],
      ]),
      outdir,
    ),
  ).toThrow();
  expect(readTree(outdir)).toEqual(before);
  expect(fs.readdirSync(work)).toEqual(['dist']);
});

test("`npm run synth`'s command writes the default app, byte-identical to the in-memory render", () => {
  const outdir = path.join(work, 'dist');
  execFileSync('sh', [path.join(ROOT, 'scripts', 'synth.sh')], {
    cwd: ROOT,
    env: { ...process.env, CDK8S_OUTDIR: outdir },
    stdio: 'pipe',
  });
  expect(readTree(outdir)).toEqual(Object.fromEntries(outputTree(renderDefaultApp())));
}, 30_000);

test('a failing synth exits non-zero and leaves the previous output untouched', () => {
  const outdir = previousOutput();
  const before = readTree(outdir);
  const failing = path.join(work, 'failing-main.ts');
  fs.writeFileSync(
    failing,
    [
      `import { App } from ${JSON.stringify(require.resolve('cdk8s'))};`,
      `import { buildApp } from ${JSON.stringify(path.join(ROOT, 'lib', 'delivery', 'app'))};`,
      `import { ShopBackup } from ${JSON.stringify(path.join(ROOT, 'lib', 'permits', 'shop-backup'))};`,
      `import { renderManifests, writeManifestsAtomically } from ` +
        `${JSON.stringify(path.join(ROOT, 'lib', 'delivery', 'manifest-writer'))};`,
      `const app = new App();`,
      `const files = buildApp(app);`,
      `new ShopBackup(files[2].chart, 'bad', { shopName: 'Bad', backupTime: ` +
        `'25:00', vaultLocation: 'x', vaultCredentialsSecret: 's' });`,
      `writeManifestsAtomically(renderManifests(files), app.outdir);`,
    ].join('\n'),
  );
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), failing], {
    cwd: ROOT,
    env: { ...process.env, CDK8S_OUTDIR: outdir },
    encoding: 'utf8',
  });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toContain('spec.backupTime "25:00" is not valid');
  expect(readTree(outdir)).toEqual(before);
}, 30_000);
