/**
 * Daylight saving done right. The CronJob controller (robfig/cron, reproduced in lib/permits/cron.ts) never
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
import { CronSchedule } from '../../lib/permits/cron';
import { matchesWallClock, nextAfter, offsetSeconds } from '../../lib/permits/cron-clock';

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
        if (offsetSeconds(zone, mid) === previous) low = mid;
        else high = mid;
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
  return transitionsAround(zone, at - 2 * DAY).some(
    (t) => t.after < t.before && t.at <= at && at < t.at + (t.before - t.after),
  );
}

/** The instant a wall-clock minute near `t` stands for: its first occurrence, or the jump when it falls in the gap. */
function idealInstant(t: Transition, wall: number): number {
  if (wall - t.before < t.at) return wall - t.before;
  return Math.max(wall - t.after, t.at);
}

/**
 * Where the CronJob controller's runs (robfig's Next) differ, within a day of `t`, from the promise:
 * each matching local time once, the first time, and a time in a gap once at the jump. Besides the
 * plain cases (a repeat in the second pass; a skipped time), robfig steps whole real hours, so a
 * change that is not a whole hour (Australia/Lord_Howe, 30 minutes) makes it run `45 1 * * *` a
 * second time at 02:45 on the spring day and skip `15 2 * * *` on the autumn day.
 */
export interface Deviations {
  /** Runs robfig makes that are not due: Jobs at these instants are held and dropped. */
  readonly extra: readonly number[];
  /** Runs due that robfig does not make, with the local time each stands for: the operator creates them. */
  readonly missing: readonly { readonly due: number; readonly wall: number }[];
}

const deviationCache = new Map<string, Deviations>();

export function deviations(s: CronSchedule, zone: string, t: Transition): Deviations {
  const fields = [s.minute, s.hour, s.dom, s.month, s.dow].map((f) => f.map((b) => (b ? 1 : 0)).join(''));
  const key = `${fields.join('/')}${s.domStar}${s.dowStar}\n${zone}\n${t.at}`;
  let found = deviationCache.get(key);
  if (!found) {
    found = (t.after - t.before) % 3600 === 0 ? wholeHourDeviations(s, t) : comparedDeviations(s, zone, t);
    if (deviationCache.size > 5000) deviationCache.clear();
    deviationCache.set(key, found);
  }
  return found;
}

/**
 * A change by whole hours moves robfig off the promise only in the gap and the repeat (checked against
 * robfig in __tests__/cron.test.ts and __tests__/operator/dst.test.ts): read off the wall clock, cheaply.
 */
export function wholeHourDeviations(s: CronSchedule, t: Transition): Deviations {
  const skipped = skippedRun(s, t);
  const extra: number[] = [];
  if (t.after < t.before)
    for (let w = t.at + t.after; w < t.at + t.before; w += 60) if (matchesWallClock(s, w)) extra.push(w - t.after);
  return { extra, missing: skipped ? [{ due: skipped.due, wall: skipped.wall }] : [] };
}

/** Any other change: robfig's own runs within a day of it, compared with the runs due. */
export function comparedDeviations(s: CronSchedule, zone: string, t: Transition): Deviations {
  const [from, to] = [t.at - DAY, t.at + DAY];
  const due = new Map<number, number>();
  for (
    let day = Math.floor((from + Math.min(t.before, t.after)) / DAY) * DAY;
    day < to + Math.max(t.before, t.after);
    day += DAY
  ) {
    for (let h = 0; h < 24; h++) {
      if (!s.hour[h]) continue;
      for (let m = 0; m < 60; m++) {
        const w = day + h * 3600 + m * 60;
        if (!s.minute[m] || !matchesWallClock(s, w)) continue;
        const at = idealInstant(t, w);
        if (at >= from && at < to && !due.has(at)) due.set(at, w);
      }
    }
  }
  const made = new Set<number>();
  for (
    let next = nextAfter(s, zone, new Date((from - 1) * 1000));
    next && next.getTime() / 1000 < to;
    next = nextAfter(s, zone, next)
  )
    made.add(next.getTime() / 1000);
  return {
    extra: [...made].filter((at) => !due.has(at)),
    missing: [...due].filter(([at]) => !made.has(at)).map(([at, wall]) => ({ due: at, wall })),
  };
}

/** Whether a change of `zone` lies within a day of `at`: only then can a run at `at` be one robfig should not make. */
export function nearTransition(zone: string, at: number): boolean {
  return transitionsAround(zone, at - 2 * DAY).some((t) => Math.abs(t.at - at) < DAY);
}

/** Whether a Job the CronJob made for instant `at` is one robfig should not have made (see `deviations`). */
export function isExtraRun(s: CronSchedule, zone: string, at: number): boolean {
  return (
    isSecondPass(zone, at) ||
    transitionsAround(zone, at - 2 * DAY).some(
      (t) => Math.abs(t.at - at) < DAY && deviations(s, zone, t).extra.includes(at),
    )
  );
}

/** The newest run robfig skips (see `deviations`) due at or before `now` and no older than a day. */
export function recentSkippedRun(s: CronSchedule, zone: string, now: number): SkippedRun | undefined {
  return transitionsAround(zone, now - 2 * DAY)
    .flatMap((t) => deviations(s, zone, t).missing.map((m) => ({ transition: t, ...m })))
    .filter((r) => r.due <= now && r.due > now - DAY)
    .sort((a, b) => a.due - b.due)
    .pop();
}

/** From six hours before a change whose day holds a run robfig should not make, until an hour after the last. */
function holdSpan(s: CronSchedule, zone: string, t: Transition): [number, number] | undefined {
  const { extra } = deviations(s, zone, t);
  if (extra.length === 0) return undefined;
  return [t.at - HOLD_BEFORE_SECONDS, Math.max(t.at + Math.max(0, t.before - t.after), ...extra) + HOLD_AFTER_SECONDS];
}

/** Whether Jobs the CronJob creates at `now` must wait for admission (an autumn repeat is near). */
export function holdRuns(s: CronSchedule, zone: string, now: number): boolean {
  return transitionsAround(zone, now - 2 * DAY).some((t) => {
    const span = holdSpan(s, zone, t);
    return span !== undefined && now >= span[0] && now < span[1];
  });
}

/** The next instant after `now` at which the answer of `holdRuns` or `recentSkippedRun` changes. */
export function nextDstCheck(s: CronSchedule, zone: string, now: number): number | undefined {
  const times: number[] = [];
  for (const t of transitionsAround(zone, now - 2 * DAY)) {
    for (const m of deviations(s, zone, t).missing) times.push(m.due, m.due + DAY);
    times.push(...(holdSpan(s, zone, t) ?? []));
  }
  return times.filter((x) => x > now).sort((a, b) => a - b)[0];
}

function clock(wallSeconds: number): string {
  return new Date(wallSeconds * 1000).toISOString().slice(11, 16);
}

function date(wallSeconds: number): string {
  return new Date(wallSeconds * 1000).toISOString().slice(0, 10);
}

/** The wall-clock minutes in [from, to) that `s` matches. */
function matchesIn(s: CronSchedule, from: number, to: number): number[] {
  const found: number[] = [];
  for (let w = Math.ceil(from / 60) * 60; w < to; w += 60) if (matchesWallClock(s, w)) found.push(w);
  return found;
}

/** `02:30`, `02:00 and 02:30`, `02:00, 02:15, 02:30 and 02:45`. */
function times(walls: number[]): string {
  const clocks = walls.map(clock);
  return clocks.length === 1 ? clocks[0] : `${clocks.slice(0, -1).join(', ')} and ${clocks[clocks.length - 1]}`;
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
    // A schedule due several times in the gap (`*/15 2 * * *`) runs once for all of them: said so.
    const runs = matchesIn(s, t.at + t.before, t.at + t.after);
    notes.push(
      `on ${date(wall)} ${times(runs)} ${runs.length > 1 ? 'do' : 'does'} not exist in ` +
        `${zone} (clocks jump from ${clock(t.at + t.before)} to ${clock(t.at + t.after)}): ` +
        `${runs.length > 1 ? `those ${runs.length} runs start once` : 'that run starts once'} ` +
        `at ${clock(t.at + t.after)}`,
    );
  }
  const repeated = upcoming.map((t) => repeatedRun(s, t)).find(Boolean);
  if (repeated) {
    const { transition: t, wall } = repeated;
    const runs = matchesIn(s, t.at + t.after, t.at + t.before);
    const once =
      runs.length > 1
        ? `the ${runs.length} runs at ${times(runs)} run once each`
        : `the run at ${clock(wall)} runs once`;
    notes.push(
      `on ${date(wall)} ${clock(t.at + t.after)}–${clock(t.at + t.before - 60)} ` +
        `happens twice in ${zone} (clocks go back from ` +
        `${clock(t.at + t.before)} to ${clock(t.at + t.after)}): ${once}, the first time`,
    );
  }
  return notes;
}
