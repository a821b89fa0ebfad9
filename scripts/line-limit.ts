/**
 * The line limit the formatter cannot keep: it wraps code at 120 columns but leaves comments and long strings
 * as they are. Run by `npm test` before jest; lists every tracked .ts/.js line over the limit as file:line and
 * exits 1. Generated files are left out (their generators decide their lines).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LINE_LIMIT = 120;

/** Written by generators, checked by their drift tests instead. */
export const GENERATED = [/^imports\//, /^lib\/permits\/time-zones\.ts$/, /^lib\/permits\/api-types\.ts$/];

/** The 1-based numbers and lengths (in characters, as an editor counts them) of the lines of `text` over the limit. */
export function longLines(text: string, limit = LINE_LIMIT): { line: number; length: number }[] {
  return text
    .split('\n')
    .map((content, i) => ({ line: i + 1, length: [...content.replace(/\r$/, '')].length }))
    .filter(({ length }) => length > limit);
}

export function checkedFiles(root: string): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.js'], { cwd: root, encoding: 'utf8' });
  return listed
    .split('\0')
    .filter((file) => file && !GENERATED.some((pattern) => pattern.test(file)))
    .filter((file) => fs.existsSync(path.join(root, file)));
}

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const found = checkedFiles(root).flatMap((file) =>
    longLines(fs.readFileSync(path.join(root, file), 'utf8')).map(({ line, length }) => `${file}:${line}: ${length}`),
  );
  if (found.length > 0) {
    process.stderr.write(
      `${found.join('\n')}\n${found.length} line(s) over ${LINE_LIMIT} characters: re-flow the comment, split the ` +
        'string (`+`) or build it from parts\n',
    );
    process.exit(1);
  }
}
