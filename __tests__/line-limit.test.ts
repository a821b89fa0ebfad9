import * as path from 'node:path';
import { checkedFiles, LINE_LIMIT, longLines } from '../scripts/line-limit';

test('a line of 120 characters passes and one of 121 is reported with its number and length', () => {
  const text = ['short', 'x'.repeat(LINE_LIMIT), 'y'.repeat(LINE_LIMIT + 1), `${'z'.repeat(LINE_LIMIT)}\r`].join('\n');
  expect(longLines(text)).toEqual([{ line: 3, length: LINE_LIMIT + 1 }]);
});

test('characters are counted as an editor shows them, not as UTF-8 bytes or UTF-16 units', () => {
  expect(longLines('→'.repeat(LINE_LIMIT))).toEqual([]);
  expect(longLines('🛒'.repeat(LINE_LIMIT))).toEqual([]);
  expect(longLines('🛒'.repeat(LINE_LIMIT + 1))).toEqual([{ line: 1, length: LINE_LIMIT + 1 }]);
});

test('the check reads the tracked sources and leaves out only the generated ones', () => {
  const files = checkedFiles(path.join(__dirname, '..'));
  expect(files).toContain('operator/main.ts');
  expect(files).toContain('scripts/synth.js');
  expect(files).toContain('__tests__/line-limit.test.ts');
  const generated = ['imports/mall.example.com.ts', 'lib/permits/time-zones.ts', 'lib/permits/api-types.ts'];
  expect(files.filter((f) => generated.includes(f))).toEqual([]);
  expect(files).toContain('scripts/api-types.ts');
});
