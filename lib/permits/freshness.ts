/**
 * "Are we protected?": a Backup is Fresh while its newest good snapshot is younger than its freshness
 * objective. Judged from times alone, so a schedule that silently stops producing runs (suspended, a
 * CronJob that is gone or broken, Jobs that never start) turns Stale exactly like failing runs do.
 */
import * as api from './backup-api';
import { cronScheduleOf } from '../run/backup-job';
import { parseSchedule } from './cron';
import { nextAfter } from './cron-clock';

export const FRESH_CONDITION = 'Fresh';
export const FRESH_REASONS = { fresh: 'WithinObjective', stale: 'Stale', unknown: 'NoSchedule' } as const;

import { FRESHNESS_PATTERN } from './freshness-api';

export { FRESHNESS_FORMS, FRESHNESS_PATTERN } from './freshness-api';
const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const;

export function freshnessSeconds(text: string): number | undefined {
  const match = new RegExp(FRESHNESS_PATTERN).exec(text);
  return match ? Number(text.slice(0, -1)) * UNIT_SECONDS[match[1] as keyof typeof UNIT_SECONDS] : undefined;
}

/**
 * The longest gap between two runs of the schedule over the next ~year's first runs (cron gaps vary, e.g. weekdays
 * only).
 */
export function schedulePeriodSeconds(
  backupTime: string,
  timeZone: string | undefined,
  from: Date,
): number | undefined {
  let schedule: ReturnType<typeof parseSchedule>;
  // Any identity will do: a window's minute moves with the Backup's name, its period does not.
  try {
    schedule = parseSchedule(cronScheduleOf(backupTime, { name: '' }));
  } catch {
    return undefined;
  }
  const runs: Date[] = [];
  for (let at: Date | undefined = from; runs.length < 16; runs.push(at)) {
    at = nextAfter(schedule, timeZone ?? api.DEFAULT_TIME_ZONE, at);
    if (!at) break;
  }
  if (runs.length < 2) return undefined;
  let longest = 0;
  for (let i = 1; i < runs.length; i++) longest = Math.max(longest, (runs[i].getTime() - runs[i - 1].getTime()) / 1000);
  return longest;
}

export interface FreshnessInput {
  readonly backupTime: string;
  readonly timeZone?: string;
  readonly freshness?: string;
  readonly suspend?: boolean;
  readonly lastSuccessfulTime?: string;
  /** When the Backup was created: a new Backup is judged from then until its first success. */
  readonly createdAt?: string;
  /** Why runs may not be happening, in words, when the caller knows (e.g. "the CronJob is missing"). */
  readonly trouble?: string;
}

export interface FreshnessVerdict {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  /** The objective in seconds (given, or two schedule periods). */
  readonly objectiveSeconds?: number;
  /** When the verdict turns from True to False with no new success: when to look again. */
  readonly staleAt?: Date;
}

function human(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)}h`;
  return `${Math.round(seconds / 60)}m`;
}

/** Fresh or Stale at `now`; pure, time injected. */
export function judgeFreshness(input: FreshnessInput, now: Date): FreshnessVerdict {
  const period = schedulePeriodSeconds(input.backupTime, input.timeZone, now);
  const objective =
    input.freshness !== undefined ? freshnessSeconds(input.freshness) : period !== undefined ? 2 * period : undefined;
  if (objective === undefined) {
    return { status: 'Unknown', reason: FRESH_REASONS.unknown, message: 'no freshness objective: set spec.freshness' };
  }
  const since = input.lastSuccessfulTime ?? input.createdAt;
  const reference = since ? Date.parse(since) : now.getTime();
  const age = Math.max(0, (now.getTime() - reference) / 1000);
  const staleAt = new Date(reference + objective * 1000);
  // No running age in the messages: the status of an unchanged Backup must not change with the clock.
  const what = input.lastSuccessfulTime
    ? `the newest good snapshot (${input.lastSuccessfulTime})`
    : `no good snapshot since the Backup was filed (${since ?? 'now'}); it`;
  if (age <= objective) {
    return {
      status: 'True',
      reason: FRESH_REASONS.fresh,
      message: `${what} is within the objective of ${human(objective)}`,
      objectiveSeconds: objective,
      staleAt,
    };
  }
  const why = [input.suspend ? 'the Backup is suspended' : undefined, input.trouble].filter(Boolean).join('; ');
  return {
    status: 'False',
    reason: FRESH_REASONS.stale,
    objectiveSeconds: objective,
    message: `${what} is older than the objective of ${human(objective)}${why ? ` (${why})` : ''}`,
  };
}
