/**
 * The shell of the real backup image: docker.io/restic/restic is Alpine, so its /bin/sh, awk, sed, grep, mkfifo and
 * the rest are BusyBox applets. A pod command run "as in the image" gets busybox sh and a PATH holding only the
 * pinned restic and BusyBox applets, so no GNU tool of this machine hides a BusyBox difference.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function busyboxBinary(): string {
  const probe = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' });
  const bin = probe.stdout.trim();
  if (probe.status !== 0 || !bin) {
    throw new Error(
      'busybox is not installed: the backup image runs BusyBox sh (`apt-get install -y busybox`; .ci/run does it)',
    );
  }
  return bin;
}

/** A folder under `parent` with one link per BusyBox applet (the image's /bin and /usr/bin), plus restic. */
export function busyboxFolder(parent: string, restic: string): string {
  const bin = busyboxBinary();
  const dir = path.join(parent, 'busybox-bin');
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const applets = spawnSync(bin, ['--list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((a) => /^[a-z0-9_.-]+$/.test(a));
  for (const applet of applets) fs.symlinkSync(bin, path.join(dir, applet));
  fs.symlinkSync(restic, path.join(dir, 'restic'));
  return dir;
}
