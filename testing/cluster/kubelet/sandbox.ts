/**
 * One container of the test kubelet: the pod's command runs on this machine, as the pod's user, in a mount
 * namespace of its own whose root is a fresh folder holding the host's /usr and /etc (read-only), a small
 * /dev, /proc, and the pod's volumes at their mount paths. So paths mean what they mean in a pod: a backup
 * of /data/<claim> stores /data/<claim> in the snapshot, and a restore asks for it by that name. Needs
 * root (mount namespaces), which a container runtime needs too.
 *
 * The setup is fixed shell text; everything that comes from a pod (paths, command, env) reaches it as
 * arguments, a file of mounts, or the environment — never as shell text.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a sandbox needs of this machine, said before the first pod rather than failing on it. */
export function checkSandboxHost(): void {
  // Mount namespaces need root, as a container runtime does.
  if (process.getuid?.() !== 0)
    throw new Error(
      'the test kubelet runs containers in mount namespaces, ' +
        'which needs root: run the cluster suites as root (CI does)',
    );
  for (const tool of ['/usr/bin/unshare', '/usr/bin/setpriv', '/usr/bin/mount', '/usr/sbin/chroot']) {
    if (!existsSync(tool))
      throw new Error(`the test kubelet needs ${tool}: apt-get install util-linux mount coreutils`);
  }
}

export interface Mount {
  readonly hostPath: string;
  readonly path: string;
  readonly readOnly: boolean;
}

export interface SandboxSpec {
  /** A folder for this container only (its root and termination message are made inside). */
  readonly dir: string;
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly mounts: readonly Mount[];
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  readonly readOnlyRoot: boolean;
  /** Where the container writes its termination message (default /dev/termination-log). */
  readonly terminationMessagePath: string;
  readonly workingDir?: string;
}

const SETUP = `set -eu
root=$1; mounts=$2; uid=$3; gid=$4; groups=$5; ro_root=$6; term_src=$7; term_dst=$8; workdir=$9; shift 9
/usr/bin/mount --make-rprivate /
/usr/bin/mkdir -p "$root"
/usr/bin/mount --bind "$root" "$root"
cd "$root"
/usr/bin/mkdir -p usr etc dev proc tmp
for link in bin lib lib64 sbin; do [ -e "$link" ] || /usr/bin/ln -s "usr/$link" "$link"; done
/usr/bin/mount --rbind /usr usr && /usr/bin/mount -o remount,bind,ro usr
/usr/bin/mount --rbind /etc etc && /usr/bin/mount -o remount,bind,ro etc
/usr/bin/mount --rbind /proc proc
/usr/bin/mount -t tmpfs -o mode=755,nosuid tmpfs dev
for node in null zero random urandom full tty; do
  /usr/bin/touch "dev/$node"; /usr/bin/mount --bind "/dev/$node" "dev/$node"
done
/usr/bin/ln -s /proc/self/fd dev/fd
/usr/bin/mkdir -p "$root$(/usr/bin/dirname "$term_dst")"
/usr/bin/touch "$root$term_dst"
/usr/bin/mount --bind "$term_src" "$root$term_dst"
while IFS='	' read -r src dst mode; do
  if [ -d "$src" ]; then
    /usr/bin/mkdir -p "$root$dst"
  else
    /usr/bin/mkdir -p "$root$(/usr/bin/dirname "$dst")"; /usr/bin/touch "$root$dst"
  fi
  /usr/bin/mount --bind "$src" "$root$dst"
  if [ "$mode" = ro ]; then /usr/bin/mount -o remount,bind,ro "$root$dst"; fi
done <"$mounts"
if [ "$ro_root" = true ]; then /usr/bin/mount -o remount,bind,ro "$root"; fi
cd /
exec /usr/sbin/chroot "$root" /usr/bin/setpriv --reuid="$uid" --regid="$gid" --groups="$groups" \\
  --no-new-privs --inh-caps=-all \\
  /usr/bin/sh -c 'cd "$1" && shift && exec "$@"' workdir "$workdir" "$@"
`;

/** Starts the container; stdout and stderr both go to `<dir>/log` (what `kubectl logs` shows). */
export function startSandbox(spec: SandboxSpec): { child: ChildProcess; logFile: string; terminationFile: string } {
  mkdirSync(spec.dir, { recursive: true });
  const root = join(spec.dir, 'root');
  const mountsFile = join(spec.dir, 'mounts');
  const terminationFile = join(spec.dir, 'termination-log');
  const logFile = join(spec.dir, 'log');
  for (const m of spec.mounts) {
    if (/[\t\n]/.test(m.path + m.hostPath))
      throw new Error(`mount path ${JSON.stringify(m.path)} holds a tab or newline, which the test kubelet cannot map`);
  }
  writeFileSync(mountsFile, spec.mounts.map((m) => `${m.hostPath}\t${m.path}\t${m.readOnly ? 'ro' : 'rw'}\n`).join(''));
  writeFileSync(terminationFile, '');
  // Any user the pod runs as may write its termination message, as with the kubelet's own file.
  chmodSync(terminationFile, 0o666);
  const log = openSync(logFile, 'a');
  const child = spawn(
    '/usr/bin/unshare',
    [
      '--mount',
      '--',
      '/usr/bin/sh',
      '-c',
      SETUP,
      'sandbox',
      root,
      mountsFile,
      String(spec.uid),
      String(spec.gid),
      spec.groups.join(',') || String(spec.gid),
      String(spec.readOnlyRoot),
      terminationFile,
      spec.terminationMessagePath,
      spec.workingDir ?? '/',
      ...spec.argv,
    ],
    { env: spec.env, stdio: ['ignore', log, log], detached: true },
  );
  closeSync(log);
  return { child, logFile, terminationFile };
}
