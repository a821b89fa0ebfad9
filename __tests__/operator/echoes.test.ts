/** A Backup's own writes coming back through the watch are not reconciled again; anything else still is. */
import { BACKUP_LABEL, BACKUP_UID_LABEL } from '../../lib/run/backup-names';
import { Echoes } from '../../operator/controller/echoes';
import type { KubeObject } from '../../operator/controller/types';
import type { LastApplied } from '../../operator/controller/writer';

const backup = (resourceVersion: string): KubeObject => ({
  metadata: { namespace: 'mall', name: 'bakery', uid: 'uid-1', resourceVersion },
});
const cronJob = (resourceVersion: string): KubeObject => ({
  metadata: {
    namespace: 'mall',
    name: 'backup-bakery',
    resourceVersion,
    labels: { [BACKUP_UID_LABEL]: 'uid-1', [BACKUP_LABEL]: 'bakery' },
  },
});

test('its status write and CronJob apply coming back after the reconcile ended are no news; other versions are', () => {
  const applied: LastApplied = new Map();
  const echoes = new Echoes(applied);
  echoes.begin('mall/bakery');
  applied.set('uid-1', { inputs: 'x', resourceVersion: '11' });
  expect(echoes.end('mall/bakery', 'uid-1', '12')).toBe(false);
  expect(echoes.of('cronjobs', cronJob('11'))).toBe('mall/bakery');
  expect(echoes.of('backups', backup('12'))).toBe('mall/bakery');
  // Someone else's later change (or the same version seen again after a relist) is news.
  expect(echoes.of('backups', backup('13'))).toBeUndefined();
  expect(echoes.of('backups', backup('12'))).toBeUndefined();
  expect(echoes.of('cronjobs', cronJob('14'))).toBeUndefined();
  // Objects that are neither a Backup nor its CronJob are not judged here.
  expect(echoes.of('jobs', cronJob('11'))).toBeUndefined();
});

test('seen while its reconcile runs: held back, then queued again only if one was not its own write', () => {
  const applied: LastApplied = new Map();
  const echoes = new Echoes(applied);
  echoes.begin('mall/bakery');
  // The watch can deliver the write before its answer arrives.
  expect(echoes.of('cronjobs', cronJob('21'))).toBe('mall/bakery');
  expect(echoes.of('backups', backup('22'))).toBe('mall/bakery');
  applied.set('uid-1', { inputs: 'x', resourceVersion: '21' });
  expect(echoes.end('mall/bakery', 'uid-1', '22')).toBe(false);

  echoes.begin('mall/bakery');
  expect(echoes.of('backups', backup('30'))).toBe('mall/bakery');
  expect(echoes.end('mall/bakery', 'uid-1', '31')).toBe(true);
  // A reconcile that failed before writing: whatever came meanwhile is news.
  echoes.begin('mall/bakery');
  expect(echoes.of('backups', backup('31'))).toBe('mall/bakery');
  expect(echoes.end('mall/bakery', undefined, undefined)).toBe(false);
  echoes.begin('mall/bakery');
  expect(echoes.of('backups', backup('40'))).toBe('mall/bakery');
  expect(echoes.end('mall/bakery', undefined, undefined)).toBe(true);
});

test('a CronJob cached as last applied loses its job template; another version keeps it', () => {
  const applied: LastApplied = new Map([['uid-1', { inputs: 'x', resourceVersion: '11' }]]);
  const echoes = new Echoes(applied);
  const withTemplate = (rv: string): KubeObject => ({
    ...cronJob(rv),
    spec: { schedule: '1 2 * * *', jobTemplate: { spec: { template: {} } } },
  });
  const edited = withTemplate('12');
  echoes.trimApplied(edited);
  expect(edited.spec.jobTemplate).toBeDefined();
  const ours = withTemplate('11');
  echoes.trimApplied(ours);
  expect(ours.spec).toEqual({ schedule: '1 2 * * *' });
});
