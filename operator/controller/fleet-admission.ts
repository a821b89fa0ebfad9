/**
 * A cluster-wide cap on concurrent backup runs, and one per vault. With a cap set, every run is created
 * suspended (the CronJob's template, run-now and skipped-run Jobs alike) and waits here until a slot is
 * free. Pure: the Jobs the operator sees in, which to start and which to give up out.
 *
 * The rules:
 * - fair FIFO: held runs are started in the order they were due (scheduled time; creation time for
 *   run-now Jobs), ties broken by namespace/name, so every replica and every leader orders them alike;
 * - a run whose vault is at its own cap is passed over, not waited on: it keeps its place, and runs
 *   into other vaults behind it may start;
 * - a held run older than its Backup's startingDeadlineSeconds is given up (deleted unstarted) and
 *   reported as a missed run, as the CronJob controller treats a run it could not start in time;
 * - running means started and not finished, whether or not its pod is scheduled yet.
 */

export interface FleetCaps {
  /** At most this many runs at once in the cluster; 0 is no cap. */
  readonly maxConcurrentRuns: number;
  /** At most this many runs at once into one vault (vaultLocation, as `vaultKey` reads it); 0 is no cap. */
  readonly maxConcurrentRunsPerVault: number;
}

export interface FleetRun {
  /** `namespace/name` of the Job. */
  readonly key: string;
  /** `namespace/name` of its Backup. */
  readonly backup: string;
  readonly vault: string;
}

export interface HeldRun extends FleetRun {
  /** When the run was due (Unix seconds). */
  readonly dueAt: number;
  /** Give it up if still held at this instant (due time + startingDeadlineSeconds). */
  readonly giveUpAt?: number;
}

export interface FleetDecision {
  readonly start: HeldRun[];
  readonly giveUp: HeldRun[];
  /** The runs still held after `start`, in the order they will start: position = index + 1. */
  readonly queue: HeldRun[];
}

/** Runs of equal path in one folder tree: no repeated, no trailing slashes. */
function tidyPath(path: string): string {
  return path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

/** `Host:443` and `host` are one server; host names are case-insensitive, and credentials name no vault. */
function tidyHost(authority: string): string {
  return authority
    .slice(authority.lastIndexOf('@') + 1)
    .toLowerCase()
    .replace(/:443$/, '');
}

/**
 * The vault a run writes to, for the per-vault cap: one vault written two ways (`S3.example.com` and
 * `s3.example.com`, a trailing or doubled slash, `:443`) is one key, or a fleet could pass the cap by
 * spelling. `pvc://<claim>` names a claim in the Backup's own namespace, so the namespace is part of it.
 * Paths keep their case: object stores and file systems tell `Shops` from `shops`.
 */
export function vaultKey(namespace: string, vaultLocation: string): string {
  const pvc = /^pvc:\/\/([^/]*)(.*)$/.exec(vaultLocation);
  if (pvc) return `pvc://${namespace}/${pvc[1]}${tidyPath(`/${pvc[2]}`)}`.replace(/\/$/, '');
  const url = /^(s3|rest):https:\/\/([^/]*)(.*)$/.exec(vaultLocation);
  if (url) return `${url[1]}:https://${tidyHost(url[2])}${tidyPath(url[3])}`.replace(/\/$/, '');
  const sftp = /^sftp:([^@]+)@([^:]+):(.*)$/.exec(vaultLocation);
  if (sftp) return `sftp:${sftp[1]}@${sftp[2].toLowerCase()}:${tidyPath(sftp[3])}`;
  return tidyPath(vaultLocation);
}

export function capsEnabled(caps: FleetCaps): boolean {
  return caps.maxConcurrentRuns > 0 || caps.maxConcurrentRunsPerVault > 0;
}

export function byDue(a: HeldRun, b: HeldRun): number {
  return a.dueAt - b.dueAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export function decideFleet(
  caps: FleetCaps,
  running: readonly FleetRun[],
  held: readonly HeldRun[],
  now: number,
): FleetDecision {
  const total = { n: running.length };
  const perVault = new Map<string, number>();
  for (const r of running) perVault.set(r.vault, (perVault.get(r.vault) ?? 0) + 1);
  const start: HeldRun[] = [];
  const giveUp: HeldRun[] = [];
  const queue: HeldRun[] = [];
  for (const run of [...held].sort(byDue)) {
    if (run.giveUpAt !== undefined && now >= run.giveUpAt) {
      giveUp.push(run);
      continue;
    }
    const clusterFull = caps.maxConcurrentRuns > 0 && total.n >= caps.maxConcurrentRuns;
    const vaultFull =
      caps.maxConcurrentRunsPerVault > 0 && (perVault.get(run.vault) ?? 0) >= caps.maxConcurrentRunsPerVault;
    if (clusterFull || vaultFull) {
      queue.push(run);
      continue;
    }
    start.push(run);
    total.n++;
    perVault.set(run.vault, (perVault.get(run.vault) ?? 0) + 1);
  }
  return { start, giveUp, queue };
}
