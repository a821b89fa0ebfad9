/**
 * The status the operator decides is one the real API server stores, even when its messages quote
 * oversized spec values: a condition message over the schema's 32768 bytes would make every status
 * write fail, leaving the Backup without a word about why it is not ready.
 */
import { reconcile } from '../../operator/controller/reconcile';
import { STATUS_LIMITS } from '../../operator/controller/vocabulary';
import { bounded } from '../../operator/controller/write-outcome';
import { backup } from '../support/backup-cases';
import { client, installBackupCrd, namespaces } from './cluster';

jest.setTimeout(120_000);

const spaces = namespaces('status-limits');
let ns: string;

beforeAll(async () => {
  await installBackupCrd();
  ns = await spaces.create();
});
afterAll(() => spaces.cleanup());

test('a Backup whose spec problem quotes a 40 000-digit quantity gets its InvalidSpec status written', async () => {
  const api = client();
  const path = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
  const created = await api.ok('POST', path, {
    ...backup({ resources: { requests: { memory: '9'.repeat(40_000) }, limits: { memory: '1' } } }), metadata: { name: 'oversized', namespace: ns },
  });
  const decided = reconcile({ backup: created, jobs: [], jobPods: [], claims: [], namespacePods: [], now: new Date() });
  const written = await api.request('PUT', `${path}/oversized/status`, { ...created, status: decided.status });
  expect({ status: written.status, message: written.body.message }).toEqual({ status: 200, message: undefined });
  expect(written.body.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
});

test('the API server counts maxLength in code points: the cut keeps every character it allows and no more', async () => {
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
});
