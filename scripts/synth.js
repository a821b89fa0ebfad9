#!/usr/bin/env node
/**
 * `npm run synth`: runs the cdk8s app (main.ts) without a TypeScript toolchain in the hot path. The app
 * is bundled once with esbuild into node_modules/.cache and rebuilt only when a source is newer than
 * the bundle, so a synth costs one node start plus the libraries. Type checking is `npm test`'s job.
 *
 * The bundle maps `cdk8s-plus-28` to its L1 `k8s` module alone: the app uses no L2 construct, and
 * loading the L2 library would cost more than the whole synth.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const BUNDLE = path.join(ROOT, 'node_modules', '.cache', 'mall-backup', 'synth.cjs');
const SOURCES = ['main.ts', 'lib', 'imports', 'package.json', 'package-lock.json', __filename, path.join(__dirname, 'k8s-only.js')];

function newestChange(entry) {
  const full = path.resolve(ROOT, entry);
  const stat = fs.statSync(full, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(full).reduce((newest, child) => Math.max(newest, newestChange(path.join(full, child))), stat.mtimeMs);
}

function bundleIsFresh() {
  const bundle = fs.statSync(BUNDLE, { throwIfNoEntry: false });
  return bundle !== undefined && SOURCES.every((s) => newestChange(s) < bundle.mtimeMs);
}

/** Resolves the bare `cdk8s-plus-28` import to the L1-only module; its subpaths stay external. */
const k8sOnly = {
  name: 'k8s-only',
  setup(b) {
    b.onResolve({ filter: /^cdk8s-plus-28$/ }, () => ({ path: path.join(__dirname, 'k8s-only.js') }));
  },
};

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
    plugins: [k8sOnly],
    external: ['cdk8s', 'constructs', 'cdk8s-plus-28/*'],
  });
  fs.renameSync(staging, BUNDLE);
}

if (bundleIsFresh()) {
  require(BUNDLE);
} else {
  build().then(() => require(BUNDLE)).catch((error) => {
    process.exitCode = 1;
    if (!error.errors) console.error(error);
  });
}
