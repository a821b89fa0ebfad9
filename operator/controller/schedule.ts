/** A Backup's schedule as the CronJob controller reads it: the next run, a missed one, daylight-saving decisions. */
import type { BackupSpec } from '../../lib/permits/api-types';
import * as api from '../../lib/permits/backup-api';
import { parseSchedule } from '../../lib/permits/cron';
import { nextAfter, previousAtOrBefore } from '../../lib/permits/cron-clock';
import type { BackupIdentity } from '../../lib/permits/schedule-window';
import { type BackupRef, cronJobNameFor } from '../../lib/run/backup-names';
import { effectiveSchedule } from '../../lib/permits/schedule-window';
import { decideRuns, type RunDecisions } from './run-admission';
import { jobStart } from './runs';
import type { KubeObject, Observed } from './types';
import { safely, timestamp } from './values';

const nextRuns = new Map<string, { from: number; next: number | undefined }>();

/**
 * The next run after `now`, in the Backup's time zone, as the CronJob controller computes it; undefined
 * when the schedule never fires (30 February) or cannot be read. Remembered per schedule and zone: an
 * answer computed at an earlier time stays right until that run is reached, as no run lies between.
 */
export function nextRun(spec: BackupSpec, identity: BackupIdentity, now: Date): string | undefined {
  const schedule = effectiveSchedule(spec.backupTime, identity);
  const timezone = spec.timeZone ?? api.DEFAULT_TIME_ZONE;
  const key = `${schedule}\n${timezone}`;
  const t = now.getTime();
  let cached = nextRuns.get(key);
  if (!cached || t < cached.from || cached.next === undefined || t >= cached.next) {
    cached = { from: t, next: safely(() => nextAfter(parseSchedule(schedule), timezone, now))?.getTime() };
    if (nextRuns.size > 10_000) nextRuns.clear();
    nextRuns.set(key, cached);
  }
  return cached.next === undefined ? undefined : timestamp(new Date(cached.next));
}

/** The most recent run time at or before `now`. */
function previousRun(spec: BackupSpec, identity: BackupIdentity, now: Date): Date | undefined {
  return safely(() =>
    previousAtOrBefore(
      parseSchedule(effectiveSchedule(spec.backupTime, identity)),
      spec.timeZone ?? api.DEFAULT_TIME_ZONE,
      now,
    ),
  );
}

/** Schedules are validated before they get here; a reading error still must not stop the status write. */

/** The due time of a run the CronJob should have started by now but did not, if any. */
export function missedRun(
  spec: BackupSpec,
  identity: BackupIdentity,
  cronJob: KubeObject,
  jobs: readonly KubeObject[],
  now: Date,
): string | undefined {
  const deadline = (spec.startingDeadlineSeconds ?? 0) * 1000;
  const due = previousRun(spec, identity, new Date(now.getTime() - deadline));
  if (!due) return undefined;
  const created = Date.parse(cronJob.metadata.creationTimestamp ?? '');
  if (!(created < due.getTime())) return undefined;
  const started = jobs.some((j) => Date.parse(jobStart(j)) >= due.getTime());
  return started ? undefined : timestamp(due);
}

/** The daylight-saving decisions for a valid schedule (operator/run-admission.ts); undefined when it cannot be read. */
export function dstRuns(
  spec: BackupSpec,
  ref: BackupRef,
  jobs: readonly KubeObject[],
  observed: Observed,
): RunDecisions | undefined {
  const scheduleText = effectiveSchedule(spec.backupTime, ref);
  return safely(() =>
    decideRuns({
      schedule: parseSchedule(scheduleText),
      scheduleText,
      zone: spec.timeZone ?? api.DEFAULT_TIME_ZONE,
      now: observed.now,
      cronJobName: cronJobNameFor(ref.name),
      jobs,
      forbidOverlap: (spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY) === 'Forbid',
      startingDeadlineSeconds: spec.startingDeadlineSeconds,
    }),
  );
}
