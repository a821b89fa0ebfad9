import { parse } from '@bufbuild/cel';
import { Testing } from 'cdk8s';
import { RestoreSpecTargetNewClaimsSize } from '../imports/mall.example.com';
import { validateRestoreName, validateRestoreSpec } from '../lib/permits/restore-validation';
import { ShopRestore } from '../lib/permits/shop-restore';
import { BackupAdmission, Schema } from '../testing/backup-admission';
import { INVALID, restore, VALID } from '../testing/restore-cases';
import { allObjects, synthDefaultApp } from '../testing/synth';

const crd = allObjects(synthDefaultApp()).find(
  (o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === 'restores.mall.example.com',
)!;
const schema: Schema = crd.spec.versions[0].schema.openAPIV3Schema;
const admission = new BackupAdmission(schema);

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
    expect(validateRestoreSpec(restore({ claims: ['a'], paths: ['/db', '/up/*.jpg'] }).spec)).toEqual([
      'spec.paths[1] "/up/*.jpg" is not valid: a path is taken literally: the glob characters * ? [ ] and \\ are ' +
        'not allowed',
    ]);
    expect(validateRestoreSpec(restore({ claims: ['a', 'b'], paths: ['/db'] }).spec)).toEqual([
      'spec.paths needs exactly one claim in claims, not 2: each path is looked up in that claim; name the one ' +
        'claim whose files to restore',
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

  test('paths: rendered as given; the same rules as the CRD at synth time, every problem listed', () => {
    const chart = Testing.chart();
    new ShopRestore(chart, 'r', {
      name: 'bakery-db',
      backupName: 'bakery',
      claims: ['bakery-data'],
      paths: ['/db', '/uploads/2026'],
      target: { existingClaim: 'scratch' },
    });
    expect(chart.toJson()[0].spec.paths).toEqual(['/db', '/uploads/2026']);
    expect(admission.admit(chart.toJson()[0]).errors).toEqual([]);
    expect(
      () =>
        new ShopRestore(Testing.chart(), 'r', {
          name: 'bakery-db',
          backupName: 'bakery',
          claims: ['bakery-data', 'bakery-db'],
          paths: ['/db/', '/up/../etc', '/db/'],
          target: { existingClaim: 'scratch' },
        }),
    ).toThrow(
      new RegExp(
        [
          /ShopRestore .*: invalid props:/,
          /- spec\.paths lists "\/db\/" twice: each item must be unique/,
          /- spec\.paths\[0\] "\/db\/" is not valid: use a path inside the claim starting with "\/"/,
          /- spec\.paths\[1\] "\/up\/\.\.\/etc" is not valid: a path must not hold a "\." or "\.\." folder/,
          /- spec\.paths\[2\] "\/db\/" is not valid/,
        ]
          .map((r) => r.source)
          .join('.*\n {2}'),
      ),
    );
    expect(
      () =>
        new ShopRestore(Testing.chart(), 'r', {
          name: 'bakery-db',
          backupName: 'bakery',
          paths: ['/db'],
          target: { newClaims: { size: RestoreSpecTargetNewClaimsSize.fromString('1Gi') } },
        }),
    ).toThrow(/- spec\.paths needs exactly one claim in claims, not every claim of the Backup \(claims is left out\)/);
  });
});
