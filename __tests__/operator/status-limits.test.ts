/**
 * Every string the operator writes into a Backup's status fits the status schema, which counts UTF-8
 * bytes: a condition message above 32768 bytes makes the API server refuse the whole status write, so
 * the Backup would never say why it is not ready.
 */
import { bounded } from '../../operator/controller/write-outcome';
import { reconcile } from '../../operator/controller/reconcile';
import { STATUS_LIMITS } from '../../operator/controller/vocabulary';
import { backupObject, observed } from './fixtures';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

test('a spec problem that quotes a 40 000-digit quantity still gives condition messages within the schema', () => {
  const d = reconcile(observed({ backup: backupObject({ resources: { requests: { memory: '9'.repeat(40_000) }, limits: { memory: '1' } } } as any) }));
  const ready = d.status.conditions!.find((c) => c.type === 'Ready')!;
  expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  expect(ready.message).toMatch(/^spec\.resources\.requests\.memory "9{100}/);
  for (const c of d.status.conditions!) expect(bytes(c.message)).toBeLessThanOrEqual(STATUS_LIMITS.message);
  expect(bytes(d.status.message!)).toBeLessThanOrEqual(STATUS_LIMITS.message);
});

test('messages are cut by UTF-8 bytes, whole characters only, and marked as cut', () => {
  const text = 'é'.repeat(20_000);
  const cut = bounded(text, STATUS_LIMITS.message);
  expect(bytes(cut)).toBeLessThanOrEqual(STATUS_LIMITS.message);
  expect(bytes(cut)).toBeGreaterThan(STATUS_LIMITS.message - 4);
  expect(cut).toMatch(/^é+…$/);
  expect(bounded('short', 10)).toBe('short');
  expect(bounded('😀😀😀', 9)).toBe('😀…');
});
