import type { BackupObject, KubeObject } from '../../operator/controller/types';
import { parseRestoreReport, reconcileRestore } from '../../operator/controller/restore-reconcile';
import type { RestoreObject, RestoreObserved } from '../../operator/controller/types';
import { RESTORE_UID_LABEL } from '../../lib/run/restore-job';
import { restrictedProblems } from '../../testing/k8s-rules';

const now = new Date('2024-05-02T10:00:00Z');
const backup: BackupObject = {
  metadata: { name: 'bakery', namespace: 'mall-shops', uid: 'b-uid' },
  spec: {
    shopName: 'bakery',
    backupTime: '02:30',
    vaultLocation: 'pvc://vault/shops',
    vaultCredentialsSecret: 'bakery-vault',
  } as any,
};
const claim = (name: string, labels: Record<string, string> = { 'mall.example.com/shop': 'bakery' }): KubeObject => ({
  metadata: { name, namespace: 'mall-shops', labels },
  spec: { accessModes: ['ReadWriteOnce'] },
});
const pod = (name: string, claimName: string, phase = 'Running'): KubeObject => ({
  metadata: { name, namespace: 'mall-shops' },
  spec: { nodeName: 'node-1', volumes: [{ name: 'v', persistentVolumeClaim: { claimName } }] },
  status: { phase },
});
function restoreOf(spec: Record<string, unknown>, status?: any): RestoreObject {
  return {
    metadata: { name: 'monday', namespace: 'mall-shops', uid: 'r-uid', generation: 1 },
    spec: { backupName: 'bakery', target: { newClaims: { size: '10Gi' } }, ...spec },
    status,
  };
}
function observe(restore: RestoreObject, extra: Partial<RestoreObserved> = {}): RestoreObserved {
  return {
    restore,
    backup,
    jobPods: [],
    claims: [claim('bakery-data'), claim('bakery-db')],
    namespacePods: [],
    now,
    ...extra,
  };
}
const job = (conditions: any[] = [], status: any = {}): KubeObject => ({
  metadata: { name: 'restore-monday', namespace: 'mall-shops', labels: { [RESTORE_UID_LABEL]: 'r-uid' } },
  status: { startTime: '2024-05-02T10:00:00Z', conditions, ...status },
});
const jobPod = (message: string, exitCode = 0): KubeObject => ({
  metadata: { name: 'restore-monday-x', namespace: 'mall-shops', labels: { 'job-name': 'restore-monday' } },
  status: {
    containerStatuses: [{ state: { terminated: { exitCode, message, reason: exitCode ? 'Error' : 'Completed' } } }],
  },
});

test(
  'latest into new claims: creates a claim per Backup claim and one restricted Job, every value in env or ' +
    'arguments',
  () => {
    const d = reconcileRestore(observe(restoreOf({})));
    expect(
      d.createClaims.map((c) => [c.metadata.name, c.spec.resources.requests.storage, c.metadata.ownerReferences]),
    ).toEqual([
      ['monday-bakery-data', '10Gi', undefined],
      ['monday-bakery-db', '10Gi', undefined],
    ]);
    const spec = d.createJob!.spec.template.spec;
    expect(restrictedProblems(spec, 'restore Job')).toEqual([]);
    expect(spec.containers[0].command.slice(3)).toEqual([
      'mall-restore',
      'bakery-data',
      '/data/bakery-data',
      '/restore/0',
      'bakery-db',
      '/data/bakery-db',
      '/restore/1',
    ]);
    expect(spec.volumes.slice(0, 3).map((v: any) => v.persistentVolumeClaim.claimName)).toEqual([
      'monday-bakery-data',
      'monday-bakery-db',
      'vault',
    ]);
    expect(spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'bakery-vault' } }]);
    expect(d.createJob!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Restore', name: 'monday', uid: 'r-uid', controller: true }),
    ]);
    expect(d.status).toMatchObject({
      phase: 'Pending',
      jobName: 'restore-monday',
      message: 'starting restore-monday: bakery-data -> monday-bakery-data, bakery-db -> monday-bakery-db',
    });
    expect(d.events).toEqual([expect.objectContaining({ reason: 'RestoreStarted' })]);
  },
);

test('a point in time and a snapshot ID reach the pod as environment values', () => {
  const env = (spec: any) =>
    Object.fromEntries(
      reconcileRestore(observe(restoreOf(spec))).createJob!.spec.template.spec.containers[0].env.map((e: any) => [
        e.name,
        e.value,
      ]),
    );
  expect(env({ pointInTime: '2024-05-01T04:00:00+02:00' })).toMatchObject({
    POINT_IN_TIME: '2024-05-01T04:00:00+02:00',
    POINT_IN_TIME_EPOCH: '1714528800',
  });
  expect(env({ pointInTime: '2024-05-01T02:00:00Z' }).POINT_IN_TIME_FRACTION).toBeUndefined();
  // The digits as written (a Date would keep milliseconds only), and the offset applied to the seconds.
  expect(env({ pointInTime: '2024-05-01t04:00:00.123456789-02:00' })).toMatchObject({
    POINT_IN_TIME_EPOCH: '1714543200',
    POINT_IN_TIME_FRACTION: '123456789',
  });
  expect(env({ pointInTime: '2024-05-01 04:00:00.1234567891Z' })).toMatchObject({
    POINT_IN_TIME_EPOCH: '1714536000',
    POINT_IN_TIME_FRACTION: '123456789',
  });
  expect(env({ snapshotID: '4f3c2a1b' })).toMatchObject({
    SNAPSHOT_ID: '4f3c2a1b',
    BACKUP_REF: 'mall-shops/bakery',
    SHOP_NAME: 'bakery',
  });
});

test('chosen claims may be gone from the cluster (that is why one restores them)', () => {
  const d = reconcileRestore(observe(restoreOf({ claims: ['deleted-claim'] }), { claims: [] }));
  expect(d.createClaims.map((c) => c.metadata.name)).toEqual(['monday-deleted-claim']);
});

test('an existing claim: one mount, a folder per claim, pinned to the node of a pod using it', () => {
  const d = reconcileRestore(
    observe(restoreOf({ target: { existingClaim: 'scratch' } }), {
      claims: [claim('bakery-data'), claim('scratch', {})],
      namespacePods: [pod('shell', 'scratch')],
    }),
  );
  expect(d.createClaims).toEqual([]);
  const spec = d.createJob!.spec.template.spec;
  expect(spec.containers[0].command.slice(4)).toEqual(['bakery-data', '/data/bakery-data', '/restore/0/bakery-data']);
  expect(
    spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0]
      .values,
  ).toEqual(['node-1']);
});

test.each([
  [
    'no Backup',
    restoreOf({}),
    { backup: undefined },
    'Pending',
    'BackupNotFound',
    /waiting for Backup bakery in namespace mall-shops/,
  ],
  [
    'a new claim name taken by something else',
    restoreOf({}),
    { claims: [claim('bakery-data'), claim('monday-bakery-data', {})] },
    'Failed',
    'TargetExists',
    /claim monday-bakery-data already exists and was not created by this Restore/,
  ],
  [
    'an existing claim that is missing',
    restoreOf({ target: { existingClaim: 'scratch' } }),
    {},
    'Pending',
    'ClaimNotFound',
    /waiting for claim scratch/,
  ],
  [
    'an existing claim that is a source',
    restoreOf({ target: { existingClaim: 'bakery-data' } }),
    {},
    'Failed',
    'InvalidTarget',
    /use inPlace: true/,
  ],
  [
    'in place while a pod mounts the claim',
    restoreOf({ target: { inPlace: true } }),
    { namespacePods: [pod('oven-0', 'bakery-db')] },
    'Pending',
    'ClaimInUse',
    /claim bakery-db is mounted by pod oven-0/,
  ],
  [
    'in place into a claim that is gone',
    restoreOf({ target: { inPlace: true }, claims: ['gone'] }),
    {},
    'Failed',
    'ClaimNotFound',
    /claim gone does not exist/,
  ],
  [
    'no claims to find',
    restoreOf({}),
    { claims: [] },
    'Pending',
    'NoClaims',
    /name the claims to restore in spec.claims/,
  ],
  [
    'a spec the API server would refuse',
    restoreOf({ snapshotID: 'latest' }),
    {},
    'Failed',
    'InvalidSpec',
    /spec.snapshotID "latest" is not valid/,
  ],
])('%s: no Job, phase and reason say why', (_, restore, extra, phase, reason, message) => {
  const d = reconcileRestore(observe(restore, extra as Partial<RestoreObserved>));
  expect(d.createJob).toBeUndefined();
  expect(d.createClaims).toEqual([]);
  expect(d.status.phase).toBe(phase);
  expect(d.status.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason });
  expect(d.status.message).toMatch(message);
});

test('in place once the pod is gone: the source claims are the targets', () => {
  const d = reconcileRestore(
    observe(restoreOf({ target: { inPlace: true } }), { namespacePods: [pod('oven-0', 'bakery-db', 'Succeeded')] }),
  );
  expect(
    d.createJob!.spec.template.spec.volumes.slice(0, 2).map((v: any) => v.persistentVolumeClaim.claimName),
  ).toEqual(['bakery-data', 'bakery-db']);
  expect(d.createJob!.spec.template.spec.containers[0].env).toContainEqual({ name: 'IN_PLACE', value: 'true' });
});

test('running, then completed with the snapshot, files, bytes and duration per claim', () => {
  const started = reconcileRestore(observe(restoreOf({})));
  const running = reconcileRestore(observe(restoreOf({}, started.status), { job: job() }));
  expect(running.createJob).toBeUndefined();
  expect(running.status).toMatchObject({ phase: 'Running', message: 'restore-monday is restoring' });
  const report =
    'restored bakery-data 4f3c2a1b9d8e7f60 2024-05-01T02:30:01.123456789+02:00 12 4096\nrestored bakery-db ' +
    '4f3c2a1b9d8e7f60 2024-05-01T02:30:01.123456789+02:00 3 100\n';
  const done = reconcileRestore(
    observe(restoreOf({}, running.status), {
      job: job([{ type: 'Complete', status: 'True' }], { completionTime: '2024-05-02T10:01:30Z' }),
      jobPods: [jobPod(report)],
    }),
  );
  expect(done.status).toMatchObject({
    phase: 'Completed',
    snapshotID: '4f3c2a1b9d8e7f60',
    durationSeconds: 90,
    message: 'restored 2 claim(s) from snapshot 4f3c2a1b9d8e7f60: 15 files, 4196 bytes in 90s',
    claims: [
      {
        claim: 'bakery-data',
        targetClaim: 'monday-bakery-data',
        path: '/',
        snapshotID: '4f3c2a1b9d8e7f60',
        snapshotTime: '2024-05-01T00:30:01Z',
        files: 12,
        bytes: 4096,
      },
      {
        claim: 'bakery-db',
        targetClaim: 'monday-bakery-db',
        path: '/',
        snapshotID: '4f3c2a1b9d8e7f60',
        snapshotTime: '2024-05-01T00:30:01Z',
        files: 3,
        bytes: 100,
      },
    ],
  });
  expect(done.status.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([
    ['Ready', 'True', 'JobCreated'],
    ['Succeeded', 'True', 'RestoreSucceeded'],
  ]);
  expect(done.events).toEqual([expect.objectContaining({ type: 'Normal', reason: 'RestoreSucceeded' })]);
  // Final: the same observation writes nothing, and a deleted Job changes nothing.
  expect(
    reconcileRestore(
      observe(restoreOf({}, done.status), {
        job: job([{ type: 'Complete', status: 'True' }], { completionTime: '2024-05-02T10:01:30Z' }),
        jobPods: [jobPod(report)],
      }),
    ).statusChanged,
  ).toBe(false);
  const afterDelete = reconcileRestore(observe(restoreOf({}, done.status)));
  expect([afterDelete.createJob, afterDelete.statusChanged, afterDelete.createClaims]).toEqual([undefined, false, []]);
});

test("failed: the script's reason reaches the status and a Warning Event", () => {
  const d = reconcileRestore(
    observe(restoreOf({}, { phase: 'Running' }), {
      job: job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]),
      jobPods: [
        jobPod(
          'error no snapshot of Backup mall-shops/bakery holds claim bakery-db taken at or before ' +
            '2024-01-01T00:00:00Z\n',
          1,
        ),
      ],
    }),
  );
  expect(d.status.phase).toBe('Failed');
  expect(d.status.message).toBe(
    'restore-monday failed: no snapshot of Backup mall-shops/bakery holds claim bakery-db taken at or before ' +
      '2024-01-01T00:00:00Z',
  );
  expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'RestoreFailed' })]);
});

test('a stuck pod is named while running (e.g. the vault Secret is missing)', () => {
  const stuck: KubeObject = {
    metadata: { name: 'p', labels: { 'job-name': 'restore-monday' } },
    status: {
      containerStatuses: [
        { state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "bakery-vault" not found' } } },
      ],
    },
  };
  const d = reconcileRestore(observe(restoreOf({}, { phase: 'Pending' }), { job: job(), jobPods: [stuck] }));
  expect(d.status.message).toBe('restore-monday is stuck: CreateContainerConfigError: secret "bakery-vault" not found');
});

test('parseRestoreReport reads what the script writes', () => {
  expect(parseRestoreReport('restored a 0123abcd 2024-05-01T02:30:00Z 1 2\nerror x y\n')).toEqual({
    claims: [{ claim: 'a', snapshotID: '0123abcd', snapshotTime: '2024-05-01T02:30:00Z', files: 1, bytes: 2 }],
    error: 'x y',
  });
});

test(
  "a Job seen finished before its pod's report waits for the report; past the grace period it no longer holds " +
    'back',
  () => {
    const complete = job([{ type: 'Complete', status: 'True' }], { completionTime: '2024-05-02T10:01:30Z' });
    const early = reconcileRestore(observe(restoreOf({}, { phase: 'Running' }), { job: complete, jobPods: [] }));
    expect(early.status).toMatchObject({
      phase: 'Running',
      message: "restore-monday finished; reading its pod's report",
    });
    expect(early.events).toEqual([]);
    // A pod still running (its terminated state not seen yet) holds it back the same way.
    const running: KubeObject = {
      metadata: { name: 'restore-monday-x', namespace: 'mall-shops', labels: { 'job-name': 'restore-monday' } },
      status: { containerStatuses: [{ state: { running: {} } }] },
    };
    expect(
      reconcileRestore(observe(restoreOf({}, { phase: 'Running' }), { job: complete, jobPods: [running] })).status
        .phase,
    ).toBe('Running');
    const late = reconcileRestore(
      observe(restoreOf({}, early.status), { job: complete, jobPods: [], now: new Date('2024-05-02T10:03:31Z') }),
    );
    expect(late.status).toMatchObject({
      phase: 'Completed',
      message:
        "restore-monday succeeded in 90s, but its pod's report is missing (the pod is gone, or its termination " +
        'message ' +
        'was cut), so the snapshots used and the files and bytes restored are not known',
    });
  },
);

test('a report that names only some claims (a cut termination message) says which numbers are unknown, never 0', () => {
  const planned = reconcileRestore(observe(restoreOf({}))).status;
  const d = reconcileRestore(
    observe(restoreOf({}, { ...planned, phase: 'Running' }), {
      job: job([{ type: 'Complete', status: 'True' }], { completionTime: '2024-05-02T10:01:30Z' }),
      jobPods: [jobPod('restored bakery-data 4f3c2a1b9d8e7f60 2024-05-01T00:30:01Z 12 4096\n')],
    }),
  );
  expect(d.status.phase).toBe('Completed');
  expect(d.status.message).toBe(
    "restored 2 claim(s) from snapshot 4f3c2a1b9d8e7f60: 12 files, 4096 bytes in 90s; the pod's report says nothing " +
      'of bakery-db (the kubelet keeps the last 4 KiB of it), so their snapshots and numbers are not known',
  );
  expect(d.status.claims).toEqual([
    expect.objectContaining({ claim: 'bakery-data', targetClaim: 'monday-bakery-data', files: 12 }),
    { claim: 'bakery-db', targetClaim: 'monday-bakery-db', path: '/' },
  ]);
});

test(
  'a Restore named longer than a label value fails at once, creating nothing (its labels would be refused ' +
    'forever)',
  () => {
    const long = restoreOf({});
    long.metadata.name = 'r'.repeat(64);
    const d = reconcileRestore(observe(long));
    expect(d.createClaims).toEqual([]);
    expect(d.createJob).toBeUndefined();
    expect(d.status.phase).toBe('Failed');
    expect(d.status.conditions![0]).toMatchObject({ type: 'Ready', status: 'False', reason: 'InvalidSpec' });
    expect(d.status.message).toMatch(/metadata\.name "r{64}" is 64 characters long: at most 63 allowed/);
  },
);

test(
  'a Job deleted while it ran fails the Restore and is never created again (a second attempt would meet the first ' +
    "one's files)",
  () => {
    const running = restoreOf(
      { target: { inPlace: true } },
      { phase: 'Running', jobName: 'restore-monday', startTime: '2024-05-02T09:00:00Z' },
    );
    const d = reconcileRestore(observe(running));
    expect(d.createJob).toBeUndefined();
    expect(d.createClaims).toEqual([]);
    expect(d.status).toMatchObject({ phase: 'Failed', completionTime: '2024-05-02T10:00:00Z' });
    expect(d.status.message).toMatch(/^restore-monday was deleted before it finished, .* file a new Restore$/);
    expect(d.status.conditions!.find((c) => c.type === 'Succeeded')).toMatchObject({
      status: 'False',
      reason: 'JobDeleted',
    });
    expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'RestoreFailed' })]);
    // Once recorded, the outcome stays.
    expect(reconcileRestore(observe(restoreOf({ target: { inPlace: true } }, d.status))).statusChanged).toBe(false);
    // A Job just created and not yet in the cache (Pending) is not mistaken for a deleted one.
    const pending = reconcileRestore(observe(restoreOf({}, { phase: 'Pending', jobName: 'restore-monday' })));
    expect(pending.createJob).toBeDefined();
  },
);

test(
  'in place: a pod that starts mounting a claim while it is being restored is named, with a Warning (nothing can ' +
    'lock a claim)',
  () => {
    const spec = { target: { inPlace: true }, claims: ['bakery-data'] };
    const started = reconcileRestore(observe(restoreOf(spec))).status;
    expect(started.claims).toEqual([{ claim: 'bakery-data', targetClaim: 'bakery-data', path: '/' }]);
    const ownPod: KubeObject = {
      ...pod('restore-monday-x', 'bakery-data'),
      metadata: { name: 'restore-monday-x', namespace: 'mall-shops', labels: { [RESTORE_UID_LABEL]: 'r-uid' } },
    };
    const quiet = reconcileRestore(
      observe(restoreOf(spec, { ...started, phase: 'Running' }), { job: job(), namespacePods: [ownPod] }),
    );
    expect(quiet.status.message).toBe('restore-monday is restoring');
    const d = reconcileRestore(
      observe(restoreOf(spec, quiet.status), { job: job(), namespacePods: [ownPod, pod('oven-0', 'bakery-data')] }),
    );
    expect(d.status.message).toBe(
      'restore-monday is restoring; pod oven-0 mounts claim bakery-data while it is restored in place: that pod may ' +
        'read or write half-restored files',
    );
    expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ClaimInUseDuringRestore' })]);
    // Said once.
    const again = reconcileRestore(
      observe(restoreOf(spec, d.status), { job: job(), namespacePods: [ownPod, pod('oven-0', 'bakery-data')] }),
    );
    expect([again.events, again.statusChanged]).toEqual([[], false]);
  },
);

test(
  "a final status stays as written when the Job's pod is later removed (pod garbage collection, a drained " + 'node)',
  () => {
    const report = 'restored bakery-data 4f3c2a1b9d8e7f60 2024-05-01T00:30:01Z 12 4096\n';
    const complete = job([{ type: 'Complete', status: 'True' }], { completionTime: '2024-05-02T10:01:30Z' });
    const planned = reconcileRestore(observe(restoreOf({ claims: ['bakery-data'] }))).status;
    const done = reconcileRestore(
      observe(restoreOf({ claims: ['bakery-data'] }, { ...planned, phase: 'Running' }), {
        job: complete,
        jobPods: [jobPod(report)],
      }),
    );
    expect(done.status.message).toBe('restored 1 claim(s) from snapshot 4f3c2a1b9d8e7f60: 12 files, 4096 bytes in 90s');
    const podGone = reconcileRestore(
      observe(restoreOf({ claims: ['bakery-data'] }, done.status), {
        job: complete,
        jobPods: [],
        now: new Date('2024-05-09T10:00:00Z'),
      }),
    );
    expect([podGone.statusChanged, podGone.events, podGone.createJob]).toEqual([false, [], undefined]);
  },
);

test('paths reach the pod as arguments after the one claim, counted in INCLUDE_PATHS, and the start names them', () => {
  const paths = ['/db', '/a b/$(reboot)'];
  const d = reconcileRestore(observe(restoreOf({ claims: ['bakery-db'], paths })));
  const container = d.createJob!.spec.template.spec.containers[0];
  expect(container.command.slice(4)).toEqual(['bakery-db', '/data/bakery-db', '/restore/0', ...paths]);
  expect(container.command[2]).not.toContain('reboot');
  expect(container.env).toContainEqual({ name: 'INCLUDE_PATHS', value: '2' });
  expect(d.status.message).toBe('starting restore-monday: bakery-db (only /db, /a b/$(reboot)) -> monday-bakery-db');
  // A Restore filed before the rule (or past it) with paths and no single claim fails without a Job.
  const invalid = reconcileRestore(observe(restoreOf({ paths: ['/db'] })));
  expect([invalid.createJob, invalid.status.phase]).toEqual([undefined, 'Failed']);
  expect(invalid.status.message).toMatch(/^spec\.paths needs exactly one claim in claims, not every claim/);
});

test('a path the snapshot lacks: Failed with reason PathNotInSnapshot, naming the path and the snapshot', () => {
  const report =
    'failed PathNotInSnapshot "/uploads/2026" not in snapshot 0123456789abcdef of claim bakery-db (taken ' +
    '2024-05-01T02:30:00Z): nothing was restored; name paths that snapshot holds (restic ls 01234567)\n';
  const d = reconcileRestore(
    observe(restoreOf({ claims: ['bakery-db'], paths: ['/uploads/2026'] }, { phase: 'Running' }), {
      job: job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]),
      jobPods: [jobPod(report, 1)],
    }),
  );
  expect(d.status.phase).toBe('Failed');
  expect(d.status.message).toBe(`restore-monday failed: ${report.trim().slice('failed PathNotInSnapshot '.length)}`);
  expect(d.status.conditions!.find((c) => c.type === 'Succeeded')).toMatchObject({
    status: 'False',
    reason: 'PathNotInSnapshot',
  });
  // A word the operator does not know is no reason of the status; the message still carries it.
  expect(parseRestoreReport('failed Bogus reason: words\n')).toEqual({ claims: [], error: 'reason: words' });
});

test("a report cut to the kubelet's last 4 KiB keeps its whole lines only: the cut first line is no claim", () => {
  // 32 claims (the most a Restore names) with 45-character names and full IDs: ~4 800 bytes, past the 4 KiB.
  const lines = Array.from(
    { length: 32 },
    (_, i) =>
      `restored ${`claim-${String(i).padStart(2, '0')}-`.padEnd(45, 'x')} ${'ab'.repeat(32)} ` +
      `2024-05-01T00:30:01Z ${i + 1} ${(i + 1) * 1000}`,
  );
  const whole = `${lines.join('\n')}\n`;
  expect(Buffer.byteLength(whole)).toBeGreaterThan(4096);
  const kept = Buffer.from(whole).subarray(-4096).toString('utf8');
  const cut = kept.slice(0, kept.indexOf('\n'));
  expect(lines).not.toContain(cut);
  const report = parseRestoreReport(kept);
  const intact = kept.split('\n').filter((l) => lines.includes(l));
  expect(report.claims.map((c) => c.claim)).toEqual(intact.map((l) => l.split(' ')[1]));
  expect(report.claims.length).toBe(lines.length - lines.indexOf(intact[0]));
  expect(report.claims.every((c) => (c.files ?? 0) > 0 && c.snapshotID === 'ab'.repeat(32))).toBe(true);
});
