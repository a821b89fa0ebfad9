/**
 * Runs a rendered pod's container on this machine the way the kubelet would: its command, args and
 * env verbatim, with each volume mount's path mapped to a host folder and the Secret's keys added to
 * the environment (envFrom).
 */
import { spawnSync, SpawnSyncReturns } from 'node:child_process';

export interface RunOptions {
  /** mountPath → host folder; a mount left out is an error. */
  readonly mounts: Record<string, string>;
  /** What envFrom's Secret would hold. */
  readonly secret: Record<string, string>;
  /** Extra environment the node provides (e.g. where the termination message goes). */
  readonly extraEnv?: Record<string, string>;
  readonly timeoutMs?: number;
}

export function runContainer(podSpec: any, options: RunOptions): SpawnSyncReturns<string> {
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
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.secret };
  for (const e of container.env ?? []) env[e.name] = mapPath(e.value);
  Object.assign(env, options.extraEnv ?? {});
  return spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000 });
}
