/**
 * The whole Restore admission table through the real API server (server-side dry-run creates with strict field
 * validation, as kubectl sends them), and, case by case, the offline model (ajv + CEL) and the synth-time
 * validation against it: same verdict, the server's message as the table states it.
 */
import { validateRestoreSpec } from '../../lib/permits/restore-validation';
import { BackupAdmission, Schema } from '../../testing/backup-admission';
import { dryRunTable, message } from '../../testing/cluster/dry-run';
import { INVALID, restore, VALID } from '../../testing/restore-cases';
import { allObjects, synthDefaultApp } from '../../testing/synth';

jest.setTimeout(120_000);

const schema: Schema = allObjects(synthDefaultApp()).find(
  (o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === 'restores.mall.example.com',
)!.spec.versions[0].schema.openAPIV3Schema;
const offline = new BackupAdmission(schema);

const inNamespace = (spec: Record<string, unknown>, name = 'r'): Record<string, any> => {
  const r = restore(spec) as Record<string, any>;
  return { ...r, metadata: { name, namespace: table.ns } };
};
const table = dryRunTable('restores', 'restore-admission', { valid: VALID, invalid: INVALID }, (spec) =>
  inNamespace(spec),
);

describe('the real API server admits every valid Restore of the table', () => {
  test.each(VALID)('%s', (name, spec) => {
    const res = table.valid.get(name)!;
    expect({ status: res.status, message: res.status === 201 ? undefined : message(res) }).toEqual({
      status: 201,
      message: undefined,
    });
    expect(res.body.spec).toEqual(inNamespace(spec).spec);
    expect(offline.admit(inNamespace(spec)).errors).toEqual([]);
    expect(validateRestoreSpec(inNamespace(spec).spec)).toEqual([]);
  });
});

describe('the real API server refuses every invalid Restore of the table, in the words the table gives', () => {
  test.each(INVALID)('%s', (name, spec, expected) => {
    const res = table.invalid.get(name)!;
    expect([400, 422]).toContain(res.status);
    expect(message(res)).toMatch(expected);
    expect(offline.admit(inNamespace(spec)).allowed).toBe(false);
    expect(validateRestoreSpec(inNamespace(spec).spec)).not.toEqual([]);
  });
});
