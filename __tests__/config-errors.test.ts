/**
 * A configuration's problems are all listed at once, in the configuration's terms: file, key, value, what is allowed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { ConfigError, loadConfig, parseConfigText } from '../lib/delivery/app-config';
import { buildApp } from '../lib/delivery/app';
import { renderHelmChart } from '../lib/delivery/helm-chart';

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('no ConfigError was thrown');
};
const build =
  (text: string, file = 'c.yaml') =>
  () =>
    buildApp(Testing.app(), parseConfigText(text, file), file);

test('every construct-level problem at once, named by its config key', () => {
  expect(
    problemsOf(
      build(
        [
          'operator: { image: "x:latest", replicas: 2, leaderElection: false, ' +
            'resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } }',
          'samples: { namespace: Bad_NS }',
          'argocd: { repoURL: "ftp://x", namespace: "Argo CD", targetRevision: "my ' +
            'branch", destinationServer: "http://kube:6443/x", project: "My Project" }',
        ].join('\n'),
      ),
    ),
  ).toEqual([
    'config.operator.image "x:latest" is not valid: pin a version tag or a digest, never "latest"',
    'config.operator.replicas 2 needs leaderElection: two operators without ' +
      'a leader would both write; turn leaderElection on or use 1 replica',
    'config.operator.resources.requests.cpu "2" is above limits.cpu "1": a request may not exceed its limit',
    'config.samples.namespace "Bad_NS" is not valid: use a DNS-1123 label',
    'config.argocd.repoURL "ftp://x" is not valid: use an https://, ssh:// or git@host:path Git URL',
    'config.argocd.targetRevision "my branch" is not valid: use a branch, tag or commit ' +
      'such as "main", "v1.2.0" or a commit hash (no spaces, "..", "~^:?*[" or trailing "/")',
    'config.argocd.namespace "Argo CD" is not valid: use the ' +
      'namespace Argo CD runs in, a DNS-1123 label such as "argocd"',
    'config.argocd.project "My Project" is not valid: use an Argo CD ' +
      'project name (lower-case letters, digits, "-" and "."), such as "default"',
    'config.argocd.destinationServer "http://kube:6443/x" is not valid: use the cluster\'s ' +
      'API server as an https:// URL with no path, such as "https://kubernetes.default.svc"',
  ]);
});

test.each([
  [
    'targetRevision',
    ['main', 'v1.2.0', 'release/2026-01', '3f2c1e9a', 'HEAD'],
    ['a..b', 'x~1', '-rf', 'dev/', 'x.lock', 'a b'],
  ],
  [
    'destinationServer',
    ['https://kubernetes.default.svc', 'https://10.0.0.1:6443', 'https://api.example.com/'],
    ['http://10.0.0.1', 'https://x/path', 'kubernetes.default.svc', 'https://u@x'],
  ],
  ['namespace', ['argocd', 'gitops-2'], ['Argo', 'argo_cd', '-argo']],
])('argocd.%s: accepted and refused values', (key, good, bad) => {
  for (const v of good) expect(build(`argocd: { ${key}: ${JSON.stringify(v)} }`)).not.toThrow();
  for (const v of bad) {
    const problems = problemsOf(build(`argocd: { ${key}: ${JSON.stringify(v)} }`));
    expect([
      problems.length,
      problems[0].startsWith(`config.argocd.${key} ${JSON.stringify(v)} is not valid: `),
    ]).toEqual([1, true]);
  }
});

test('the Helm chart refuses the same operator values by the same keys', () => {
  expect(
    problemsOf(() =>
      renderHelmChart(parseConfigText('operator: { image: "x:latest" }', 'c.yaml'), Testing.app(), 'c.yaml'),
    ),
  ).toEqual(['config.operator.image "x:latest" is not valid: pin a version tag or a digest, never "latest"']);
});

test('a .json file is read as JSON: a trailing comma is an error with its line and column', () => {
  expect(problemsOf(() => parseConfigText('{\n  "operator": { "replicas": 2, },\n}\n', 'c.json'))).toEqual([
    'not valid JSON: Expected double-quoted property name at line 2, column 32',
  ]);
  expect(parseConfigText('{ "operator": { "replicas": 2 } }', 'c.json').operator.replicas).toBe(2);
  expect(problemsOf(() => parseConfigText('operator: { replicas: 2 }', 'c.json'))[0]).toMatch(
    /^not valid JSON: Unexpected token/,
  );
});

test(
  'a .json file with a byte-order mark is read like one ' + 'without (Windows editors write it), as is a YAML one',
  () => {
    expect(parseConfigText('\uFEFF{ "operator": { "replicas": 2 } }', 'c.json').operator.replicas).toBe(2);
    expect(parseConfigText('\uFEFFoperator: { replicas: 2 }\n', 'c.yaml').operator.replicas).toBe(2);
  },
);

test('a .json file with a key twice is refused like YAML (JSON.parse would keep the last without a word)', () => {
  const problems = problemsOf(() =>
    parseConfigText('{\n  "operator": { "replicas": 2,\n    "replicas": 3 }\n}\n', 'c.json'),
  );
  expect(problems).toHaveLength(1);
  expect(problems[0]).toMatch(/^not valid JSON: Map keys must be unique at line 3, column 5:[\s\S]*"replicas": 3/);
});

test('an alias bomb is refused as a configuration problem, naming the file', () => {
  const levels = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
  ];
  const problems = problemsOf(() => parseConfigText(`${levels.join('\n')}\noperator: { replicas: 2 }\n`, 'bomb.yaml'));
  expect(problems).toEqual([expect.stringMatching(/^not valid YAML: too many aliases/)]);
});

test('a file over 1 MiB, or endless, is refused before it is parsed', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-cfg-'));
  try {
    const file = path.join(work, 'huge.yaml');
    fs.writeFileSync(file, `operator:\n  watchNamespaces:\n${'  - ns\n'.repeat(200_000)}`);
    expect(problemsOf(() => loadConfig(file))).toEqual([
      'holds more than 1 MiB: a configuration file is at most 1 MiB',
    ]);
    // A device or a pipe that never ends is cut at the same size (reading it whole would never finish).
    expect(problemsOf(() => loadConfig('/dev/zero'))).toEqual([
      'holds more than 1 MiB: a configuration file is at most 1 MiB',
    ]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('YAML errors are all listed, each with the lines around it and a caret', () => {
  const problems = problemsOf(() =>
    parseConfigText('operator:\n  replicas: 2\n   logLevel: debug\nsamples: [\n', 'c.yaml'),
  );
  expect(problems.length).toBeGreaterThanOrEqual(2);
  expect(problems[0]).toMatch(/^not valid YAML: .* at line 2, column 13:\n.*\n +replicas: 2\n +\^/);
  expect(problems.at(-1)).toMatch(/at line 5, column 1:[\s\S]*samples: \[/);
  expect(problemsOf(() => parseConfigText('operator: {}\noperator: {}\n', 'c.yaml'))[0]).toMatch(
    /^not valid YAML: Map keys must be unique/,
  );
});

test('the real command prints the file, every problem and writes nothing', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-cfg-'));
  try {
    const file = path.join(work, 'bad.yaml');
    fs.writeFileSync(
      file,
      'operator: { image: "x:latest" }\nargocd: { targetRevision: "a..b", destinationServer: "http://x" }\n',
    );
    const run = spawnSync(
      'sh',
      [path.join(__dirname, '..', 'scripts', 'synth.sh'), '--config', file, '--out', path.join(work, 'out')],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`configuration ${file} is not valid:\n  - config.operator.image "x:latest"`);
    expect(run.stderr).toContain('  - config.argocd.targetRevision "a..b" is not valid');
    expect(run.stderr).toContain('  - config.argocd.destinationServer "http://x" is not valid');
    expect(fs.readdirSync(work)).toEqual(['bad.yaml']);
    expect(() => loadConfig(path.join(work, 'missing.yaml'))).toThrow(
      /missing.yaml is not valid:\n {2}- cannot be read: ENOENT/,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 30_000);
