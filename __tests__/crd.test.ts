import { parse } from '@bufbuild/cel';
import { validateBackupName, validateBackupSpec } from '../lib/backup-validation';
import { BackupAdmission, Schema } from './support/backup-admission';
import { allObjects, backupCrdOf, backupSchemaOf, synthDefaultApp } from './support/synth';

const objects = allObjects(synthDefaultApp());
const crd = backupCrdOf(objects);
const schema = backupSchemaOf(objects);
const admission = new BackupAdmission(schema);

const minimalSpec = {
  shopName: 'bakery',
  backupTime: '02:30',
  vaultLocation: 's3:https://s3.amazonaws.com/mall-vault/bakery',
  vaultCredentialsSecret: 'bakery-vault',
};
/** A Backup with `spec` over the minimal spec; a field set to undefined is left out. */
function backup(spec: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...minimalSpec, ...spec };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return { apiVersion: 'mall.example.com/v1alpha1', kind: 'Backup', metadata: { name: 'b', namespace: 'shops' }, spec: merged };
}

/** Every node of a schema with its path. */
function* nodes(s: Schema, at = ''): Generator<[string, Schema]> {
  yield [at, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* nodes(v, `${at}.${k}`);
  if (s.items) yield* nodes(s.items, `${at}[]`);
}

describe('the Backup CRD', () => {
  test('names, scope, version and status subresource', () => {
    expect(crd.metadata.name).toBe('backups.mall.example.com');
    expect(crd.spec.group).toBe('mall.example.com');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toEqual({
      kind: 'Backup', listKind: 'BackupList', plural: 'backups', singular: 'backup', shortNames: ['bks'], categories: ['mall'],
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  test('printer columns: Shop, Time, Phase, Last Success, Next, Age, and Vault at priority 1', () => {
    const columns = crd.spec.versions[0].additionalPrinterColumns;
    expect(columns.filter((c: any) => !c.priority).map((c: any) => c.name)).toEqual(['Shop', 'Time', 'Phase', 'Last Success', 'Next', 'Age']);
    expect(columns.find((c: any) => c.name === 'Vault')).toMatchObject({ priority: 1, jsonPath: '.spec.vaultLocation' });
  });

  test('the schema is structural: every node has a type (or is int-or-string) and a description', () => {
    const problems: string[] = [];
    for (const [at, node] of nodes(schema)) {
      if (!node.type && !node['x-kubernetes-int-or-string']) problems.push(`${at}: no type`);
      if (!node.description && !at.endsWith('[]')) problems.push(`${at}: no description`);
      if (node['x-kubernetes-preserve-unknown-fields']) problems.push(`${at}: preserves unknown fields`);
      if (node.uniqueItems) problems.push(`${at}: uniqueItems is forbidden in structural schemas`);
    }
    expect(problems).toEqual([]);
  });

  test('spec requires shopName, backupTime, vaultLocation and vaultCredentialsSecret', () => {
    expect(schema.properties!.spec.required).toEqual(['shopName', 'backupTime', 'vaultLocation', 'vaultCredentialsSecret']);
  });

  test('every CEL rule parses and stays within what @bufbuild/cel and the API server both support', () => {
    const rules = [...nodes(schema)].flatMap(([, n]) => n['x-kubernetes-validations'] ?? []);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(() => parse(rule.rule)).not.toThrow();
      if (rule.messageExpression) expect(() => parse(rule.messageExpression!)).not.toThrow();
      expect(rule.rule).not.toMatch(/\.\?/); // optional field selection: not in @bufbuild/cel
      expect(rule.rule).not.toMatch(/\b(quantity|url|ip|cidr|isSorted|lowerAscii|split|format)\(/); // Kubernetes CEL libraries
    }
  });

  test('defaults are applied: time zone, retention, suspend, concurrency, backoff', () => {
    const { allowed, object } = admission.admit(backup({}));
    expect(allowed).toBe(true);
    expect(object.spec).toMatchObject({
      timeZone: 'UTC', retention: { keepLast: 7 }, suspend: false, concurrencyPolicy: 'Forbid', backoffLimit: 2,
    });
  });

  test('retention given without keepLast still keeps the newest 7', () => {
    expect(admission.admit(backup({ retention: { keepDaily: 3 } })).object.spec.retention).toEqual({ keepDaily: 3, keepLast: 7 });
  });
});

const VALID: [string, Record<string, unknown>][] = [
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
  ['a time zone with three parts', { timeZone: 'America/Argentina/Buenos_Aires' }],
  ['an Etc zone', { timeZone: 'Etc/GMT+3' }],
  ['a REST vault with a port', { vaultLocation: 'rest:https://vault.mall.internal:8000/bakery' }],
  ['an S3 vault with a port', { vaultLocation: 's3:https://127.0.0.1:9000/vault/shops/bakery' }],
  ['an Azure vault', { vaultLocation: 'azure:mall-vault:/bakery' }],
  ['a GCS vault', { vaultLocation: 'gs:mall-vault:/bakery' }],
  ['a B2 vault', { vaultLocation: 'b2:mall-vault:bakery' }],
  ['an SFTP vault', { vaultLocation: 'sftp:backup@vault.mall.internal:/srv/restic' }],
  ['a PVC vault', { vaultLocation: 'pvc://mall-vault/bakery' }],
  ['named volume claims and a PVC vault apart from them', { volumeClaims: ['bakery-data', 'bakery.db'], vaultLocation: 'pvc://vault' }],
  ['every optional field', {
    timeZone: 'Europe/Rome', retention: { keepLast: 1, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 }, suspend: true,
    concurrencyPolicy: 'Replace', startingDeadlineSeconds: 10, activeDeadlineSeconds: 3600, backoffLimit: 0,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 1, memory: '1Gi', 'ephemeral-storage': '2Gi' } },
    securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
  }],
];

const INVALID: [string, Record<string, unknown>, RegExp][] = [
  ['no shopName', { shopName: undefined }, /spec\.shopName: Required value/],
  ['no backupTime', { backupTime: undefined }, /spec\.backupTime: Required value/],
  ['no vaultLocation', { vaultLocation: undefined }, /spec\.vaultLocation: Required value/],
  ['no vaultCredentialsSecret', { vaultCredentialsSecret: undefined }, /spec\.vaultCredentialsSecret: Required value/],
  ['an upper-case shopName', { shopName: 'Bakery' }, /shopName "Bakery" is not valid: use a DNS-1123 label/],
  ['a shopName ending in a dash', { shopName: 'bakery-' }, /shopName "bakery-" is not valid/],
  ['a shopName with a dot', { shopName: 'bake.ry' }, /shopName "bake.ry" is not valid/],
  ['a shopName of 64 characters', { shopName: 'a'.repeat(64) }, /spec\.shopName: Invalid value: .*: must NOT have more than 63 characters/],
  ['a shopName with shell text', { shopName: 'x;rm -rf /' }, /shopName "x;rm -rf \/" is not valid/],
  ['backupTime 25:00', { backupTime: '25:00' }, /backupTime "25:00" is not valid: use "HH:MM" \(24-hour, e\.g\. "02:30"\), a 5-field cron expression/],
  ['backupTime 2:30 without a leading zero', { backupTime: '2:30' }, /backupTime "2:30" is not valid/],
  ['a window ending at 24:00', { backupTime: '01:00-24:00' }, /backupTime "01:00-24:00" is not valid: .*or a window "HH:MM-HH:MM"/],
  ['a window without leading zeros', { backupTime: '1:00-5:00' }, /backupTime "1:00-5:00" is not valid/],
  ['a window with spaces', { backupTime: '01:00 - 05:00' }, /backupTime "01:00 - 05:00" is not valid/],
  ['a window of three times', { backupTime: '01:00-03:00-05:00' }, /backupTime "01:00-03:00-05:00" is not valid/],
  ['backupTime 12:60', { backupTime: '12:60' }, /backupTime "12:60" is not valid/],
  ['a 6-field cron expression', { backupTime: '0 30 2 * * *' }, /backupTime "0 30 2 \* \* \*" is not valid/],
  ['a cron minute of 60', { backupTime: '60 2 * * *' }, /backupTime "60 2 \* \* \*" is not valid/],
  ['a cron day of week of 7', { backupTime: '0 2 * * 7' }, /backupTime "0 2 \* \* 7" is not valid/],
  ['an unknown macro', { backupTime: '@nightly' }, /backupTime "@nightly" is not valid: .*@hourly, @daily, @weekly, @monthly, @yearly/],
  ['a CRON_TZ prefix', { backupTime: 'CRON_TZ=UTC 0 2 * * *' }, /backupTime "CRON_TZ=UTC 0 2 \* \* \*" is not valid/],
  ['a reversed day-of-week range', { backupTime: '0 2 * * 5-1' }, /backupTime "0 2 \* \* 5-1" is not valid: a cron range must run from low to high/],
  ['a reversed range of day names', { backupTime: '0 2 * * SAT-MON' }, /backupTime "0 2 \* \* SAT-MON" is not valid: a cron range must run from low to high/],
  ['a reversed minute range with a step', { backupTime: '30-10/5 2 * * *' }, /a cron range must run from low to high/],
  ['a reversed month range mixing a number and a name', { backupTime: '0 2 * 12-FEB *' }, /a cron range must run from low to high/],
  ['a time zone in the wrong case', { timeZone: 'europe/rome' }, /timeZone "europe\/rome" is not a time zone Kubernetes knows: use a name from the IANA time zone database exactly/],
  ['an abbreviation only Node knows', { timeZone: 'PST' }, /timeZone "PST" is not a time zone Kubernetes knows/],
  ['an upper-case UTC variant', { timeZone: 'utc' }, /timeZone "utc" is not a time zone Kubernetes knows/],
  ['a made-up zone', { timeZone: 'Mars/Olympus_Mons' }, /timeZone "Mars\/Olympus_Mons" is not a time zone Kubernetes knows/],
  ['a negative memory request', { resources: { requests: { memory: '-1Gi' } } }, /spec\.resources\.requests\.memory: Invalid value: "-1Gi": must match pattern/],
  ['a negative CPU limit as a number', { resources: { limits: { cpu: -1 } } }, /spec\.resources\.limits\.cpu: Invalid value: a quantity must not be negative/],
  ['a time zone with spaces', { timeZone: 'Europe/ Rome' }, /timeZone "Europe\/ Rome" is not valid: use an IANA time zone name/],
  ['a time zone offset', { timeZone: '+02:00' }, /timeZone "\+02:00" is not valid/],
  ['a vault without a known scheme', { vaultLocation: 'ftp://vault/bakery' }, /vaultLocation "ftp:\/\/vault\/bakery" is not valid: use s3:https:\/\/<host>\/<bucket>/],
  ['an S3 vault over plain HTTP', { vaultLocation: 's3:http://minio:9000/vault' }, /vaultLocation "s3:http:\/\/minio:9000\/vault" is not valid/],
  ['a REST vault over plain HTTP', { vaultLocation: 'rest:http://vault:8000/' }, /vaultLocation "rest:http:\/\/vault:8000\/" is not valid/],
  ['a local path vault', { vaultLocation: '/srv/restic' }, /vaultLocation "\/srv\/restic" is not valid/],
  ['a PVC vault with an upper-case claim', { vaultLocation: 'pvc://Vault/x' }, /vaultLocation "pvc:\/\/Vault\/x" is not valid/],
  ['a PVC vault escaping its volume', { vaultLocation: 'pvc://vault/../etc' }, /vaultLocation must not contain a "\.\." path segment/],
  ['a vault with shell text', { vaultLocation: 's3:https://h/b/$(reboot)' }, /vaultLocation "s3:https:\/\/h\/b\/\$\(reboot\)" is not valid/],
  ['a Secret name with upper case', { vaultCredentialsSecret: 'Vault' }, /vaultCredentialsSecret "Vault" is not valid: use a DNS-1123 subdomain/],
  ['an empty volumeClaims list', { volumeClaims: [] }, /spec\.volumeClaims: Invalid value: \[\]: must NOT have fewer than 1 items/],
  ['a repeated volume claim', { volumeClaims: ['data', 'data'] }, /spec\.volumeClaims\[1\]: Duplicate value: "data"/],
  ['a volume claim with upper case', { volumeClaims: ['Data'] }, /volumeClaims\[\] "Data" is not valid/],
  ['the vault claim among the volumes', { volumeClaims: ['vault', 'data'], vaultLocation: 'pvc://vault/shops' }, /spec\.volumeClaims: Invalid value: the vault claim named in vaultLocation must not also be listed in volumeClaims/],
  ['keepLast 0', { retention: { keepLast: 0 } }, /spec\.retention\.keepLast: Invalid value: 0: must be >= 1/],
  ['a negative keepDaily', { retention: { keepDaily: -1 } }, /spec\.retention\.keepDaily: Invalid value: -1: must be >= 1/],
  ['an unknown retention rule', { retention: { keepYearly: 2 } }, /spec\.retention\.keepYearly: unknown field/],
  ['concurrencyPolicy Allow', { concurrencyPolicy: 'Allow' }, /spec\.concurrencyPolicy: Unsupported value: supported values: "Forbid", "Replace"/],
  ['a string for suspend', { suspend: 'yes' }, /spec\.suspend: Invalid value: "yes": must be boolean/],
  ['a starting deadline under 10 s', { startingDeadlineSeconds: 5 }, /spec\.startingDeadlineSeconds: Invalid value: 5: must be >= 10/],
  ['an active deadline of 0', { activeDeadlineSeconds: 0 }, /spec\.activeDeadlineSeconds: Invalid value: 0: must be >= 1/],
  ['a backoff limit of 11', { backoffLimit: 11 }, /spec\.backoffLimit: Invalid value: 11: must be <= 10/],
  ['a malformed memory quantity', { resources: { limits: { memory: '1 GB' } } }, /spec\.resources\.limits\.memory: Invalid value: "1 GB": must match pattern/],
  ['a GPU resource', { resources: { limits: { 'nvidia.com/gpu': 1 } } }, /spec\.resources\.limits\.nvidia\.com\/gpu: unknown field/],
  ['runAsUser 0', { securityContext: { runAsUser: 0 } }, /spec\.securityContext\.runAsUser: Invalid value: 0: must be >= 1/],
  ['a privileged securityContext', { securityContext: { privileged: true } }, /spec\.securityContext\.privileged: unknown field/],
  ['an unknown spec field', { schedule: '0 2 * * *' }, /spec\.schedule: unknown field/],
];

describe('Backup objects the CRD admits', () => {
  test(`at least 10 valid cases (${VALID.length})`, () => expect(VALID.length).toBeGreaterThanOrEqual(10));
  test.each(VALID)('admits %s', (_, spec) => {
    expect(admission.admit(backup(spec)).errors).toEqual([]);
  });
});

describe('Backup objects the CRD rejects', () => {
  test('a name longer than a label value (63), which would make every CronJob and Job it labels fail', () => {
    const long = { ...backup({}), metadata: { name: 'a'.repeat(64), namespace: 'shops' } };
    expect(admission.admit(long).errors).toEqual([expect.stringMatching(/Invalid value: metadata\.name is too long: at most 63 characters/)]);
    expect(admission.admit({ ...long, metadata: { name: 'a'.repeat(63), namespace: 'shops' } }).errors).toEqual([]);
    expect(validateBackupName('a'.repeat(64))).toEqual([expect.stringContaining('is 64 characters long: at most 63 allowed')]);
  });

  test(`at least 30 invalid cases (${INVALID.length})`, () => expect(INVALID.length).toBeGreaterThanOrEqual(30));
  test.each(INVALID)('rejects %s', (_, spec, message) => {
    const result = admission.admit(backup(spec));
    expect(result.allowed).toBe(false);
    expect(result.errors.join('\n')).toMatch(message);
  });

  test('rejects a change of shopName and allows other changes', () => {
    const old = backup({});
    expect(admission.admit(backup({ shopName: 'florist' }), old).errors)
      .toEqual(['spec.shopName: Invalid value: shopName is immutable: file a new Backup for another shop']);
    expect(admission.admit(backup({ backupTime: '04:00' }), old).errors).toEqual([]);
  });

  test('rejects an unknown top-level field and a Backup without spec', () => {
    expect(admission.admit({ ...backup({}), extra: 1 }).errors).toEqual(['extra: unknown field']);
    expect(admission.admit({ apiVersion: 'mall.example.com/v1alpha1', kind: 'Backup', metadata: { name: 'b' } }).errors).toEqual(['spec: Required value']);
  });
});

describe('the constructs\' validation agrees with the CRD', () => {
  test.each(VALID)('accepts %s', (_, spec) => {
    expect(validateBackupSpec(backup(spec).spec)).toEqual([]);
  });
  test.each(INVALID)('rejects %s', (_, spec) => {
    expect(validateBackupSpec(backup(spec).spec)).not.toEqual([]);
  });
  test('and also compares requests with limits, which the schema cannot', () => {
    const spec = backup({ resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }) as { spec: unknown };
    expect(admission.admit(spec).allowed).toBe(true);
    expect(validateBackupSpec(spec.spec)).toEqual(['spec.resources.requests.memory "2Gi" is above limits.memory "1Gi": a request may not exceed its limit']);
  });
});
