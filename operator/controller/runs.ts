/**
 * A Backup's runs as the cluster reports them: its Jobs sorted oldest first and sorted into active,
 * succeeded and failed, their pods, and why a pod is not running.
 */
import type { KubeObject, Observed } from './types';
import { runResultOf } from './run-outcome';

export function jobCondition(job: KubeObject, ...types: string[]): any {
  return (job.status?.conditions ?? []).find((c: any) => types.includes(c.type) && c.status === 'True');
}

export function jobStart(job: KubeObject): string {
  return job.status?.startTime ?? job.metadata.creationTimestamp ?? '';
}

function byStart(a: KubeObject, b: KubeObject): number {
  return Date.parse(jobStart(a)) - Date.parse(jobStart(b)) || a.metadata.name.localeCompare(b.metadata.name);
}

/** Why a pod is not running, as Kubernetes reports it (missing Secret, image pull errors, OOM …). */
export function podTrouble(pod: KubeObject): string | undefined {
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
    }
    const terminated = cs.state?.terminated ?? cs.lastState?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      const tail = String(terminated.message ?? '')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ');
      return `${terminated.reason ?? 'Error'} (exit code ${terminated.exitCode})${tail ? `: ${tail}` : ''}`;
    }
  }
  const unschedulable = (pod.status?.conditions ?? []).find(
    (c: any) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (unschedulable) return `${unschedulable.reason}: ${unschedulable.message ?? ''}`.trim();
  return undefined;
}

/** The snapshot a run reported: in its result, or as `snapshot=<id>` in its termination message. */
export function snapshotOf(pods: readonly KubeObject[]): string | undefined {
  const result = runResultOf(pods);
  if (result) return result.snapshot;
  for (const pod of pods) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const id = /^snapshot=([0-9a-f]{8,64})$/.exec(String(cs.state?.terminated?.message ?? '').trim())?.[1];
      if (id) return id;
    }
  }
  return undefined;
}

export interface Runs {
  /** Jobs not being deleted, oldest first, without the repeats about to be dropped (they never ran). */
  readonly jobs: readonly KubeObject[];
  readonly active: readonly KubeObject[];
  readonly finished: readonly KubeObject[];
  readonly succeeded: readonly KubeObject[];
  readonly failed: readonly KubeObject[];
  readonly newestFinished?: KubeObject;
  readonly newestSucceeded?: KubeObject;
  readonly newestFailed?: KubeObject;
  podsOf(job: KubeObject): KubeObject[];
}

/** Jobs not being deleted, oldest first. */
export const liveJobs = (observed: Observed): KubeObject[] =>
  [...observed.jobs].filter((j) => !j.metadata.deletionTimestamp).sort(byStart);

export function sortRuns(observed: Observed, allJobs: readonly KubeObject[], drop: readonly string[]): Runs {
  const jobs = allJobs.filter((j) => !drop.includes(j.metadata.name));
  const podsOf = (job: KubeObject) =>
    observed.jobPods.filter(
      (p) =>
        p.metadata.labels?.['job-name'] === job.metadata.name ||
        p.metadata.ownerReferences?.some((o) => o.kind === 'Job' && o.name === job.metadata.name),
    );
  const finished = jobs.filter((j) => jobCondition(j, 'Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'));
  const active = jobs.filter((j) => !finished.includes(j));
  const succeeded = finished.filter((j) => jobCondition(j, 'Complete', 'SuccessCriteriaMet'));
  const failed = finished.filter((j) => !succeeded.includes(j));
  return {
    jobs,
    active,
    finished,
    succeeded,
    failed,
    newestFinished: finished[finished.length - 1],
    newestSucceeded: succeeded[succeeded.length - 1],
    newestFailed: failed[failed.length - 1],
    podsOf,
  };
}
