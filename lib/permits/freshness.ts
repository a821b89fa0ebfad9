/**
 * "Are we protected?": a Backup is Fresh while its newest good snapshot is younger than its freshness
 * objective. Judged from times alone, so a schedule that silently stops producing runs (suspended, a
 * CronJob that is gone or broken, Jobs that never start) turns Stale exactly like failing runs do.
 */
import { effectiveSchedule } from './schedule-window';
import { CronSchedule, parseSchedule } from './cron';

export const FRESH_REASONS = {
  fresh: 'WithinObjective',
  stale: 'Stale',
  unknown: 'NoSchedule',
  clockSkew: 'ClockSkew',
} as const;

/** How far a success may lie ahead of the operator's clock before the clocks are taken to disagree. */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

import { FRESHNESS_PATTERN } from './freshness-api';

export { FRESHNESS_FORMS, FRESHNESS_PATTERN } from './freshness-api';
const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const;

export function freshnessSeconds(text: string): number | undefined {
  const match = new RegExp(FRESHNESS_PATTERN).exec(text);
  return match ? Number(text.slice(0, -1)) * UNIT_SECONDS[match[1] as keyof typeof UNIT_SECONDS] : undefined;
}

function scheduleOf(backupTime: string): ReturnType<typeof parseSchedule> | undefined {
  // Any identity will do: a window's minute moves with the Backup's name, its period does not.
  try {
    return parseSchedule(effectiveSchedule(backupTime, { name: '' }));
  } catch {
    return undefined;
  }
}

/** How far ahead the calendar is read: five years, so a 29 February pattern shows its gaps. */
const PERIOD_DAYS = 5 * 366;

function daysIn(year: number, month: number): number {
  return month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;
}

/** Whether a day's date and weekday match (robfig: either field when one of them is restricted, both otherwise). */
function dayMatches(s: CronSchedule, day: number, weekday: number): boolean {
  return s.domStar || s.dowStar
    ? s.dom[day] === true && s.dow[weekday] === true
    : s.dom[day] === true || s.dow[weekday] === true;
}

/**
 * The longest gap between two runs of the schedule from `from` on: within a day from its hours and minutes, across
 * days from the calendar (weekdays only, the 1st of the month), read from the cron fields rather than by walking every
 * run, which for a schedule that runs every minute would take seconds. Daylight saving's hour is left out.
 */
export function schedulePeriodSeconds(
  backupTime: string,
  _timeZone: string | undefined,
  from: Date,
): number | undefined {
  return calendarOf(backupTime, from)?.periodSeconds;
}

interface Calendar {
  readonly periodSeconds?: number;
  readonly runDays: number;
}

/**
 * Calendars read, by schedule and day: reading one walks five years of days, and the operator judges every Backup's
 * freshness on each of its reconciles (thousands share a handful of schedules). Bounded: cleared when full.
 */
const calendars = new Map<string, Calendar | undefined>();
const CALENDARS_KEPT = 4096;

function calendarOf(backupTime: string, from: Date): Calendar | undefined {
  const key = `${Math.floor(from.getTime() / 86_400_000)} ${backupTime}`;
  if (calendars.has(key)) return calendars.get(key);
  if (calendars.size >= CALENDARS_KEPT) calendars.clear();
  const calendar = readCalendar(backupTime, from);
  calendars.set(key, calendar);
  return calendar;
}

function readCalendar(backupTime: string, from: Date): Calendar | undefined {
  const schedule = scheduleOf(backupTime);
  if (!schedule) return undefined;
  const minutes: number[] = [];
  for (let h = 0; h < 24; h++)
    for (let m = 0; m < 60; m++) if (schedule.hour[h] && schedule.minute[m]) minutes.push(h * 60 + m);
  if (minutes.length === 0) return { runDays: 0 };
  let longest = 0;
  for (let i = 1; i < minutes.length; i++) longest = Math.max(longest, minutes[i] - minutes[i - 1]);
  const first = minutes[0];
  const last = minutes[minutes.length - 1];
  const today = Math.floor(from.getTime() / 86_400_000);
  const start = new Date(today * 86_400_000);
  let [year, month, day] = [start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate()];
  let runDays = 0;
  let previous: number | undefined;
  for (let d = today; d < today + PERIOD_DAYS; d++) {
    // 1 January 1970 was a Thursday (4).
    if (schedule.month[month] && dayMatches(schedule, day, (d + 4) % 7)) {
      if (previous !== undefined) longest = Math.max(longest, (d - previous) * 1440 + first - last);
      previous = d;
      runDays++;
    }
    if (++day > daysIn(year, month)) [day, month] = [1, month + 1];
    if (month > 12) [month, year] = [1, year + 1];
  }
  // No run, or a single one: no period.
  if (runDays === 0 || (runDays === 1 && minutes.length === 1)) return { runDays };
  return { periodSeconds: longest * 60, runDays };
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

export function human(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)}h`;
  return `${Math.round(seconds / 60)}m`;
}

/** Fresh or Stale at `now`; pure, time injected. */
export function judgeFreshness(input: FreshnessInput, now: Date): FreshnessVerdict {
  const calendar = calendarOf(input.backupTime, now);
  const period = calendar?.periodSeconds;
  const objective =
    input.freshness !== undefined ? freshnessSeconds(input.freshness) : period !== undefined ? 2 * period : undefined;
  const never =
    calendar?.runDays === 0
      ? `the schedule "${input.backupTime}" never fires (no time in the next five years matches it), so no snapshot ` +
        `will be taken: fix spec.backupTime`
      : undefined;
  if (objective === undefined) {
    if (never) return { status: 'False', reason: FRESH_REASONS.stale, message: never };
    return { status: 'Unknown', reason: FRESH_REASONS.unknown, message: 'no freshness objective: set spec.freshness' };
  }
  if (input.lastSuccessfulTime && Date.parse(input.lastSuccessfulTime) > now.getTime() + CLOCK_SKEW_TOLERANCE_MS) {
    // Taken at face value it would keep the Backup Fresh for as long as the clocks are apart, whatever runs do.
    return {
      status: 'False',
      reason: FRESH_REASONS.clockSkew,
      objectiveSeconds: objective,
      message:
        `the newest good snapshot's time (${input.lastSuccessfulTime}) is later than the operator's clock: ` +
        `the clocks of the control plane and the operator disagree, so freshness cannot be judged; set them right`,
    };
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
  const why = [input.suspend ? 'the Backup is suspended' : undefined, never, input.trouble].filter(Boolean).join('; ');
  return {
    status: 'False',
    reason: FRESH_REASONS.stale,
    objectiveSeconds: objective,
    message: `${what} is older than the objective of ${human(objective)}${why ? ` (${why})` : ''}`,
  };
}
