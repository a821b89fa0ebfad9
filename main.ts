import * as v8 from 'node:v8';
import { App } from 'cdk8s';
import { configFileFrom, loadConfig } from './lib/app-config';
import { buildApp } from './lib/app';
import { renderManifests, writeManifestsAtomically } from './lib/manifest-writer';

/**
 * `npm run synth [-- --config <file>] [--out <folder>]`. `cdk8s synth` passes its output folder in
 * CDK8S_OUTDIR; the configuration file may also come from MALL_BACKUP_CONFIG. Nothing is written unless
 * the whole app renders.
 */
function flag(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(name.length + 3) : argv[i + 1];
}

function synth(argv: string[]): void {
  try {
    const config = loadConfig(configFileFrom(argv, process.env));
    const app = new App();
    const layout = process.env.MALL_BACKUP_LAYOUT === 'helm' ? 'helm' : 'plain';
    writeManifestsAtomically(renderManifests(buildApp(app, config, layout)), flag(argv, 'out') ?? app.outdir);
  } catch (error) {
    process.stderr.write(`synth failed, nothing written: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

// Built into a V8 startup snapshot (scripts/synth.sh), the libraries are loaded once at build time and
// each synth starts from the snapshot; run any other way, it synthesizes at once.
// Started from a snapshot there is no script path in process.argv: the arguments follow node itself.
if (v8.startupSnapshot?.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(() => synth(process.argv.slice(1)));
else synth(process.argv.slice(2));
