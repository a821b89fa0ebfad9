/**
 * Server-side dry-run creates of permits, with strict field validation as kubectl sends them: what the admission
 * tables (Backup and Restore) read the real API server's verdicts and words with.
 */
import { client, installBackupCrd, namespaces, Response } from './cluster';

export const STRICT = 'fieldValidation=Strict';

/** The collection path of a permit kind (`backups`, `restores`) in `namespace`, or of one object in it. */
export const permitPath = (plural: string, namespace: string, name = ''): string =>
  `/apis/mall.example.com/v1alpha1/namespaces/${namespace}/${plural}${name ? `/${name}` : ''}`;

export const dryRun = (plural: string, namespace: string, object: unknown): Promise<Response> =>
  client().request('POST', `${permitPath(plural, namespace)}?dryRun=All&${STRICT}`, object);

/** The API server's message of a refusal. */
export const message = (res: Response): string => (typeof res.body === 'object' ? res.body.message : String(res.body));

/** Every case of a table, dry-run at once: name → the API server's answer. */
export async function dryRunAll(
  plural: string,
  cases: readonly (readonly [string, Record<string, unknown>, ...unknown[]])[],
  object: (spec: Record<string, unknown>) => unknown,
  namespace: string,
): Promise<Map<string, Response>> {
  const answers = await Promise.all(
    cases.map(async ([name, spec]) => [name, await dryRun(plural, namespace, object(spec))] as const),
  );
  return new Map(answers);
}

type Cases = readonly (readonly [string, Record<string, unknown>, ...unknown[]])[];

/**
 * An admission table's set-up: before the suite's tests, the CRDs installed, a namespace of its own (removed after
 * them) and every valid and invalid case dry-run there at once. `object` places a case's spec in that namespace.
 */
export function dryRunTable(
  plural: string,
  prefix: string,
  cases: { valid: Cases; invalid: Cases },
  object: (spec: Record<string, unknown>) => unknown,
): { ns: string; valid: Map<string, Response>; invalid: Map<string, Response> } {
  const spaces = namespaces(prefix);
  const table = { ns: '', valid: new Map<string, Response>(), invalid: new Map<string, Response>() };
  beforeAll(async () => {
    await installBackupCrd();
    table.ns = await spaces.create();
    [table.valid, table.invalid] = await Promise.all([
      dryRunAll(plural, cases.valid, object, table.ns),
      dryRunAll(plural, cases.invalid, object, table.ns),
    ]);
  });
  afterAll(() => spaces.cleanup());
  return table;
}
