/**
 * The contractor's judgement on a Restore, without I/O: from the Restore, its Backup, its Job and pods and
 * the namespace's claims and pods to the claims to create, the Job to create, the status and Events. A
 * Restore runs once: after its Job finishes the status is final.
 */
import * as rapi from '../../lib/permits/restore-api';
import { validateRestoreName, validateRestoreSpec } from '../../lib/permits/restore-validation';
import { type RestoreRef, restoreJobManifest } from '../../lib/run/restore-job';
import { mountedBy, planRestore } from './restore-plan';
import { podTrouble } from './runs';
import type {
  Condition,
  KubeEvent,
  KubeObject,
  RestoreClaimStatus,
  RestoreDesired,
  RestoreObserved,
  RestoreStatus,
} from './types';
import { canonicalJson, timestamp } from './values';
import { RESTORE_REASON } from './vocabulary';

/** The reasons a restore pod may give with `failed <Reason> <message>` (lib/run/restore-script.ts). */
const REPORTED_REASONS: ReadonlySet<string> = new Set([RESTORE_REASON.PathNotInSnapshot]);

/** What the restore pod wrote to its termination log. */
export function parseRestoreReport(text: string): { claims: RestoreClaimStatus[]; error?: string; reason?: string } {
  const claims: RestoreClaimStatus[] = [];
  let error: string | undefined;
  let reason: string | undefined;
  for (const line of text.split('\n')) {
    const restored = /^restored (\S+) ([0-9a-f]+) (\S+) (\d+) (\d+)$/.exec(line.trim());
    if (restored) {
      const [, claim, snapshotID, time, files, bytes] = restored;
      claims.push({
        claim,
        snapshotID,
        snapshotTime: timestamp(new Date(time)),
        files: Number(files),
        bytes: Number(bytes),
      });
    } else if (line.startsWith('error ')) {
      error = line.slice('error '.length).trim();
    } else if (line.startsWith('failed ')) {
      const [, given, message] = /^failed (\S+) (.*)$/.exec(line.trim()) ?? [];
      error = message ?? line.slice('failed '.length).trim();
      // An unknown word stays out of the condition's reason: the message still says it.
      reason = given && REPORTED_REASONS.has(given) ? given : undefined;
    }
  }
  return { claims, error, reason };
}

function finished(job: KubeObject, type: 'Complete' | 'Failed'): any {
  const types = type === 'Complete' ? ['Complete', 'SuccessCriteriaMet'] : ['Failed', 'FailureTarget'];
  return (job.status?.conditions ?? []).find((c: any) => types.includes(c.type) && c.status === 'True');
}

/**
 * How long a finished Job's outcome waits for its pod's report: the Job and its pods come through separate
 * watches, so the Job's Complete can arrive before the pod's termination message. Past this, a pod that
 * never shows (deleted) no longer holds the outcome back.
 */
export const REPORT_GRACE_MS = 120_000;

/** Whether a pod of the Job has terminated (its report, if any, is in). */
function podsTerminated(pods: readonly KubeObject[]): boolean {
  return pods.some((p) => (p.status?.containerStatuses ?? []).some((cs: any) => cs.state?.terminated));
}

function terminationMessages(pods: readonly KubeObject[]): string {
  return pods
    .flatMap((p) => (p.status?.containerStatuses ?? []).map((cs: any) => String(cs.state?.terminated?.message ?? '')))
    .join('\n');
}

/**
 * In place, the claims are free when the Job is created, but nothing stops a pod from mounting one while it
 * runs (Kubernetes has no lock): such a pod may read or write half-restored files, so it is named.
 */
function inPlaceIntrusions(o: RestoreObserved, ref: RestoreRef): string[] {
  if (o.restore.spec?.target?.inPlace !== true) return [];
  return (o.restore.status?.claims ?? []).flatMap((c) => {
    const pod = mountedBy(o, ref, c.claim);
    return pod ? [`pod ${pod.metadata.name} mounts claim ${c.claim}`] : [];
  });
}

function withTransitions(
  previous: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>[],
  now: Date,
): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    return { ...c, lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : timestamp(now) };
  });
}

export function reconcileRestore(o: RestoreObserved, settings: { resticImage?: string } = {}): RestoreDesired {
  const { restore, now } = o;
  const previous = restore.status ?? {};
  const generation = restore.metadata.generation;
  const ref: RestoreRef = {
    name: restore.metadata.name,
    namespace: restore.metadata.namespace!,
    uid: restore.metadata.uid!,
  };
  const events: KubeEvent[] = [];
  let createClaims: KubeObject[] = [];
  let createJob: KubeObject | undefined;
  const next: RestoreStatus = { ...previous, observedGeneration: generation };
  const ready = (status: 'True' | 'False', reason: string, message: string) => ({
    type: rapi.RESTORE_CONDITIONS.ready,
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  const succeeded = (status: 'True' | 'False', reason: string, message: string) => ({
    type: rapi.RESTORE_CONDITIONS.succeeded,
    status,
    reason,
    message,
    observedGeneration: generation,
  });
  let conditions: Omit<Condition, 'lastTransitionTime'>[];
  const final = previous.phase === 'Completed' || previous.phase === 'Failed';

  const problems = [...validateRestoreName(ref.name), ...validateRestoreSpec(restore.spec)];
  if (final) {
    // The outcome stays as recorded: the Job or its pod (and with it the report) may be gone by now.
    return { createClaims, status: previous, statusChanged: false, events };
  } else if (problems.length > 0) {
    next.phase = 'Failed';
    next.message = problems.join('; ');
    conditions = [ready('False', RESTORE_REASON.InvalidSpec, next.message)];
  } else if (!o.job && previous.phase === 'Running') {
    // Seen running, now gone (deleted by hand): never a second attempt, which would meet the first one's files.
    next.phase = 'Failed';
    next.completionTime = timestamp(now);
    next.message =
      `${previous.jobName ?? 'the restore Job'} was deleted before it finished, so its outcome is ` +
      `unknown and it is not run again (a second attempt would meet the first one's files): check the target claims, ` +
      `then file a new Restore`;
    conditions = [
      ready('True', RESTORE_REASON.JobCreated, `${previous.jobName ?? 'the restore Job'} ran`),
      succeeded('False', RESTORE_REASON.JobDeleted, next.message),
    ];
  } else if (o.job) {
    const job = o.job;
    const report = parseRestoreReport(terminationMessages(o.jobPods));
    next.jobName = job.metadata.name;
    next.startTime = job.status?.startTime ?? previous.startTime;
    const done = finished(job, 'Complete');
    const failed = finished(job, 'Failed');
    if (done || failed) {
      next.completionTime =
        job.status?.completionTime ?? done?.lastTransitionTime ?? failed?.lastTransitionTime ?? timestamp(now);
      if (next.startTime)
        next.durationSeconds = Math.max(
          0,
          Math.round((Date.parse(next.completionTime!) - Date.parse(next.startTime)) / 1000),
        );
    }
    const planned = new Map((previous.claims ?? []).map((c) => [c.claim, c]));
    const reported = new Map(report.claims.map((c) => [c.claim, c]));
    // Claims of the plan the report says nothing of: the pod is gone, or its termination message was cut (the
    // kubelet keeps its last 4 KiB, so with many claims the first claims' lines are lost).
    const unreported = [...planned.keys()].filter((c) => !reported.has(c));
    if (report.claims.length) {
      next.claims = [
        ...[...planned.values()].map((c) => ({ ...c, ...reported.get(c.claim) })),
        ...report.claims.filter((c) => !planned.has(c.claim)),
      ];
      next.snapshotID = [...new Set(report.claims.map((c) => c.snapshotID!))].join(',');
    }
    const awaitingReport =
      (done || failed) &&
      !podsTerminated(o.jobPods) &&
      now.getTime() - Date.parse(next.completionTime!) < REPORT_GRACE_MS;
    if (awaitingReport) {
      // Decided once the pod's report is in: a final status and its Event are written once, with the numbers.
      next.phase = 'Running';
      next.message = `${job.metadata.name} finished; reading its pod's report`;
      conditions = [ready('True', RESTORE_REASON.JobCreated, `${job.metadata.name} ran`)];
    } else if (done) {
      next.phase = 'Completed';
      const files = report.claims.reduce((n, c) => n + (c.files ?? 0), 0);
      const bytes = report.claims.reduce((n, c) => n + (c.bytes ?? 0), 0);
      next.message = report.claims.length
        ? `restored ${report.claims.length + unreported.length} claim(s) from snapshot ${next.snapshotID}: ${files} ` +
          `files, ${bytes} bytes in ${next.durationSeconds ?? '?'}s${
            unreported.length
              ? `; the pod's report says nothing of ${unreported.join(', ')} (the kubelet keeps the last 4 KiB of ` +
                `it), so their snapshots and numbers are not known`
              : ''
          }`
        : `${job.metadata.name} succeeded in ${next.durationSeconds ?? '?'}s, but its pod's report is missing (the ` +
          `pod is gone, or its termination message was cut), so the snapshots used and the files and bytes restored ` +
          `are not known`;
      conditions = [
        ready('True', RESTORE_REASON.JobCreated, `${job.metadata.name} ran`),
        succeeded('True', RESTORE_REASON.RestoreSucceeded, next.message),
      ];
    } else if (failed) {
      next.phase = 'Failed';
      const trouble = o.jobPods.map(podTrouble).find(Boolean);
      next.message =
        `${job.metadata.name} failed: ` +
        `${report.error ?? failed.message ?? trouble ?? failed.reason ?? 'see its pod log'}`;
      conditions = [
        ready('True', RESTORE_REASON.JobCreated, `${job.metadata.name} ran`),
        succeeded(
          'False',
          failed.reason === RESTORE_REASON.DeadlineExceeded
            ? RESTORE_REASON.DeadlineExceeded
            : (report.reason ?? RESTORE_REASON.RestoreFailed),
          next.message,
        ),
      ];
    } else {
      next.phase = 'Running';
      const trouble = o.jobPods.map(podTrouble).find(Boolean);
      next.message = trouble ? `${job.metadata.name} is stuck: ${trouble}` : `${job.metadata.name} is restoring`;
      const intrusions = inPlaceIntrusions(o, ref);
      if (intrusions.length) {
        next.message +=
          `; ${intrusions.join(', ')} while it is restored in place: that pod may read or write ` +
          `half-restored files`;
        if (next.message !== previous.message)
          events.push({ type: 'Warning', reason: RESTORE_REASON.ClaimInUseDuringRestore, message: next.message });
      }
      conditions = [ready('True', RESTORE_REASON.JobCreated, `${job.metadata.name} is running`)];
    }
  } else if (!o.backup) {
    next.phase = 'Pending';
    next.message = `waiting for Backup ${restore.spec.backupName} in namespace ${ref.namespace}: it does not exist`;
    conditions = [ready('False', 'BackupNotFound', next.message)];
  } else {
    const plan = planRestore(o, ref);
    if (plan.problem) {
      next.phase = plan.problem.phase;
      next.message = plan.problem.message;
      conditions = [ready('False', plan.problem.reason, plan.problem.message)];
    } else {
      createClaims = plan.createClaims ?? [];
      createJob = restoreJobManifest({
        restore: ref,
        backupName: o.backup.metadata.name,
        backupSpec: o.backup.spec,
        claims: plan.claims!,
        snapshotID: restore.spec.snapshotID,
        pointInTime: restore.spec.pointInTime,
        inPlace: restore.spec.target.inPlace === true,
        paths: restore.spec.paths,
        activeDeadlineSeconds: restore.spec.activeDeadlineSeconds,
        nodeName: plan.nodeName,
        image: settings.resticImage,
      });
      next.phase = 'Pending';
      next.jobName = createJob!.metadata.name;
      next.claims = plan.claims!.map((c) => ({
        claim: c.claim,
        targetClaim: c.targetClaim,
        path: c.path ? `/${c.path}` : '/',
      }));
      const only = restore.spec.paths?.length ? ` (only ${restore.spec.paths.join(', ')})` : '';
      next.message = `starting ${next.jobName}: ${plan
        .claims!.map((c) => `${c.claim}${only} -> ` + `${c.targetClaim}${c.path ? `/${c.path}` : ''}`)
        .join(', ')}`;
      conditions = [ready('True', RESTORE_REASON.JobCreated, next.message)];
      events.push({ type: 'Normal', reason: RESTORE_REASON.RestoreStarted, message: next.message });
    }
  }
  next.conditions = withTransitions(previous.conditions, conditions, now);
  for (const key of Object.keys(next) as (keyof RestoreStatus)[]) if (next[key] === undefined) delete next[key];
  if (next.phase !== previous.phase && (next.phase === 'Completed' || next.phase === 'Failed')) {
    events.push({
      type: next.phase === 'Completed' ? 'Normal' : 'Warning',
      reason: next.phase === 'Completed' ? RESTORE_REASON.RestoreSucceeded : RESTORE_REASON.RestoreFailed,
      message: next.message!,
    });
  }
  return {
    createClaims,
    createJob,
    status: next,
    statusChanged: canonicalJson(restore.status ?? {}) !== canonicalJson(next),
    events,
  };
}
