/**
 * One vocabulary: the condition types and reasons the controller writes are declared in vocabulary.ts and
 * nowhere else, so a reason renamed there is renamed everywhere, and a new one is declared before it is used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONDITION, REASON, RESTORE_REASON } from '../../operator/controller/vocabulary';

const DIR = path.join(__dirname, '../../operator/controller');
const sources = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.ts') && f !== 'vocabulary.ts')
  .map((f) => ({ file: f, lines: fs.readFileSync(path.join(DIR, f), 'utf8').split('\n') }));
const where = (test: (line: string) => boolean) =>
  sources.flatMap(({ file, lines }) => lines.flatMap((l, i) => (test(l) ? [`${file}:${i + 1}: ${l.trim()}`] : [])));

test('no reason is written as a bare string', () => {
  expect(where((l) => /\breason: '/.test(l))).toEqual([]);
});

test('no word of the vocabulary is spelled out again outside it', () => {
  const words = new Set<string>([
    ...Object.values(CONDITION),
    ...Object.values(REASON),
    ...Object.values(RESTORE_REASON),
  ]);
  expect(where((l) => [...l.matchAll(/'([A-Za-z]+)'/g)].some((m) => words.has(m[1])))).toEqual([]);
});
