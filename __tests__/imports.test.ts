import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderApiTypes } from '../scripts/api-types';
import { API_TYPES_FILE, generateImports } from '../scripts/import';

test('imports/ is what `cdk8s import` generates from the current CRD (run `npm run import` when this fails)', () => {
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-imports-'));
  try {
    generateImports(fresh);
    const committedDir = path.join(__dirname, '..', 'imports');
    expect(fs.readdirSync(fresh).sort()).toEqual(fs.readdirSync(committedDir).sort());
    for (const file of fs.readdirSync(fresh)) {
      expect([file, fs.readFileSync(path.join(committedDir, file), 'utf8')]).toEqual([
        file,
        fs.readFileSync(path.join(fresh, file), 'utf8'),
      ]);
    }
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
}, 30_000);

test('lib/permits/api-types.ts is what the schema renders (run `npm run import` when this fails)', () => {
  expect(fs.readFileSync(API_TYPES_FILE, 'utf8')).toEqual(renderApiTypes());
});
