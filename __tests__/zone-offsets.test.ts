/**
 * lib/permits/cron.ts remembers each zone's offset per hour (reading it through Intl on every step made the
 * operator's reconcile slow). These check the remembered offsets against a plain Intl reading, second by
 * second where a zone changes its offset, including changes in the middle of an hour.
 */
import { offsetSeconds } from '../lib/permits/cron-clock';

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
