import { parse } from '@bufbuild/cel';
import { Testing } from 'cdk8s';
import { RestoreSpecTargetNewClaimsSize } from '../imports/mall.example.com';
import { validateRestoreName, validateRestoreSpec } from '../lib/permits/restore-validation';
import { ShopRestore } from '../lib/permits/shop-restore';
import { BackupAdmission, Schema } from '../testing/backup-admission';
import { allObjects, synthDefaultApp } from '../testing/synth';

const crd = allObjects(synthDefaultApp()).find(
  (o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === 'restores.mall.example.com',
)!;
const schema: Schema = crd.spec.versions[0].schema.openAPIV3Schema;
const admission = new BackupAdmission(schema);

const minimalSpec = { backupName: 'bakery', target: { newClaims: { size: '10Gi' } } };
function restore(spec: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...minimalSpec, ...spec };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Restore',
    metadata: { name: 'r', namespace: 'shops' },
    spec: merged,
  };
}

function* nodes(s: Schema, at = ''): Generator<[string, Schema]> {
  yield [at, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* nodes(v, `${at}.${k}`);
  if (s.items) yield* nodes(s.items, `${at}[]`);
}

describe('the Restore CRD', () => {
  test('names, scope, version, status subresource and columns', () => {
    expect(crd.spec.names).toEqual({
      kind: 'Restore',
      listKind: 'RestoreList',
      plural: 'restores',
      singular: 'restore',
      shortNames: ['rsts'],
      categories: ['mall'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions[0]).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    const columns = crd.spec.versions[0].additionalPrinterColumns;
    expect(columns.filter((c: any) => !c.priority).map((c: any) => c.name)).toEqual([
      'Backup',
      'Phase',
      'Snapshot',
      'Age',
    ]);
  });

  test('structural, described, and every CEL rule parses within what @bufbuild/cel and the API server share', () => {
    const problems: string[] = [];
    for (const [at, node] of nodes(schema)) {
      if (!node.type && !node['x-kubernetes-int-or-string']) problems.push(`${at}: no type`);
      // metadata is the exception: the API server refuses any word about it beyond its type.
      if (!node.description && !at.endsWith('[]') && at !== '.metadata') problems.push(`${at}: no description`);
    }
    expect(problems).toEqual([]);
    const rules = [...nodes(schema)].flatMap(([, n]) => n['x-kubernetes-validations'] ?? []);
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const rule of rules) {
      expect(() => parse(rule.rule)).not.toThrow();
      expect(rule.rule).not.toMatch(/\.\?/);
    }
  });

  test('a name longer than a label value (63), which labels its Job, pods and new claims, is refused', () => {
    const long = { ...restore({}), metadata: { name: 'a'.repeat(64), namespace: 'shops' } };
    expect(admission.admit(long).errors).toEqual([
      expect.stringMatching(/Invalid value: metadata\.name is too long: at most 63 characters/),
    ]);
    expect(admission.admit({ ...long, metadata: { name: 'a'.repeat(63), namespace: 'shops' } }).errors).toEqual([]);
    expect(validateRestoreName('a'.repeat(64))).toEqual([
      expect.stringContaining('is 64 characters long: at most 63 allowed'),
    ]);
    expect(validateRestoreName('a'.repeat(63))).toEqual([]);
  });

  test('a Restore cannot be changed once filed', () => {
    const old = restore({});
    expect(admission.admit(restore({ snapshotID: '4f3c2a1b' }), old).errors).toEqual([
      'spec: Invalid value: a Restore cannot be changed once filed: file a new one',
    ]);
    expect(admission.admit(restore({}), old).errors).toEqual([]);
  });
});

const VALID: [string, Record<string, unknown>][] = [
  ['the minimal permit: latest snapshot into new claims', {}],
  ['a snapshot ID prefix', { snapshotID: '4f3c2a1b' }],
  ['a full snapshot ID', { snapshotID: 'a'.repeat(64) }],
  ['a point in time in UTC', { pointInTime: '2024-05-01T02:00:00Z' }],
  ['a point in time with an offset', { pointInTime: '2024-05-01T04:00:00+02:00' }],
  ['chosen claims', { claims: ['bakery-data', 'bakery.db'] }],
  ['new claims with a storage class', { target: { newClaims: { size: 1073741824, storageClassName: 'fast-ssd' } } }],
  ['an existing claim', { target: { existingClaim: 'scratch' }, claims: ['bakery-data'] }],
  ['in place', { target: { inPlace: true } }],
  ['a deadline', { activeDeadlineSeconds: 3600 }],
];

const INVALID: [string, Record<string, unknown>, RegExp][] = [
  ['no backupName', { backupName: undefined }, /spec\.backupName: Required value/],
  ['no target', { target: undefined }, /spec\.target: Required value/],
  ['an upper-case backupName', { backupName: 'Bakery' }, /backupName "Bakery" is not valid: use a DNS-1123 subdomain/],
  [
    'a snapshot ID with upper case',
    { snapshotID: '4F3C2A1B' },
    /snapshotID "4F3C2A1B" is not valid: use a restic snapshot ID/,
  ],
  ['a snapshot ID too short', { snapshotID: '4f3c' }, /snapshotID "4f3c" is not valid/],
  ['latest spelled out as an ID', { snapshotID: 'latest' }, /snapshotID "latest" is not valid/],
  ['a snapshot ID with shell text', { snapshotID: '4f3c2a1b;reboot' }, /snapshotID "4f3c2a1b;reboot" is not valid/],
  [
    'a date without a time',
    { pointInTime: '2024-05-01' },
    /spec\.pointInTime: Invalid value: "2024-05-01": must match format "date-time"/,
  ],
  [
    'both an ID and a point in time',
    { snapshotID: '4f3c2a1b', pointInTime: '2024-05-01T02:00:00Z' },
    /spec\.pointInTime: Invalid value: give snapshotID or pointInTime, not both/,
  ],
  [
    'an empty claims list',
    { claims: [] },
    /spec\.claims: Invalid value: 0: spec\.claims in body should have at least 1 items/,
  ],
  ['a repeated claim', { claims: ['a', 'a'] }, /spec\.claims\[1\]: Duplicate value: "a"/],
  ['a claim with upper case', { claims: ['Data'] }, /claims\[\] "Data" is not valid/],
  [
    'no target kind',
    { target: {} },
    /spec\.target: Invalid value: target must name exactly one of newClaims, existingClaim, inPlace/,
  ],
  [
    'two target kinds',
    { target: { existingClaim: 'x', inPlace: true } },
    /target must name exactly one of newClaims, existingClaim, inPlace/,
  ],
  [
    'inPlace false',
    { target: { inPlace: false } },
    /spec\.target\.inPlace: Invalid value: false: inPlace may only be true/,
  ],
  ['new claims without a size', { target: { newClaims: {} } }, /spec\.target\.newClaims\.size: Required value/],
  [
    'a malformed size',
    { target: { newClaims: { size: '10 GB' } } },
    /spec\.target\.newClaims\.size: Invalid value: "10 GB": spec\.target\.newClaims\.size in body should match /,
  ],
  [
    'a storage class with upper case',
    { target: { newClaims: { size: '1Gi', storageClassName: 'Fast' } } },
    /storageClassName "Fast" is not valid/,
  ],
  [
    'an existing claim that is also restored',
    { target: { existingClaim: 'a' }, claims: ['a', 'b'] },
    /spec\.target\.existingClaim: Invalid value: target\.existingClaim must not be one of the claims restored/,
  ],
  [
    'a deadline of 0',
    { activeDeadlineSeconds: 0 },
    new RegExp(
      /spec\.activeDeadlineSeconds: Invalid value: 0: spec\.activeDeadlineSeconds in body should be /.source +
        /greater than or equal to 1/.source,
    ),
  ],
  ['an unknown field', { overwrite: true }, /unknown field "spec\.overwrite"/],
  ['an unknown target', { target: { bucket: 's3://x' } }, /unknown field "spec\.target\.bucket"/],
];

describe('Restore objects the CRD admits', () => {
  test.each(VALID)('%s', (_, spec) => expect(admission.admit(restore(spec)).errors).toEqual([]));
});

describe('Restore objects the CRD rejects', () => {
  test(`at least 20 invalid cases (${INVALID.length})`, () => expect(INVALID.length).toBeGreaterThanOrEqual(20));
  test.each(INVALID)('%s', (_, spec, expected) => {
    const result = admission.admit(restore(spec));
    expect(result.allowed).toBe(false);
    expect(result.errors.join('\n')).toMatch(expected);
  });
});

describe('synth-time validation agrees with the CRD', () => {
  test.each(VALID)('accepts %s', (_, spec) => expect(validateRestoreSpec(restore(spec).spec)).toEqual([]));
  test.each(INVALID)('rejects %s', (_, spec) => expect(validateRestoreSpec(restore(spec).spec)).not.toEqual([]));
  test('messages name the field, the value and what is allowed', () => {
    expect(validateRestoreSpec(restore({ snapshotID: 'latest' }).spec)).toEqual([
      'spec.snapshotID "latest" is not valid: use a restic snapshot ' +
        'ID: 8 to 64 lower-case hexadecimal characters (e.g. "4f3c2a1b")',
    ]);
    expect(validateRestoreSpec(restore({ target: {} }).spec)).toEqual([
      'spec.target names nothing: name exactly one of newClaims, existingClaim, inPlace',
    ]);
  });
});

describe('ShopRestore', () => {
  test('renders a Restore permit', () => {
    const chart = Testing.chart();
    new ShopRestore(chart, 'r', {
      name: 'bakery-monday',
      namespace: 'mall-shops',
      backupName: 'bakery',
      pointInTime: new Date('2024-05-01T02:00:00Z'),
      target: { newClaims: { size: RestoreSpecTargetNewClaimsSize.fromString('10Gi') } },
    });
    expect(chart.toJson()).toEqual([
      expect.objectContaining({
        apiVersion: 'mall.example.com/v1alpha1',
        kind: 'Restore',
        metadata: expect.objectContaining({ name: 'bakery-monday', namespace: 'mall-shops' }),
        spec: {
          backupName: 'bakery',
          pointInTime: '2024-05-01T02:00:00.000Z',
          target: { newClaims: { size: '10Gi' } },
        },
      }),
    ]);
    expect(admission.admit(chart.toJson()[0]).errors).toEqual([]);
  });

  test('refuses bad props with every problem listed', () => {
    expect(
      () =>
        new ShopRestore(Testing.chart(), 'r', {
          name: 'Bad_Name',
          backupName: 'bakery',
          snapshotId: 'latest',
          target: { existingClaim: 'x', inPlace: true },
        }),
    ).toThrow(
      new RegExp(
        /ShopRestore .*: invalid props:\n {2}- name "Bad_Name" is not valid: use a DNS-1123 /.source +
          /label.*\n {2}- spec\.snapshotID "latest" is not valid/.source,
        's',
      ),
    );
  });
});
