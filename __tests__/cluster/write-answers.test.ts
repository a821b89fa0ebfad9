/**
 * The operator's writes are answered with the object's metadata alone, by the real API server: the operator reads a
 * write's answer for its resourceVersion only, and the version it keeps must be the one the object then has (its
 * CronJob's template is dropped from the cache on that match, and a status write's echo is recognised by it).
 */
import { FIELD_MANAGER, writeStatus } from '../../operator/controller/writer';
import type { KubeClient } from '../../operator/runtime/kube';
import { backup } from '../../testing/backup-cases';
import { client, installBackupCrd, namespaces, operatorClient } from '../../testing/cluster/cluster';

jest.setTimeout(60_000);

const spaces = namespaces('write-answers');
let ns: string;
let operator: KubeClient;

beforeAll(async () => {
  await installBackupCrd();
  ns = await spaces.create();
  operator = operatorClient();
});
afterAll(() => spaces.cleanup());

const cronJob = (name: string, schedule: string) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name, namespace: ns },
  spec: {
    schedule,
    jobTemplate: {
      spec: {
        template: {
          spec: { restartPolicy: 'Never', containers: [{ name: 'restic', image: 'restic', command: ['true'] }] },
        },
      },
    },
  },
});

test('a server-side apply is answered with metadata only, carrying the version the object then has', async () => {
  const path = `/apis/batch/v1/namespaces/${ns}/cronjobs/answers`;
  for (const schedule of ['0 2 * * *', '30 3 * * *']) {
    const answer: any = await operator.apply(path, cronJob('answers', schedule), FIELD_MANAGER);
    expect(answer.kind).toBe('PartialObjectMetadata');
    expect(answer.spec).toBeUndefined();
    const stored = await client().ok('GET', path);
    expect(stored.spec.schedule).toBe(schedule);
    expect(answer.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
    expect(answer.metadata.uid).toBe(stored.metadata.uid);
    // Field ownership is metadata: it still comes back (WRITE_ANSWER says so).
    expect(answer.metadata.managedFields?.map((f: any) => f.manager)).toContain(FIELD_MANAGER);
  }
});

test("a status write resolves to the Backup's version after it, its answer without spec or status", async () => {
  const path = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
  const created = await client().ok('POST', path, { ...backup({}), metadata: { name: 'answers', namespace: ns } });
  const version = await writeStatus(operator, created, { phase: 'Scheduled' });
  const stored = await client().ok('GET', `${path}/answers`);
  expect(stored.status.phase).toBe('Scheduled');
  expect(version).toBe(stored.metadata.resourceVersion);
  expect(version).not.toBe(created.metadata.resourceVersion);
  const answer: any = await operator.mergePatch(`${path}/answers/status`, { status: { phase: 'Completed' } });
  expect(answer.kind).toBe('PartialObjectMetadata');
  expect(answer.status).toBeUndefined();
  expect(answer.spec).toBeUndefined();
  expect(answer.metadata.name).toBe('answers');
});

test('a refusal under the metadata-only Accept is still a Status (409 on a stale version)', async () => {
  const path = `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups`;
  const created = await client().ok('POST', path, { ...backup({}), metadata: { name: 'stale', namespace: ns } });
  await writeStatus(operator, created, { phase: 'Scheduled' });
  const stale = writeStatus(operator, created, { phase: 'Failed' });
  await expect(stale).rejects.toMatchObject({ statusCode: 409, reason: 'Conflict' });
  expect((await client().ok('GET', `${path}/stale`)).status.phase).toBe('Scheduled');
});
