/**
 * Regenerates imports/ (the typed Backup API) with `cdk8s import` from the CRD that lib/ renders, so the
 * generated classes always match the schema, and lib/permits/api-types.ts (the same API as raw JSON, for the
 * operator) from the schema objects. `npm run import [-- <outdir>]` (the JSON types are written in place).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart, Yaml } from 'cdk8s';
import { BackupCrd } from '../lib/permits/backup-crd';
import { RestoreCrd } from '../lib/permits/restore-crd';
import { renderApiTypes } from './api-types';

export const API_TYPES_FILE = path.join(__dirname, '..', 'lib', 'permits', 'api-types.ts');

export function renderCrdYaml(): string {
  const chart = new Chart(new App(), 'crd');
  new BackupCrd(chart, 'backups');
  new RestoreCrd(chart, 'restores');
  return Yaml.stringify(...chart.toJson());
}

export function generateImports(outdir: string): void {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-import-'));
  try {
    const crdFile = path.join(work, `${BackupCrd.NAME}.yaml`);
    fs.writeFileSync(crdFile, renderCrdYaml());
    const cli = path.join(path.dirname(require.resolve('cdk8s-cli/package.json')), 'bin', 'cdk8s');
    execFileSync(
      process.execPath,
      [cli, 'import', crdFile, '--language', 'typescript', '--output', outdir, '--no-check-upgrade'],
      {
        cwd: work,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      },
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const outdir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'imports'));
  generateImports(outdir);
  fs.writeFileSync(API_TYPES_FILE, renderApiTypes());
  process.stdout.write(
    `imports written to ${path.relative(process.cwd(), outdir) || '.'}, ` +
      `${path.relative(process.cwd(), API_TYPES_FILE)}\n`,
  );
}
