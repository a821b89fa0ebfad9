import { App } from 'cdk8s';
import { configFileFrom, loadConfig } from './lib/app-config';
import { buildApp } from './lib/app';
import { renderManifests, writeManifestsAtomically } from './lib/manifest-writer';

/**
 * `npm run synth [-- --config <file>] [--out <folder>]`. `cdk8s synth` passes its output folder in
 * CDK8S_OUTDIR; the configuration file may also come from MALL_BACKUP_CONFIG. Nothing is written unless
 * the whole app renders.
 */
function flag(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].slice(name.length + 3) : argv[i + 1];
}

try {
  const config = loadConfig(configFileFrom(process.argv.slice(2), process.env));
  const app = new App();
  const layout = process.env.MALL_BACKUP_LAYOUT === 'helm' ? 'helm' : 'plain';
  writeManifestsAtomically(renderManifests(buildApp(app, config, layout)), flag('out') ?? app.outdir);
} catch (error) {
  process.stderr.write(`synth failed, nothing written: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
