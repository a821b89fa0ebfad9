import { freshnessSeconds, judgeFreshness, schedulePeriodSeconds } from '../lib/permits/freshness';

const now = new Date('2024-05-10T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000).toISOString();

test('the default objective is two schedule periods, the longest gap of the schedule', () => {
  expect(schedulePeriodSeconds('02:30', 'Europe/Rome', now)).toBe(86400);
  expect(schedulePeriodSeconds('@hourly', undefined, now)).toBe(3600);
  // Weekdays only: the weekend gap (Friday to Monday) is the period.
  expect(schedulePeriodSeconds('0 3 * * 1-5', 'UTC', now)).toBe(3 * 86400);
  expect(judgeFreshness({ backupTime: '02:30', lastSuccessfulTime: hoursAgo(47) }, now)).toMatchObject({
    status: 'True',
    reason: 'WithinObjective',
    objectiveSeconds: 172800,
  });
  expect(judgeFreshness({ backupTime: '02:30', lastSuccessfulTime: hoursAgo(49) }, now)).toMatchObject({
    status: 'False',
    reason: 'Stale',
  });
});

test('an explicit objective wins, and the verdict says when it will turn stale', () => {
  const verdict = judgeFreshness({ backupTime: '02:30', freshness: '26h', lastSuccessfulTime: hoursAgo(20) }, now);
  expect(verdict).toMatchObject({
    status: 'True',
    message: `the newest good snapshot (${hoursAgo(20)}) is within the objective of 26h`,
  });
  expect(verdict.staleAt!.toISOString()).toBe(new Date(now.getTime() + 6 * 3600_000).toISOString());
  expect(judgeFreshness({ backupTime: '02:30', freshness: '26h', lastSuccessfulTime: hoursAgo(27) }, now).message).toBe(
    `the newest good snapshot (${hoursAgo(27)}) is older than the objective of 26h`,
  );
});

test('a schedule that silently stops producing runs turns Stale with the reason', () => {
  expect(judgeFreshness({ backupTime: '@hourly', suspend: true, lastSuccessfulTime: hoursAgo(3) }, now)).toMatchObject({
    status: 'False',
    reason: 'Stale',
    message: `the newest good snapshot (${hoursAgo(3)}) is older than the objective of 2h (the Backup is suspended)`,
  });
  expect(
    judgeFreshness({ backupTime: '@hourly', trouble: 'the CronJob is missing', lastSuccessfulTime: hoursAgo(5) }, now)
      .message,
  ).toBe(`the newest good snapshot (${hoursAgo(5)}) is older than the objective of 2h (the CronJob is missing)`);
});

test('a new Backup is judged from its creation until the first success', () => {
  expect(judgeFreshness({ backupTime: '02:30', createdAt: hoursAgo(1) }, now).status).toBe('True');
  expect(judgeFreshness({ backupTime: '02:30', createdAt: hoursAgo(72) }, now)).toMatchObject({
    status: 'False',
    message: `no good snapshot since the Backup was filed (${hoursAgo(72)}); it is older than the objective of 2d`,
  });
  // The message does not change with the clock, so an unchanged Backup's status is not rewritten.
  expect(
    judgeFreshness({ backupTime: '02:30', createdAt: hoursAgo(72) }, new Date(now.getTime() + 3600_000)).message,
  ).toBe(judgeFreshness({ backupTime: '02:30', createdAt: hoursAgo(72) }, now).message);
});

test('durations: minutes, hours, days; anything else is refused', () => {
  expect([freshnessSeconds('90m'), freshnessSeconds('36h'), freshnessSeconds('2d')]).toEqual([5400, 129600, 172800]);
  expect(['0h', '1.5h', '1w', 'h', '-1d', '36'].map(freshnessSeconds)).toEqual([
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

test('a schedule that never fires (30 February) is Stale, not "no objective": no snapshot will ever be taken', () => {
  for (const backupTime of ['0 0 30 2 *', '0 3 31 4,6,9,11 *']) {
    const verdict = judgeFreshness({ backupTime, createdAt: hoursAgo(1) }, now);
    expect(verdict).toMatchObject({
      status: 'False',
      reason: 'Stale',
      message:
        `the schedule "${backupTime}" never fires (no time in the next five years matches it), so no snapshot ` +
        `will be taken: fix spec.backupTime`,
    });
    expect(verdict.staleAt).toBeUndefined();
  }
  // An explicit objective is judged as usual, with the reason.
  expect(
    judgeFreshness({ backupTime: '0 0 30 2 *', freshness: '2d', lastSuccessfulTime: hoursAgo(72) }, now).message,
  ).toMatch(/older than the objective of 2d \(the schedule "0 0 30 2 \*" never fires/);
});

test('a newest success later than the clock (skewed clocks) is not taken as fresh until the clock reaches it', () => {
  const ahead = new Date(now.getTime() + 400 * 86400_000).toISOString();
  const verdict = judgeFreshness({ backupTime: '02:30', lastSuccessfulTime: ahead }, now);
  expect(verdict).toMatchObject({
    status: 'False',
    reason: 'ClockSkew',
    message:
      `the newest good snapshot's time (${ahead}) is later than the operator's clock: the clocks of the ` +
      `control plane and the operator disagree, so freshness cannot be judged; set them right`,
  });
  // A few minutes ahead is ordinary drift.
  expect(
    judgeFreshness({ backupTime: '02:30', lastSuccessfulTime: new Date(now.getTime() + 60_000).toISOString() }, now)
      .status,
  ).toBe('True');
});

test('the period covers a whole week: weekday and office-hours schedules are not Stale every weekend or night', () => {
  const monday = new Date('2026-11-23T08:00:00Z');
  // Friday 17:00 to Monday 09:00; Friday 23:45 to Monday 00:00; 18:55 to 08:00 the next day.
  expect(schedulePeriodSeconds('0 9-17 * * 1-5', 'UTC', monday)).toBe(64 * 3600);
  expect(schedulePeriodSeconds('*/15 * * * 1-5', 'UTC', monday)).toBe(48 * 3600 + 15 * 60);
  expect(schedulePeriodSeconds('*/5 8-18 * * *', 'UTC', monday)).toBe(13 * 3600 + 5 * 60);
  // The newest success on Friday at 17:00, judged on Sunday at noon: within two periods.
  const sunday = new Date('2026-11-29T12:00:00Z');
  expect(
    judgeFreshness({ backupTime: '0 9-17 * * 1-5', lastSuccessfulTime: '2026-11-27T17:00:00Z' }, sunday).status,
  ).toBe('True');
  expect(
    judgeFreshness({ backupTime: '*/15 * * * 1-5', lastSuccessfulTime: '2026-11-27T23:45:00Z' }, sunday).status,
  ).toBe('True');
});
