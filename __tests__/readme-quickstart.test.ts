/**
 * The README's quickstart, checked as far as a machine without a cluster can: one shell block per step, in
 * order, each valid shell, and every manifest it applies valid against the Kubernetes 1.28 schemas and Pod
 * Security "restricted" (the samples namespace enforces it). The blocks are extracted by their
 * `<!-- quickstart:<step> -->` markers, so a test on a real control plane can run them word for word.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { gateProblems, K8sObject } from '../testing/k8s-rules';
import { quickstartBlocks } from '../testing/quickstart';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const STEPS = ['image', 'install', 'shop', 'secret', 'run', 'restore'];

const blocks = quickstartBlocks(readme);
const heredocs = (sh: string) => [...sh.matchAll(/<<'YAML'\n([\s\S]*?)\nYAML/g)].map((m) => m[1]);

test('one block per step, in order', () => {
  expect([...blocks.keys()]).toEqual(STEPS);
  expect(STEPS.map((s) => readme.indexOf(`<!-- quickstart:${s} -->`))).toEqual(
    STEPS.map((s) => readme.indexOf(`<!-- quickstart:${s} -->`)).sort((a, b) => a - b),
  );
});

test.each(STEPS)('the %s block is valid shell', (step) => {
  const check = spawnSync('sh', ['-n'], { input: blocks.get(step), encoding: 'utf8' });
  expect([check.status, check.stderr]).toEqual([0, '']);
});

test('every manifest the quickstart applies passes the schema, Pod Security restricted and the gate', () => {
  const objects = [...blocks.values()]
    .flatMap(heredocs)
    .flatMap((y) => parseAllDocuments(y).map((d) => d.toJS() as K8sObject));
  expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
    'PersistentVolumeClaim/bakery-data',
    'PersistentVolumeClaim/mall-vault',
    'Pod/bakery-seed',
    'Job/restore-bakery-recipe',
  ]);
  expect(gateProblems(objects)).toEqual([]);
});

test('no password is written down: the Secret is generated', () => {
  expect(blocks.get('secret')).toContain('RESTIC_PASSWORD="$(openssl rand -base64 32)"');
  expect(readme).not.toMatch(/RESTIC_PASSWORD[:=]\s*["']?[A-Za-z0-9]{6,}/);
});

test('the restore reads back exactly what the shop step wrote', () => {
  const written = /echo "([^"]+)" > \/data\/recipe\.txt/.exec(blocks.get('shop')!)![1];
  expect(blocks.get('restore')).toContain(`grep '${written.split(',')[0]}'`);
  expect(blocks.get('restore')).toContain('/data/bakery-data/recipe.txt');
});
