/**
 * The status the operator decides is one the real API server stores, even when its messages quote
 * oversized spec values: a condition message over the schema's 32768 bytes would make every status
 * write fail, leaving the Backup without a word about why it is not ready.
 */
import { reconcile } from '../../operator/controller/reconcile';
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
