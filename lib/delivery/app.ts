import { ApiObject, App, Chart } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { ConfigProblems, DEFAULT_CONFIG, MallBackupConfig } from './app-config';
import { ArgoCdApplications, SYNC_OPTIONS, SYNC_WAVE, SYNC_WAVES } from './argocd';
import { BackupOperator } from '../contractor/backup-operator';
import { BackupApiChart, SampleBackupsChart } from './charts';
import { standardLabels } from '../common/labels';
import { RESTRICTED_NAMESPACE_LABELS } from '../common/pod-security';
import { BackupMonitoring } from '../contractor/monitoring';
import { SampleRestoresChart } from './restore-samples';

/** One output file: which chart goes where, relative to the output folder. */
export interface ManifestFile {
  readonly path: string;
  readonly chart: Chart;
}

export const SAMPLES_FOLDER = 'samples';
export const ARGOCD_FOLDER = 'argocd';

/** Adds `annotations` to every object a construct renders. */
function annotateAll(scope: Construct, annotations: Record<string, string>): void {
  for (const node of scope.node.findAll()) {
    if (node instanceof ApiObject) for (const [k, v] of Object.entries(annotations)) node.metadata.addAnnotation(k, v);
  }
}

/**
 * The app: the CRD and the operator in numbered files applied in order (`kubectl apply -f dist/`), the
 * samples apart so they can be applied once the CRD is established, and the Argo CD Applications in a
 * folder of their own. Throws a ConfigError listing what every construct refuses, by config key.
 */
export function buildApp(
  app: App = new App(),
  config: MallBackupConfig = DEFAULT_CONFIG,
  source = 'defaults',
): ManifestFile[] {
  const problems = new ConfigProblems(source);
  const gitops = config.argocd.enabled;
  const crd = new BackupApiChart(
    app,
    'backup-crd',
    gitops ? { annotations: { [SYNC_WAVE]: SYNC_WAVES.crd, [SYNC_OPTIONS]: 'Prune=false' } } : {},
  );
  const operator = new Chart(app, 'operator');
  // Before the operator: its RoleBindings live in these namespaces, and kubectl applies in file order.
  if (config.operator.createWatchNamespaces) {
    for (const name of config.operator.watchNamespaces) {
      new k8s.KubeNamespace(operator, `Watched-${name}`, {
        metadata: { name, labels: { ...standardLabels('shops'), ...RESTRICTED_NAMESPACE_LABELS } },
      });
    }
  }
  const contractor = problems.under('config.operator', () => new BackupOperator(operator, 'operator', config.operator));
  const files: ManifestFile[] = [
    { path: '00-backup-crd.yaml', chart: crd },
    { path: '01-operator.yaml', chart: operator },
  ];
  if (gitops) annotateAll(operator, { [SYNC_WAVE]: SYNC_WAVES.operator });
  if (config.monitoring.enabled && contractor) {
    const chart = new Chart(app, 'monitoring');
    problems.under(
      'config.monitoring',
      () =>
        new BackupMonitoring(chart, 'monitoring', {
          namespace: contractor.namespace,
          serviceSelector: contractor.metricsServiceSelector,
        }),
    );
    // The Prometheus Operator's CRDs come from elsewhere: a dry run must not fail on them.
    if (gitops)
      annotateAll(chart, { [SYNC_WAVE]: SYNC_WAVES.operator, [SYNC_OPTIONS]: 'SkipDryRunOnMissingResource=true' });
    files.push({ path: '02-monitoring.yaml', chart });
  }
  if (config.samples.enabled) {
    const samples = problems.under(
      'config.samples',
      () => new SampleBackupsChart(app, 'samples', { namespace: config.samples.namespace }),
    );
    if (samples && gitops)
      annotateAll(samples, { [SYNC_WAVE]: SYNC_WAVES.samples, [SYNC_OPTIONS]: 'SkipDryRunOnMissingResource=true' });
    if (samples) files.push({ path: `${SAMPLES_FOLDER}/backups.yaml`, chart: samples });
    // A folder below samples/: `kubectl apply -f dist/samples/` and the samples Application do not read it.
    const restores = problems.under(
      'config.samples',
      () => new SampleRestoresChart(app, 'restore-samples', { namespace: config.samples.namespace }),
    );
    if (restores) files.push({ path: `${SAMPLES_FOLDER}/restores/restores.yaml`, chart: restores });
  }
  if (gitops) {
    const chart = new Chart(app, 'argocd');
    const { argocd } = config;
    problems.under(
      'config.argocd',
      () =>
        new ArgoCdApplications(chart, 'applications', {
          repoURL: argocd.repoURL,
          targetRevision: argocd.targetRevision,
          path: argocd.path,
          samplesPath: config.samples.enabled ? `${argocd.path}/${SAMPLES_FOLDER}` : undefined,
          namespace: argocd.namespace,
          project: argocd.project,
          destinationServer: argocd.destinationServer,
          operatorNamespace: config.operator.namespace,
          samplesNamespace: config.samples.namespace,
          automated: argocd.automated,
        }),
    );
    files.push({ path: `${ARGOCD_FOLDER}/applications.yaml`, chart });
  }
  problems.throwIfAny();
  return files;
}
