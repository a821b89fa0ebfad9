/**
 * lib/permits/cron.ts remembers each zone's offset per hour (reading it through Intl on every step made the
 * operator's reconcile slow). These check the remembered offsets against a plain Intl reading, second by
 * second where a zone changes its offset, including changes in the middle of an hour.
 */
import { offsetSeconds } from '../lib/permits/cron';
import { schedulePeriodSeconds } from '../lib/permits/freshness';
import { nextAfter, parseSchedule } from '../lib/permits/cron';
import { cronScheduleOf } from '../lib/run/backup-job';

const formats = new Map<string, Intl.DateTimeFormat>();

function intlOffset(zone: string, t: number): number {
  const parts: Record<string, number> = {};
  const format =
    formats.get(zone) ??
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  formats.set(zone, format);
  for (const p of format.formatToParts(new Date(t * 1000))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) / 1000 - t;
}

const at = (iso: string) => Date.parse(iso) / 1000;

// Each window holds an offset change: on the hour (Rome), at half past (Lord Howe's 30-minute shift, 02:00
// local), and at 00:44:30 UTC (Monrovia leaving its -0:44:30 offset in 1972).
const windows: [string, number, number][] = [
  ['Europe/Rome', at('2026-03-29T00:00:00Z'), at('2026-03-29T02:00:00Z')],
  ['Europe/Rome', at('2026-10-25T00:00:00Z'), at('2026-10-25T02:00:00Z')],
  ['Australia/Lord_Howe', at('2026-04-04T14:00:00Z'), at('2026-04-04T16:00:00Z')],
  ['Africa/Monrovia', at('1972-01-07T00:00:00Z'), at('1972-01-07T02:00:00Z')],
  ['America/St_Johns', at('2026-11-01T03:00:00Z'), at('2026-11-01T05:00:00Z')],
];

test.each(windows)('the offset of %s is Intl’s at every second around its change', (zone, from, to) => {
  const changes: number[] = [];
  for (let t = from; t < to; t++) {
    const expected = intlOffset(zone, t);
    if (t > from && expected !== intlOffset(zone, t - 1)) changes.push(t);
    expect([t, offsetSeconds(zone, t)]).toEqual([t, expected]);
  }
  // The window really holds a change, so the test would see a remembered offset carried across it.
  expect(changes.length).toBeGreaterThan(0);
});

test('offsets asked in any order, hours apart and back, stay right', () => {
  const zone = 'Australia/Lord_Howe';
  const times = Array.from({ length: 2000 }, (_, i) => at('2026-04-03T00:00:00Z') + ((i * 7919) % (3 * 86400)));
  for (const t of times) expect([t, offsetSeconds(zone, t)]).toEqual([t, intlOffset(zone, t)]);
});

/** The period computed afresh: the longest gap between the next 16 runs. */
function periodAfresh(backupTime: string, zone: string, from: Date): number {
  const schedule = parseSchedule(cronScheduleOf(backupTime, { name: '' }));
  const runs: number[] = [];
  for (let t: Date | undefined = from; runs.length < 16 && t; ) {
    t = nextAfter(schedule, zone, t);
    if (t) runs.push(t.getTime());
  }
  return Math.max(...runs.slice(1).map((r, i) => (r - runs[i]) / 1000));
}

test('the remembered schedule period is the one computed afresh, forwards and backwards in time', () => {
  // A daily run in Rome at 02:30, which the spring change skips: 16 runs that reach it have a 47-hour gap.
  const hours = Array.from(
    { length: 40 * 8 },
    (_, i) => new Date(Date.parse('2026-03-05T00:00:00Z') + i * 3 * 3600_000),
  );
  const seen = new Set<number>();
  for (const from of [...hours, ...[...hours].reverse()]) {
    const period = schedulePeriodSeconds('02:30', 'Europe/Rome', from);
    seen.add(period!);
    expect([from.toISOString(), period]).toEqual([from.toISOString(), periodAfresh('02:30', 'Europe/Rome', from)]);
  }
  expect([...seen].sort()).toEqual([169200, 86400]);
});
