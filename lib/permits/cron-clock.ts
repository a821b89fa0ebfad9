/**
 * robfig/cron v3's `Schedule.Next` in a CronJob's time zone, step for step (the parser is cron.ts): Go's
 * `time.Date` normalisation, daylight-saving gaps skipped, and the day-of-month/day-of-week rule.
 */
import type { CronSchedule } from './cron';

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Per zone, the offset of each hour (Unix seconds / 3600) in which it does not change, or null for an hour
 * with a change. Reading an offset through Intl costs tens of microseconds and `nextAfter` reads one per
 * step (up to a few hundred a call, thousands per reconcile): without this the operator's loop is spent here.
 */
const hourOffsets = new Map<string, Map<number, number | null>>();
const HOUR_CACHE_LIMIT = 50_000;

/** Wall-clock reading and Go's `time.Date` normalisation in one zone, on Unix seconds. */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly hours: Map<number, number | null>;

  constructor(zone: string) {
    let hours = hourOffsets.get(zone);
    if (!hours) {
      hours = new Map();
      hourOffsets.set(zone, hours);
    }
    this.hours = hours;
    let format = formatters.get(zone);
    if (!format) {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      formatters.set(zone, format);
    }
    this.format = format;
  }

  /**
   * The zone's offset from UTC at instant `t`, in seconds. An hour whose first and last second have the same
   * offset is taken to have it throughout (tzdata has no two changes within an hour that cancel out); an
   * hour with a change is read second by second.
   */
  public offset(t: number): number {
    const hour = Math.floor(t / 3600);
    let known = this.hours.get(hour);
    if (known === undefined) {
      const first = this.read(hour * 3600);
      known = first === this.read(hour * 3600 + 3599) ? first : null;
      if (this.hours.size >= HOUR_CACHE_LIMIT) this.hours.clear();
      this.hours.set(hour, known);
    }
    return known ?? this.read(t);
  }

  private read(t: number): number {
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(new Date(t * 1000)))
      if (p.type !== 'literal') parts[p.type] = Number(p.value);
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) / 1000 - t;
  }

  public wall(t: number): Wall {
    const d = new Date((t + this.offset(t)) * 1000);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      weekday: d.getUTCDay(),
    };
  }

  /** Go's time.Date: out-of-range values carry over; a wall time in a gap or overlap resolves as Go does. */
  public date(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
    const unix = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
    return unix - this.offset(unix - this.offset(unix));
  }
}

function dayMatches(s: CronSchedule, w: Wall): boolean {
  const domMatch = s.dom[w.day] === true;
  const dowMatch = s.dow[w.weekday] === true;
  return s.domStar || s.dowStar ? domMatch && dowMatch : domMatch || dowMatch;
}

/**
 * robfig's SpecSchedule.Next: the first activation strictly after `after`, in `zone`; undefined when
 * none falls within five years (e.g. 30 February).
 */
export function nextAfter(s: CronSchedule, zone: string, after: Date): Date | undefined {
  const clock = new ZoneClock(zone);
  let t = Math.floor(after.getTime() / 1000) + 1;
  let added = false;
  let w = clock.wall(t);
  const yearLimit = w.year + 5;
  const set = (next: number) => {
    t = next;
    w = clock.wall(t);
  };
  wrap: for (;;) {
    if (w.year > yearLimit) return undefined;
    while (!s.month[w.month]) {
      if (!added) {
        added = true;
        set(clock.date(w.year, w.month, 1, 0, 0, 0));
      }
      set(clock.date(w.year, w.month + 1, w.day, w.hour, w.minute, w.second));
      if (w.month === 1) continue wrap;
    }
    while (!dayMatches(s, w)) {
      if (!added) {
        added = true;
        set(clock.date(w.year, w.month, w.day, 0, 0, 0));
      }
      set(clock.date(w.year, w.month, w.day + 1, w.hour, w.minute, w.second));
      // Where midnight does not exist, the day starts at 01:00 (or 23:00 the day before).
      if (w.hour !== 0) set(t + (w.hour > 12 ? 24 - w.hour : -w.hour) * 3600);
      if (w.day === 1) continue wrap;
    }
    while (!s.hour[w.hour]) {
      if (!added) {
        added = true;
        set(clock.date(w.year, w.month, w.day, w.hour, 0, 0));
      }
      set(t + 3600);
      if (w.hour === 0) continue wrap;
    }
    while (!s.minute[w.minute]) {
      if (!added) {
        added = true;
        set(Math.floor(t / 60) * 60);
      }
      set(t + 60);
      if (w.minute === 0) continue wrap;
    }
    while (w.second !== 0) {
      added = true;
      set(t + 1);
      if (w.second === 0) continue wrap;
    }
    return new Date(t * 1000);
  }
}

/** The newest activation at or before `at`, looking back at most five years. */
export function previousAtOrBefore(s: CronSchedule, zone: string, at: Date): Date | undefined {
  for (const windowSeconds of [3600, 86400, 8 * 86400, 32 * 86400, 367 * 86400, 5 * 366 * 86400]) {
    let last: Date | undefined;
    let next = nextAfter(s, zone, new Date(at.getTime() - windowSeconds * 1000 - 1000));
    while (next && next.getTime() <= at.getTime()) {
      last = next;
      next = nextAfter(s, zone, next);
    }
    if (last) return last;
  }
  return undefined;
}

/** The offset of `zone` from UTC at `unixSeconds`, in seconds (daylight saving included). */
export function offsetSeconds(zone: string, unixSeconds: number): number {
  return new ZoneClock(zone).offset(unixSeconds);
}

/** Whether the wall-clock minute `wallSeconds` (its fields read as UTC) matches `s`, with robfig's day rule. */
export function matchesWallClock(s: CronSchedule, wallSeconds: number): boolean {
  const d = new Date(wallSeconds * 1000);
  const w = {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: 0,
    weekday: d.getUTCDay(),
  };
  return s.month[w.month] === true && dayMatches(s, w) && s.hour[w.hour] === true && s.minute[w.minute] === true;
}
