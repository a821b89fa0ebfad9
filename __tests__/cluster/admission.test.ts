/**
 * The whole Backup admission table through the real API server (server-side dry-run creates with strict
 * field validation, as kubectl sends them), and, case by case, the offline model (ajv + CEL in
 * `testing/backup-admission.ts`) against it: same verdict, same defaults, and every message the model
 * gives is one the server gives. The offline model stays the fast check because it agrees here.
 */
import { BackupAdmission } from '../../testing/backup-admission';
import { backup, INVALID, VALID } from '../../testing/backup-cases';
import { allObjects, backupSchemaOf, synthDefaultApp } from '../../testing/synth';
import { client, Response } from '../../testing/cluster/cluster';
import { dryRun as dryRunIn, dryRunTable, message, permitPath, STRICT } from '../../testing/cluster/dry-run';
import { KUBERNETES_TIME_ZONES } from '../../lib/permits/time-zones';

jest.setTimeout(120_000);

const offline = new BackupAdmission(backupSchemaOf(allObjects(synthDefaultApp())));

const path = (namespace: string, name = '') => permitPath('backups', namespace, name);

/** A Backup of the table, placed in this suite's namespace. */
function inNamespace(spec: Record<string, unknown>, name = 'b'): Record<string, any> {
  const b = backup(spec) as Record<string, any>;
  return { ...b, metadata: { name, namespace: table.ns } };
}

const dryRun = (object: unknown): Promise<Response> => dryRunIn('backups', table.ns, object);

const table = dryRunTable('backups', 'admission', { valid: VALID, invalid: INVALID }, (spec) => inNamespace(spec));

describe('the real API server admits every valid Backup of the table', () => {
  test.each(VALID)('%s', (name, spec) => {
    const res = table.valid.get(name)!;
    expect({ status: res.status, message: res.status === 201 ? undefined : message(res) }).toEqual({
      status: 201,
      message: undefined,
    });
    // The offline model admits it too and applies the same defaults.
    const model = offline.admit(inNamespace(spec));
    expect(model.errors).toEqual([]);
    expect(res.body.spec).toEqual(model.object.spec);
  });
});

describe('the real API server refuses every invalid Backup of the table, naming the field', () => {
  test.each(INVALID)('%s', (name, spec, expected, field) => {
    const res = table.invalid.get(name)!;
    const text = message(res);
    expect(text).toMatch(expected);
    if (res.status === 400) {
      // Strict decoding refuses unknown fields before validation, with the field's full path.
      expect(text).toContain(`unknown field "${field}"`);
    } else {
      expect(res.status).toBe(422);
      expect(res.body.details.causes.map((c: { field: string }) => c.field)).toContain(field);
    }
    const model = offline.admit(inNamespace(spec));
    expect(model.allowed).toBe(false);
    for (const error of model.errors) expect(text).toContain(error);
  });
});

describe('updates and whole-object checks on the real API server', () => {
  test('shopName cannot change; other fields can (the transition rule), as the offline model says', async () => {
    const api = client();
    const created = await api.ok('POST', `${path(table.ns)}?${STRICT}`, inNamespace({}, 'immutable'));
    const florist = { ...created, spec: { ...created.spec, shopName: 'florist' } };
    const refused = await api.request('PUT', `${path(table.ns, 'immutable')}?${STRICT}`, florist);
    expect(refused.status).toBe(422);
    const expected =
      'spec.shopName: Invalid value: "florist": shopName is immutable: file a new Backup for another shop';
    expect(message(refused)).toContain(expected);
    expect(offline.admit(florist, created).errors).toEqual([expected]);

    const later = { ...created, spec: { ...created.spec, backupTime: '04:00' } };
    expect((await api.request('PUT', `${path(table.ns, 'immutable')}?${STRICT}`, later)).status).toBe(200);
    expect(offline.admit(later, created).errors).toEqual([]);
  });

  test('an unknown top-level field and a Backup without spec are refused', async () => {
    const extra = await dryRun({ ...inNamespace({}), extra: 1 });
    expect(extra.status).toBe(400);
    expect(message(extra)).toContain('unknown field "extra"');
    expect(offline.admit({ ...inNamespace({}), extra: 1 }).errors).toEqual(['unknown field "extra"']);

    const bare = {
      apiVersion: 'mall.example.com/v1alpha1',
      kind: 'Backup',
      metadata: { name: 'bare', namespace: table.ns },
    };
    const noSpec = await dryRun(bare);
    expect(noSpec.status).toBe(422);
    expect(message(noSpec)).toContain('spec: Required value');
    expect(offline.admit(bare).errors).toEqual(['spec: Required value']);
  });

  test(
    "the CEL rules stay within the API server's cost budget: " +
      'every field at its largest, created and then all changed',
    async () => {
      const api = client();
      const zones = [...KUBERNETES_TIME_ZONES].sort((a, b) => b.length - a.length);
      const largest = (claim: string, zone: string, vault: string) => ({
        shopName: 's'.repeat(63),
        backupTime: `${'1,2,3,4,5,6,7,8,9,10,11,12 '.repeat(4)}0,1,2,3,4,5,6`,
        timeZone: zone,
        vaultLocation: vault,
        vaultCredentialsSecret: 'x'.repeat(253),
        volumeClaims: Array.from({ length: 32 }, (_, i) => `${claim.repeat(250)}${i}`),
        retention: { keepLast: 1, keepDaily: 2, keepWeekly: 3, keepMonthly: 4 },
        suspend: true,
        concurrencyPolicy: 'Replace',
        freshness: '36h',
        startingDeadlineSeconds: 10,
        activeDeadlineSeconds: 10,
        backoffLimit: 1,
        securityContext: { runAsUser: 1, runAsGroup: 1, fsGroup: 1 },
        resources: {
          requests: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '1Gi' },
          limits: { cpu: '1', memory: '1Gi', 'ephemeral-storage': '1Gi' },
        },
      });
      const created = await api.ok('POST', `${path(table.ns)}?${STRICT}`, {
        ...inNamespace({}, 'largest'),
        spec: largest('c', zones[0], `s3:https://s3.amazonaws.com/mall-vault/${'p/'.repeat(200)}x`),
      });
      const changed = {
        ...created,
        spec: {
          ...largest('d', zones[1], `pvc://${'v'.repeat(200)}/x`),
          shopName: created.spec.shopName,
          suspend: false,
        },
      };
      const res = await api.request('PUT', `${path(table.ns, 'largest')}?${STRICT}`, changed);
      expect({ status: res.status, message: res.status === 200 ? undefined : message(res) }).toEqual({
        status: 200,
        message: undefined,
      });
    },
  );

  test("a time zone outside Go's database is refused on both, naming the zone and what is allowed", async () => {
    const mars = inNamespace({ timeZone: 'Mars/Olympus_Mons' });
    const refused = await dryRun(mars);
    expect(refused.status).toBe(422);
    expect(message(refused)).toContain(
      'spec.timeZone: Invalid value: "Mars/Olympus_Mons": timeZone ' +
        '"Mars/Olympus_Mons" is not a time zone Kubernetes knows',
    );
    const model = offline.admit(mars);
    expect(model.allowed).toBe(false);
    expect(model.errors.length).toBeGreaterThan(0);
    for (const error of model.errors) expect(message(refused)).toContain(error);
  });
});
