/**
 * The status the operator decides is one the real API server stores, even when its messages quote
 * oversized words of the cluster (a waiting container's message): a condition message over the schema's
 * 32768 characters would make every status write fail, leaving the Backup without a word about why.
 */
import { reconcile } from '../../operator/controller/reconcile';
import { STATUS_LIMITS } from '../../operator/controller/vocabulary';
import { bounded } from '../../operator/controller/write-outcome';
import { backup } from '../../testing/backup-cases';
import { job, jobPod } from '../../testing/reconcile-fixtures';
import { client, installBackupCrd, namespaces } from '../../testing/cluster/cluster';

jest.setTimeout(120_000);

const spaces = namespaces('status-limits');
let ns: string;

beforeAll(async () => {
  await installBackupCrd();
  ns = await spaces.create();
});
afterAll(() => spaces.cleanup());

test('a Backup whose failed run reports a 40 000-character reason gets its status written', async () => {
  const api = client();
  const path = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
  const created = await api.ok('POST', path, { ...backup({}), metadata: { name: 'oversized', namespace: ns } });
  // The kubelet caps termination messages, not the message of a waiting container.
  const failed = job('backup-oversized-1', {
    outcome: 'Failed',
    start: '2026-11-24T02:30:00Z',
    finish: '2026-11-24T02:31:00Z',
  });
  const pod = jobPod('backup-oversized-1', {
    waiting: { reason: 'CreateContainerConfigError', message: 'x'.repeat(40_000) },
  });
  const decided = reconcile({
    backup: created,
    jobs: [failed],
    jobPods: [pod],
    claims: [],
    namespacePods: [],
    now: new Date(),
  });
  const written = await api.request('PUT', `${path}/oversized/status`, { ...created, status: decided.status });
  expect({ status: written.status, message: written.body.message }).toEqual({ status: 200, message: undefined });
  expect(written.body.status.conditions.find((c: { type: string }) => c.type === 'LastBackupSucceeded')).toMatchObject({
    status: 'False',
    reason: 'BackoffLimitExceeded',
  });
});

test(
  'the API server counts maxLength in code points: ' + 'the cut keeps every character it allows and no more',
  async () => {
    const api = client();
    const path = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
    const created = await api.ok('POST', path, { ...backup({}), metadata: { name: 'emoji', namespace: ns } });
    const write = async (message: string) => {
      const current = await api.ok('GET', `${path}/emoji`);
      return (await api.request('PUT', `${path}/emoji/status`, { ...current, status: { message } })).status;
    };
    expect(created.metadata.name).toBe('emoji');
    expect(await write('😀'.repeat(STATUS_LIMITS.message + 1))).toBe(422);
    expect(await write(bounded('😀'.repeat(40_000), STATUS_LIMITS.message))).toBe(200);
    expect(await write('😀'.repeat(STATUS_LIMITS.message))).toBe(200);
  },
);
