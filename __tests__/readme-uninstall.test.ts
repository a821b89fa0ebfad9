/** The README's uninstall commands name every CRD the app installs: a CRD left behind keeps its objects. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_CONFIG } from '../lib/delivery/app-config';
import { renderHelmChart } from '../lib/delivery/helm-chart';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

test("`kubectl delete crd` after `helm uninstall` names every CRD of the chart's crds/", () => {
  const chart = renderHelmChart(DEFAULT_CONFIG, new App(), 'defaults');
  const crds = [...chart]
    .filter(([file]) => file.startsWith('crds/'))
    .flatMap(([, text]) =>
      parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name),
    )
    .sort();
  expect(crds.length).toBeGreaterThanOrEqual(2);
  const commands = [...readme.matchAll(/`(kubectl delete crd [^`]+)`/g)].map((m) => m[1]);
  expect(commands).toHaveLength(1);
  expect(commands[0].split(/\s+/).slice(3).sort()).toEqual(crds);
});
