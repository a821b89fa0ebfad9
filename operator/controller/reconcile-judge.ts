/**
 * Reconcile's judging steps: the outcome of the newest finished (or missed) run, whether the schedule is
 * in place, and whether the shop's newest backup is fresh enough.
 */
import * as api from '../../lib/permits/backup-api';
import { type FreshnessVerdict, judgeFreshness } from '../../lib/permits/freshness';
import { type BackupRef } from '../../lib/run/backup-names';
import { effectiveSchedule } from '../../lib/permits/schedule-window';
import type { Admission } from './reconcile-admit';
import type { RunDecisions } from './run-admission';
import { describeRun, runResultOf } from './run-outcome';
import { jobCondition, podTrouble, type Runs, snapshotOf } from './runs';
import { missedRun } from './schedule';
import { describeSources } from './snapshot-support';
import { snapshotFailureOf } from './snapshot-runs';
import type { Condition, Observed } from './types';
import { later } from './values';
import { CONDITION, REASON } from './vocabulary';

export type Verdict = Omit<Condition, 'lastTransitionTime'>;

/** LastBackupSucceeded from the newest finished run, or from a run the CronJob missed; undefined when neither. */
export function judgeRuns(observed: Observed, ref: BackupRef, runs: Runs): Verdict | undefined {
  const { newestFinished, newestSucceeded, podsOf } = runs;
  const type = CONDITION.LastBackupSucceeded;
  let lastBackup: Verdict | undefined;
  if (newestFinished && newestFinished === newestSucceeded) {
    const snapshot = snapshotOf(podsOf(newestFinished));
    const result = runResultOf(podsOf(newestFinished));
    // A PartiallyFailed run exits 0 (so nothing retries), yet needs a person: the condition says False.
    lastBackup = result
      ? {
          type,
          status: result.outcome === 'Completed' ? 'True' : 'False',
          ...describeRun(newestFinished.metadata.name, result),
        }
      : {
          type,
          status: 'True',
          reason: REASON.BackupSucceeded,
          message: `${newestFinished.metadata.name} finished${snapshot ? `, snapshot ${snapshot}` : ''}`,
        };
  } else if (newestFinished && runResultOf(podsOf(newestFinished))) {
    lastBackup = {
      type,
      status: 'False',
      ...describeRun(newestFinished.metadata.name, runResultOf(podsOf(newestFinished))!),
    };
  } else if (newestFinished && snapshotFailureOf(newestFinished)) {
    lastBackup = {
      type,
      status: 'False',
      reason: REASON.SnapshotFailed,
      message: `${newestFinished.metadata.name} did not run: ${snapshotFailureOf(newestFinished)}`,
    };
  } else if (newestFinished) {
    const failure = jobCondition(newestFinished, 'Failed', 'FailureTarget');
    const trouble = podsOf(newestFinished).map(podTrouble).find(Boolean);
    lastBackup = {
      type,
      status: 'False',
      reason: failure?.reason || REASON.BackupFailed,
      message: `${newestFinished.metadata.name} failed${failure?.message ? `: ${failure.message}` : ''}${
        trouble ? ` ` + `(${trouble})` : ''
      }`,
    };
  }
  const spec = observed.backup.spec;
  const missed =
    spec.startingDeadlineSeconds !== undefined && !spec.suspend && observed.cronJob && runs.active.length === 0
      ? missedRun(spec, ref, observed.cronJob, runs.jobs, observed.now)
      : undefined;
  if (missed) {
    lastBackup = {
      type,
      status: 'False',
      reason: REASON.MissedSchedule,
      message: `the run due at ${missed} did not start within ${spec.startingDeadlineSeconds}s`,
    };
  }
  return lastBackup;
}

/** Ready: the problem that keeps runs from being scheduled, or where and when they run. */
export function judgeReady(observed: Observed, ref: BackupRef, admission: Admission, dst?: RunDecisions): Verdict {
  const { readyProblem, plan, sources } = admission;
  const spec = observed.backup.spec;
  if (readyProblem)
    return { type: CONDITION.Ready, status: 'False', reason: readyProblem.reason, message: readyProblem.message };
  return {
    type: CONDITION.Ready,
    status: 'True',
    reason: REASON.CronJobReady,
    message:
      `runs "${effectiveSchedule(spec.backupTime, ref)}" in ` +
      `${spec.timeZone ?? api.DEFAULT_TIME_ZONE}${plan!.nodeName ? ` on node ` + `${plan!.nodeName}` : ''}${
        dst?.notes.length ? `; daylight saving: ${dst.notes.join('; ' + '')}` : ''
      }${sources ? `; ${describeSources(sources)}` : ''}`,
  };
}

/** Freshness: judged from times alone, so runs that silently stop happening turn it False too. */
export function judgeFresh(
  observed: Observed,
  admission: Admission,
  runs: Runs,
  lastBackup: Verdict | undefined,
): FreshnessVerdict {
  const { backup, now } = observed;
  const spec = backup.spec;
  if (admission.problems.length > 0)
    return { status: 'Unknown', reason: REASON.InvalidSpec, message: 'the spec is not valid' };
  return judgeFreshness(
    {
      backupTime: spec.backupTime,
      timeZone: spec.timeZone,
      freshness: spec.freshness,
      suspend: spec.suspend,
      lastSuccessfulTime: later(backup.status?.lastSuccessfulTime, runs.newestSucceeded?.status?.completionTime),
      createdAt: backup.metadata.creationTimestamp,
      trouble:
        admission.readyProblem?.message ??
        (observed.cronJob || admission.podProps
          ? lastBackup?.status === 'False'
            ? lastBackup.message
            : undefined
          : 'the CronJob is missing'),
    },
    now,
  );
}

export const freshCondition = (fresh: FreshnessVerdict): Verdict => ({
  type: CONDITION.Fresh,
  status: fresh.status,
  reason: fresh.reason,
  message: fresh.message,
});
