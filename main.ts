import { App } from 'cdk8s';
import { buildApp } from './lib/app';
import { renderManifests, writeManifestsAtomically } from './lib/manifest-writer';

// `cdk8s synth` passes its output folder in CDK8S_OUTDIR; `npm run synth` uses dist/.
const app = new App();
writeManifestsAtomically(renderManifests(buildApp(app)), app.outdir);
