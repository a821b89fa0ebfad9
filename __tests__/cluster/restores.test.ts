/**
 * Restores on the shared control plane: the operator's claims and Job, the real Job controller, and the test
 * kubelet running the restore script with the pinned restic from a vault a real run wrote. A quota's refusal
 * (403) is injected by the operator's fault proxy.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { eventually } from '../../testing/cluster/cluster';
import type { FaultProxy } from '../../testing/cluster/fault-proxy';
import { admin, event, Operated, phase, restores } from '../../testing/cluster/operated';

jest.setTimeout(180_000);

const suite = new Operated('restores');
let ns: string;
let proxy: FaultProxy;
let snapshot: string;

const restore = (name: string) => admin.ok('GET', `${restores(ns)}/${name}`);
const fileRestore = (name: string, spec: Record<string, unknown>) =>
  admin.ok('POST', restores(ns), {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Restore',
    metadata: { name },
    spec: { backupName: 'bakery', ...spec },
  });
const restorePhase = (name: string, want: string) =>
  eventually(
    `${name} ${want}`,
    async () => {
      const r = await restore(name);
      return r.status?.phase === want && r;
    },
    120_000,
  );
const reason = async (name: string) => (await restore(name)).status?.conditions?.[0]?.reason;

beforeAll(async () => {
  await suite.start(1);
  [ns] = suite.namespaces;
  ({ proxy } = await suite.operator('restores-1'));
  await suite.backup(ns, 'bakery', {}, { 'mall.example.com/run-now': 'seeded' });
  const data = suite.kubelet.claimFolder(ns, 'bakery-data');
  mkdirSync(data, { recursive: true });
  writeFileSync(`${data}/recipe.txt`, 'rye: 400 g flour');
  snapshot = (await phase(ns, 'bakery', 'Completed', 120_000)).status.lastSnapshotID;
});
afterAll(() => suite.stop());

test(
  'a Restore into new claims: the claim and the Job ' + 'are created, the files come back, and it is Completed',
  async () => {
    const filed = await fileRestore('monday', { target: { newClaims: { size: '5Gi', storageClassName: 'fast' } } });
    const done = await restorePhase('monday', 'Completed');
    const job = await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs/restore-monday`);
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Restore', uid: filed.metadata.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    // The new claim is nobody's: deleting the permit keeps the restored data.
    const claim = await admin.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/monday-bakery-data`);
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } });
    expect(done.status.claims).toEqual([
      expect.objectContaining({ claim: 'bakery-data', targetClaim: 'monday-bakery-data', files: expect.any(Number) }),
    ]);
    // restic's short form, as restic printed it when it picked the snapshot.
    expect(done.status.snapshotID).toBe(snapshot.slice(0, 8));
    expect(done.status.message).toMatch(/^restored 1 claim\(s\) from snapshot \w+: \d+ files, \d+ bytes in \d+s$/);
    expect(readFileSync(`${suite.kubelet.claimFolder(ns, 'monday-bakery-data')}/recipe.txt`, 'utf8')).toBe(
      'rye: 400 g flour',
    );
    expect((await event(ns, 'RestoreSucceeded', 'monday')).involvedObject.uid).toBe(filed.metadata.uid);
  },
);

test(
  'a Restore waits for its target claim; a failing Job ' + "makes it Failed with the run's reason and a Warning",
  async () => {
    // A snapshot that is not in the vault: the restore script fails and says so.
    await fileRestore('tuesday', { snapshotID: 'deadbeef', target: { existingClaim: 'scratch' } });
    await eventually('Pending ClaimNotFound', async () => (await reason('tuesday')) === 'ClaimNotFound');
    expect((await restore('tuesday')).status).toMatchObject({
      phase: 'Pending',
      message: 'waiting for claim scratch (target.existingClaim) to exist',
    });
    expect((await admin.request('GET', `/apis/batch/v1/namespaces/${ns}/jobs/restore-tuesday`)).status).toBe(404);
    // The claim appearing is a change the operator acts on, without waiting for a resync.
    await suite.claim(ns, 'scratch');
    const failed = await restorePhase('tuesday', 'Failed');
    expect(failed.status.message).toMatch(/^restore-tuesday failed: .*deadbeef/);
    expect(failed.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Succeeded', status: 'False', reason: 'RestoreFailed' }),
      ]),
    );
    expect((await event(ns, 'RestoreFailed', 'tuesday')).type).toBe('Warning');
  },
);

test(
  'a restore Job refused by a quota (403) leaves the ' + 'Restore Pending saying why; it starts once allowed',
  async () => {
    const quota = proxy.rule({ name: 'quota', verb: 'POST', path: /\/jobs$/, code: 403, times: 2 });
    await fileRestore('wednesday', { target: { newClaims: { size: '1Gi' } } });
    await eventually('Ready=False JobRefused', async () => (await reason('wednesday')) === 'JobRefused');
    const refused = await restore('wednesday');
    expect(refused.status.phase).toBe('Pending');
    expect(refused.status.message).toMatch(
      new RegExp(
        /^the API server refused Job restore-wednesday \(HTTP 403\): injected failure \(quota\); check /.source +
          /the namespace's ResourceQuota/.source,
      ),
    );
    expect((await event(ns, 'JobRefused', 'wednesday')).type).toBe('Warning');
    await restorePhase('wednesday', 'Completed');
    expect(quota.hits).toBe(2);
    const claims = (await admin.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items;
    expect(claims.filter((c: any) => c.metadata.name === 'wednesday-bakery-data')).toHaveLength(1);
  },
);

const STRANGER_TITLE =
  "a Job named like the Restore's but not its own (the runbook's restore-<name>) is not taken for it: " +
  'Pending saying so, then it runs';
test(STRANGER_TITLE, async () => {
  // Suspended: the Job controller makes no pod for it, so it stays exactly as the runbook left it.
  await admin.ok('POST', `/apis/batch/v1/namespaces/${ns}/jobs`, {
    metadata: { name: 'restore-thursday' },
    spec: {
      suspend: true,
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'runbook', image: 'restic:runbook' }] } },
    },
  });
  const filed = await fileRestore('thursday', { target: { newClaims: { size: '1Gi' } } });
  await eventually('Ready=False JobRefused', async () => (await reason('thursday')) === 'JobRefused', 60_000);
  const waiting = await restore('thursday');
  expect(waiting.status.phase).toBe('Pending');
  expect(waiting.status.message).toMatch(
    new RegExp(
      String.raw`^the API server refused Job restore-thursday \(HTTP 409\): Job restore-thursday already exists ` +
        "and is not this Restore's: delete it or file the Restore under another name",
    ),
  );
  // The stranger's Job is left alone: not adopted, not labelled.
  const stranger = await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs/restore-thursday`);
  expect(stranger.metadata.ownerReferences).toBeUndefined();
  expect(stranger.metadata.labels?.['mall.example.com/restore-uid']).toBeUndefined();

  await admin.ok('DELETE', `/apis/batch/v1/namespaces/${ns}/jobs/restore-thursday`, {
    propagationPolicy: 'Background',
  });
  const job = await eventually(
    "the Restore's own Job",
    async () => {
      const got = await admin.request('GET', `/apis/batch/v1/namespaces/${ns}/jobs/restore-thursday`);
      return got.status === 200 && got.body.metadata.labels?.['mall.example.com/restore-uid'] && got.body;
    },
    60_000,
  );
  expect(job.metadata.labels['mall.example.com/restore-uid']).toBe(filed.metadata.uid);
  await restorePhase('thursday', 'Completed');
});

test(
  'paths: only the named file comes back, counted alone; a path the snapshot lacks is Failed with ' +
    'PathNotInSnapshot, naming it and the snapshot, and nothing is written',
  async () => {
    await fileRestore('friday', {
      claims: ['bakery-data'],
      paths: ['/recipe.txt'],
      target: { newClaims: { size: '1Gi' } },
    });
    const done = await restorePhase('friday', 'Completed');
    expect(done.status.claims).toEqual([expect.objectContaining({ claim: 'bakery-data', files: 1, bytes: 16 })]);
    expect(readFileSync(`${suite.kubelet.claimFolder(ns, 'friday-bakery-data')}/recipe.txt`, 'utf8')).toBe(
      'rye: 400 g flour',
    );

    await fileRestore('saturday', {
      claims: ['bakery-data'],
      paths: ['/recipe.txt', '/menus/2026'],
      target: { newClaims: { size: '1Gi' } },
    });
    const failed = await restorePhase('saturday', 'Failed');
    expect(failed.status.message).toMatch(
      new RegExp(
        // Chosen from the listing (paths): its full ID.
        String.raw`^restore-saturday failed: "/menus/2026" not in snapshot ${snapshot} of ` +
          String.raw`claim bakery-data \(taken [^)]+\): nothing was restored`,
      ),
    );
    expect(failed.status.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Succeeded', status: 'False', reason: 'PathNotInSnapshot' }),
      ]),
    );
    expect(readdirSync(suite.kubelet.claimFolder(ns, 'saturday-bakery-data'))).toEqual([]);
  },
);
