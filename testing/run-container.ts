/**
 * Runs a rendered pod's container on this machine the way the kubelet would: its command, args and
 * env verbatim, with each volume mount's path mapped to a host folder and the Secret's keys added to
 * the environment (envFrom).
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';

export interface RunOptions {
  /** mountPath → host folder; a mount left out is an error. */
  readonly mounts: Record<string, string>;
  /** What envFrom's Secret would hold. */
  readonly secret: Record<string, string>;
  /** Extra environment the node provides (e.g. where the termination message goes). */
  readonly extraEnv?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Commands put before the container's own (e.g. to mount a read-only vault in a private mount namespace). */
  readonly wrap?: readonly string[];
  /** The image's shell in place of the container's `/bin/sh` (e.g. `['busybox', 'sh']`). */
  readonly shell?: readonly string[];
}

/** The process the kubelet would start for the pod's first container: argv and environment. */
export function containerInvocation(
  podSpec: any,
  options: RunOptions,
): { argv: string[]; env: Record<string, string> } {
  const [container] = podSpec.containers;
  const mountPaths: string[] = (container.volumeMounts ?? []).map((m: any) => m.mountPath);
  for (const m of mountPaths) if (!(m in options.mounts)) throw new Error(`no host folder for mount ${m}`);
  const mapPath = (value: string) => {
    for (const m of mountPaths) {
      if (value === m || value.startsWith(`${m}/`)) return options.mounts[m] + value.slice(m.length);
    }
    return value;
  };
  const argv: string[] = [...(container.command ?? []), ...(container.args ?? [])].map(mapPath);
  if (options.shell && argv[0] === '/bin/sh') argv.splice(0, 1, ...options.shell);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.secret };
  for (const e of container.env ?? []) env[e.name] = mapPath(e.value);
  Object.assign(env, options.extraEnv ?? {});
  return { argv: [...(options.wrap ?? []), ...argv], env };
}

export function runContainer(podSpec: any, options: RunOptions): SpawnSyncReturns<string> {
  const { argv, env } = containerInvocation(podSpec, options);
  return spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
}

/** The container as a child process, for tests that signal it the way the kubelet does. */
export function startContainer(podSpec: any, options: RunOptions): ChildProcess {
  const { argv, env } = containerInvocation(podSpec, options);
  // Its own process group: the kubelet's SIGKILL reaches every process of the container.
  return spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}
