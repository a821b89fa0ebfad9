/**
 * Where the tests find promtool: MALL_BACKUP_PROMTOOL (a binary), else the build in the tool cache
 * (${MALL_BACKUP_CACHE:-~/.cache/mall-backup}/promtool/<version>/promtool, see scripts/build-promtool.sh).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function candidates(): string[] {
  const cache = path.join(
    process.env.MALL_BACKUP_CACHE ?? path.join(os.homedir(), '.cache', 'mall-backup'),
    'promtool',
  );
  const cached = fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
        .map((v) => path.join(cache, v, 'promtool'))
    : [];
  return [...(process.env.MALL_BACKUP_PROMTOOL ? [process.env.MALL_BACKUP_PROMTOOL] : []), ...cached];
}

/** A working promtool; throws saying how to get one. */
export function promtool(): string {
  for (const binary of candidates()) {
    if (fs.existsSync(binary) && spawnSync(binary, ['--version'], { encoding: 'utf8' }).status === 0) return binary;
  }
  throw new Error(
    `no promtool found (tried ${candidates().join(', ') || 'the tool cache'}): ` +
      `build the pinned one into the tool cache ` +
      'with `bash scripts/build-promtool.sh`, or point MALL_BACKUP_PROMTOOL at a promtool binary',
  );
}

/** Runs promtool in `cwd`; its exit code and output. */
export function runPromtool(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(promtool(), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
