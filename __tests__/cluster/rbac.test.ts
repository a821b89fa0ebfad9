/**
 * The operator's rights on the real API server: its ServiceAccount, ClusterRole, Roles and bindings from
 * dist/, a token from the TokenRequest API, and `kubectl auth can-i --list` as that token. What any service
 * account may do anyway (discovery, self-reviews) is measured on a ServiceAccount with no bindings and
 * taken away, so the sets below are exactly what dist/ grants. The lifecycle suites run the operator
 * with this same login (`serviceAccountLogin`).
 */
import { ownerReferenceTo } from '../../lib/run/backup-names';
import { newClaimManifest, restoreJobManifest } from '../../lib/run/restore-job';
import { backup } from '../../testing/backup-cases';
import {
  client,
  installBackupCrd,
  kubectl,
  kubectlOk,
  manifest,
  namespaces,
  RBAC_KINDS,
  serviceAccountLogin,
} from '../../testing/cluster/cluster';

jest.setTimeout(120_000);

const OPERATOR_NAMESPACE = 'mall-backup-system';
const OPERATOR = 'mall-backup-operator';

/**
 * In every namespace it watches (the default config binds the ClusterRole cluster-wide): what its informers
 * read (list, watch), its writes (server-side apply of CronJobs and their deletion once spec.verify is dropped, status
 * patches, run-now Jobs and their
 * replacement, held Jobs started with a patch of spec.suspend under a run cap or around daylight saving, Events,
 * Restores' claims and Jobs, runs' VolumeSnapshots and temporary claims) and backups/ and restores/finalizers, without
 * which OwnerReferencesPermissionEnforcement
 * refuses the blockOwnerDeletion of its owner references. Nothing else: no get, no update, no Secrets.
 */
const EXPECTED_IN_WATCHED_NAMESPACE = [
  'backups.mall.example.com [] list watch',
  'backups.mall.example.com/finalizers [] update',
  'backups.mall.example.com/status [] patch',
  'cronjobs.batch [] list watch create patch delete',
  'jobs.batch [] list watch create patch delete',
  'persistentvolumeclaims [] list watch create get delete',
  'pods [] list watch',
  'events [] create',
  'restores.mall.example.com [] list watch',
  'restores.mall.example.com/status [] patch',
  'restores.mall.example.com/finalizers [] update',
  // Runs from snapshots: a VolumeSnapshot per claim, read until ready, deleted after the run; the classes
  // (cluster-scoped) listed to know which claims can be snapshotted. No watch: they are polled or read once.
  'volumesnapshots.snapshot.storage.k8s.io [] create get delete',
  'storageclasses.storage.k8s.io [] list',
  'volumesnapshotclasses.snapshot.storage.k8s.io [] list',
];
/** In its own namespace, on top: create its Lease, then read and renew only that one. */
const EXPECTED_IN_OWN_NAMESPACE = [
  ...EXPECTED_IN_WATCHED_NAMESPACE,
  'leases.coordination.k8s.io [] create',
  'leases.coordination.k8s.io [mall-backup-operator-leader] get update',
];

const spaces = namespaces('rbac');
let operator: { token: string; kubeconfig: string };
let nobody: { token: string; kubeconfig: string };
let watched: string;

/** `kubectl auth can-i --list` as `kubeconfig` in `namespace`: one `resource [names] verbs` line per row. */
async function canIList(kubeconfig: string, namespace: string): Promise<Set<string>> {
  const out = await kubectlOk(['auth', 'can-i', '--list', '-n', namespace], { kubeconfig });
  const [header, ...rows] = out.trimEnd().split('\n');
  expect(header.split(/\s{2,}/)).toEqual(['Resources', 'Non-Resource URLs', 'Resource Names', 'Verbs']);
  const starts = ['Non-Resource URLs', 'Resource Names', 'Verbs'].map((c) => header.indexOf(c));
  return new Set(
    rows.map((row) => {
      const [resource, urls, names, verbs] = [
        row.slice(0, starts[0]),
        row.slice(starts[0], starts[1]),
        row.slice(starts[1], starts[2]),
        row.slice(starts[2]),
      ].map((c) => c.trim());
      const verbList = verbs.replace(/^\[|\]$/g, '').trim();
      return resource ? `${resource} ${names} ${verbList}` : `${urls} ${verbList}`;
    }),
  );
}

async function grantedBeyondAnyServiceAccount(namespace: string): Promise<string[]> {
  const [mine, baseline] = [
    await canIList(operator.kubeconfig, namespace),
    await canIList(nobody.kubeconfig, namespace),
  ];
  return [...mine].filter((rule) => !baseline.has(rule)).sort();
}

beforeAll(async () => {
  await installBackupCrd();
  const objects = manifest('dist/01-operator.yaml').filter((o) => RBAC_KINDS.has(o.kind));
  await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', '-'], {
    input: objects.map((o) => JSON.stringify(o)).join('\n'),
  });
  operator = await serviceAccountLogin(OPERATOR_NAMESPACE, OPERATOR);
  watched = await spaces.create();
  await client().ok('POST', `/api/v1/namespaces/${watched}/serviceaccounts`, { metadata: { name: 'nobody' } });
  nobody = await serviceAccountLogin(watched, 'nobody');
});

afterAll(() => spaces.cleanup());

describe('the operator, logged in with a TokenRequest token for its ServiceAccount', () => {
  test('is who the API server says it is', async () => {
    const review = await client({ token: operator.token }).ok(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      },
    );
    expect(review.status.userInfo.username).toBe(`system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR}`);
  });

  test('may do exactly this in a namespace it watches', async () => {
    expect(await grantedBeyondAnyServiceAccount(watched)).toEqual([...EXPECTED_IN_WATCHED_NAMESPACE].sort());
  });

  test('and this in its own namespace (its Lease)', async () => {
    expect(await grantedBeyondAnyServiceAccount(OPERATOR_NAMESPACE)).toEqual([...EXPECTED_IN_OWN_NAMESPACE].sort());
  });

  test('cannot read Secrets, anywhere', async () => {
    for (const ns of [watched, OPERATOR_NAMESPACE]) {
      const run = await kubectl(['auth', 'can-i', 'get', 'secrets', '-n', ns], { kubeconfig: operator.kubeconfig });
      expect(run.stdout.trim()).toBe('no');
    }
  });

  test('the real API server enforces it: listing Secrets is refused with 403', async () => {
    const res = await client({ token: operator.token }).request('GET', `/api/v1/namespaces/${watched}/secrets`);
    expect(res.status).toBe(403);
    expect(res.body.message).toContain(
      `"system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR}" cannot list resource "secrets"`,
    );
  });

  /** A CronJob owned by a fresh Backup, with the owner reference the operator sets (lib/run/backup-job.ts). */
  async function ownedCronJob(name: string): Promise<Record<string, unknown>> {
    const owner = await client().ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${watched}/backups`, {
      ...backup({}),
      metadata: { name, namespace: watched },
    });
    return {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: {
        name: `backup-${name}`,
        namespace: watched,
        ownerReferences: [ownerReferenceTo({ name, uid: owner.metadata.uid } as any)],
      },
      spec: {
        schedule: '30 2 * * *',
        jobTemplate: {
          spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'restic' }] } } },
        },
      },
    };
  }

  test('such a CronJob is valid: the cluster admin may create it', async () => {
    const res = await client().request(
      'POST',
      `/apis/batch/v1/namespaces/${watched}/cronjobs?dryRun=All`,
      await ownedCronJob('by-admin'),
    );
    expect([res.status, res.body.message]).toEqual([201, undefined]);
  });

  // OwnerReferencesPermissionEnforcement refuses blockOwnerDeletion from whoever may not update
  // backups/finalizers ("cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set
  // finalizers on"); the test above shows the object is otherwise valid.
  test('the operator may create the CronJob it owns through a Backup', async () => {
    const res = await client({ token: operator.token }).request(
      'POST',
      `/apis/batch/v1/namespaces/${watched}/cronjobs?dryRun=All`,
      await ownedCronJob('by-operator'),
    );
    expect([res.status, res.body.message]).toEqual([201, undefined]);
  });

  test(
    'the operator may carry out a Restore: create its new ' +
      'claim and its Job owned by the Restore, and write its status',
    async () => {
      const owner = await client().ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${watched}/backups`, {
        ...backup({}),
        metadata: { name: 'for-restore', namespace: watched },
      });
      const filed = await client().ok('POST', `/apis/mall.example.com/v1alpha1/namespaces/${watched}/restores`, {
        apiVersion: 'mall.example.com/v1alpha1',
        kind: 'Restore',
        metadata: { name: 'monday', namespace: watched },
        spec: { backupName: 'for-restore', target: { newClaims: { size: '1Gi' } } },
      });
      const ref = { name: 'monday', namespace: watched, uid: filed.metadata.uid };
      const as = client({ token: operator.token });
      const claim = newClaimManifest(ref, 'monday-data', '1Gi');
      const job = restoreJobManifest({
        restore: ref,
        backupName: 'for-restore',
        backupSpec: owner.spec,
        claims: [{ claim: 'data', targetClaim: 'monday-data', path: '' }],
      });
      expect(job.metadata.ownerReferences[0]).toMatchObject({ kind: 'Restore', blockOwnerDeletion: true });
      for (const [plural, obj] of [
        ['api/v1/namespaces/NS/persistentvolumeclaims', claim],
        ['apis/batch/v1/namespaces/NS/jobs', job],
      ] as const) {
        const res = await as.request('POST', `/${plural.replace('NS', watched)}?dryRun=All`, obj);
        expect([plural, res.status, res.body.message]).toEqual([plural, 201, undefined]);
      }
      const status = await as.request(
        'PATCH',
        `/apis/mall.example.com/v1alpha1/namespaces/${watched}/restores/monday/status`,
        { status: { phase: 'Pending', message: 'starting' } },
        'application/merge-patch+json',
      );
      expect([status.status, status.body.status]).toEqual([200, { phase: 'Pending', message: 'starting' }]);
    },
  );
});
