import * as v8 from 'node:v8';
import { App } from 'cdk8s';
import { loadConfig } from './lib/delivery/app-config';
import { buildApp } from './lib/delivery/app';
import { CliCommand, parseCommandLine, UsageError } from './lib/common/cli';
import { renderHelmChart } from './lib/delivery/helm-chart';
import { renderManifests, writeManifestsAtomically } from './lib/delivery/manifest-writer';

const FORMATS = ['plain', 'helm'] as const;
const DEFAULT_OUT = { plain: 'dist', helm: 'helm/mall-backup' } as const;

const SYNTH_COMMAND: CliCommand = {
  usage: 'npm run synth --',
  summary:
    'Writes the Backup CRD, the operator, the samples and the ' +
    'Argo CD Applications (or, with --format helm, a Helm chart).\n' +
    'Nothing is written unless the whole app renders; the output folder must be empty, new or a previous synth output.',
  options: [
    { name: 'config', value: 'file', description: 'YAML or JSON configuration file', env: 'MALL_BACKUP_CONFIG' },
    {
      name: 'out',
      value: 'folder',
      description: 'output folder',
      env: 'CDK8S_OUTDIR',
      default: `${DEFAULT_OUT.plain} (${DEFAULT_OUT.helm} for helm)`,
    },
    { name: 'format', value: FORMATS.join('|'), description: 'plain manifests or a Helm chart', default: 'plain' },
  ],
};

/** `npm run synth`, `npm run synth:helm`, and `cdk8s synth` (which passes its output folder in CDK8S_OUTDIR). */
function synth(argv: string[]): void {
  try {
    const args = parseCommandLine(SYNTH_COMMAND, argv);
    if (!args) return;
    const format = (args.format ?? 'plain') as (typeof FORMATS)[number];
    if (!FORMATS.includes(format))
      throw new UsageError(`--format ${JSON.stringify(format)} is not valid: use ${FORMATS.join(' or ')}`);
    const config = loadConfig(args.config);
    const source = args.config ?? 'defaults';
    const rendered =
      format === 'helm'
        ? renderHelmChart(config, new App(), source)
        : renderManifests(buildApp(new App(), config, source));
    const out = args.out ?? DEFAULT_OUT[format];
    writeManifestsAtomically(rendered, out);
    if (format === 'helm') process.stdout.write(`Helm chart written to ${out}\n`);
  } catch (error) {
    const usage = error instanceof UsageError;
    process.stderr.write(`synth ${usage ? 'refused' : 'failed'}, nothing written: ${(error as Error).message}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

// Built into a V8 startup snapshot (scripts/synth.sh), the libraries are loaded once at build time and
// each synth starts from the snapshot; run any other way, it synthesizes at once.
// Started from a snapshot there is no script path in process.argv: the arguments follow node itself.
if (v8.startupSnapshot?.isBuildingSnapshot())
  v8.startupSnapshot.setDeserializeMainFunction(() => synth(process.argv.slice(1)));
else synth(process.argv.slice(2));
