/**
 * Cron schedules read the way Kubernetes reads them: the CronJob API validates and the CronJob
 * controller runs a schedule with robfig/cron v3 (`cron.ParseStandard`, then `Schedule.Next` in the
 * CronJob's time zone). This is that parser and that `Next`, step for step, so that what the operator
 * says about a schedule (valid or not, when it next runs) is what the cluster will do, including its
 * quirks: steps larger than the field, `N/step` meaning `N-max/step`, case-insensitive names, `?` as
 * `*`, day-of-month OR day-of-week unless either starts with `*`, and daylight-saving gaps skipped.
 */

/** One parsed schedule: which values each field allows, and whether day fields began with `*`/`?`. */
export interface CronSchedule {
  readonly minute: readonly boolean[];
  readonly hour: readonly boolean[];
  readonly dom: readonly boolean[];
  readonly month: readonly boolean[];
  readonly dow: readonly boolean[];
  readonly domStar: boolean;
  readonly dowStar: boolean;
}

export class CronError extends Error {}

interface Bounds {
  readonly min: number;
  readonly max: number;
  readonly names?: Readonly<Record<string, number>>;
}

const MINUTES: Bounds = { min: 0, max: 59 };
const HOURS: Bounds = { min: 0, max: 23 };
const DOM: Bounds = { min: 1, max: 31 };
const MONTHS: Bounds = {
  min: 1,
  max: 12,
  names: { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 },
};
const DOW: Bounds = { min: 0, max: 6, names: { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } };

interface Field {
  readonly bits: boolean[];
  star: boolean;
}

function bitsOf(bounds: Bounds, start: number, end: number, step: number): boolean[] {
  const bits = new Array<boolean>(bounds.max + 1).fill(false);
  for (let i = start; i <= end; i += step) bits[i] = true;
  return bits;
}

const all = (bounds: Bounds): Field => ({ bits: bitsOf(bounds, bounds.min, bounds.max, 1), star: true });
const only = (bounds: Bounds, value: number): Field => ({ bits: bitsOf(bounds, value, value, 1), star: false });

/** Go's strconv.Atoi, then robfig's refusal of negatives. */
function parseUint(expr: string): number {
  if (!/^[+-]?[0-9]+$/.test(expr))
    throw new CronError(
      `failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: invalid syntax`,
    );
  const value = Number(expr);
  if (!Number.isSafeInteger(value))
    throw new CronError(
      `failed to parse int from ${expr}: strconv.Atoi: parsing ${JSON.stringify(expr)}: value out of range`,
    );
  if (value < 0) throw new CronError(`negative number (${value}) not allowed: ${expr}`);
  return value;
}

function parseIntOrName(expr: string, names?: Readonly<Record<string, number>>): number {
  const named = names?.[expr.toLowerCase()];
  return named !== undefined && Object.hasOwn(names!, expr.toLowerCase()) ? named : parseUint(expr);
}

/** robfig's getRange: `*`, `?`, `n`, `n-m`, each with an optional `/step`. */
function parseRange(expr: string, bounds: Bounds, into: Field): void {
  const rangeAndStep = expr.split('/');
  const lowAndHigh = rangeAndStep[0].split('-');
  const single = lowAndHigh.length === 1;
  let start: number;
  let end: number;
  let star = false;
  if (lowAndHigh[0] === '*' || lowAndHigh[0] === '?') {
    [start, end, star] = [bounds.min, bounds.max, true];
  } else {
    start = parseIntOrName(lowAndHigh[0], bounds.names);
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) end = parseIntOrName(lowAndHigh[1], bounds.names);
    else throw new CronError(`too many hyphens: ${expr}`);
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    step = parseUint(rangeAndStep[1]);
    if (single) end = bounds.max;
    if (step > 1) star = false;
  } else if (rangeAndStep.length > 2) {
    throw new CronError(`too many slashes: ${expr}`);
  }
  if (start < bounds.min) throw new CronError(`beginning of range (${start}) below minimum (${bounds.min}): ${expr}`);
  if (end > bounds.max) throw new CronError(`end of range (${end}) above maximum (${bounds.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  bitsOf(bounds, start, end, step).forEach((on, i) => {
    if (on) into.bits[i] = true;
  });
  into.star ||= star;
}

function parseField(field: string, bounds: Bounds): Field {
  const parsed: Field = { bits: new Array<boolean>(bounds.max + 1).fill(false), star: false };
  // Go's strings.FieldsFunc: empty items between commas are dropped, not refused.
  for (const expr of field.split(',').filter(Boolean)) parseRange(expr, bounds, parsed);
  return parsed;
}

const DESCRIPTORS: Record<string, () => Field[]> = {
  '@yearly': () => [only(MINUTES, 0), only(HOURS, 0), only(DOM, 1), only(MONTHS, 1), all(DOW)],
  '@annually': () => DESCRIPTORS['@yearly'](),
  '@monthly': () => [only(MINUTES, 0), only(HOURS, 0), only(DOM, 1), all(MONTHS), all(DOW)],
  '@weekly': () => [only(MINUTES, 0), only(HOURS, 0), all(DOM), all(MONTHS), only(DOW, 0)],
  '@daily': () => [only(MINUTES, 0), only(HOURS, 0), all(DOM), all(MONTHS), all(DOW)],
  '@midnight': () => DESCRIPTORS['@daily'](),
  '@hourly': () => [only(MINUTES, 0), all(HOURS), all(DOM), all(MONTHS), all(DOW)],
};

/** Go's strings.Fields: split on Unicode white space. */
const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * A CronJob schedule as the API server validates it (robfig's ParseStandard, plus Kubernetes' refusal
 * of `TZ`). `@every <duration>` is valid for Kubernetes but has no fixed times; it is refused here.
 * @throws CronError with robfig's own words
 */
export function parseSchedule(spec: string): CronSchedule {
  if (spec.length === 0) throw new CronError('empty spec string');
  if (spec.includes('TZ')) throw new CronError('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  let fields: Field[];
  if (spec.startsWith('@')) {
    const descriptor = DESCRIPTORS[spec];
    if (!descriptor) throw new CronError(`unrecognized descriptor: ${spec}`);
    fields = descriptor();
  } else {
    const parts = spec.split(GO_SPACE).filter(Boolean);
    if (parts.length !== 5)
      throw new CronError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
    fields = [
      parseField(parts[0], MINUTES),
      parseField(parts[1], HOURS),
      parseField(parts[2], DOM),
      parseField(parts[3], MONTHS),
      parseField(parts[4], DOW),
    ];
  }
  const [minute, hour, dom, month, dow] = fields;
  return {
    minute: minute.bits,
    hour: hour.bits,
    dom: dom.bits,
    month: month.bits,
    dow: dow.bits,
    domStar: dom.star,
    dowStar: dow.star,
  };
}

/** Why `spec` is not a valid CronJob schedule, or undefined when it is. */
export function scheduleProblem(spec: string): string | undefined {
  try {
    parseSchedule(spec);
    return undefined;
  } catch (error) {
    if (error instanceof CronError) return error.message;
    throw error;
  }
}

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
