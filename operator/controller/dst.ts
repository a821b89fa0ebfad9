/**
 * Daylight saving done right. The CronJob controller (robfig/cron, reproduced in lib/cron.ts) never
 * runs a local time that a spring change skips, and runs twice a local time that an autumn change
 * repeats. The operator promises instead:
 *
 * - a time that does not exist runs once, at the first valid minute after it (the instant the clocks
 *   jump: 02:30 in Rome on the spring day runs at 03:00). The operator creates that Job itself, named as
 *   the CronJob controller names a run of that instant, so a second leader or a restart finds it exists;
 * - a time that occurs twice runs once, the first time. Around an autumn change whose repeated hour
 *   holds a run, the CronJob creates its Jobs suspended; the operator starts each one, except a Job
 *   scheduled in the repeated hour's second pass, which it deletes before any pod exists.
 *
 * Everything here is pure: instants in Unix seconds, the zone's rules from Node's ICU data.
 */
import { CronSchedule, matchesWallClock, offsetSeconds } from '../../lib/permits/cron';

export interface Transition {
  /** The instant the offset changes (Unix seconds). */
  readonly at: number;
  /** Offsets from UTC before and after, in seconds. */
  readonly before: number;
  readonly after: number;
}

const DAY = 86400;
/** Scan step: no zone changes its offset twice within 12 hours. */
const STEP = 12 * 3600;
/** How far ahead the status looks for changes that touch a schedule. */
export const LOOKAHEAD_SECONDS = 366 * DAY;
/** Jobs are held for admission from this long before an autumn change that repeats a run… */
export const HOLD_BEFORE_SECONDS = 6 * 3600;
/** …until this long after the repeated hour ends. */
export const HOLD_AFTER_SECONDS = 3600;

const transitionCache = new Map<string, Transition[]>();

/** Offset changes of `zone` from a day before `from` to a year and two days after it. */
export function transitionsAround(zone: string, from: number): Transition[] {
  const day = Math.floor(from / DAY);
  const key = `${zone}\n${day}`;
  let found = transitionCache.get(key);
  if (!found) {
    found = [];
    const start = (day - 2) * DAY;
    const end = start + LOOKAHEAD_SECONDS + 4 * DAY;
    let previous = offsetSeconds(zone, start);
    for (let t = start + STEP; t <= end; t += STEP) {
      const offset = offsetSeconds(zone, t);
      if (offset === previous) continue;
      // The change lies in (t - STEP, t]: halve down to the second.
      let [low, high] = [t - STEP, t];
      while (high - low > 1) {
        const mid = Math.floor((low + high) / 2);
        if (offsetSeconds(zone, mid) === previous) low = mid; else high = mid;
      }
      found.push({ at: high, before: previous, after: offset });
      previous = offset;
    }
    if (transitionCache.size > 5000) transitionCache.clear();
    transitionCache.set(key, found);
  }
  return found;
}

/** The first wall-clock minute in [from, to) (wall seconds) that `s` matches. */
function firstMatch(s: CronSchedule, from: number, to: number): number | undefined {
  for (let w = Math.ceil(from / 60) * 60; w < to; w += 60) if (matchesWallClock(s, w)) return w;
  return undefined;
}

/** A spring change that skips at least one run of a schedule. */
export interface SkippedRun {
  readonly transition: Transition;
  /** The first local time (wall seconds) that was due in the gap. */
  readonly wall: number;
  /** When the operator runs it instead: the instant the clocks jump (Unix seconds). */
  readonly due: number;
}

/** An autumn change that repeats at least one run of a schedule. */
export interface RepeatedRun {
  readonly transition: Transition;
  /** The first local time (wall seconds) that occurs twice and is due. */
  readonly wall: number;
}

export function skippedRun(s: CronSchedule, t: Transition): SkippedRun | undefined {
  if (t.after <= t.before) return undefined;
  const wall = firstMatch(s, t.at + t.before, t.at + t.after);
  // When the schedule also fires at the jump itself, that run is the one the skipped time becomes.
  if (wall === undefined || matchesWallClock(s, t.at + t.after)) return undefined;
  return { transition: t, wall, due: t.at };
}

export function repeatedRun(s: CronSchedule, t: Transition): RepeatedRun | undefined {
  if (t.after >= t.before) return undefined;
  const wall = firstMatch(s, t.at + t.after, t.at + t.before);
  return wall === undefined ? undefined : { transition: t, wall };
}

/** Whether the instant `at` is the second pass of a repeated hour in `zone`: a run then is a repeat. */
export function isSecondPass(zone: string, at: number): boolean {
  return transitionsAround(zone, at - 2 * DAY).some((t) => t.after < t.before && t.at <= at && at < t.at + (t.before - t.after));
}

/** The newest skipped run due at or before `now` and no older than a day. */
export function recentSkippedRun(s: CronSchedule, zone: string, now: number): SkippedRun | undefined {
  return transitionsAround(zone, now - 2 * DAY)
    .filter((t) => t.at <= now && t.at > now - DAY)
    .map((t) => skippedRun(s, t)).filter((r): r is SkippedRun => r !== undefined).pop();
}

/** Whether Jobs the CronJob creates at `now` must wait for admission (an autumn repeat is near). */
export function holdRuns(s: CronSchedule, zone: string, now: number): boolean {
  return transitionsAround(zone, now - 2 * DAY).some((t) => repeatedRun(s, t) !== undefined
    && now >= t.at - HOLD_BEFORE_SECONDS && now < t.at + (t.before - t.after) + HOLD_AFTER_SECONDS);
}

/** The next instant after `now` at which the answer of `holdRuns` or `recentSkippedRun` changes. */
export function nextDstCheck(s: CronSchedule, zone: string, now: number): number | undefined {
  const times: number[] = [];
  for (const t of transitionsAround(zone, now)) {
    if (skippedRun(s, t)) times.push(t.at, t.at + DAY);
    if (repeatedRun(s, t)) times.push(t.at - HOLD_BEFORE_SECONDS, t.at + (t.before - t.after) + HOLD_AFTER_SECONDS);
  }
  return times.filter((x) => x > now).sort((a, b) => a - b)[0];
}

function clock(wallSeconds: number): string {
  return new Date(wallSeconds * 1000).toISOString().slice(11, 16);
}

function date(wallSeconds: number): string {
  return new Date(wallSeconds * 1000).toISOString().slice(0, 10);
}

/**
 * What daylight saving will do to the schedule in the coming year, in words: one sentence for the next
 * spring change that skips a run and one for the next autumn change that repeats one; empty when none.
 */
export function dstNotes(s: CronSchedule, zone: string, now: number): string[] {
  const upcoming = transitionsAround(zone, now).filter((t) => t.at > now - DAY && t.at <= now + LOOKAHEAD_SECONDS);
  const notes: string[] = [];
  const skipped = upcoming.map((t) => skippedRun(s, t)).find(Boolean);
  if (skipped) {
    const { transition: t, wall } = skipped;
    notes.push(`on ${date(wall)} ${clock(wall)} does not exist in ${zone} (clocks jump from ${clock(t.at + t.before)} to ${clock(t.at + t.after)}): `
      + `that run starts once at ${clock(t.at + t.after)}`);
  }
  const repeated = upcoming.map((t) => repeatedRun(s, t)).find(Boolean);
  if (repeated) {
    const { transition: t, wall } = repeated;
    notes.push(`on ${date(wall)} ${clock(t.at + t.after)}–${clock(t.at + t.before - 60)} happens twice in ${zone} (clocks go back from `
      + `${clock(t.at + t.before)} to ${clock(t.at + t.after)}): the run at ${clock(wall)} runs once, the first time`);
  }
  return notes;
}
