/**
 * The backup run's result: the termination message the run writes (at most 4096 bytes kept by the kubelet), a
 * versioned JSON document. This is the one place it is read.
 */

export const RUN_RESULT_VERSION = 1;
export const RUN_OUTCOMES = ['Completed', 'PartiallyFailed', 'Failed'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
/** The reason of a PartiallyFailed run (the snapshot is saved without files it could not read). */
export const PARTIAL_RUN_REASON = 'SomeFilesUnreadable';

export interface RunStats {
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly bytesAdded: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
  readonly durationSeconds: number;
}

export interface RunResult {
  readonly outcome: RunOutcome;
  /** CamelCase cause: BackupSucceeded, SomeFilesUnreadable, WrongPassword, VaultLocked, VaultFull, ... */
  readonly reason: string;
  /** In words, one line. */
  readonly message: string;
  readonly snapshot?: string;
  readonly stats?: RunStats;
  readonly unreadable?: { readonly count: number; readonly paths: readonly string[] };
  /** applied, skipped, skipped-shrunk, deferred or failed. */
  readonly retention?: string;
  readonly removed?: number;
  /** The run met another restic's lock and waited for it. */
  readonly lockWaited: boolean;
}

const REASON = /^[A-Z][A-Za-z]{0,63}$/;
const SNAPSHOT = /^[0-9a-f]{8,64}$/;

/**
 * Control characters escaped as JSON writes them (a newline as \n, ESC as \u001b): file names and restic's words
 * end up in a one-line condition message that terminals print, where raw escapes would rewrite the screen.
 */
function printable(text: string, max: number): string {
  return text.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * The result in a termination message, or undefined for anything that is not one (an older run's text, a crash's
 * log tail): the caller then falls back to the Job's own conditions.
 */
export function parseRunResult(text: string | undefined): RunResult | undefined {
  if (!text || text.length > 4096) return undefined;
  let raw: any;
  try {
    raw = JSON.parse(text.trim());
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || raw.v !== RUN_RESULT_VERSION) return undefined;
  if (
    !(RUN_OUTCOMES as readonly string[]).includes(raw.outcome) ||
    typeof raw.reason !== 'string' ||
    !REASON.test(raw.reason)
  )
    return undefined;
  const stats = raw.stats && typeof raw.stats === 'object' ? raw.stats : undefined;
  const statKeys = ['filesNew', 'filesChanged', 'bytesAdded', 'totalFiles', 'totalBytes', 'durationSeconds'] as const;
  const parsedStats =
    stats && statKeys.every((k) => count(stats[k]) !== undefined)
      ? (Object.fromEntries(statKeys.map((k) => [k, stats[k]])) as unknown as RunStats)
      : undefined;
  const unreadable =
    raw.unreadable && count(raw.unreadable.count) !== undefined && Array.isArray(raw.unreadable.paths)
      ? {
          count: raw.unreadable.count,
          paths: raw.unreadable.paths
            .filter((p: unknown) => typeof p === 'string')
            .slice(0, 5)
            .map((p: string) => printable(p, 1024)),
        }
      : undefined;
  return {
    outcome: raw.outcome,
    reason: raw.reason,
    message: typeof raw.message === 'string' ? printable(raw.message, 1024) : '',
    snapshot: typeof raw.snapshot === 'string' && SNAPSHOT.test(raw.snapshot) ? raw.snapshot : undefined,
    stats: parsedStats,
    unreadable,
    retention: typeof raw.retention === 'string' ? raw.retention.slice(0, 32) : undefined,
    removed: count(raw.removed),
    lockWaited: raw.lockWaited === true,
  };
}
