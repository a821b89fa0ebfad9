/**
 * Request/limit pairs at the edges of quantity arithmetic, with whether kube-apiserver refuses the
 * request as above the limit: float precision, exa suffixes (which a naive reader takes for exponents),
 * the 2^63-1 cap the API server applies to binary-suffixed amounts only, and rounding up to nano units.
 */
export const QUANTITY_PAIRS: [request: string | number, limit: string | number, refused: boolean][] = [
  ['1', '2', false],
  ['2', '1', true],
  ['1.00000000000000001', '1', true],
  ['9007199254740993', '9007199254740992', true],
  ['9007199254740992', 9007199254740992, false],
  ['1Ei', '1Gi', true],
  ['1E', '1Gi', true],
  ['1Gi', '1Ei', false],
  ['1E', '1Ei', false],
  ['1Ei', '1E', true],
  ['12345678901234567890', '9Ei', true],
  ['8Ei', '9Ei', false],
  ['9Ei', '8Ei', false],
  ['9223372036854775807', '8Ei', false],
  ['9223372036854775808', '8Ei', true],
  ['1e19', '1e20', false],
  ['1e-10', '1n', false],
  ['2e-10', '1n', false],
  ['1.0000000001', '1', true],
  ['1500m', '1.5', false],
  ['1501m', '1.5', true],
  ['1k', '1Ki', false],
  ['1Ki', '1k', true],
  ['0', '0', false],
  ['1n', '0', true],
  ['+.5e+3', '500', false],
  ['1e3', '999', true],
];
