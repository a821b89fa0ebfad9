/**
 * tools/kube/go.mod pins one Kubernetes release: k8s.io/kubernetes v1.X.Y needs every staging module it
 * uses replaced by v0.X.Y (its own go.mod says v0.0.0). A bump that misses one builds a mix of releases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const goMod = readFileSync(join(root, 'tools/kube/go.mod'), 'utf8');
const kubernetes = goMod.match(/^\s*k8s\.io\/kubernetes (v1\.(\d+)\.(\d+))$/m);
const replaces = [...goMod.matchAll(/^\s*(k8s\.io\/[\w-]+) => (k8s\.io\/[\w-]+) (v\S+)$/gm)];

test('one Kubernetes release, and every staging module replaced by its matching v0.x', () => {
  expect(kubernetes).not.toBeNull();
  const staging = `v0.${kubernetes![2]}.${kubernetes![3]}`;
  expect(replaces.length).toBeGreaterThanOrEqual(30);
  for (const [, from, to, version] of replaces) expect([from, to, version]).toEqual([from, from, staging]);
  for (const needed of [
    'k8s.io/api',
    'k8s.io/apiserver',
    'k8s.io/client-go',
    'k8s.io/kubectl',
    'k8s.io/controller-manager',
  ]) {
    expect(replaces.map(([, from]) => from)).toContain(needed);
  }
});

test('the README names the versions go.mod builds', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const etcd = goMod.match(/^\s*go\.etcd\.io\/etcd\/server\/v3 (v3\.\d+\.\d+)$/m);
  const toolchain = goMod.match(/^toolchain (go\S+)$/m);
  expect(readme).toContain(`Kubernetes ${kubernetes![1]}, etcd ${etcd![1]}`);
  expect(readme).toContain(`/kube/${kubernetes![1]}/`);
  expect(readme).toContain(`the pinned toolchain (${toolchain![1]}`);
});
