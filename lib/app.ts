import { App, Chart } from 'cdk8s';
import { BackupApiChart, BackupOperatorChart, SampleBackupsChart } from './charts';

/** One output file: which chart goes where, relative to the output folder. */
export interface ManifestFile {
  readonly path: string;
  readonly chart: Chart;
}

/**
 * The default app: the CRD and the operator in numbered files applied in order, and the samples
 * apart so they can be applied once the CRD is established.
 */
export function buildApp(app: App = new App()): ManifestFile[] {
  return [
    { path: '00-backup-crd.yaml', chart: new BackupApiChart(app, 'backup-crd') },
    { path: '01-operator.yaml', chart: new BackupOperatorChart(app, 'operator') },
    { path: 'samples/backups.yaml', chart: new SampleBackupsChart(app, 'samples') },
  ];
}
