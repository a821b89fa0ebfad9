/**
 * The Backup admission table: permits the CRD must admit and permits it must refuse, each refusal with
 * the message it gives. `crd.test.ts` checks them against the offline model (ajv + CEL) and the constructs'
 * validation; `cluster/admission.test.ts` against the real API server.
 */
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

/** Each refusal: the API server's message (which the offline model reproduces) and the field it names. */
export const INVALID: [name: string, spec: Record<string, unknown>, message: RegExp, field: string][] = [
  ['no shopName', { shopName: undefined }, /spec\.shopName: Required value/, 'spec.shopName'],
  ['no backupTime', { backupTime: undefined }, /spec\.backupTime: Required value/, 'spec.backupTime'],
  ['no vaultLocation', { vaultLocation: undefined }, /spec\.vaultLocation: Required value/, 'spec.vaultLocation'],
  [
    'no vaultCredentialsSecret',
    { vaultCredentialsSecret: undefined },
    /spec\.vaultCredentialsSecret: Required value/,
    'spec.vaultCredentialsSecret',
  ],
  [
    'an upper-case shopName',
    { shopName: 'Bakery' },
    /shopName "Bakery" is not valid: use a DNS-1123 label/,
    'spec.shopName',
  ],
  ['a shopName ending in a dash', { shopName: 'bakery-' }, /shopName "bakery-" is not valid/, 'spec.shopName'],
  ['a shopName with a dot', { shopName: 'bake.ry' }, /shopName "bake.ry" is not valid/, 'spec.shopName'],
  [
    'a shopName of 64 characters',
    { shopName: 'a'.repeat(64) },
    /spec\.shopName: Too long: may not be more than 63 bytes/,
    'spec.shopName',
  ],
  ['a shopName with shell text', { shopName: 'x;rm -rf /' }, /shopName "x;rm -rf \/" is not valid/, 'spec.shopName'],
  [
    'backupTime 25:00',
    { backupTime: '25:00' },
    /backupTime "25:00" is not valid: use "HH:MM" \(24-hour, e\.g\. "02:30"\), a 5-field cron expression/,
    'spec.backupTime',
  ],
  [
    'backupTime 2:30 without a leading zero',
    { backupTime: '2:30' },
    /backupTime "2:30" is not valid/,
    'spec.backupTime',
  ],
  [
    'a window ending at 24:00',
    { backupTime: '01:00-24:00' },
    /backupTime "01:00-24:00" is not valid: .*or a window "HH:MM-HH:MM"/,
    'spec.backupTime',
  ],
  [
    'a window without leading zeros',
    { backupTime: '1:00-5:00' },
    /backupTime "1:00-5:00" is not valid/,
    'spec.backupTime',
  ],
  [
    'a window with spaces',
    { backupTime: '01:00 - 05:00' },
    /backupTime "01:00 - 05:00" is not valid/,
    'spec.backupTime',
  ],
  [
    'a window of three times',
    { backupTime: '01:00-03:00-05:00' },
    /backupTime "01:00-03:00-05:00" is not valid/,
    'spec.backupTime',
  ],
  ['backupTime 12:60', { backupTime: '12:60' }, /backupTime "12:60" is not valid/, 'spec.backupTime'],
  [
    'a 6-field cron expression',
    { backupTime: '0 30 2 * * *' },
    /backupTime "0 30 2 \* \* \*" is not valid/,
    'spec.backupTime',
  ],
  ['a cron minute of 60', { backupTime: '60 2 * * *' }, /backupTime "60 2 \* \* \*" is not valid/, 'spec.backupTime'],
  ['a cron day of week of 7', { backupTime: '0 2 * * 7' }, /backupTime "0 2 \* \* 7" is not valid/, 'spec.backupTime'],
  [
    'an unknown macro',
    { backupTime: '@nightly' },
    /backupTime "@nightly" is not valid: .*@hourly, @daily, @weekly, @monthly, @yearly/,
    'spec.backupTime',
  ],
  [
    'a CRON_TZ prefix',
    { backupTime: 'CRON_TZ=UTC 0 2 * * *' },
    /backupTime "CRON_TZ=UTC 0 2 \* \* \*" is not valid/,
    'spec.backupTime',
  ],
  [
    'a reversed day-of-week range',
    { backupTime: '0 2 * * 5-1' },
    /backupTime "0 2 \* \* 5-1" is not valid: a cron range must run from low to high/,
    'spec.backupTime',
  ],
  [
    'a reversed range of day names',
    { backupTime: '0 2 * * SAT-MON' },
    /backupTime "0 2 \* \* SAT-MON" is not valid: a cron range must run from low to high/,
    'spec.backupTime',
  ],
  [
    'a reversed minute range with a step',
    { backupTime: '30-10/5 2 * * *' },
    /a cron range must run from low to high/,
    'spec.backupTime',
  ],
  [
    'a reversed month range mixing a number and a name',
    { backupTime: '0 2 * 12-FEB *' },
    /a cron range must run from low to high/,
    'spec.backupTime',
  ],
  [
    'a time zone in the wrong case',
    { timeZone: 'europe/rome' },
    /timeZone "europe\/rome" is not a time zone Kubernetes knows: use a name from the IANA time zone database exactly/,
    'spec.timeZone',
  ],
  [
    'an abbreviation only Node knows',
    { timeZone: 'PST' },
    /timeZone "PST" is not a time zone Kubernetes knows/,
    'spec.timeZone',
  ],
  [
    'an upper-case UTC variant',
    { timeZone: 'utc' },
    /timeZone "utc" is not a time zone Kubernetes knows/,
    'spec.timeZone',
  ],
  [
    'a made-up zone',
    { timeZone: 'Mars/Olympus_Mons' },
    /timeZone "Mars\/Olympus_Mons" is not a time zone Kubernetes knows/,
    'spec.timeZone',
  ],
  [
    'a negative memory request',
    { resources: { requests: { memory: '-1Gi' } } },
    /spec\.resources\.requests\.memory: Invalid value: "-1Gi"/,
    'spec.resources.requests.memory',
  ],
  [
    'a negative CPU limit as a number',
    { resources: { limits: { cpu: -1 } } },
    /spec\.resources\.limits\.cpu: Invalid value: .*a quantity must not be negative/,
    'spec.resources.limits.cpu',
  ],
  [
    'a freshness in weeks',
    { freshness: '1w' },
    /freshness "1w" is not valid: use a duration in whole minutes, hours or days/,
    'spec.freshness',
  ],
  ['a freshness without a unit', { freshness: '36' }, /freshness "36" is not valid/, 'spec.freshness'],
  [
    'a time zone with spaces',
    { timeZone: 'Europe/ Rome' },
    /timeZone "Europe\/ Rome" is not valid: use an IANA time zone name/,
    'spec.timeZone',
  ],
  ['a time zone offset', { timeZone: '+02:00' }, /timeZone "\+02:00" is not valid/, 'spec.timeZone'],
  [
    'a vault without a known scheme',
    { vaultLocation: 'ftp://vault/bakery' },
    /vaultLocation "ftp:\/\/vault\/bakery" is not valid: use s3:https:\/\/<host>\/<bucket>/,
    'spec.vaultLocation',
  ],
  [
    'an S3 vault over plain HTTP',
    { vaultLocation: 's3:http://minio:9000/vault' },
    /vaultLocation "s3:http:\/\/minio:9000\/vault" is not valid/,
    'spec.vaultLocation',
  ],
  [
    'a REST vault over plain HTTP',
    { vaultLocation: 'rest:http://vault:8000/' },
    /vaultLocation "rest:http:\/\/vault:8000\/" is not valid/,
    'spec.vaultLocation',
  ],
  [
    'a local path vault',
    { vaultLocation: '/srv/restic' },
    /vaultLocation "\/srv\/restic" is not valid/,
    'spec.vaultLocation',
  ],
  [
    'a PVC vault with an upper-case claim',
    { vaultLocation: 'pvc://Vault/x' },
    /vaultLocation "pvc:\/\/Vault\/x" is not valid/,
    'spec.vaultLocation',
  ],
  [
    'a PVC vault escaping its volume',
    { vaultLocation: 'pvc://vault/../etc' },
    /vaultLocation must not contain a "\.\." path segment/,
    'spec.vaultLocation',
  ],
  [
    'an SFTP vault (the pod has no key or known_hosts)',
    { vaultLocation: 'sftp:backup@vault.mall.internal:/srv/restic' },
    /vaultLocation "sftp:backup@vault\.mall\.internal:\/srv\/restic" is not valid: .*sftp: is not offered/,
    'spec.vaultLocation',
  ],
  [
    'a REST vault with a user and password in the URL',
    { vaultLocation: 'rest:https://alice:s3cret@vault.mall.internal:8000/bakery' },
    new RegExp(
      /vaultLocation must not carry credentials \("user:password@"\): they belong in the Secret named /.source +
        /by vaultCredentialsSecret/.source,
    ),
    'spec.vaultLocation',
  ],
  [
    'a REST vault with a user in the URL',
    { vaultLocation: 'rest:https://alice@vault.mall.internal/bakery' },
    /vaultLocation must not carry credentials/,
    'spec.vaultLocation',
  ],
  [
    'an S3 vault with keys in the URL',
    { vaultLocation: 's3:https://AKIAEXAMPLE:secret@s3.amazonaws.com/mall-vault/bakery' },
    /vaultLocation must not carry credentials .*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:/,
    'spec.vaultLocation',
  ],
  [
    'a vault with shell text',
    { vaultLocation: 's3:https://h/b/$(reboot)' },
    /vaultLocation "s3:https:\/\/h\/b\/\$\(reboot\)" is not valid/,
    'spec.vaultLocation',
  ],
  [
    'a Secret name with upper case',
    { vaultCredentialsSecret: 'Vault' },
    /vaultCredentialsSecret "Vault" is not valid: use a DNS-1123 subdomain/,
    'spec.vaultCredentialsSecret',
  ],
  [
    'an empty volumeClaims list',
    { volumeClaims: [] },
    /spec\.volumeClaims: Invalid value: 0: spec\.volumeClaims in body should have at least 1 items/,
    'spec.volumeClaims',
  ],
  [
    'a repeated volume claim',
    { volumeClaims: ['data', 'data'] },
    /spec\.volumeClaims\[1\]: Duplicate value: "data"/,
    'spec.volumeClaims[1]',
  ],
  [
    'a volume claim with upper case',
    { volumeClaims: ['Data'] },
    /volumeClaims\[\] "Data" is not valid/,
    'spec.volumeClaims[0]',
  ],
  [
    'the vault claim among the volumes',
    { volumeClaims: ['vault', 'data'], vaultLocation: 'pvc://vault/shops' },
    /spec\.volumeClaims: Invalid value: the vault claim named in vaultLocation must not also be listed in volumeClaims/,
    'spec.volumeClaims',
  ],
  [
    'keepLast 0',
    { retention: { keepLast: 0 } },
    new RegExp(
      /spec\.retention\.keepLast: Invalid value: 0: spec\.retention\.keepLast in body should be /.source +
        /greater than or equal to 1/.source,
    ),
    'spec.retention.keepLast',
  ],
  [
    'a negative keepDaily',
    { retention: { keepDaily: -1 } },
    new RegExp(
      /spec\.retention\.keepDaily: Invalid value: -1: spec\.retention\.keepDaily in body should be /.source +
        /greater than or equal to 1/.source,
    ),
    'spec.retention.keepDaily',
  ],
  [
    'a retention floor in the Backup (the cluster sets it, no Backup can lower it)',
    { retention: { keepWithin: '1h' } },
    /unknown field "spec\.retention\.keepWithin"/,
    'spec.retention.keepWithin',
  ],
  [
    'an unknown retention rule',
    { retention: { keepYearly: 2 } },
    /unknown field "spec\.retention\.keepYearly"/,
    'spec.retention.keepYearly',
  ],
  [
    'concurrencyPolicy Allow',
    { concurrencyPolicy: 'Allow' },
    /spec\.concurrencyPolicy: Unsupported value: "Allow": supported values: "Forbid", "Replace"/,
    'spec.concurrencyPolicy',
  ],
  [
    'a string for suspend',
    { suspend: 'yes' },
    /spec\.suspend: Invalid value: "string": spec\.suspend in body must be of type boolean/,
    'spec.suspend',
  ],
  [
    'a starting deadline under 10 s',
    { startingDeadlineSeconds: 5 },
    new RegExp(
      /spec\.startingDeadlineSeconds: Invalid value: 5: spec\.startingDeadlineSeconds in body should /.source +
        /be greater than or equal to 10/.source,
    ),
    'spec.startingDeadlineSeconds',
  ],
  [
    'an active deadline of 0',
    { activeDeadlineSeconds: 0 },
    new RegExp(
      /spec\.activeDeadlineSeconds: Invalid value: 0: spec\.activeDeadlineSeconds in body should be /.source +
        /greater than or equal to 1/.source,
    ),
    'spec.activeDeadlineSeconds',
  ],
  [
    'a backoff limit of 11',
    { backoffLimit: 11 },
    /spec\.backoffLimit: Invalid value: 11: spec\.backoffLimit in body should be less than or equal to 10/,
    'spec.backoffLimit',
  ],
  [
    'a malformed memory quantity',
    { resources: { limits: { memory: '1 GB' } } },
    /spec\.resources\.limits\.memory: Invalid value: "1 GB": spec\.resources\.limits\.memory in body should match '/,
    'spec.resources.limits.memory',
  ],
  [
    'a GPU resource',
    { resources: { limits: { 'nvidia.com/gpu': 1 } } },
    /unknown field "spec\.resources\.limits\.nvidia\.com\/gpu"/,
    'spec.resources.limits.nvidia.com/gpu',
  ],
  [
    'runAsUser 0',
    { securityContext: { runAsUser: 0 } },
    new RegExp(
      /spec\.securityContext\.runAsUser: Invalid value: 0: spec\.securityContext\.runAsUser in body /.source +
        /should be greater than or equal to 1/.source,
    ),
    'spec.securityContext.runAsUser',
  ],
  [
    'a privileged securityContext',
    { securityContext: { privileged: true } },
    /unknown field "spec\.securityContext\.privileged"/,
    'spec.securityContext.privileged',
  ],
  ['an unknown spec field', { schedule: '0 2 * * *' }, /unknown field "spec\.schedule"/, 'spec.schedule'],
  ['verification without a schedule', { verify: {} }, /spec\.verify\.schedule: Required value/, 'spec.verify.schedule'],
  [
    'a verification schedule of 25:00',
    { verify: { schedule: '25:00' } },
    /verify\.schedule "25:00" is not valid: use "HH:MM" \(24-hour, e\.g\. "02:30"\)/,
    'spec.verify.schedule',
  ],
  [
    'a fixed group n/m as the subset',
    { verify: { schedule: '@weekly', readDataSubset: '1/5' } },
    new RegExp(
      String.raw`verify\.readDataSubset "1\/5" is not valid: a fixed group n\/m would read the same ` +
        String.raw`pack files on every scheduled run`,
    ),
    'spec.verify.readDataSubset',
  ],
  [
    'a subset of 0%',
    { verify: { schedule: '@weekly', readDataSubset: '0%' } },
    /verify\.readDataSubset "0%" is not valid: use a percentage of the pack files above 0 and at most 100/,
    'spec.verify.readDataSubset',
  ],
  [
    'a subset above 100%',
    { verify: { schedule: '@weekly', readDataSubset: '150%' } },
    /verify\.readDataSubset "150%" is not valid/,
    'spec.verify.readDataSubset',
  ],
  [
    'a subset without the percent sign',
    { verify: { schedule: '@weekly', readDataSubset: '5' } },
    /verify\.readDataSubset "5" is not valid/,
    'spec.verify.readDataSubset',
  ],
  [
    'an unknown verify field',
    { verify: { schedule: '@weekly', every: '7d' } },
    /unknown field "spec\.verify\.every"/,
    'spec.verify.every',
  ],
];
