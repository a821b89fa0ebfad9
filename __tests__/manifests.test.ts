import * as fs from 'node:fs';
import * as path from 'node:path';
import { BackupAdmission } from '../testing/backup-admission';
import { outputTree } from '../lib/delivery/manifest-writer';
import { readTree } from '../testing/files';
import { CLUSTER_SCOPED_KINDS, gateProblems } from '../testing/k8s-rules';
import { allObjects, backupSchemaOf, renderDefaultApp, synthDefaultApp } from '../testing/synth';

const files = synthDefaultApp();
const objects = allObjects(files);
const builtIns = objects.filter((o) => !/^(mall\.example\.com|argoproj\.io)\//.test(o.apiVersion));
const backups = objects.filter((o) => o.kind === 'Backup');
const operatorObjects = files.get('01-operator.yaml')!;
const find = (kind: string, name?: string) =>
  objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('synthesized manifests', () => {
  test.each([...files.keys()])('%s matches its snapshot', (file) => {
    expect(files.get(file)).toMatchSnapshot();
  });

  test('the validation gate finds no problem in any built-in object', () => {
    expect(builtIns.length).toBeGreaterThanOrEqual(12);
    expect(gateProblems(builtIns)).toEqual([]);
  });

  test('every sample is admitted by the CRD schema and its CEL rules', () => {
    const admission = new BackupAdmission(backupSchemaOf(objects));
    expect(backups.length).toBeGreaterThanOrEqual(1);
    for (const backup of backups) expect(admission.admit(backup).errors).toEqual([]);
  });

  test("the samples name only what the README's quickstart creates (claims, vault claim, Secret)", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const quickstart = readme.slice(
      readme.indexOf('## Quickstart'),
      readme.indexOf('## ', readme.indexOf('## Quickstart') + 3),
    );
    for (const b of backups) {
      expect(quickstart).toContain(`mall.example.com/shop: ${b.spec.shopName}`);
      expect(quickstart).toContain(`name: ${b.spec.vaultCredentialsSecret}`);
      const vaultClaim = /^pvc:\/\/([^/]+)/.exec(b.spec.vaultLocation)?.[1];
      expect([b.spec.vaultLocation, vaultClaim]).toEqual([b.spec.vaultLocation, expect.any(String)]);
      expect(quickstart).toContain(`name: ${vaultClaim}`);
    }
  });

  test('the CRDs come first, then the operator, and the samples sit apart (Restores in a folder of their own)', () => {
    expect([...files.keys()]).toEqual([
      '00-backup-crd.yaml',
      '01-operator.yaml',
      'samples/backups.yaml',
      'samples/restores/restores.yaml',
      'argocd/applications.yaml',
    ]);
    expect(files.get('00-backup-crd.yaml')!.map((o) => o.metadata.name)).toEqual([
      'backups.mall.example.com',
      'restores.mall.example.com',
    ]);
    expect(files.get('samples/restores/restores.yaml')!.map((o) => o.kind)).toEqual(['Restore', 'Restore', 'Restore']);
    expect(operatorObjects.every((o) => o.kind !== 'Backup')).toBe(true);
    expect(files.get('samples/backups.yaml')!.map((o) => o.kind)).toEqual(['Namespace', 'Backup']);
  });

  test('in the operator file a namespace precedes the objects placed in it', () => {
    const order = operatorObjects.map((o) => o.kind);
    expect(order[0]).toBe('Namespace');
  });

  test('cluster-scoped objects carry no namespace and namespaced ones do', () => {
    for (const o of builtIns) {
      expect([o.kind, o.metadata.namespace === undefined]).toEqual([o.kind, CLUSTER_SCOPED_KINDS.has(o.kind)]);
    }
  });

  test('synthesis is deterministic', () => {
    expect(renderDefaultApp()).toEqual(renderDefaultApp());
  });

  test('the committed dist/ is what the app synthesizes now (run `npm run synth` when this fails)', () => {
    const dist = path.join(__dirname, '..', 'dist');
    const rendered = outputTree(renderDefaultApp());
    const committed = new Map(Object.entries(readTree(dist)));
    expect([...committed.keys()].sort()).toEqual([...rendered.keys()].sort());
    for (const [file, text] of rendered) expect([file, committed.get(file)]).toEqual([file, text]);
  });
});

describe('the operator deployment', () => {
  const [deployment] = find('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  test('runs one replica with leader election and a mounted service-account token', () => {
    expect(deployment.metadata.namespace).toBe('mall-backup-system');
    expect(deployment.spec.replicas).toBe(1);
    expect(container.args).toContain('--leader-elect=true');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.serviceAccountName).toBe(find('ServiceAccount')[0].metadata.name);
  });

  test('uses a pinned image, never latest', () => {
    expect(container.image).toMatch(/^ghcr\.io\/mall-example\/mall-backup-operator:v\d+\.\d+\.\d+$/);
    expect(container.image).toBe(`ghcr.io/mall-example/mall-backup-operator:v${require('../package.json').version}`);
  });

  test('has the default requests and limits, probes on 8081 and metrics on 8080 behind a Service', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
    // V8 must collect before the container reaches its limit: a heap ceiling of half of it.
    expect(container.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=128 --max-semi-space-size=4',
    });
    expect(container.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'metrics', containerPort: 8080 }),
        expect.objectContaining({ name: 'probes', containerPort: 8081 }),
      ]),
    );
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'probes' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'probes' });
    const [service] = find('Service');
    expect(service.spec.ports).toEqual([expect.objectContaining({ port: 8080, targetPort: 'metrics' })]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(pod.terminationGracePeriodSeconds).toBe(30);
  });

  test('the NetworkPolicy lets in only metrics and probe traffic to the operator pods', () => {
    const [policy] = find('NetworkPolicy');
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports.map((p: any) => p.port).sort()).toEqual([8080, 8081]);
  });

  test('the ClusterRole grants exactly what reconciling needs', () => {
    const [role] = find('ClusterRole', 'mall-backup-operator');
    const grants = role.rules.flatMap((r: any) =>
      r.apiGroups.flatMap((g: string) => r.resources.map((res: string) => `${g}/${res}: ${r.verbs.join(',')}`)),
    );
    expect(grants.sort()).toEqual([
      '/events: create',
      '/persistentvolumeclaims: create,get,delete',
      '/persistentvolumeclaims: list,watch',
      '/pods: list,watch',
      'batch/cronjobs: list,watch,create,patch,delete',
      'batch/jobs: list,watch,create,patch,delete', // patch: start Jobs held around a daylight-saving change
      'mall.example.com/backups/finalizers: update',
      'mall.example.com/backups/status: patch',
      'mall.example.com/backups: list,watch',
      'mall.example.com/restores/finalizers: update',
      'mall.example.com/restores/status: patch',
      'mall.example.com/restores: list,watch',
      'snapshot.storage.k8s.io/volumesnapshots: create,get,delete', // runs from snapshots: made, read, removed
    ]);
    const [binding] = find('ClusterRoleBinding', 'mall-backup-operator');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'mall-backup-operator', namespace: 'mall-backup-system' },
    ]);
  });

  test('the storage and snapshot classes are only listed, cluster-wide (they are not namespaced)', () => {
    const [role] = find('ClusterRole', 'mall-backup-operator-storage-classes');
    expect(role.rules).toEqual([
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['list'] },
      { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshotclasses'], verbs: ['list'] },
    ]);
    const [binding] = find('ClusterRoleBinding', 'mall-backup-operator-storage-classes');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'mall-backup-operator', namespace: 'mall-backup-system' },
    ]);
  });

  test('leader election may create Leases and touch only its own', () => {
    const [role] = find('Role', 'mall-backup-operator-leader-election');
    expect(role.metadata.namespace).toBe('mall-backup-system');
    expect(role.rules).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      {
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: ['mall-backup-operator-leader'],
        verbs: ['get', 'update'],
      },
    ]);
    expect(find('RoleBinding', 'mall-backup-operator-leader-election')[0].roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.metadata.name,
    });
  });

  test('view, edit and admin users get Backup rights through aggregation', () => {
    const [view] = find('ClusterRole', 'mall-backup-view');
    const [edit] = find('ClusterRole', 'mall-backup-edit');
    expect(view.metadata.labels['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
    expect(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-edit']).toBe('true');
    expect(edit.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin']).toBe('true');
    expect(view.rules[0].verbs).toEqual(['get', 'list', 'watch']);
    expect(edit.rules[0].verbs).toEqual(expect.arrayContaining(['create', 'update', 'patch', 'delete']));
  });

  test('the operator namespace enforces Pod Security restricted', () => {
    const [ns] = find('Namespace', 'mall-backup-system');
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
