/**
 * Which of a Backup's runs start, as daylight saving requires (see operator/dst.ts): the Job that
 * replaces a run a spring change skipped, the suspended Jobs to start, and the autumn repeats to drop.
 * Pure and level-based like reconcile: every answer is read off the Jobs that exist, so a restarted
 * operator or a new leader reaches the same decisions, and a Job it already made or started counts.
 */
import * as api from '../../lib/permits/backup-api';
import { CronSchedule } from '../../lib/permits/cron';
import { nextAfter } from '../../lib/permits/cron-clock';
import { runNowTokenOf } from '../../lib/run/backup-names';
import { dstNotes, holdRuns, isExtraRun, nextDstCheck, recentSkippedRun } from './dst';
import type { KubeObject } from './types';

/** The CronJob controller's annotation with the instant a Job was scheduled for (Kubernetes 1.28+). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** On a Job the operator made for a run a spring change skipped: the local time it stands for. */
export const SKIPPED_RUN_ANNOTATION = `${api.API_GROUP}/skipped-run`;

export interface RunDecisions {
  /** Render the CronJob's Jobs suspended: an autumn repeat is near. */
  readonly hold: boolean;
  /** Suspended Jobs to start. */
  readonly admit: string[];
  /**
   * Suspended Jobs to delete unstarted: scheduled in the second pass of a repeated hour, or past their starting
   * deadline.
   */
  readonly drop: string[];
  /** A run a spring change skipped, to create now: its Job name and the instant it stands for. */
  readonly catchUp?: { readonly name: string; readonly due: Date; readonly wall: string };
  /** What daylight saving will do to the schedule, in words. */
  readonly notes: string[];
  /** When to look again even if nothing changes in the cluster. */
  readonly recheckAt?: Date;
}

export interface RunInputs {
  readonly schedule: CronSchedule;
  /** The schedule as written: with the zone and the minute, the key under which the zone's answers are kept. */
  readonly scheduleText?: string;
  readonly zone: string;
  readonly now: Date;
  readonly cronJobName: string;
  /** The Backup's Jobs that are not being deleted. */
  readonly jobs: readonly KubeObject[];
  /** Whether a run that overlaps an active one is skipped (Forbid) rather than replacing it. */
  readonly forbidOverlap: boolean;
  /** Seconds after its time within which a run may still start (startingDeadlineSeconds). */
  readonly startingDeadlineSeconds?: number;
}

/** The instant the CronJob controller scheduled `job` for: its annotation, or the minutes in its name. */
export function scheduledTimeOf(job: KubeObject, cronJobName: string): number | undefined {
  const stamped = Date.parse(job.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION] ?? '');
  if (!Number.isNaN(stamped)) return stamped / 1000;
  const minutes = new RegExp(`^${cronJobName.replace(/[.]/g, '\\.')}-([0-9]+)$`).exec(job.metadata.name)?.[1];
  return minutes === undefined ? undefined : Number(minutes) * 60;
}

/** The name the CronJob controller gives the run scheduled at `at`: the same Job, whoever creates it. */
export function scheduledJobName(cronJobName: string, at: number): string {
  return `${cronJobName}-${Math.floor(at / 60)}`;
}

/** Whether a Job has completed or failed (also as a success or failure target not yet final). */
export function isFinished(job: KubeObject): boolean {
  return (job.status?.conditions ?? []).some(
    (c: any) => ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(c.type) && c.status === 'True',
  );
}

function startedAt(job: KubeObject): number {
  return Date.parse(job.status?.startTime ?? job.metadata.creationTimestamp ?? '') / 1000;
}

interface ZoneAnswers {
  readonly hold: boolean;
  readonly notes: string[];
  readonly recheck?: number;
  readonly skipped?: ReturnType<typeof recentSkippedRun>;
}

const zoneAnswers = new Map<string, ZoneAnswers>();

/**
 * What depends on the schedule, the zone and the time only, kept per minute: a fleet sharing a schedule
 * asks the same questions in the same minute. Zone changes fall on whole minutes, so the answers hold
 * for the whole minute.
 */
function answersFor(input: RunInputs, minute: number): ZoneAnswers {
  const key = input.scheduleText === undefined ? undefined : `${input.scheduleText}\n${input.zone}\n${minute}`;
  const cached = key === undefined ? undefined : zoneAnswers.get(key);
  if (cached) return cached;
  const { schedule, zone } = input;
  const now = minute * 60;
  const answers = {
    hold: holdRuns(schedule, zone, now),
    notes: dstNotes(schedule, zone, now),
    recheck: nextDstCheck(schedule, zone, now),
    skipped: recentSkippedRun(schedule, zone, now),
  };
  if (key !== undefined) {
    if (zoneAnswers.size > 10_000) zoneAnswers.clear();
    zoneAnswers.set(key, answers);
  }
  return answers;
}

export function decideRuns(input: RunInputs): RunDecisions {
  const { schedule, zone, cronJobName, jobs } = input;
  const now = Math.floor(input.now.getTime() / 1000);
  const answers = answersFor(input, Math.floor(now / 60));
  const admit: string[] = [];
  const drop: string[] = [];
  for (const job of jobs) {
    if (job.spec?.suspend !== true || isFinished(job)) continue;
    const at = scheduledTimeOf(job, cronJobName);
    // A run-now Job held under a cap that has since been switched off has no gate left to start it:
    // started here, or it would wait for good (and under Forbid hold back every later run).
    if (at === undefined && runNowTokenOf(job) !== undefined) admit.push(job.metadata.name);
    // Otherwise only the CronJob's own runs are held; a suspended Job of unknown origin is left as it is.
    if (at === undefined) continue;
    // Past its deadline a held run is a missed run, as the CronJob controller and the run cap treat one:
    // an operator back after hours must not start a backup the Backup said was too late to start.
    const late = input.startingDeadlineSeconds !== undefined && now >= at + input.startingDeadlineSeconds;
    (late || (job.metadata.annotations?.[SKIPPED_RUN_ANNOTATION] === undefined && isExtraRun(input.schedule, zone, at))
      ? drop
      : admit
    ).push(job.metadata.name);
  }

  let catchUp: RunDecisions['catchUp'];
  const skipped = answers.skipped;
  if (skipped) {
    const name = scheduledJobName(cronJobName, skipped.due);
    const regular = nextAfter(schedule, zone, new Date(skipped.due * 1000));
    const deadline = Math.min(
      regular ? regular.getTime() / 1000 : Infinity,
      skipped.due + (input.startingDeadlineSeconds ?? Infinity),
    );
    const ranSince = jobs.some((j) => j.metadata.name === name || startedAt(j) >= skipped.due);
    const blocked = input.forbidOverlap && jobs.some((j) => !isFinished(j) && !drop.includes(j.metadata.name));
    if (!ranSince && !blocked && now < deadline) {
      catchUp = {
        name,
        due: new Date(skipped.due * 1000),
        wall: new Date(skipped.wall * 1000).toISOString().slice(0, 16).replace('T', ' '),
      };
    }
  }

  return {
    hold: answers.hold,
    admit,
    drop,
    catchUp,
    notes: answers.notes,
    recheckAt: answers.recheck === undefined ? undefined : new Date(answers.recheck * 1000),
  };
}
