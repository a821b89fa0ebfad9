/**
 * Copies, from the Kubernetes 1.28 OpenAPI definitions in the form cdk8s publishes
 * (cdk8s-team/cdk8s, kubernetes-schemas/v1.28.0/_definitions.json, Apache-2.0), the definitions of the
 * kinds this project renders and everything they reference, into a test fixture. The tests read the
 * fixture only. Usage: `tsx scripts/vendor-k8s-schemas.ts <path to _definitions.json>`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const RENDERED_KINDS = [
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.Pod',
  'io.k8s.api.core.v1.PersistentVolumeClaim',
  'io.k8s.api.core.v1.Event',
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.batch.v1.CronJob',
  'io.k8s.api.batch.v1.Job',
  'io.k8s.api.rbac.v1.ClusterRole',
  'io.k8s.api.rbac.v1.ClusterRoleBinding',
  'io.k8s.api.rbac.v1.Role',
  'io.k8s.api.rbac.v1.RoleBinding',
  'io.k8s.api.networking.v1.NetworkPolicy',
  'io.k8s.api.coordination.v1.Lease',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
];

const source = process.argv[2];
if (!source) {
  process.stderr.write('usage: tsx scripts/vendor-k8s-schemas.ts <_definitions.json>\n');
  process.exit(2);
}
const all: Record<string, unknown> = JSON.parse(fs.readFileSync(source, 'utf8')).definitions;
const kept: Record<string, unknown> = {};
const pending = [...RENDERED_KINDS];
while (pending.length > 0) {
  const name = pending.pop()!;
  if (kept[name]) continue;
  if (!all[name]) throw new Error(`definition ${name} not found in ${source}`);
  kept[name] = all[name];
  for (const [, ref] of JSON.stringify(all[name]).matchAll(/"\$ref":"#\/definitions\/([^"]+)"/g)) pending.push(ref);
}
const sorted = Object.fromEntries(
  Object.keys(kept)
    .sort()
    .map((k) => [k, kept[k]]),
);
const out = path.join(__dirname, '..', '__tests__', 'fixtures', 'k8s-1.28-definitions.json');
fs.writeFileSync(
  out,
  `${JSON.stringify(
    {
      source:
        'cdk8s-team/cdk8s kubernetes-schemas/v1.28.0/_definitions.json (Apache-2.0), ' +
        'trimmed to the kinds mall-backup renders',
      definitions: sorted,
    },
    null,
    1,
  )}\n`,
);
process.stdout.write(`${Object.keys(sorted).length} definitions written to ${path.relative(process.cwd(), out)}\n`);
