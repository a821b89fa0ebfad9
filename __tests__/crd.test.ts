import { parse } from '@bufbuild/cel';
import { validateBackupName, validateBackupSpec } from '../lib/permits/backup-validation';
import { BackupAdmission, Schema } from '../testing/backup-admission';
import { backup, INVALID, VALID } from '../testing/backup-cases';
import { allObjects, backupCrdOf, backupSchemaOf, synthDefaultApp } from '../testing/synth';

const objects = allObjects(synthDefaultApp());
const crd = backupCrdOf(objects);
const schema = backupSchemaOf(objects);
const admission = new BackupAdmission(schema);

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
      kind: 'Backup',
      listKind: 'BackupList',
      plural: 'backups',
      singular: 'backup',
      shortNames: ['bks'],
      categories: ['mall'],
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  test('printer columns: Shop, Time, Phase, Last Success, Fresh, Next, Age, and Vault at priority 1', () => {
    const columns = crd.spec.versions[0].additionalPrinterColumns;
    expect(columns.filter((c: any) => !c.priority).map((c: any) => c.name)).toEqual([
      'Shop',
      'Time',
      'Phase',
      'Last Success',
      'Fresh',
      'Next',
      'Age',
    ]);
    expect(columns.find((c: any) => c.name === 'Vault')).toMatchObject({
      priority: 1,
      jsonPath: '.spec.vaultLocation',
    });
  });

  test('the schema is structural: every node has a type (or is int-or-string) and a description', () => {
    const problems: string[] = [];
    for (const [at, node] of nodes(schema)) {
      if (!node.type && !node['x-kubernetes-int-or-string']) problems.push(`${at}: no type`);
      // metadata is the exception: the API server refuses any word about it beyond its type.
      if (!node.description && !at.endsWith('[]') && at !== '.metadata') problems.push(`${at}: no description`);
      if (node['x-kubernetes-preserve-unknown-fields']) problems.push(`${at}: preserves unknown fields`);
      if (node.uniqueItems) problems.push(`${at}: uniqueItems is forbidden in structural schemas`);
    }
    expect(problems).toEqual([]);
  });

  test('metadata says nothing but its type (the API server refuses the CRD otherwise)', () => {
    expect(schema.properties!.metadata).toEqual({ type: 'object' });
  });

  test('spec requires shopName, backupTime, vaultLocation and vaultCredentialsSecret', () => {
    expect(schema.properties!.spec.required).toEqual([
      'shopName',
      'backupTime',
      'vaultLocation',
      'vaultCredentialsSecret',
    ]);
  });

  test('every CEL rule parses and stays within what @bufbuild/cel and the API server both support', () => {
    const rules = [...nodes(schema)].flatMap(([, n]) => n['x-kubernetes-validations'] ?? []);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(() => parse(rule.rule)).not.toThrow();
      if (rule.messageExpression) expect(() => parse(rule.messageExpression!)).not.toThrow();
      expect(rule.rule).not.toMatch(/\.\?/); // optional field selection: not in @bufbuild/cel
      // Kubernetes CEL libraries
      expect(rule.rule).not.toMatch(/\b(quantity|url|ip|cidr|isSorted|lowerAscii|split|format)\(/);
    }
  });

  test('defaults are applied: time zone, retention, suspend, concurrency, backoff', () => {
    const { allowed, object } = admission.admit(backup({}));
    expect(allowed).toBe(true);
    expect(object.spec).toMatchObject({
      timeZone: 'UTC',
      retention: { keepLast: 7 },
      suspend: false,
      concurrencyPolicy: 'Forbid',
      backoffLimit: 2,
    });
  });

  test('retention given without keepLast still keeps the newest 7', () => {
    expect(admission.admit(backup({ retention: { keepDaily: 3 } })).object.spec.retention).toEqual({
      keepDaily: 3,
      keepLast: 7,
    });
  });
});

describe('Backup objects the CRD admits', () => {
  test(`at least 10 valid cases (${VALID.length})`, () => expect(VALID.length).toBeGreaterThanOrEqual(10));
  test.each(VALID)('admits %s', (_, spec) => {
    expect(admission.admit(backup(spec)).errors).toEqual([]);
  });
});

describe('Backup objects the CRD rejects', () => {
  test(`at least 30 invalid cases (${INVALID.length})`, () => expect(INVALID.length).toBeGreaterThanOrEqual(30));
  test.each(INVALID)('rejects %s', (_, spec, message) => {
    const result = admission.admit(backup(spec));
    expect(result.allowed).toBe(false);
    expect(result.errors.join('\n')).toMatch(message);
  });

  test('a name longer than a label value (63), which would make every CronJob and Job it labels fail', () => {
    const long = { ...backup({}), metadata: { name: 'a'.repeat(64), namespace: 'shops' } };
    expect(admission.admit(long).errors).toEqual([
      expect.stringMatching(/Invalid value: metadata\.name is too long: at most 63 characters/),
    ]);
    expect(admission.admit({ ...long, metadata: { name: 'a'.repeat(63), namespace: 'shops' } }).errors).toEqual([]);
    expect(validateBackupName('a'.repeat(64))).toEqual([
      expect.stringContaining('is 64 characters long: at most 63 allowed'),
    ]);
  });

  test('rejects a change of shopName and allows other changes', () => {
    const old = backup({});
    expect(admission.admit(backup({ shopName: 'florist' }), old).errors).toEqual([
      'spec.shopName: Invalid value: "florist": shopName is immutable: file a new Backup for another shop',
    ]);
    expect(admission.admit(backup({ backupTime: '04:00' }), old).errors).toEqual([]);
  });

  test('rejects an unknown top-level field and a Backup without spec', () => {
    expect(admission.admit({ ...backup({}), extra: 1 }).errors).toEqual(['unknown field "extra"']);
    expect(
      admission.admit({ apiVersion: 'mall.example.com/v1alpha1', kind: 'Backup', metadata: { name: 'b' } }).errors,
    ).toEqual(['spec: Required value']);
  });
});

describe("the constructs' validation agrees with the CRD", () => {
  test.each(VALID)('accepts %s', (_, spec) => {
    expect(validateBackupSpec(backup(spec).spec)).toEqual([]);
  });
  test.each(INVALID)('rejects %s', (_, spec) => {
    expect(validateBackupSpec(backup(spec).spec)).not.toEqual([]);
  });
  test('and also compares requests with limits, which the schema cannot', () => {
    const spec = backup({ resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }) as { spec: unknown };
    expect(admission.admit(spec).allowed).toBe(true);
    expect(validateBackupSpec(spec.spec)).toEqual([
      'spec.resources.requests.memory "2Gi" is above limits.memory "1Gi": a request may not exceed its limit',
    ]);
  });
});
