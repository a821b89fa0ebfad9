/**
 * What the informer caches keep per Backup, pinned: at 10 000 Backups each kilobyte kept per object is ~10 MiB of
 * heap (more in V8's objects than in JSON), and the operator's peak memory is mostly these caches. A field that
 * comes back into the cache fails here first.
 */
import { BACKUP_LABEL, BACKUP_UID_LABEL } from '../../lib/run/backup-names';
import { WATCHES } from '../../operator/controller/watches';
import { dropJobTemplate } from '../../operator/runtime/trim';

const managedFields = Array.from({ length: 3 }, (_, i) => ({
  manager: `writer-${i}`,
  operation: 'Apply',
  fieldsV1: { 'f:spec': { 'f:jobTemplate': { 'f:spec': { 'f:template': { 'f:spec': { x: 'y'.repeat(400) } } } } } },
}));
const lastApplied = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: 'x'.repeat(2000) }) };

const meta = (name: string, extra: Record<string, unknown> = {}): Record<string, any> => ({
  name,
  namespace: 'shops',
  uid: '5c1e1f7a-0000-4000-8000-000000000001',
  resourceVersion: '123456',
  generation: 1,
  creationTimestamp: '2026-11-25T20:19:14Z',
  managedFields,
  ...extra,
});

const condition = (type: string, reason: string, message: string) => ({
  type,
  status: 'True',
  reason,
  message,
  observedGeneration: 1,
  lastTransitionTime: '2026-11-25T20:24:16Z',
});

/** A Backup as the API server returns it after the operator's status write. */
const backup = () => ({
  apiVersion: 'mall.example.com/v1alpha1',
  kind: 'Backup',
  metadata: meta('shop-1', { annotations: { ...lastApplied } }),
  spec: { shopName: 'shop-1', backupTime: '03:01', vaultLocation: 'pvc://vault/mall', vaultCredentialsSecret: 'vault' },
  status: {
    phase: 'Scheduled',
    conditions: [
      condition('Ready', 'CronJobReady', 'runs "1 3 * * *" in UTC'),
      condition('Fresh', 'WithinObjective', 'no good snapshot since the Backup was filed; within the objective of 2d'),
    ],
    observedGeneration: 1,
    nextScheduleTime: '2026-11-26T03:01:00Z',
    effectiveSchedule: '1 3 * * *',
    message: 'next run at 2026-11-26T03:01:00Z',
  },
});

/** The Backup's CronJob as the API server returns it: the job template is most of it. */
const cronJob = () => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: meta('backup-shop-1', {
    labels: { [BACKUP_LABEL]: 'shop-1', [BACKUP_UID_LABEL]: '5c1e1f7a-0000-4000-8000-000000000001' },
    annotations: { 'mall.example.com/inputs': 'Il3oqtMz8mIHwBKPpMxkbXeMVJRA75lV8ITsQQL7YTQ=' },
  }),
  spec: {
    schedule: '1 3 * * *',
    timeZone: 'UTC',
    concurrencyPolicy: 'Forbid',
    jobTemplate: { spec: { template: { spec: { containers: [{ name: 'restic', args: ['x'.repeat(15_000)] }] } } } },
  },
  status: {},
});

const claim = () => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: meta('shop-1-data', { labels: { 'mall.example.com/shop': 'shop-1' }, annotations: { ...lastApplied } }),
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' },
  status: { phase: 'Bound' },
});

const bytes = (obj: unknown) => JSON.stringify(obj).length;

test('every watched kind drops field ownership and the client-side apply copy as it arrives', () => {
  for (const [kind, watched] of Object.entries(WATCHES)) {
    const obj: any = { metadata: meta(`a-${kind}`, { annotations: { ...lastApplied, kept: 'yes' } }), spec: {} };
    watched.trim(obj);
    expect([kind, obj.metadata.managedFields]).toEqual([kind, undefined]);
    expect([kind, obj.metadata.annotations]).toEqual([kind, { kept: 'yes' }]);
  }
});

test('per Backup the caches keep its object, its CronJob without job template, its claim: under 2 KB of JSON', () => {
  const b: any = backup();
  const c: any = cronJob();
  const pvc: any = claim();
  const before = bytes(b) + bytes(c) + bytes(pvc);
  WATCHES.backups.trim(b);
  WATCHES.cronjobs.trim(c);
  dropJobTemplate(c);
  WATCHES.claims.trim(pvc);
  expect(b.status).toEqual(backup().status);
  expect(Object.keys(c.spec).sort()).toEqual(['concurrencyPolicy', 'schedule', 'timeZone']);
  expect(c.metadata.labels).toEqual(cronJob().metadata.labels);
  const kept = bytes(b) + bytes(c) + bytes(pvc);
  expect(before).toBeGreaterThan(20_000);
  expect(kept).toBeLessThan(2_048);
});
