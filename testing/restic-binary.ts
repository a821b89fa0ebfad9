/**
 * Where the tests find restic: MALL_BACKUP_RESTIC (a binary), else the newest build in the tool cache
 * (${MALL_BACKUP_CACHE:-~/.cache/mall-backup}/restic/<version>/restic), else `restic` on PATH. Kept thin so
 * it can follow the one pinned restic build the project settles on.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Restore needs `restic restore <snapshot>:<subfolder>` (restic 0.16 and later). */
const MINIMUM = [0, 16];

function versionOf(binary: string): number[] | undefined {
  const out = spawnSync(binary, ['version'], { encoding: 'utf8' });
  const match = /restic (\d+)\.(\d+)\.(\d+)/.exec(out.stdout ?? '');
  return match ? match.slice(1).map(Number) : undefined;
}

function candidates(): string[] {
  const cache = path.join(process.env.MALL_BACKUP_CACHE ?? path.join(os.homedir(), '.cache', 'mall-backup'), 'restic');
  const cached = fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))
        .map((v) => path.join(cache, v, 'restic'))
    : [];
  return [
    ...(process.env.MALL_BACKUP_RESTIC ? [process.env.MALL_BACKUP_RESTIC] : []),
    ...cached.filter((f) => fs.existsSync(f)),
    'restic',
  ];
}

/** The folder holding a restic new enough for restores; throws saying how to get one. */
export function resticForRestore(): { dir: string; binary: string; version: string } {
  for (const binary of candidates()) {
    const v = versionOf(binary);
    if (v && (v[0] > MINIMUM[0] || (v[0] === MINIMUM[0] && v[1] >= MINIMUM[1]))) {
      const resolved = binary.includes('/')
        ? binary
        : spawnSync('sh', ['-c', 'command -v restic'], { encoding: 'utf8' }).stdout.trim();
      return { dir: path.dirname(resolved), binary: resolved, version: v.join('.') };
    }
  }
  throw new Error(
    `no restic ${MINIMUM.join('.')} or later found (tried ${candidates().join(', ')}): build the pinned one into the ` +
      'tool cache with `bash scripts/build-restic.sh`, or point MALL_BACKUP_RESTIC at a restic binary',
  );
}
