/**
 * `npm run synth:helm`: a Helm chart of the operator. The CRD goes to crds/ (Helm installs it before any
 * template and never upgrades or deletes it); the operator's objects are rendered by the same constructs as
 * dist/ and then the four things users override most (image, resources, watched namespaces, log level) are
 * replaced by references to values.yaml, whose defaults are the configuration's values.
 */
import { App, Yaml } from 'cdk8s';
import { stringify } from 'yaml';
import { Chart } from 'cdk8s';
import { ConfigProblems, MallBackupConfig } from './app-config';
import { BackupOperator } from '../contractor/backup-operator';
import { DEFAULT_OPERATOR_IMAGE, heapCeilingMiB, PACKAGE_VERSION, SEMI_SPACE_MIB } from '../contractor/operator-props';
import { STORAGE_CLASSES_ROLE_SUFFIX } from '../contractor/operator-rbac';
import { BackupApiChart } from './charts';
import { OUTPUT_MARKER } from './manifest-writer';

/** Oldest Kubernetes the chart installs on (CronJob timeZone is GA there; the schemas are tested against it). */
export const MIN_KUBERNETES = '1.28.0-0';

type Obj = Record<string, any>;

/** Placeholders that survive YAML rendering as plain scalars, swapped for template text afterwards. */
const inline = (name: string) => `HELMINLINE${name}END`;
const block = (name: string) => `HELMBLOCK${name}END`;

/**
 * Half the memory limit for V8's heap (as heapCeilingMiB does at synth time), computed by Helm from
 * `.Values.resources.limits.memory` in Mi or Gi.
 */
/** The young generation's flag, as nodeOptionsFor writes it. */
const YOUNG = `--max-semi-space-size=${SEMI_SPACE_MIB}`;
const HEAP_FROM_VALUES =
  '{{ $m := .Values.resources.limits.memory | toString }}' +
  `{{ if hasSuffix "Gi" $m }}{{ printf "--max-old-space-size=%d ${YOUNG}" ` +
  '(mul (trimSuffix "Gi" $m | int) 512) | quote }}' +
  `{{ else if hasSuffix "Mi" $m }}{{ printf "--max-old-space-size=%d ${YOUNG}" ` +
  '(max 16 (div (trimSuffix "Mi" $m | int) 2)) | quote }}' +
  '{{ else }}{{ fail "resources.limits.memory must be given in Mi or Gi, e.g. 256Mi" }}{{ end }}';

const INLINE: Record<string, string> = {
  image: '{{ .Values.image | quote }}',
  logLevelArg: '{{ printf "--log-level=%s" .Values.logLevel | quote }}',
  nodeOptions: HEAP_FROM_VALUES,
  bindingNamespace: '{{ . | quote }}',
};

function blockText(name: string, indent: string): string {
  switch (name) {
    case 'resources':
      return `${indent}resources:\n${indent}  {{- toYaml .Values.resources | nindent ${indent.length + 2} }}`;
    case 'namespacesArg':
      return (
        `${indent}{{- if .Values.watchNamespaces }}\n${indent}- {{ printf "--namespaces=%s" (join "," ` +
        `.Values.watchNamespaces) | quote }}\n${indent}{{- end }}`
      );
    default:
      throw new Error(`no Helm text for ${name}`);
  }
}

function fillPlaceholders(text: string): string {
  return text
    .replace(/^( *)(?:- |resources: )HELMBLOCK(\w+)END$/gm, (_, indent: string, name: string) =>
      blockText(name, indent),
    )
    .replace(/"?HELMINLINE(\w+)END"?/g, (_, name: string) => INLINE[name]);
}

/** The operator's objects with values.yaml references, as template text. */
function operatorTemplate(operatorObjects: Obj[]): string {
  const docs: string[] = [];
  let bindingsPlaced = false;
  for (const o of operatorObjects) {
    // The classes' binding is cluster-wide whatever namespaces are watched (they are not namespaced): kept as it is.
    const isBinding =
      (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') &&
      o.roleRef?.kind === 'ClusterRole' &&
      !String(o.roleRef.name).endsWith(STORAGE_CLASSES_ROLE_SUFFIX);
    if (isBinding) {
      if (!bindingsPlaced) docs.push(bindingsTemplate(o));
      bindingsPlaced = true;
      continue;
    }
    if (o.kind === 'Deployment') {
      const container = o.spec.template.spec.containers[0];
      container.image = inline('image');
      container.resources = block('resources');
      container.args = [
        ...container.args.filter((a: string) => !/^--(namespaces|log-level)=/.test(a)),
        inline('logLevelArg'),
        block('namespacesArg'),
      ];
      for (const e of container.env) if (e.name === 'NODE_OPTIONS') e.value = inline('nodeOptions');
    }
    docs.push(Yaml.stringify(o));
  }
  return fillPlaceholders(docs.join('---\n'));
}

/** Namespaced RoleBindings for the watched namespaces, or one ClusterRoleBinding when none are listed. */
function bindingsTemplate(binding: Obj): string {
  const { namespace: _ns, ...metadata } = binding.metadata;
  const cluster = Yaml.stringify({ ...binding, kind: 'ClusterRoleBinding', metadata });
  const namespaced = fillPlaceholders(
    Yaml.stringify({
      ...binding,
      kind: 'RoleBinding',
      metadata: { ...metadata, namespace: inline('bindingNamespace') },
    }),
  );
  return (
    `{{- if .Values.watchNamespaces }}\n{{- range .Values.watchNamespaces }}\n---\n${namespaced}{{- end }}\n{{- ` +
    `else }}\n---\n${cluster}{{- end }}\n`
  );
}

function valuesYaml(config: MallBackupConfig): string {
  const values = {
    image: config.operator.image ?? DEFAULT_OPERATOR_IMAGE,
    logLevel: config.operator.logLevel,
    watchNamespaces: config.operator.watchNamespaces,
    resources: config.operator.resources,
  };
  return [
    '# Values of the mall-backup chart. Generated by `npm run synth:helm` from the configuration (--config).',
    '# image: the operator image, pinned by tag or digest (never latest).',
    '# logLevel: one of fatal, error, warn, info, debug, trace.',
    '# watchNamespaces: namespaces to watch (each must exist: the chart binds a Role in it); empty watches all.',
    `# resources: requests and limits; limits.memory in Mi or Gi (the V8 heap is capped at half of it, now ` +
      `${heapCeilingMiB(config.operator.resources.limits?.memory ?? '256Mi')} MiB).`,
    stringify(values),
  ].join('\n');
}

/** Every file of the chart: path → text. */
export function renderHelmChart(
  config: MallBackupConfig,
  app: App = new App(),
  source = 'defaults',
): Map<string, string> {
  const crd = new BackupApiChart(app, 'backup-crd');
  const operator = new Chart(app, 'operator');
  const problems = new ConfigProblems(source);
  problems.under('config.operator', () => new BackupOperator(operator, 'operator', config.operator));
  problems.throwIfAny();
  const chart = {
    apiVersion: 'v2',
    name: 'mall-backup',
    description: 'The mall-backup operator and its Backup CRD: nightly restic backups of shop volumes',
    type: 'application',
    version: PACKAGE_VERSION,
    appVersion: `v${PACKAGE_VERSION}`,
    kubeVersion: `>=${MIN_KUBERNETES}`,
  };
  return new Map([
    ['Chart.yaml', stringify(chart)],
    ['values.yaml', valuesYaml(config)],
    ['.helmignore', `${OUTPUT_MARKER}\n`],
    ['crds/backup-crd.yaml', Yaml.stringify(...crd.toJson())],
    ['templates/operator.yaml', operatorTemplate(operator.toJson() as Obj[])],
  ]);
}
