#!/usr/bin/env node
/**
 * `npm run synth:helm [-- <output folder>]`: a Helm chart of the operator with `cdk8s synth --format helm`,
 * the Backup CRD under crds/ (Helm installs those first), named mall-backup and versioned like the package.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const ROOT = path.join(__dirname, '..');
const { version } = require(path.join(ROOT, 'package.json'));
const output = path.resolve(process.argv[2] ?? path.join(ROOT, 'helm', 'mall-backup'));

const cli = path.join(path.dirname(require.resolve('cdk8s-cli/package.json')), 'bin', 'cdk8s');
const run = spawnSync(process.execPath, [cli, 'synth', '--format', 'helm', '--chart-version', version, '--output', output, '--no-check-upgrade'], {
  cwd: ROOT, stdio: 'inherit', env: { ...process.env, MALL_BACKUP_LAYOUT: 'helm', CDK8S_CHECK_UPGRADE: 'false' },
});
if (run.status !== 0) process.exit(run.status ?? 1);

// cdk8s names the chart after the working folder; the chart is mall-backup wherever it is built.
const chartFile = path.join(output, 'Chart.yaml');
const chart = YAML.parse(fs.readFileSync(chartFile, 'utf8'));
Object.assign(chart, {
  name: 'mall-backup',
  description: 'The mall-backup operator and its Backup CRD: nightly restic backups of shop volumes',
  appVersion: `v${version}`,
});
fs.writeFileSync(chartFile, YAML.stringify(chart));
process.stdout.write(`Helm chart written to ${path.relative(process.cwd(), output) || '.'}\n`);
