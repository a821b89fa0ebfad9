#!/usr/bin/env node
/**
 * Runs the cdk8s app (main.ts) without a TypeScript toolchain in the hot path: bundled once with
 * esbuild into node_modules/.cache and rebuilt only when a source is newer than the bundle. Type
 * checking is `npm test`'s job. With `--build-snapshot <blob>` it instead bundles everything into one
 * script and builds a V8 startup snapshot of it, which scripts/synth.sh (`npm run synth`) runs.
 *
 * The sources import only cdk8s-plus-28's L1 module (`cdk8s-plus-28/lib/imports/k8s`): loading its L2
 * library would cost more than the whole synth.
 */

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const BUNDLE = path.join(ROOT, 'node_modules', '.cache', 'mall-backup', 'synth.cjs');
// What decides that a bundle or snapshot is stale: listed once, for this file and scripts/synth.sh.
const SOURCES = fs.readFileSync(path.join(__dirname, 'synth-inputs.txt'), 'utf8').split('\n').filter(Boolean);

function newestChange(entry) {
  const full = path.resolve(ROOT, entry);
  const stat = fs.statSync(full, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs
    .readdirSync(full)
    .reduce((newest, child) => Math.max(newest, newestChange(path.join(full, child))), stat.mtimeMs);
}

function bundleIsFresh() {
  const bundle = fs.statSync(BUNDLE, { throwIfNoEntry: false });
  return bundle !== undefined && SOURCES.every((s) => newestChange(s) < bundle.mtimeMs);
}

async function build() {
  const staging = `${BUNDLE}.${process.pid}.tmp`;
  await require('esbuild').build({
    entryPoints: [path.join(ROOT, 'main.ts')],
    outfile: staging,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    external: ['cdk8s', 'constructs', 'cdk8s-plus-28/*'],
  });
  fs.renameSync(staging, BUNDLE);
}

/** One self-contained script (no require of packages, as V8 snapshots need), then the snapshot of it. */
async function buildSnapshot(blob) {
  const script = `${blob}.${process.pid}.cjs`;
  await require('esbuild').build({
    entryPoints: [path.join(ROOT, 'main.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
  });
  const staging = `${blob}.${process.pid}.tmp`;
  // --no-warnings: Node notes that child_process (which cdk8s loads for Helm includes) is not yet verified in
  // snapshots.
  const run = require('node:child_process').spawnSync(
    process.execPath,
    ['--no-warnings', '--snapshot-blob', staging, '--build-snapshot', script],
    { stdio: 'inherit', cwd: ROOT },
  );
  fs.rmSync(script, { force: true });
  if (run.status !== 0) throw new Error(`building the startup snapshot failed (exit ${run.status})`);
  fs.renameSync(staging, blob);
}

const snapshotFlag = process.argv.indexOf('--build-snapshot');
if (snapshotFlag >= 0) {
  const blob = path.resolve(process.argv[snapshotFlag + 1]);
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  buildSnapshot(blob).catch((error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
} else if (bundleIsFresh()) {
  require(BUNDLE);
} else {
  build()
    .then(() => require(BUNDLE))
    .catch((error) => {
      process.exitCode = 1;
      if (!error.errors) console.error(error);
    });
}
