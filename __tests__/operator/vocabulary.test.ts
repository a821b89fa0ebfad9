/**
 * One vocabulary: the reasons the controller writes are declared in vocabulary.ts, the condition types with the
 * API they belong to, and the label and annotation keys as named constants, nowhere else; so a word renamed there
 * is renamed everywhere, and a new one is declared before it is used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BACKUP_CONDITIONS } from '../../lib/permits/backup-api';
import { RESTORE_CONDITIONS } from '../../lib/permits/restore-api';
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

/** Every source file of the library and the operator but the generated ones, line by line. */
function sourcesUnder(...dirs: string[]) {
  const generated = new Set(['lib/permits/api-types.ts', 'lib/permits/time-zones.ts']);
  const root = path.join(__dirname, '../..');
  return dirs
    .flatMap((d) => (fs.readdirSync(path.join(root, d), { recursive: true }) as string[]).map((f) => `${d}/${f}`))
    .filter((f) => f.endsWith('.ts') && !generated.has(f))
    .map((f) => ({ file: f, lines: fs.readFileSync(path.join(root, f), 'utf8').split('\n') }));
}

describe('the labels, annotations and condition types of lib/ and operator/', () => {
  const all = sourcesUnder('lib', 'operator');
  const found = (test: (line: string, file: string) => boolean) =>
    all.flatMap(({ file, lines }) =>
      lines.flatMap((l, i) =>
        test(l, file) && !/^\s*(\/\*|\*|\/\/)/.test(l) ? [`${file}:${i + 1}: ${l.trim()}`] : [],
      ),
    );

  test('a key of the API group is written only where it is declared, as a named constant', () => {
    const key = /mall\.example\.com\/[a-z]|\$\{(api\.)?API_GROUP\}\/[a-z]/;
    const declaration = /^export const [A-Z0-9_]+ = `\$\{(api\.)?API_GROUP\}\/[a-z-]+`;$/;
    expect(found((l) => key.test(l) && !declaration.test(l.trim()))).toEqual([]);
  });

  test("Kubernetes' recommended label keys are written only in lib/common/labels.ts", () => {
    expect(found((l, file) => /'app\.kubernetes\.io\//.test(l) && file !== 'lib/common/labels.ts')).toEqual([]);
  });

  test('no condition type is a bare string outside the API it belongs to', () => {
    const types = new Set<string>([...Object.values(BACKUP_CONDITIONS), ...Object.values(RESTORE_CONDITIONS)]);
    const declared = new Set(['lib/permits/backup-api.ts', 'lib/permits/restore-api.ts']);
    const typed = /\btype: '([A-Za-z]+)'|\.type === '([A-Za-z]+)'|@\.type=="([A-Za-z]+)"/g;
    expect(
      found((l, file) => !declared.has(file) && [...l.matchAll(typed)].some((m) => types.has(m[1] ?? m[2] ?? m[3]))),
    ).toEqual([]);
  });
});
