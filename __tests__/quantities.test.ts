/**
 * Requests against limits, compared the way the API server compares them (exact decimals, rounded up to
 * nano units, binary-suffixed amounts capped at 2^63-1), so that a Backup the operator lets through is
 * never refused as "must be less than or equal to ... limit". Every expectation below is what
 * kube-apiserver v1.37.2 answered for a CronJob with that request and limit (cluster/quantities.test.ts
 * asks the real server the same pairs).
 */
import { compareQuantities, mergeResources, quantityValue } from '../lib/common/resources';
import { validateBackupSpec } from '../lib/permits/backup-validation';
import { NON_NEGATIVE_QUANTITY_PATTERN } from '../lib/permits/backup-api';
import { minimalSpec as minimal } from '../testing/backup-cases';
import { QUANTITY_PAIRS } from '../testing/quantity-cases';

describe('a request above its limit, as the API server judges it', () => {
  test.each(QUANTITY_PAIRS)('request %p, limit %p: refused by the API server = %p', (request, limit, refused) => {
    expect((compareQuantities(request, limit) ?? 0) > 0).toBe(refused);
    expect(validateBackupSpec(minimal)).toEqual([]);
    const problems = validateBackupSpec({
      ...minimal,
      resources: { requests: { memory: request }, limits: { memory: limit } },
    });
    expect(problems.some((p) => p.includes('a request may not exceed its limit'))).toBe(refused);
  });

  test('exa amounts ("1E", "1Ei") are amounts, not exponents', () => {
    expect(quantityValue('1E')).toBe(1e18);
    expect(quantityValue('1Ei')).toBe(2 ** 60);
    expect(quantityValue('1.5e3')).toBe(1500);
  });

  test("the operator's default limit is left out where the Backup's own request is above it, in exa units too", () => {
    const merged = mergeResources(
      { requests: { memory: '1Ei' } },
      { requests: { memory: '256Mi' }, limits: { memory: '1Gi' } },
    );
    expect(merged).toEqual({ requests: { memory: '1Ei' }, limits: {} });
  });
});

describe('quantities the API server cannot read are refused by the schema', () => {
  const pattern = new RegExp(NON_NEGATIVE_QUANTITY_PATTERN);
  test.each(['1e1.5', '1e.5', '1e+2.', '1e99999999999', '1e1000'])('%p', (q) => expect(pattern.test(q)).toBe(false));
  test.each(['1e3', '1E', '1Ei', '+.5e+3', '1.', '.5', '1e-9', '1e999'])('but %p stays valid', (q) =>
    expect(pattern.test(q)).toBe(true),
  );
});

test(
  'a quantity is at most 64 characters: the API server reads ' +
    'longer ones in time that grows with the square of their length',
  () => {
    expect(validateBackupSpec({ ...minimal, resources: { limits: { memory: '9'.repeat(64) } } })).toEqual([]);
    expect(validateBackupSpec({ ...minimal, resources: { limits: { memory: '9'.repeat(65) } } })).toEqual([
      'spec.resources.limits.memory is 65 characters long: at most 64 allowed',
    ]);
  },
);
