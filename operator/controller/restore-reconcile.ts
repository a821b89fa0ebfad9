/**
 * The contractor's judgement on a Restore, without I/O: from the Restore, its Backup, its Job and pods and
 * the namespace's claims and pods to the claims to create, the Job to create, the status and Events. A
 * Restore runs once: after its Job finishes the status is final.
 */
import * as rapi from '../../lib/permits/restore-api';
import { validateRestoreSpec } from '../../lib/permits/restore-validation';
import { type RestoreRef, restoreJobManifest } from '../../lib/run/restore-job';
import { planRestore } from './restore-plan';
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

/** What the restore pod wrote to its termination log. */
export function parseRestoreReport(text: string): { claims: RestoreClaimStatus[]; error?: string } {
  const claims: RestoreClaimStatus[] = [];
  let error: string | undefined;
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
    }
  }
  return { claims, error };
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

  const problems = validateRestoreSpec(restore.spec);
  if (final && !o.job) {
    // The Job is gone (deleted by hand): the outcome stays as recorded.
    return { createClaims, status: previous, statusChanged: false, events };
  } else if (problems.length > 0) {
    next.phase = 'Failed';
    next.message = problems.join('; ');
    conditions = [ready('False', 'InvalidSpec', next.message)];
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
    if (report.claims.length) {
      next.claims = report.claims.map((c) => ({ ...planned.get(c.claim), ...c }));
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
      conditions = [ready('True', 'JobCreated', `${job.metadata.name} ran`)];
    } else if (done) {
      next.phase = 'Completed';
      const files = report.claims.reduce((n, c) => n + (c.files ?? 0), 0);
      const bytes = report.claims.reduce((n, c) => n + (c.bytes ?? 0), 0);
      next.message =
        `restored ${report.claims.length} claim(s) from snapshot ${next.snapshotID ?? '?'}: ` +
        `${files} files, ${bytes} bytes in ${next.durationSeconds ?? '?'}s`;
      conditions = [
        ready('True', 'JobCreated', `${job.metadata.name} ran`),
        succeeded('True', 'RestoreSucceeded', next.message),
      ];
    } else if (failed) {
      next.phase = 'Failed';
      const trouble = o.jobPods.map(podTrouble).find(Boolean);
      next.message =
        `${job.metadata.name} failed: ` +
        `${report.error ?? failed.message ?? trouble ?? failed.reason ?? 'see its pod log'}`;
      conditions = [
        ready('True', 'JobCreated', `${job.metadata.name} ran`),
        succeeded('False', failed.reason === 'DeadlineExceeded' ? 'DeadlineExceeded' : 'RestoreFailed', next.message),
      ];
    } else {
      next.phase = 'Running';
      const trouble = o.jobPods.map(podTrouble).find(Boolean);
      next.message = trouble ? `${job.metadata.name} is stuck: ${trouble}` : `${job.metadata.name} is restoring`;
      conditions = [ready('True', 'JobCreated', `${job.metadata.name} is running`)];
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
      next.message =
        `starting ${next.jobName}: ` +
        `${plan.claims!.map((c) => `${c.claim} -> ${c.targetClaim}${c.path ? `/${c.path}` : ''}`).join(', ')}`;
      conditions = [ready('True', 'JobCreated', next.message)];
      events.push({ type: 'Normal', reason: 'RestoreStarted', message: next.message });
    }
  }
  next.conditions = withTransitions(previous.conditions, conditions, now);
  for (const key of Object.keys(next) as (keyof RestoreStatus)[]) if (next[key] === undefined) delete next[key];
  if (next.phase !== previous.phase && (next.phase === 'Completed' || next.phase === 'Failed')) {
    events.push({
      type: next.phase === 'Completed' ? 'Normal' : 'Warning',
      reason: next.phase === 'Completed' ? 'RestoreSucceeded' : 'RestoreFailed',
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
