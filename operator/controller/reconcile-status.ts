/**
 * Reconcile's last steps: the conditions, the phase and its message, the status as a whole, and the
 * Events that mark what changed since the status was last written.
 */
import { waitsForSnapshots } from '../../lib/run/snapshot-source';
import type * as api from '../../lib/permits/backup-api';
import type { FreshnessVerdict } from '../../lib/permits/freshness';
import { type BackupRef } from '../../lib/run/backup-names';
import { effectiveSchedule } from '../../lib/permits/schedule-window';
import type { Admission } from './reconcile-admit';
import { freshCondition, type Verdict } from './reconcile-judge';
import { describeRun, runResultOf } from './run-outcome';
import { lastRunOf, shrinkCondition } from './run-status';
import { jobCondition, jobStart, podTrouble, type Runs, snapshotOf } from './runs';
import { nextRun } from './schedule';
import { maintainedEvents } from './vault-maintained';
import type { BackupStatus, Condition, KubeEvent, Observed, Settings } from './types';
import { later, timestamp } from './values';
import { CONDITION, REASON, STATUS_LIMITS } from './vocabulary';
import { bounded } from './write-outcome';

/** Problems that no amount of waiting solves. */
const NEEDS_A_PERSON = new Set<string>([
  REASON.InvalidSpec,
  REASON.VaultInitFailed,
  REASON.VaultSharedAcrossNamespaces,
]);

export interface Verdicts {
  readonly ready: Verdict;
  readonly lastBackup?: Verdict;
  readonly fresh: FreshnessVerdict;
}

function condition(previous: Condition[] | undefined, next: Verdict, now: Date): Condition {
  const old = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : timestamp(now);
  // Messages quote spec values and the cluster's words; one above the schema's limit would fail the whole status write.
  return { ...next, message: bounded(next.message, STATUS_LIMITS.message), lastTransitionTime };
}

/** The phase and its message: the most pressing of a problem, a queued or running run, suspension, the last outcome. */
function phaseOf(
  observed: Observed,
  ref: BackupRef,
  admission: Admission,
  runs: Runs,
  lastBackup: Verdict | undefined,
  settings: Settings,
): { phase: api.BackupPhase; message: string } {
  const { readyProblem } = admission;
  const spec = observed.backup.spec;
  const newestActive = runs.active[runs.active.length - 1];
  if (readyProblem)
    return { phase: NEEDS_A_PERSON.has(readyProblem.reason) ? 'Failed' : 'Pending', message: readyProblem.message };
  if (newestActive && newestActive.spec?.suspend === true && settings.holdRuns) {
    const place = observed.queuePlace;
    return {
      phase: 'Queued',
      message:
        `${newestActive.metadata.name} is queued for a free run ` +
        `slot${place ? `: position ${place.position} of ${place.of}` : ''}`,
    };
  }
  if (newestActive) {
    const activeTrouble = runs.podsOf(newestActive).map(podTrouble).find(Boolean);
    return {
      phase: 'Running',
      message: activeTrouble
        ? `${newestActive.metadata.name} is stuck: ${activeTrouble}`
        : waitsForSnapshots(newestActive)
          ? `${newestActive.metadata.name} is waiting for its VolumeSnapshots and temporary claims`
          : newestActive.spec?.suspend === true
            ? `${newestActive.metadata.name} is waiting for the operator to start it`
            : `${newestActive.metadata.name} is running`,
    };
  }
  if (spec.suspend) return { phase: 'Suspended', message: 'suspended: no new runs are scheduled' };
  if (lastBackup) {
    const newestResult = runs.newestFinished && runResultOf(runs.podsOf(runs.newestFinished));
    return {
      phase:
        lastBackup.status === 'True'
          ? 'Completed'
          : newestResult?.outcome === 'PartiallyFailed' && lastBackup.reason !== REASON.MissedSchedule
            ? 'PartiallyFailed'
            : 'Failed',
      message: lastBackup.message,
    };
  }
  const next = nextRun(spec, ref, observed.now);
  return {
    phase: 'Scheduled',
    message: next
      ? `next run at ${next}`
      : `the schedule "${effectiveSchedule(spec.backupTime, ref)}" has no run in the next five years: ` +
        'change backupTime',
  };
}

export function composeStatus(
  observed: Observed,
  ref: BackupRef,
  admission: Admission,
  runs: Runs,
  verdicts: Verdicts,
  lastRunNowRequest: string | undefined,
  settings: Settings,
): { status: BackupStatus; events: KubeEvent[] } {
  const { backup, now } = observed;
  const spec = backup.spec;
  const previous: BackupStatus = backup.status ?? {};
  const generation = backup.metadata.generation;
  const { ready, lastBackup, fresh } = verdicts;
  const { jobs, newestFinished, newestSucceeded, newestFailed, podsOf } = runs;
  const events: KubeEvent[] = [];

  const newestResult = newestFinished && runResultOf(podsOf(newestFinished));
  const shrink = newestResult && shrinkCondition(backup.metadata.name, newestResult);
  const keptShrink = (previous.conditions ?? []).filter((c) => c.type === CONDITION.ShrinkDetected);
  const conditions = [
    ready,
    ...(lastBackup
      ? [lastBackup]
      : (previous.conditions ?? []).filter((c) => c.type === CONDITION.LastBackupSucceeded)),
    freshCondition(fresh),
    ...(shrink ? [shrink] : keptShrink),
    ...(observed.verification?.condition ? [observed.verification.condition] : []),
    ...(observed.vaultMaintained
      ? [observed.vaultMaintained]
      : (previous.conditions ?? []).filter((c) => c.type === CONDITION.VaultMaintained)),
  ].map((c) => condition(previous.conditions, { ...c, observedGeneration: generation }, now));
  events.push(...maintainedEvents(previous.conditions, observed.vaultMaintained));
  const previousFresh = previous.conditions?.find((c) => c.type === freshCondition(fresh).type);
  if (fresh.status === 'False' && previousFresh?.status !== 'False')
    events.push({ type: 'Warning', reason: fresh.reason, message: fresh.message });

  const { phase, message } = phaseOf(observed, ref, admission, runs, lastBackup, settings);
  const succeededSnapshot = newestSucceeded && snapshotOf(podsOf(newestSucceeded));
  const status: BackupStatus = {
    phase,
    conditions,
    observedGeneration: generation,
    lastScheduleTime: later(previous.lastScheduleTime, jobs.length ? jobStart(jobs[jobs.length - 1]) : undefined),
    lastSuccessfulTime: later(previous.lastSuccessfulTime, newestSucceeded?.status?.completionTime),
    lastFailureTime: later(
      previous.lastFailureTime,
      newestFailed &&
        (jobCondition(newestFailed, 'Failed', 'FailureTarget')?.lastTransitionTime ?? jobStart(newestFailed)),
    ),
    nextScheduleTime: admission.readyProblem || spec.suspend ? undefined : nextRun(spec, ref, now),
    effectiveSchedule: admission.problems.length > 0 ? undefined : effectiveSchedule(spec.backupTime, ref),
    queuePosition: phase === 'Queued' ? observed.queuePlace?.position : undefined,
    // The CronJob keeps the newest runs, so the newest succeeded Job here is the newest overall.
    lastSnapshotID: succeededSnapshot ?? previous.lastSnapshotID,
    lastRunNowRequest,
    lastRun: newestResult ? lastRunOf(newestFinished!.metadata.name, newestResult) : previous.lastRun,
    lastVerifiedTime: observed.verification?.lastVerifiedTime ?? previous.lastVerifiedTime,
    lastVerifiedSnapshotID: observed.verification?.lastVerifiedSnapshotID ?? previous.lastVerifiedSnapshotID,
    message: bounded(message, STATUS_LIMITS.message),
  };
  for (const key of Object.keys(status) as (keyof BackupStatus)[]) if (status[key] === undefined) delete status[key];

  // Events mark what changed since the status was last written.
  events.push(...(observed.verification?.events ?? []));
  if (status.lastScheduleTime && status.lastScheduleTime !== previous.lastScheduleTime) {
    events.push({
      type: 'Normal',
      reason: REASON.BackupStarted,
      message: `${jobs[jobs.length - 1].metadata.name} started`,
    });
  }
  if (status.lastSuccessfulTime && status.lastSuccessfulTime !== previous.lastSuccessfulTime) {
    const result = runResultOf(podsOf(newestSucceeded!));
    events.push(
      result?.outcome === 'PartiallyFailed'
        ? {
            type: 'Warning',
            reason: REASON.SomeFilesUnreadable,
            message: describeRun(newestSucceeded!.metadata.name, result).message,
          }
        : {
            type: 'Normal',
            reason: REASON.BackupSucceeded,
            message:
              `${newestSucceeded!.metadata.name} ` +
              `finished${status.lastSnapshotID ? `, snapshot ${status.lastSnapshotID}` : ''}`,
          },
    );
  }
  const previousShrink = keptShrink[0];
  if (shrink?.status === 'True' && (previousShrink?.status !== 'True' || previousShrink.message !== shrink.message)) {
    events.push({ type: 'Warning', reason: shrink.reason, message: shrink.message });
  }
  if (status.lastFailureTime && status.lastFailureTime !== previous.lastFailureTime) {
    events.push({
      type: 'Warning',
      reason: REASON.BackupFailed,
      message: lastBackup?.message ?? `${newestFailed!.metadata.name} failed`,
    });
  }
  const previousReady = previous.conditions?.find((c) => c.type === CONDITION.Ready);
  if (
    ready.status === 'False' &&
    (previousReady?.reason !== ready.reason || previousReady?.message !== ready.message)
  ) {
    events.push({ type: 'Warning', reason: ready.reason, message: ready.message });
  }
  return { status, events };
}
