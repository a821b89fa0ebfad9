import * as fs from 'node:fs';
import { README, renderApiReference, withApiReference } from '../scripts/docs';

test("the README's API reference is generated from the current schema (run `npm run docs` when this fails)", () => {
  const readme = fs.readFileSync(README, 'utf8');
  expect(readme).toContain(renderApiReference());
  expect(withApiReference(readme)).toBe(readme);
});

test('the reference lists every spec field with its constraints', () => {
  const reference = renderApiReference();
  for (const field of [
    'shopName',
    'backupTime',
    'timeZone',
    'vaultLocation',
    'vaultCredentialsSecret',
    'volumeClaims',
    'retention.keepLast',
    'concurrencyPolicy',
  ]) {
    expect(reference).toContain(`\`spec.${field}\``);
  }
  expect(reference).toMatch(/`spec.concurrencyPolicy` \| string \| one of `Forbid`, `Replace`; default `"Forbid"`/);
});
