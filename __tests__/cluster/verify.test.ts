/**
 * spec.verify on the real control plane: the operator's per-vault check CronJob and the Backup's test-restore
 * CronJob, run by the real CronJob and Job controllers, their pods by the test kubelet with the pinned restic
 * against a vault claim on this machine. A sound vault gives Verified=True naming the Backup's own snapshot;
 * bytes flipped in one pack file give Verified=False with the check's reason and a Warning Event (that check run
 * at once from the CronJob's template, as `kubectl create job --from` does, rather than a minute later).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resticForRestore } from '../../testing/restic-binary';
import { client, eventually, kubectlOk } from '../../testing/cluster/cluster';
import { createShop, type Mall, openMall } from '../../testing/cluster/shop';

jest.setTimeout(360_000);

const admin = client();
let ns: string;
let mall: Mall;
const restic = resticForRestore();

const backups = () => `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
const verified = async (name: string) =>
  (await admin.ok('GET', `${backups()}/${name}`)).status?.conditions?.find((c: any) => c.type === 'Verified');

beforeAll(async () => {
  mall = await openMall('verify', restic.dir);
  ns = mall.ns;
});

afterAll(async () => {
  await mall?.stop();
});

test(
  'a Backup with spec.verify: Verified=True with its own snapshot, then Verified=False once a pack is ' + 'damaged',
  async () => {
    // Random, so restic's compression leaves a pack file as big as the data and a flipped byte lands in data.
    const noise = Array.from({ length: 8 }, () => randomBytes(30_000).toString('base64'));
    await createShop(admin, ns, 'bakery', 'correct horse', {
      'recipe.txt': 'sourdough: 500 g flour, 350 g water',
      ...Object.fromEntries(noise.map((text, i) => [`order-${i}.txt`, text])),
    });
    await admin.ok('POST', backups(), {
      apiVersion: 'mall.example.com/v1alpha1',
      kind: 'Backup',
      metadata: { name: 'bakery', annotations: { 'mall.example.com/run-now': String(Math.floor(Date.now() / 1000)) } },
      spec: {
        shopName: 'bakery',
        backupTime: '02:30',
        timeZone: 'Europe/Rome',
        vaultLocation: 'pvc://mall-vault/bakery',
        vaultCredentialsSecret: 'bakery-vault',
        // Every minute, so the real CronJob controller starts both parts within the test.
        verify: { schedule: '* * * * *', readDataSubset: '100%' },
      },
    });

    const crons = await eventually(
      'the test-restore and vault check CronJobs',
      async () => {
        const items = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs`)).items;
        const of = (component: string) =>
          items.filter((c: any) => c.metadata.labels['app.kubernetes.io/component'] === component);
        return of('verify').length === 1 && of('vault-check').length === 1
          ? { verify: of('verify')[0], check: of('vault-check')[0] }
          : undefined;
      },
      60_000,
    );
    expect(crons.verify.metadata.name).toBe('verify-bakery');
    expect(crons.verify.spec.timeZone).toBe('Europe/Rome');
    expect(crons.check.spec.jobTemplate.spec.template.spec.containers[0].env).toContainEqual({
      name: 'READ_DATA_SUBSET',
      value: '100%',
    });

    const done = await eventually(
      'bakery to complete and then be verified',
      async () => {
        const b = await admin.ok('GET', `${backups()}/bakery`);
        const v = b.status?.conditions?.find((c: any) => c.type === 'Verified');
        return b.status?.lastSnapshotID && v?.status === 'True' ? b : undefined;
      },
      240_000,
    );
    // The snapshot test-restored is this Backup's newest, the one its run reported.
    expect(done.status.lastVerifiedSnapshotID).toBe(done.status.lastSnapshotID);
    expect(done.status.lastVerifiedSnapshotID).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(done.status.lastVerifiedTime)).toBeGreaterThan(Date.parse(done.metadata.creationTimestamp));
    const condition = await verified('bakery');
    expect(condition.message).toMatch(/the vault checks out \(read subset 100%\).*restored 9 files/);

    // Damage the vault: flip bytes in its biggest pack file.
    const data = join(mall.kubelet.claimFolder(ns, 'mall-vault'), 'bakery', 'data');
    const packs = readdirSync(data).flatMap((d) => readdirSync(join(data, d)).map((f) => join(data, d, f)));
    const biggest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    const bytes = readFileSync(biggest);
    for (let i = 1000; i < 1016; i++) bytes[i] ^= 0xff;
    writeFileSync(biggest, bytes);
    const damagedAt = Date.now();
    // The check runs now, as `kubectl create job --from=cronjob/...` runs it: a Job from the CronJob's own
    // template (its labels, its owner), instead of waiting up to a minute for the next scheduled one. That the
    // real CronJob controller starts both parts on schedule was proven above; what is proven here is what the
    // operator makes of a check that finds the damage. (The scheduled checks go on meanwhile and may report
    // first; they fail the same way. `-1` cannot be a name the controller gives: it appends the minute since
    // 1970.)
    await kubectlOk([
      'create',
      'job',
      `--from=cronjob/${crons.check.metadata.name}`,
      `${crons.check.metadata.name}-1`,
      '-n',
      ns,
    ]);

    const failed = await eventually(
      'Verified=False with reason CheckFailed',
      async () => {
        const v = await verified('bakery');
        return v?.status === 'False' && v.reason === 'CheckFailed' ? v : undefined;
      },
      240_000,
    );
    expect(Date.parse(failed.lastTransitionTime)).toBeGreaterThanOrEqual(Math.floor(damagedAt / 1000) * 1000);
    expect(failed.message).toMatch(
      new RegExp(
        String.raw`^vault-check-[0-9a-f]+-\d+: restic check found the vault damaged or unreadable: .*ciphertext ` +
          String.raw`verification failed.*; The repository contains damaged pack files\..* \(read subset 100%\); ` +
          'the Backup does not count as protected',
      ),
    );
    // The Event is written after the status, so it may still be on its way when the condition is seen.
    const warnings = await eventually(
      'a CheckFailed Warning Event',
      async () => {
        const events = (
          await admin.ok('GET', `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=bakery`)
        ).items.filter((e: any) => e.type === 'Warning' && e.reason === 'CheckFailed');
        return events.length > 0 && events;
      },
      30_000,
    );
    // One Warning when the vault turned unverified for this reason (a later failing check may have renewed the
    // message).
    expect(warnings).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^vault-check-[0-9a-f]+-\d+: restic check found the vault damaged/),
      }),
    ]);
    // The last verified snapshot stays on record; the vault no longer counts as verified.
    const after = await admin.ok('GET', `${backups()}/bakery`);
    expect(after.status.lastVerifiedSnapshotID).toBe(done.status.lastVerifiedSnapshotID);

    // Verification dropped: the operator (with the rights of dist/) deletes both CronJobs; no claim either way remains.
    await admin.ok('PATCH', `${backups()}/bakery`, { spec: { verify: null } }, 'application/merge-patch+json');
    await eventually(
      'both verification CronJobs to be deleted and the Verified condition dropped',
      async () => {
        const items = (await admin.ok('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs`)).items;
        const left = items.filter((c: any) =>
          ['verify', 'vault-check'].includes(c.metadata.labels['app.kubernetes.io/component']),
        );
        return left.length === 0 && (await verified('bakery')) === undefined;
      },
      60_000,
    );
    expect((await admin.ok('GET', `${backups()}/bakery`)).status.lastVerifiedSnapshotID).toBe(
      done.status.lastVerifiedSnapshotID,
    );
  },
);
