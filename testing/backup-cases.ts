/**
 * The Backup admission table: permits the CRD must admit and permits it must refuse, each refusal with
 * the message it gives. `crd.test.ts` checks them against the offline model (ajv + CEL) and the constructs'
 * validation; `cluster/admission.test.ts` against the real API server. The refusals are tables by the kind of
 * message (testing/backup-refusals.ts).
 */
export { INVALID } from './backup-refusals';

export const minimalSpec = {
  shopName: 'bakery',
  backupTime: '02:30',
  vaultLocation: 's3:https://s3.amazonaws.com/mall-vault/bakery',
  vaultCredentialsSecret: 'bakery-vault',
};
/** A Backup with `spec` over the minimal spec; a field set to undefined is left out. */
export function backup(spec: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...minimalSpec, ...spec };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: { name: 'b', namespace: 'shops' },
    spec: merged,
  };
}

export const VALID: [string, Record<string, unknown>][] = [
  ['the minimal permit', {}],
  ['midnight', { backupTime: '00:00' }],
  ['one minute to midnight', { backupTime: '23:59' }],
  ['a cron expression with ranges and steps', { backupTime: '*/15 1-5 * * MON-FRI' }],
  ['a cron expression with lists and month names', { backupTime: '0 3 1,15 JAN,JUL *' }],
  ['@weekly', { backupTime: '@weekly' }],
  ['names in any letter case', { backupTime: '0 3 * jan,Jul mon-Fri' }],
  ['? for any day, as Kubernetes reads it', { backupTime: '0 3 ? * ?' }],
  ['a numeric-prefix step (5-59/15)', { backupTime: '5/15 2 * * *' }],
  ['a step larger than its field', { backupTime: '*/90 */30 * * *' }],
  ['a one-value range and a full day-of-week range', { backupTime: '7-7 2 * * 0-6' }],
  ['a window', { backupTime: '01:00-05:00' }],
  ['a window crossing midnight', { backupTime: '23:30-01:15' }],
  ['a window of the whole day', { backupTime: '00:00-00:00' }],
  ['a legacy zone name Go knows', { timeZone: 'US/Eastern' }],
  ['an old name of a zone', { timeZone: 'Asia/Calcutta' }],
  ['a freshness objective', { freshness: '36h' }],
  ['weekly verification with the default subset', { verify: { schedule: '0 3 * * 0' } }],
  ['verification in a window, reading 0.5%', { verify: { schedule: '03:00-05:00', readDataSubset: '0.5%' } }],
  ['verification reading everything', { verify: { schedule: '@monthly', readDataSubset: '100%' } }],
  ['verification reading 5.5%', { verify: { schedule: '@weekly', readDataSubset: '5.5%' } }],
  ['a time zone with three parts', { timeZone: 'America/Argentina/Buenos_Aires' }],
  ['an Etc zone', { timeZone: 'Etc/GMT+3' }],
  ['a REST vault with a port', { vaultLocation: 'rest:https://vault.mall.internal:8000/bakery' }],
  ['an S3 vault with a port', { vaultLocation: 's3:https://127.0.0.1:9000/vault/shops/bakery' }],
  ['an Azure vault', { vaultLocation: 'azure:mall-vault:/bakery' }],
  ['a GCS vault', { vaultLocation: 'gs:mall-vault:/bakery' }],
  ['a B2 vault', { vaultLocation: 'b2:mall-vault:bakery' }],
  ['a PVC vault', { vaultLocation: 'pvc://mall-vault/bakery' }],
  [
    'named volume claims and a PVC vault apart from them',
    { volumeClaims: ['bakery-data', 'bakery.db'], vaultLocation: 'pvc://vault' },
  ],
  [
    'every optional field',
    {
      timeZone: 'Europe/Rome',
      retention: { keepLast: 1, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
      suspend: true,
      concurrencyPolicy: 'Replace',
      startingDeadlineSeconds: 10,
      activeDeadlineSeconds: 3600,
      backoffLimit: 0,
      resources: {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: { cpu: 1, memory: '1Gi', 'ephemeral-storage': '2Gi' },
      },
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
    },
  ],
];
