/**
 * lib/permits/cron.ts against robfig/cron v3 itself (built from Go): the same schedules valid, the same next
 * run in the same zone, across daylight-saving changes and the parser's quirks.
 */
import { CRON_PATTERN, CRON_REVERSED_RANGE_PATTERN } from '../lib/permits/backup-api';
import { parseSchedule, scheduleProblem } from '../lib/permits/cron';
import { nextAfter, previousAtOrBefore } from '../lib/permits/cron-clock';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KUBERNETES_TIME_ZONES } from '../lib/permits/time-zones';
import { goZoneinfoZip, kubernetesTimeZones, renderTimeZonesModule, zipEntryNames } from '../scripts/go-time-zones';
import { askRobfig, CronQuery } from '../testing/robfig';

/** A small deterministic generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)];

function randomSchedule(r: () => number): string {
  const odd = ['24', '31', '32', '59', '60', '+3', 'jan', 'DEC', 'Mon', 'sun', 'SAT', 'x', ''];
  const value = () => (r() < 0.92 ? String(Math.floor(r() * 7)).padStart(r() < 0.1 ? 2 : 1, '0') : pick(r, odd));
  const range = () => {
    const base = pick(r, ['*', '*', '?', 'v', 'v', 'v-v', 'v-v', 'v-v', 'v-v-v', '*-v']).replace(/v/g, value);
    return r() < 0.35 ? `${base}/${pick(r, ['1', '2', '2', '15', '45', '90', '100', '0', '', '2/3'])}` : base;
  };
  const field = () => Array.from({ length: 1 + Math.floor(r() * 2.2) }, range).join(pick(r, [',', ',', ',', ',,']));
  return Array.from({ length: pick(r, [5, 5, 5, 5, 5, 5, 4, 6]) }, field).join(pick(r, [' ', ' ', '  ', '\t']));
}

/** Schedules in the shape the CRD reads (single spaces, in-range-ish values, names), reversed ranges included. */
function shapedSchedule(r: () => number): string {
  const names = [[], [], [], ['jan', 'FEB', 'Mar', 'dec', 'Jul'], ['sun', 'MON', 'Fri', 'sat']];
  const max = [59, 23, 31, 12, 6];
  const fieldOf = (i: number) => {
    const value = () => (names[i].length && r() < 0.3 ? pick(r, names[i]) : String(Math.floor(r() * (max[i] + 2))));
    const item = () => {
      const base = pick(r, ['*', '?', 'v', 'v-v', 'v-v']).replace(/v/g, value);
      return r() < 0.3 ? `${base}/${1 + Math.floor(r() * 99)}` : base;
    };
    return Array.from({ length: 1 + Math.floor(r() * 2) }, item).join(',');
  };
  return [0, 1, 2, 3, 4].map(fieldOf).join(' ');
}

const CURATED = [
  '30 2 * * *',
  '*/90 * * * *',
  '5/15 * * * *',
  '5/15 2 * * *',
  '0 0 * * 5-1',
  '0 0 * * SAT-MON',
  '0 0 * * mon-fri',
  '0 0 * jan,Mar *',
  '0 0 * * 7',
  '0 0 0 * *',
  '0 24 * * *',
  '60 * * * *',
  '*/0 * * * *',
  '0 0 30 2 *',
  '0 0 29 2 *',
  '0 0 13 * 5',
  '0 0 */2 * 1',
  '0 0 * * */2',
  '0 0 ? * ?',
  '1,,2 * * * *',
  ',* * * * *',
  '*-5 * * * *',
  '@daily',
  '@midnight',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
  '@hourly',
  '@every 1h',
  '@Daily',
  '',
  '0 0 * *',
  '0 0 * * * *',
  'CRON_TZ=UTC 0 0 * * *',
  '0 0 1-31/7 * *',
  '59 23 31 12 *',
  '0 2 * * sun',
];

describe('parsing, as the CronJob API validates', () => {
  const r = random(20261125);
  const schedules = [
    ...CURATED,
    ...Array.from({ length: 3000 }, () => randomSchedule(r)),
    ...Array.from({ length: 2000 }, () => shapedSchedule(r)),
  ];
  const answers = askRobfig(schedules.map((schedule) => ({ schedule })));

  test('valid and invalid exactly where robfig/cron says so, for curated and 5000 generated schedules', () => {
    const disagreements = schedules
      .map((schedule, i) => ({
        schedule,
        robfig: answers[i].error ?? 'valid',
        ours: scheduleProblem(schedule) ?? 'valid',
      }))
      .filter(
        (c) =>
          (c.robfig === 'valid') !== (c.ours === 'valid') && !(c.schedule.startsWith('@every') && c.robfig === 'valid'),
      );
    expect(disagreements).toEqual([]);
    expect(answers.filter((a) => !a.error).length).toBeGreaterThan(100);
  });

  test('every valid generated schedule runs next when robfig/cron says, in Rome across the spring change', () => {
    const valid = schedules.filter((schedule, i) => !answers[i].error && !schedule.startsWith('@every'));
    const after = '2026-03-28T22:17:00Z';
    const oracle = askRobfig(valid.map((schedule) => ({ schedule, timeZone: 'Europe/Rome', after })));
    const ours = valid.map(
      (schedule) =>
        nextAfter(parseSchedule(schedule), 'Europe/Rome', new Date(after))?.toISOString().replace('.000Z', 'Z') ??
        'never',
    );
    expect(ours).toEqual(oracle.map((a) => a.next));
  });

  test('whatever the CRD admits as a cron expression, Kubernetes accepts', () => {
    const admitted = (schedule: string) =>
      new RegExp(CRON_PATTERN).test(schedule) && !new RegExp(CRON_REVERSED_RANGE_PATTERN).test(schedule);
    const refusedByKubernetes = schedules.filter((schedule, i) => admitted(schedule) && answers[i].error);
    expect(refusedByKubernetes).toEqual([]);
    expect(schedules.filter(admitted).length).toBeGreaterThan(50);
    // And the reversed ranges it refuses are the ones Kubernetes refuses for that reason.
    const reversed = schedules.filter(
      (schedule) => new RegExp(CRON_PATTERN).test(schedule) && new RegExp(CRON_REVERSED_RANGE_PATTERN).test(schedule),
    );
    expect(reversed.length).toBeGreaterThan(10);
    expect(
      reversed.filter((schedule) => !answers[schedules.indexOf(schedule)].error?.includes('beyond end of range')),
    ).toEqual([]);
  });

  test('range and bound errors read as robfig writes them', () => {
    expect(scheduleProblem('0 0 * * 5-1')).toBe('beginning of range (5) beyond end of range (1): 5-1');
    expect(scheduleProblem('0 0 * * 7')).toBe('end of range (7) above maximum (6): 7');
    expect(scheduleProblem('*/0 * * * *')).toBe('step of range should be a positive number: */0');
    expect(scheduleProblem('@every 1h')).toBe('unrecognized descriptor: @every 1h');
  });
});

describe('the next run, as the CronJob controller computes it', () => {
  const zones = [
    'UTC',
    'Europe/Rome',
    'America/New_York',
    'America/Sao_Paulo',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'Pacific/Chatham',
    'America/Santiago',
  ];
  // Around daylight-saving changes of 2026 in both hemispheres, and ordinary days.
  const instants = [
    '2026-03-08T06:59:30Z',
    '2026-03-29T00:30:00Z',
    '2026-04-05T00:00:00Z',
    '2026-10-25T00:10:00Z',
    '2026-11-01T05:30:00Z',
    '2026-09-06T03:00:00Z',
    '2026-11-25T10:00:00.500Z',
    '2026-12-31T23:59:59Z',
    '2027-02-28T12:00:00Z',
  ];
  const schedules = [
    '30 2 * * *',
    '0 0 * * *',
    '*/7 * * * *',
    '5/15 1-3 * * *',
    '0 0 13 * 5',
    '0 0 1,15 * 1',
    '30 1 * * sun',
    '0 0 29 2 *',
    '0 0 30 2 *',
    '@weekly',
    '@monthly',
    '@yearly',
    '@hourly',
    '0 */90 * * *',
    '45 23 31 * *',
    '0 3 * * 0-6/2',
    '15 2,3 * Mar,oct *',
  ];
  const queries: CronQuery[] = schedules.flatMap((schedule) =>
    zones.flatMap((timeZone) => instants.map((after) => ({ schedule, timeZone, after }))),
  );
  const answers = askRobfig(queries);

  test(
    `the same next run as robfig/cron in ${queries.length} cases (${schedules.length} ` +
      `schedules × ${zones.length} zones × ${instants.length} instants)`,
    () => {
      const disagreements = queries
        .map((q, i) => {
          const next = nextAfter(parseSchedule(q.schedule), q.timeZone!, new Date(q.after!));
          return {
            ...q,
            robfig: answers[i].next ?? answers[i].error,
            ours: next ? next.toISOString().replace('.000Z', 'Z') : 'never',
          };
        })
        .filter((c) => c.robfig !== c.ours);
      expect(disagreements).toEqual([]);
    },
  );

  test('the previous run is the newest run at or before the time asked', () => {
    const s = parseSchedule('30 2 * * *');
    expect(previousAtOrBefore(s, 'UTC', new Date('2026-11-25T02:30:00Z'))?.toISOString()).toBe(
      '2026-11-25T02:30:00.000Z',
    );
    expect(previousAtOrBefore(s, 'UTC', new Date('2026-11-25T02:29:59Z'))?.toISOString()).toBe(
      '2026-11-24T02:30:00.000Z',
    );
    expect(
      previousAtOrBefore(parseSchedule('0 0 1 1 *'), 'Europe/Rome', new Date('2026-11-25T00:00:00Z'))?.toISOString(),
    ).toBe('2025-12-31T23:00:00.000Z');
    expect(previousAtOrBefore(parseSchedule('0 0 30 2 *'), 'UTC', new Date('2026-11-25T00:00:00Z'))).toBeUndefined();
  });
});

describe('time zones, as Kubernetes judges them', () => {
  test(
    "lib/permits/time-zones.ts is Go's tzdata (what the API " +
      'server embeds), regenerated by scripts/go-time-zones.ts',
    () => {
      const { zip, goVersion } = goZoneinfoZip();
      const expected = renderTimeZonesModule(kubernetesTimeZones(zipEntryNames(zip)), goVersion);
      const committed = fs.readFileSync(path.join(__dirname, '..', 'lib', 'permits', 'time-zones.ts'), 'utf8');
      if (committed !== expected)
        throw new Error('lib/permits/time-zones.ts is stale: run `npx tsx scripts/go-time-zones.ts` and commit it');
      expect(KUBERNETES_TIME_ZONES).toEqual(
        expect.arrayContaining(['UTC', 'Europe/Rome', 'US/Eastern', 'Asia/Calcutta', 'Etc/GMT+3']),
      );
    },
  );

  test("Go refuses what Node's ICU would take (letter case, abbreviations), and so does the list", () => {
    const names = [
      'Europe/Rome',
      'europe/rome',
      'EUROPE/ROME',
      'PST',
      'IST',
      'utc',
      'UTC',
      'US/Eastern',
      'Local',
      'Mars/Olympus_Mons',
    ];
    const go = askRobfig(names.map((timeZone) => ({ schedule: '0 0 * * *', timeZone, after: '2026-01-01T00:00:00Z' })));
    expect(names.filter((n, i) => !go[i].error && n !== 'Local')).toEqual(
      names.filter((n) => KUBERNETES_TIME_ZONES.includes(n)),
    );
    const icu = (n: string) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: n });
        return true;
      } catch {
        return false;
      }
    };
    expect(['europe/rome', 'PST', 'utc'].every(icu)).toBe(true);
  });

  test('Node can compute times in every zone on the list', () => {
    const s = parseSchedule('30 2 * * *');
    expect(KUBERNETES_TIME_ZONES.filter((zone) => !nextAfter(s, zone, new Date('2026-11-25T00:00:00Z')))).toEqual([]);
  });
});
