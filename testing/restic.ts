/**
 * The restic the project ships (lib/run/restic-version.ts), built by scripts/build-restic.sh into the cache. Tests
 * use exactly that binary and fail, saying how to get it, when it is missing: never the system's restic.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { RESTIC_VERSION } from '../lib/run/restic-version';

export function resticDir(): string {
  const cache = process.env.MALL_BACKUP_CACHE || path.join(os.homedir(), '.cache', 'mall-backup');
  return path.join(cache, 'restic', RESTIC_VERSION);
}

export function resticBinary(): string {
  const bin = path.join(resticDir(), 'restic');
  const probe = spawnSync(bin, ['version'], { encoding: 'utf8' });
  if (probe.status !== 0 || !probe.stdout.startsWith(`restic ${RESTIC_VERSION} `)) {
    throw new Error(
      `restic ${RESTIC_VERSION} is not built at ${bin}: run \`sh scripts/build-restic.sh\` (needs Go; .ci/run does it)`,
    );
  }
  return bin;
}

/** PATH for a pod command: the pinned restic first. */
export function resticPath(): string {
  return `${path.dirname(resticBinary())}:${process.env.PATH ?? '/usr/bin:/bin'}`;
}

/** The repository's own restic CLI, outside any pod: JSON in, parsed JSON out. */
export function resticJson(env: Record<string, string>, ...args: string[]): any {
  return JSON.parse(
    execFileSync(resticBinary(), [...args, '--json'], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' }),
  );
}
