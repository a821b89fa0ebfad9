/**
 * Cron schedules read the way Kubernetes reads them: the CronJob API validates and the CronJob
 * controller runs a schedule with robfig/cron v3 (`cron.ParseStandard`, then `Schedule.Next` in the
 * CronJob's time zone). This is that parser (and cron-clock.ts that `Next`), step for step, so that what the operator
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
