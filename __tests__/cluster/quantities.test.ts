/**
 * Quantities on the real API server: for every request/limit pair of testing/quantity-cases.ts, the
 * verdict the operator's own check gives (lib/common/resources.ts) is the one kube-apiserver gives the
 * CronJob; and a quantity the API server cannot read (a fractional exponent) or cannot read in time (an
 * eleven-digit exponent) is refused by the Backup CRD, before any CronJob carries it.
 */
import { compareQuantities } from '../../lib/common/resources';
import { backup } from '../../testing/backup-cases';
import { QUANTITY_PAIRS } from '../../testing/quantity-cases';
import { client, installBackupCrd, namespaces } from '../../testing/cluster/cluster';

jest.setTimeout(120_000);

const spaces = namespaces('quantities');
let ns: string;

beforeAll(async () => {
  await installBackupCrd();
  ns = await spaces.create();
});
afterAll(() => spaces.cleanup());

function cronJob(resources: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'q', namespace: ns },
    spec: {
      schedule: '0 0 * * *',
      jobTemplate: {
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'restic', resources }] } },
        },
      },
    },
  };
}

test(`the operator judges ${QUANTITY_PAIRS.length} request/limit pairs as the API server does`, async () => {
  const verdicts = await Promise.all(
    QUANTITY_PAIRS.map(async ([request, limit]) => {
      const res = await client().request(
        'POST',
        `/apis/batch/v1/namespaces/${ns}/cronjobs?dryRun=All`,
        cronJob({ requests: { memory: request }, limits: { memory: limit } }),
      );
      expect([201, 422]).toContain(res.status);
      return {
        request,
        limit,
        server: res.status === 422 && /must be less than or equal to memory limit/.test(res.body.message),
        ours: (compareQuantities(request, limit) ?? 0) > 0,
      };
    }),
  );
  expect(verdicts.filter((v) => v.server !== v.ours)).toEqual([]);
  expect(verdicts.filter((v) => v.server).length).toBeGreaterThan(5);
});

test('a fractional exponent is refused by the CRD, as the API server could not decode it in a CronJob', async () => {
  const res = await client().request(
    'POST',
    `/apis/batch/v1/namespaces/${ns}/cronjobs?dryRun=All`,
    cronJob({ limits: { memory: '1e1.5' } }),
  );
  expect(res.status).toBe(400);
  expect(res.body.message).toContain('quantities must match the regular expression');
  for (const memory of ['1e1.5', '1e99999999999']) {
    const refused = await client().request(
      'POST',
      `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups?dryRun=All`,
      { ...backup({ resources: { limits: { memory } } }), metadata: { name: 'b', namespace: ns } },
    );
    expect({ memory, status: refused.status }).toEqual({ memory, status: 422 });
    expect(refused.body.message).toContain('spec.resources.limits.memory');
  }
});

test(
  'a quantity longer than 64 characters is refused by the ' +
    'CRD (200 000 digits cost the API server seconds per CronJob)',
  async () => {
    const dryRun = (memory: string) =>
      client().request('POST', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups?dryRun=All`, {
        ...backup({ resources: { limits: { memory } } }),
        metadata: { name: 'b', namespace: ns },
      });
    expect((await dryRun('9'.repeat(64))).status).toBe(201);
    const refused = await dryRun('9'.repeat(65));
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('spec.resources.limits.memory: Too long: may not be more than 64');
  },
);
