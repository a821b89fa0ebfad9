import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { parseAllDocuments, stringify } from 'yaml';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { buildApp } from '../lib/delivery/app';
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfigText } from '../lib/delivery/app-config';
import { DEFAULT_OPERATOR_IMAGE } from '../lib/contractor/operator-props';
import { outputTree, renderManifests } from '../lib/delivery/manifest-writer';
import { readTree } from '../testing/files';
import { gateProblems, K8sObject } from '../testing/k8s-rules';

const ROOT = path.join(__dirname, '..');
const ENVIRONMENTS = fs
  .readdirSync(path.join(ROOT, 'config'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));

function objectsOf(configFile?: string): K8sObject[] {
  return buildApp(Testing.app(), loadConfig(configFile)).flatMap(({ chart }) => chart.toJson() as K8sObject[]);
}
const wave = (o: K8sObject) => o.metadata.annotations?.['argocd.argoproj.io/sync-wave'];

describe('Argo CD', () => {
  const objects = objectsOf();
  const apps = objects.filter((o) => o.kind === 'Application');

  test("two Applications, valid against Argo CD's Application schema", () => {
    expect(apps.map((a) => a.metadata.name)).toEqual(['mall-backup', 'mall-backup-samples']);
    for (const app of apps) expect(() => new Application(app as never).validate()).not.toThrow();
    expect(() =>
      new Application({ ...apps[0], spec: { ...apps[0].spec, destination: undefined } } as never).validate(),
    ).toThrow(/destination/);
  });

  test('sync waves: the CRD first (-1), the operator next (0), Backups last (1)', () => {
    expect(objects.filter((o) => o.kind === 'CustomResourceDefinition').map(wave)).toEqual(['-1', '-1']);
    expect(
      new Set(
        objects
          .filter(
            (o) =>
              o.metadata.namespace === 'mall-backup-system' || ['ClusterRole', 'ClusterRoleBinding'].includes(o.kind),
          )
          .map(wave),
      ),
    ).toEqual(new Set(['0']));
    expect(new Set(objects.filter((o) => o.kind === 'Backup').map(wave))).toEqual(new Set(['1']));
    expect(apps.map(wave)).toEqual(['0', '1']);
  });

  test('Backups skip the dry run while their CRD is missing; the CRD is never pruned', () => {
    for (const b of objects.filter((o) => o.kind === 'Backup'))
      expect(b.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
    expect(apps[1].spec.syncPolicy.syncOptions).toEqual(['ServerSideApply=true', 'SkipDryRunOnMissingResource=true']);
    expect(apps[0].spec.syncPolicy.syncOptions).toEqual(['ServerSideApply=true']);
    expect(
      objects.find((o) => o.kind === 'CustomResourceDefinition')!.metadata.annotations[
        'argocd.argoproj.io/sync-options'
      ],
    ).toBe('Prune=false');
  });

  test('the operator Application syncs dist/ without its subfolders; the samples one syncs dist/samples', () => {
    expect(apps[0].spec.source).toEqual({
      repoURL: 'https://github.com/mall-example/mall-backup.git',
      targetRevision: 'main',
      path: 'dist',
      directory: { recurse: false },
    });
    expect(apps[1].spec.source.path).toBe('dist/samples');
    expect(apps[0].spec.destination).toEqual({
      server: 'https://kubernetes.default.svc',
      namespace: 'mall-backup-system',
    });
    expect(apps[0].spec.syncPolicy.automated).toBeUndefined();
  });

  test('repository, revision, destination and automation come from the configuration', () => {
    const config = parseConfigText(
      'argocd: { repoURL: "git@git.mall.internal:ops/backup.git", targetRevision: v9, path: envs/x, ' +
        'destinationServer: "https://10.0.0.1:6443", automated: true }\nsamples: { enabled: false }\n',
      'inline',
    );
    const [app, ...rest] = buildApp(Testing.app(), config)
      .flatMap(({ chart }) => chart.toJson() as K8sObject[])
      .filter((o) => o.kind === 'Application');
    expect(rest).toEqual([]);
    expect(app.spec.source).toMatchObject({
      repoURL: 'git@git.mall.internal:ops/backup.git',
      targetRevision: 'v9',
      path: 'envs/x',
    });
    expect(app.spec.destination.server).toBe('https://10.0.0.1:6443');
    expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('a bad repository URL fails the synth', () => {
    expect(() => buildApp(Testing.app(), parseConfigText('argocd: { repoURL: "ftp://x" }', 'inline'))).toThrow(
      'repoURL "ftp://x" is not valid: use an https://, ssh:// or git@host:path Git URL',
    );
  });

  test('turned off, no Applications and no Argo CD annotations', () => {
    const plain = buildApp(Testing.app(), parseConfigText('argocd: { enabled: false }', 'inline')).flatMap(
      ({ chart }) => chart.toJson() as K8sObject[],
    );
    expect(plain.filter((o) => o.kind === 'Application')).toEqual([]);
    expect(plain.filter((o) => wave(o) !== undefined)).toEqual([]);
  });
});

describe('configuration', () => {
  test('no file gives the defaults', () => {
    expect(loadConfig(undefined)).toBe(DEFAULT_CONFIG);
    expect(parseConfigText('', 'empty.yaml')).toEqual(DEFAULT_CONFIG);
  });

  test('a file overrides only what it names; JSON works too', () => {
    const config = parseConfigText(
      '{"operator": {"replicas": 3, "resources": {"limits": {"memory": "1Gi"}}}}',
      'c.json',
    );
    expect(config.operator).toMatchObject({
      replicas: 3,
      namespace: 'mall-backup-system',
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
    });
  });

  test('a bad file lists every problem with its path, value and what is allowed', () => {
    let error: ConfigError | undefined;
    try {
      parseConfigText(
        'operator:\n  replicas: 0\n  logLevel: loud\n  watchNamespaces: [a, a]\n  colour: blue\nsamples: { enabled: ' +
          '"yes" }\n',
        'bad.yaml',
      );
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error!.problems).toEqual([
      'config.operator.replicas 0 is not valid: use an integer from 1 to 10',
      'config.operator.logLevel "loud" is not valid: use one of fatal, error, warn, info, debug, trace',
      'config.operator.watchNamespaces lists "a" twice: each item must be unique',
      'config.operator.colour is not a known field: use one of namespace, image, replicas, leaderElection, ' +
        'watchNamespaces, createWatchNamespaces, logLevel, resources, maxConcurrentRuns, maxConcurrentRunsPerVault, ' +
        'verifyScratchSize',
      'config.samples.enabled "yes" is not valid: must be of type boolean, not string',
    ]);
    expect(() => parseConfigText('operator: [', 'broken.yaml')).toThrow(
      /configuration broken.yaml is not valid:\n {2}- not valid YAML/,
    );
  });

  test('a bad file fails `npm run synth` and leaves the output untouched', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-config-'));
    try {
      const out = path.join(work, 'dist');
      fs.mkdirSync(out);
      fs.writeFileSync(path.join(out, 'old.yaml'), 'kind: Old\n');
      fs.writeFileSync(path.join(work, 'bad.yaml'), 'operator: { replicas: 0, image: "x:latest" }\n');
      const run = spawnSync(
        'sh',
        [path.join(ROOT, 'scripts', 'synth.sh'), '--config', path.join(work, 'bad.yaml'), '--out', out],
        { encoding: 'utf8' },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('config.operator.replicas 0 is not valid');
      expect(readTree(out)).toEqual({ 'old.yaml': 'kind: Old\n' });
      // A file whose shape is right but whose values a construct refuses fails the same way.
      fs.writeFileSync(path.join(work, 'latest.yaml'), 'operator: { image: "x:latest" }\n');
      const latest = spawnSync(
        'sh',
        [path.join(ROOT, 'scripts', 'synth.sh'), `--config=${path.join(work, 'latest.yaml')}`, '--out', out],
        { encoding: 'utf8' },
      );
      expect(latest.stderr).toContain('image "x:latest" is not valid: pin a version tag or a digest, never "latest"');
      expect(readTree(out)).toEqual({ 'old.yaml': 'kind: Old\n' });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }, 30_000);
});

describe.each(ENVIRONMENTS)('environment %s', (env) => {
  const file = path.join(ROOT, 'config', `${env}.yaml`);
  const render = () => Object.fromEntries(renderManifests(buildApp(Testing.app(), loadConfig(file))));

  test('matches its snapshot and passes the gate', () => {
    const rendered = render();
    expect(rendered).toMatchSnapshot();
    const builtIns = objectsOf(file).filter(
      (o) => !/^(mall\.example\.com|argoproj\.io|monitoring\.coreos\.com)\//.test(o.apiVersion),
    );
    expect(gateProblems(builtIns)).toEqual([]);
    // The Prometheus Operator's kinds, against its own schemas.
    const models: Record<string, new (o: never) => { validate(): void }> = { PrometheusRule, ServiceMonitor };
    for (const o of objectsOf(file).filter((x) => x.apiVersion.startsWith('monitoring.coreos.com/'))) {
      expect(models[o.kind]).toBeDefined();
      expect(() => new models[o.kind](o as never).validate()).not.toThrow();
    }
  });

  test("puts nothing in a namespace it does not create (Argo CD's own aside)", () => {
    const objects = objectsOf(file);
    const created = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
    const homeless = objects.filter(
      (o) => o.metadata.namespace && o.kind !== 'Application' && !created.has(o.metadata.namespace),
    );
    expect(homeless.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([]);
  });

  test('is deterministic and its committed output is current (run `npm run synth:envs` when this fails)', () => {
    expect(render()).toEqual(render());
    expect(readTree(path.join(ROOT, 'environments', env))).toEqual(
      Object.fromEntries(outputTree(new Map(Object.entries(render())))),
    );
  });
});

test(
  'the prod environment: two replicas, two watched namespaces it creates and binds by RoleBindings, no ' + 'samples',
  () => {
    const objects = objectsOf(path.join(ROOT, 'config', 'prod.yaml'));
    expect(objects.find((o) => o.kind === 'Deployment')!.spec.replicas).toBe(2);
    expect(
      objects
        .filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole')
        .map((o) => o.metadata.namespace)
        .sort(),
    ).toEqual(['mall-kiosks', 'mall-shops']);
    expect(objects.filter((o) => o.kind === 'Backup')).toEqual([]);
    const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    expect(namespaces).toEqual(['mall-shops', 'mall-kiosks', 'mall-backup-system']);
    expect(objects.findIndex((o) => o.kind === 'Namespace' && o.metadata.name === 'mall-shops')).toBeLessThan(
      objects.findIndex((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'mall-shops'),
    );
  },
);

describe('Helm', () => {
  let chart: string;
  beforeAll(() => {
    chart = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-helm-')), 'mall-backup');
    execFileSync('sh', [path.join(ROOT, 'scripts', 'synth.sh'), '--format', 'helm', '--out', chart], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  }, 60_000);
  afterAll(() => fs.rmSync(path.dirname(chart), { recursive: true, force: true }));
  const template = () => fs.readFileSync(path.join(chart, 'templates', 'operator.yaml'), 'utf8');
  const values = () => parseAllDocuments(fs.readFileSync(path.join(chart, 'values.yaml'), 'utf8'))[0].toJS();

  test('the chart has Chart.yaml, values.yaml, the CRD under crds/ and templates', () => {
    expect(Object.keys(readTree(chart)).sort()).toEqual([
      '.helmignore',
      '.mall-backup-output',
      'Chart.yaml',
      'crds/backup-crd.yaml',
      'templates/operator.yaml',
      'values.yaml',
    ]);
    const meta = parseAllDocuments(fs.readFileSync(path.join(chart, 'Chart.yaml'), 'utf8'))[0].toJS();
    expect(meta).toMatchObject({
      apiVersion: 'v2',
      name: 'mall-backup',
      version: require('../package.json').version,
      type: 'application',
      kubeVersion: '>=1.28.0-0',
    });
    expect(fs.readFileSync(path.join(chart, '.helmignore'), 'utf8')).toBe('.mall-backup-output\n');
  });

  test('crds/ holds the synthesized CRD, without the Argo CD annotations', () => {
    const crd = parseAllDocuments(fs.readFileSync(path.join(chart, 'crds', 'backup-crd.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    const dist = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'dist', '00-backup-crd.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    for (const doc of dist) delete doc.metadata.annotations;
    expect(crd).toEqual(dist);
  });

  test('values.yaml holds the four overrides, defaulting to the configuration', () => {
    expect(values()).toEqual({
      image: DEFAULT_OPERATOR_IMAGE,
      logLevel: 'info',
      watchNamespaces: [],
      resources: DEFAULT_CONFIG.operator.resources,
    });
    const referenced = new Set([...template().matchAll(/\.Values\.(\w+)/g)].map((m) => m[1]));
    expect([...referenced].sort()).toEqual(Object.keys(values()).sort());
  });

  test('with the defaults filled in, the templates are the operator objects of dist/, which pass the gate', () => {
    const v = values();
    const rendered = renderHelmSubset(template(), v);
    const objects = parseAllDocuments(rendered)
      .map((d) => d.toJS() as K8sObject)
      .filter(Boolean);
    const dist = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'dist', '01-operator.yaml'), 'utf8')).map(
      (d) => d.toJS() as K8sObject,
    );
    for (const o of dist) delete o.metadata.annotations;
    expect(objects).toEqual(dist);
    expect(gateProblems(objects)).toEqual([]);
  });

  test(
    'watchNamespaces in the values bind the Role per namespace and reach the operator; resources and heap ' + 'follow',
    () => {
      const rendered = renderHelmSubset(template(), {
        ...values(),
        watchNamespaces: ['shops', 'kiosks'],
        logLevel: 'debug',
        resources: { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
      });
      const objects = parseAllDocuments(rendered)
        .map((d) => d.toJS() as K8sObject)
        .filter(Boolean);
      // Only the binding to list storage and snapshot classes stays cluster-wide: they are not namespaced.
      expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.roleRef.name)).toEqual([
        'mall-backup-operator-storage-classes',
      ]);
      expect(
        objects
          .filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole')
          .map((o) => o.metadata.namespace),
      ).toEqual(['shops', 'kiosks']);
      const container = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0];
      expect(container.args).toEqual(expect.arrayContaining(['--log-level=debug', '--namespaces=shops,kiosks']));
      expect(container.env.find((e: any) => e.name === 'NODE_OPTIONS').value).toBe(
        '--max-old-space-size=512 --max-semi-space-size=4',
      );
      expect(container.resources.limits).toEqual({ cpu: '1', memory: '1Gi' });
    },
  );
});

/**
 * Helm is not installable here (not in apt or npm), so this evaluates exactly the template constructs the
 * chart uses, failing on any other: a template change that this does not know fails the test, not Helm later.
 */
function renderHelmSubset(text: string, v: any): string {
  const memory = String(v.resources.limits.memory);
  const heap = memory.endsWith('Gi') ? parseInt(memory, 10) * 512 : Math.max(16, Math.floor(parseInt(memory, 10) / 2));
  const bindings = new RegExp(
    String.raw`\{\{- if \.Values\.watchNamespaces \}\}\n\{\{- range \.Values\.watchNamespaces ` +
      String.raw`\}\}\n([\s\S]*?)\{\{- end \}\}\n\{\{- else \}\}\n([\s\S]*?)\{\{- end \}\}\n`,
  );
  let out = text.replace(bindings, (_, each: string, none: string) =>
    v.watchNamespaces.length
      ? v.watchNamespaces.map((ns: string) => each.replace('{{ . | quote }}', JSON.stringify(ns))).join('')
      : none,
  );
  out = out.replace(
    new RegExp(
      String.raw`^( *)\{\{- if \.Values\.watchNamespaces \}\}\n\1- \{\{ printf "--namespaces=%s" ` +
        String.raw`\(join "," \.Values\.watchNamespaces\) \| quote \}\}\n\1\{\{- end \}\}\n`,
      'm',
    ),
    (_, indent: string) =>
      v.watchNamespaces.length ? `${indent}- ${JSON.stringify(`--namespaces=${v.watchNamespaces.join(',')}`)}\n` : '',
  );
  out = out.replace(
    /^( *)resources:\n *\{\{- toYaml \.Values\.resources \| nindent (\d+) \}\}$/m,
    (_, indent: string, n: string) =>
      `${indent}resources:\n${stringify(v.resources)
        .trimEnd()
        .split('\n')
        .map((l) => ' '.repeat(Number(n)) + l)
        .join('\n')}`,
  );
  out = out
    .replace('{{ .Values.image | quote }}', JSON.stringify(v.image))
    .replace('{{ printf "--log-level=%s" .Values.logLevel | quote }}', JSON.stringify(`--log-level=${v.logLevel}`))
    .replace(/\{\{ \$m := [^\n]*\{\{ end \}\}/, JSON.stringify(`--max-old-space-size=${heap} --max-semi-space-size=4`));
  expect(out).not.toMatch(/\{\{|\}\}/);
  return out;
}
