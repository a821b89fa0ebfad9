#!/usr/bin/env node
/**
 * Bundles the operator into one file (build/operator.cjs) for the container image and the tests:
 * no TypeScript and no node_modules at run time. `npm run build:operator`.
 */

const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const OUTFILE = path.join(ROOT, 'build', 'operator.cjs');

async function buildOperator(outfile = OUTFILE) {
  await require('esbuild').build({
    entryPoints: [path.join(ROOT, 'operator', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: process.env.MALL_BACKUP_BUNDLE_READABLE !== 'true',
    logLevel: 'warning',
    // pino loads optional transports by name; the operator logs JSON to stdout and needs none.
    external: ['pino-pretty'],
  });
  return outfile;
}

module.exports = { buildOperator, OUTFILE };

if (require.main === module) {
  buildOperator().then(
    (file) => process.stdout.write(`${path.relative(process.cwd(), file)}\n`),
    (error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    },
  );
}
