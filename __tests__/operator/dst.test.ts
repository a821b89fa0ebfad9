import { parseSchedule } from '../../lib/permits/cron';
import { nextAfter } from '../../lib/permits/cron-clock';
import { comparedDeviations, transitionsAround, wholeHourDeviations } from '../../operator/controller/dst';
import { decideRuns, scheduledJobName } from '../../operator/controller/run-admission';
import type { KubeObject } from '../../operator/controller/types';

/**
 * Plays a day around each change: the CronJob controller's runs (robfig's Next, which lib/permits/cron.ts
 * reproduces and __tests__/cron.test.ts checks against robfig itself), with the operator reconciling
 * every minute, starting or dropping each held Job and creating the skipped run, as the controller would.
 * Returns the instants at which a run really starts.
 */
function play(backupTime: string, zone: string, from: string, to: string): { starts: number[]; cronJobRuns: number[] } {
  const schedule = parseSchedule(backupTime);
  const cronJobName = 'backup-bakery';
  const jobs: KubeObject[] = [];
  const starts: number[] = [];
  const cronJobRuns: number[] = [];
  let due = nextAfter(schedule, zone, new Date(from));
  let recheck: number | undefined;
  const end = Date.parse(to);
  // The operator reconciles when a Job appears and when it asked to be woken up (requeueAt); between those nothing
  // changes.
  for (
    let now = Date.parse(from);
    now <= end;
    now = Math.min(due?.getTime() ?? Infinity, recheck ?? Infinity, end + 1)
  ) {
    const decisions = decideRuns({ schedule, zone, now: new Date(now), cronJobName, jobs, forbidOverlap: true });
    // The CronJob controller: a Job at each run, suspended while the operator holds runs.
    while (due && due.getTime() <= now) {
      cronJobRuns.push(due.getTime() / 1000);
      jobs.push({
        metadata: { name: scheduledJobName(cronJobName, due.getTime() / 1000), creationTimestamp: due.toISOString() },
        spec: { suspend: decisions.hold },
      });
      if (!decisions.hold) starts.push(due.getTime() / 1000);
      due = nextAfter(schedule, zone, due);
    }
    const after = decideRuns({ schedule, zone, now: new Date(now), cronJobName, jobs, forbidOverlap: true });
    for (const name of after.admit) {
      const job = jobs.find((j) => j.metadata.name === name)!;
      job.spec.suspend = false;
      starts.push(now / 1000);
    }
    for (const name of after.drop)
      jobs.splice(
        jobs.findIndex((j) => j.metadata.name === name),
        1,
      );
    if (after.catchUp) {
      jobs.push({ metadata: { name: after.catchUp.name, creationTimestamp: new Date(now).toISOString() }, spec: {} });
      starts.push(now / 1000);
    }
    // Runs finish before the next one is due, so Forbid never blocks.
    for (const job of jobs)
      if (job.spec.suspend !== true) job.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    recheck = after.recheckAt && after.recheckAt.getTime() > now ? after.recheckAt.getTime() : undefined;
  }
  return { starts, cronJobRuns };
}

/** "YYYY-MM-DD HH:MM" on the wall clock of `zone`. */
function local(zone: string, seconds: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
      .formatToParts(new Date(seconds * 1000))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

describe.each<[string, string, string, string, string, string, [number, number]?]>([
  // zone, time, spring change day (UTC window), the first valid minute, autumn day (UTC window), the repeated time
  ['Europe/Rome', '02:30', '2027-03-27T12:00:00Z', '2027-03-28 03:00', '2026-10-24T12:00:00Z', '2026-10-25 02:30'],
  ['America/New_York', '02:30', '2027-03-13T12:00:00Z', '2027-03-14 03:00', '2026-10-31T12:00:00Z', ''],
  ['America/New_York', '01:30', '2027-03-13T12:00:00Z', '', '2026-10-31T12:00:00Z', '2026-11-01 01:30'],
  ['Australia/Sydney', '02:30', '2026-10-03T00:00:00Z', '2026-10-04 03:00', '2027-04-03T00:00:00Z', '2027-04-04 02:30'],
  // Zones with odd rules: a 30-minute change, changes at midnight, a negative "summer" rule, a 2-hour change.
  // robfig steps whole real hours: with a 30-minute change the CronJob alone skips 02:15 on the autumn day
  // and runs 01:45 a second time, at 02:45, on the spring day (the last column: its runs, spring and autumn).
  ['Australia/Lord_Howe', '02:15', '2026-10-03T06:00:00Z', '2026-10-04 02:30', '2027-04-02T06:00:00Z', '', [2, 2]],
  ['Australia/Lord_Howe', '01:45', '2026-10-03T06:00:00Z', '', '2027-04-02T06:00:00Z', '2027-04-04 01:45', [4, 4]],
  ['America/Santiago', '00:30', '2026-09-05T06:00:00Z', '2026-09-06 01:00', '2027-04-03T06:00:00Z', ''],
  ['America/Santiago', '23:30', '2026-09-05T06:00:00Z', '', '2027-04-03T06:00:00Z', '2027-04-03 23:30'],
  ['America/Havana', '00:30', '2027-03-13T12:00:00Z', '2027-03-14 01:00', '2026-10-31T12:00:00Z', '2026-11-01 00:30'],
  ['Europe/Dublin', '01:30', '2027-03-27T12:00:00Z', '2027-03-28 02:00', '2026-10-24T12:00:00Z', '2026-10-25 01:30'],
  ['Antarctica/Troll', '01:30', '2027-03-26T12:00:00Z', '2027-03-28 03:00', '2026-10-24T12:00:00Z', '2026-10-25 01:30'],
])('%s at %s', (zone, time, springFrom, springRun, autumnFrom, autumnRun, robfigRuns) => {
  const [hh, mm] = time.split(':');
  const cron = `${Number(mm)} ${Number(hh)} * * *`;
  const threeDays = (from: string) => new Date(Date.parse(from) + 3 * 86400_000 - 60_000).toISOString();

  test(
    'spring: a time that does not exist runs once, at the first ' +
      'valid minute after it; every other day once at its time',
    () => {
      const { starts, cronJobRuns } = play(cron, zone, springFrom, threeDays(springFrom));
      const days = starts.map((s) => local(zone, s).slice(0, 10));
      expect(new Set(days).size).toBe(starts.length);
      expect(starts).toHaveLength(3);
      if (springRun) {
        // The CronJob alone skips that day, as robfig does.
        expect(cronJobRuns).toHaveLength(robfigRuns?.[0] ?? 2);
        expect(starts.map((s) => local(zone, s).slice(0, 16))).toContain(springRun);
      } else {
        expect(cronJobRuns).toHaveLength(robfigRuns?.[0] ?? 3);
      }
      for (const s of starts)
        if (!springRun || local(zone, s).slice(0, 16) !== springRun) expect(local(zone, s).slice(11, 16)).toBe(time);
    },
  );

  test('autumn: a time that occurs twice runs once, the first time; every other day once at its time', () => {
    const { starts, cronJobRuns } = play(cron, zone, autumnFrom, threeDays(autumnFrom));
    const days = starts.map((s) => local(zone, s).slice(0, 10));
    expect(new Set(days).size).toBe(starts.length);
    expect(starts).toHaveLength(3);
    expect(starts.every((s) => local(zone, s).slice(11, 16) === time)).toBe(true);
    // The CronJob alone runs the repeated time twice, as robfig does.
    expect(cronJobRuns).toHaveLength(robfigRuns?.[1] ?? (autumnRun ? 4 : 3));
    if (autumnRun) {
      const first = cronJobRuns.find((r) => local(zone, r).startsWith(autumnRun))!;
      expect(starts).toContain(first);
    }
  });
});

describe('what the status says about the coming changes', () => {
  const notes = (backupTime: string, zone: string, now: string) =>
    decideRuns({
      schedule: parseSchedule(backupTime),
      zone,
      now: new Date(now),
      cronJobName: 'backup-bakery',
      jobs: [],
      forbidOverlap: true,
    }).notes;

  test('02:30 in Rome: skipped in spring (runs at 03:00), repeated in autumn (runs once)', () => {
    expect(notes('30 2 * * *', 'Europe/Rome', '2026-09-01T00:00:00Z')).toEqual([
      'on 2027-03-28 02:30 does not exist in Europe/Rome (clocks ' +
        'jump from 02:00 to 03:00): that run starts once at 03:00',
      'on 2026-10-25 02:00–02:59 happens twice in Europe/Rome (clocks go ' +
        'back from 03:00 to 02:00): the run at 02:30 runs once, the first time',
    ]);
  });

  test('times clear of every change, and zones without daylight saving, say nothing', () => {
    expect(notes('30 4 * * *', 'Europe/Rome', '2026-09-01T00:00:00Z')).toEqual([]);
    expect(notes('30 2 * * *', 'UTC', '2026-09-01T00:00:00Z')).toEqual([]);
    expect(notes('30 2 * * *', 'Asia/Tokyo', '2026-09-01T00:00:00Z')).toEqual([]);
  });

  test('a weekday schedule is warned about only when the change falls on one of its days', () => {
    // 2027-03-28 is a Sunday: "30 2 * * 1-5" is never due in the gap, but it is due in the autumn overlap? 2026-10-25
    // is a Sunday too.
    expect(notes('30 2 * * 1-5', 'Europe/Rome', '2026-09-01T00:00:00Z')).toEqual([]);
    expect(notes('30 2 * * 0', 'Europe/Rome', '2026-09-01T00:00:00Z')).toHaveLength(2);
  });
});

describe('changes by whole hours are read off the wall clock, and agree with robfig run for run', () => {
  const zones = [
    'Europe/Rome',
    'America/New_York',
    'America/Santiago',
    'America/Havana',
    'Europe/Dublin',
    'Antarctica/Troll',
    'Australia/Sydney',
  ];
  const schedules = [
    '30 2 * * *',
    '0 0 * * *',
    '30 23 * * *',
    '*/15 2 * * *',
    '@hourly',
    '30 * * * *',
    '0 1,3 * * 0',
    '45 0-3 * * *',
  ];
  test(`${zones.length} zones × ${schedules.length} schedules × the next two changes`, () => {
    const disagreements = zones
      .flatMap((zone) =>
        transitionsAround(zone, Date.parse('2026-11-25T00:00:00Z') / 1000)
          .slice(0, 2)
          .flatMap((t) =>
            schedules.map((text) => {
              const s = parseSchedule(text);
              return { zone, text, at: t.at, cheap: wholeHourDeviations(s, t), robfig: comparedDeviations(s, zone, t) };
            }),
          ),
      )
      .filter((c) => JSON.stringify(c.cheap) !== JSON.stringify(c.robfig));
    expect(disagreements).toEqual([]);
  });
});

test('a schedule due several times in the gap or the repeat says how many runs become one', () => {
  const notes = decideRuns({
    schedule: parseSchedule('*/15 2 * * *'),
    zone: 'Europe/Rome',
    now: new Date('2026-09-01T00:00:00Z'),
    cronJobName: 'backup-bakery',
    jobs: [],
    forbidOverlap: true,
  }).notes;
  expect(notes).toEqual([
    'on 2027-03-28 02:00, 02:15, 02:30 and 02:45 do not exist in Europe/Rome ' +
      '(clocks jump from 02:00 to 03:00): those 4 runs start once at 03:00',
    'on 2026-10-25 02:00–02:59 happens twice in Europe/Rome (clocks go back from 03:00 ' +
      'to 02:00): the 4 runs at 02:00, 02:15, 02:30 and 02:45 run once each, the first time',
  ]);
});
