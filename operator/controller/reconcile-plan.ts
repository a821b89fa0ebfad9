/**
 * Reconcile's planning steps: the CronJob to converge to, the Job a run-now request asks for, and the run
 * a spring daylight-saving change skipped.
 */
import { createHash } from 'node:crypto';
import { App, Chart } from 'cdk8s';
import * as api from '../../lib/permits/backup-api';
import { BackupCronJob, BackupRunNowJob } from '../../lib/run/backup-job';
import { type BackupPodProps } from '../../lib/run/backup-job-spec';
import { runNowToken, runNowTokenOf } from '../../lib/run/backup-names';
import { type RunDecisions, SCHEDULED_TIMESTAMP_ANNOTATION, SKIPPED_RUN_ANNOTATION } from './run-admission';
import type { Runs } from './runs';
import type { BackupStatus, KubeEvent, KubeObject, Observed, Settings } from './types';
import { canonicalJson, isSubset, timestamp } from './values';
import { INPUTS_ANNOTATION, REASON, STATUS_LIMITS } from './vocabulary';

function render<T extends { apiObject: { toJson(): any } }>(build: (chart: Chart) => T): KubeObject {
  const chart = new Chart(new App({ outdir: '/dev/null' }), 'reconcile');
  return build(chart).apiObject.toJson();
}

/**
 * How a run-now request is remembered in the status: as written, or, when longer than the status field
 * allows, as a digest (a longer value would make every status write fail).
 */
export function runNowRecord(request: string): string {
  return request.length <= STATUS_LIMITS.runNowRequest
    ? request
    : `sha256:${createHash('sha256').update(request).digest('hex')}`;
}

export interface CronJobPlan {
  readonly cronJob?: KubeObject;
  readonly cronJobChanged: boolean;
  readonly cronJobInputs?: string;
}

/** The CronJob rendered from `podProps`, unless what was last applied from the same inputs still stands. */
export function planCronJob(
  observed: Observed,
  podProps: BackupPodProps | undefined,
  settings: Settings,
  dst: RunDecisions | undefined,
): CronJobPlan {
  // The hold is part of the inputs only while on, so CronJobs rendered before it existed are not rewritten.
  const hold = settings.holdRuns === true || dst?.hold === true;
  const cronJobInputs =
    podProps &&
    createHash('sha256')
      .update(canonicalJson(hold ? { ...podProps, holdRuns: true } : podProps))
      .digest('base64');
  const unchangedSinceApplied =
    cronJobInputs !== undefined &&
    observed.lastApplied?.inputs === cronJobInputs &&
    observed.cronJob?.metadata.resourceVersion === observed.lastApplied.resourceVersion;
  const cronJob = podProps && !unchangedSinceApplied ? BackupCronJob.manifest(podProps) : undefined;
  // The digest of the inputs rides on the CronJob: inputs that lost a field (a deadline, the node pin)
  // change it, where comparing only the fields still wanted would see nothing to do.
  if (cronJob) cronJob.metadata.annotations = { ...cronJob.metadata.annotations, [INPUTS_ANNOTATION]: cronJobInputs };
  if (cronJob && hold) cronJob.spec.jobTemplate.spec.suspend = true;
  const cronJobChanged =
    cronJob !== undefined &&
    !(
      observed.cronJob &&
      isSubset(
        {
          metadata: {
            labels: cronJob.metadata.labels,
            annotations: cronJob.metadata.annotations,
            ownerReferences: cronJob.metadata.ownerReferences,
          },
          spec: cronJob.spec,
        },
        observed.cronJob,
      )
    );
  return { cronJob, cronJobChanged, cronJobInputs };
}

export interface JobPlan {
  readonly createJobs: KubeObject[];
  readonly deleteJobs: string[];
  readonly lastRunNowRequest?: string;
  readonly events: KubeEvent[];
}

/** Run now: one Job per new annotation value, within the concurrency policy. */
export function planRunNow(
  observed: Observed,
  podProps: BackupPodProps | undefined,
  runs: Runs,
  settings: Settings,
): JobPlan {
  const { backup } = observed;
  const previous: BackupStatus = backup.status ?? {};
  const plan: JobPlan = { createJobs: [], deleteJobs: [], lastRunNowRequest: previous.lastRunNowRequest, events: [] };
  const request = backup.metadata.annotations?.[api.RUN_NOW_ANNOTATION];
  if (!request || runNowRecord(request) === previous.lastRunNowRequest || !podProps) return plan;
  const { active } = runs;
  const recorded = { ...plan, lastRunNowRequest: runNowRecord(request) };
  if (runs.jobs.some((j) => runNowTokenOf(j) === runNowToken(request))) return recorded;
  if (active.length > 0 && (backup.spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY) === 'Forbid') {
    recorded.events.push({
      type: 'Warning',
      reason: REASON.RunNowSkipped,
      message:
        `run-now request ${JSON.stringify(request)} skipped: ` +
        `${active[0].metadata.name} is still running and concurrencyPolicy is Forbid`,
    });
    return recorded;
  }
  recorded.deleteJobs.push(...active.map((j) => j.metadata.name));
  const runNow = render((chart) => new BackupRunNowJob(chart, 'now', { ...podProps, request }));
  if (settings.holdRuns) runNow.spec.suspend = true;
  recorded.createJobs.push(runNow);
  return recorded;
}

/** The run a spring change skipped, made as the CronJob would have made it; it replaces any active run. */
export function planCatchUp(
  observed: Observed,
  podProps: BackupPodProps | undefined,
  runs: Runs,
  dst: RunDecisions | undefined,
  settings: Settings,
): Pick<JobPlan, 'createJobs' | 'deleteJobs'> {
  if (!dst?.catchUp || !podProps || !observed.cronJob?.metadata.uid || observed.backup.spec.suspend)
    return { createJobs: [], deleteJobs: [] };
  return {
    createJobs: [skippedRunJob(podProps, observed.cronJob, dst.catchUp, settings.holdRuns === true)],
    deleteJobs: runs.active.map((j) => j.metadata.name),
  };
}

/** The run a spring change skipped, as the CronJob would have made it: its template, owned by the CronJob. */
function skippedRunJob(
  podProps: BackupPodProps,
  cronJob: KubeObject,
  run: NonNullable<RunDecisions['catchUp']>,
  held: boolean,
): KubeObject {
  const template = BackupCronJob.manifest(podProps).spec.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: run.name,
      namespace: podProps.backup.namespace,
      labels: template.metadata.labels,
      annotations: {
        ...template.metadata.annotations,
        [SCHEDULED_TIMESTAMP_ANNOTATION]: timestamp(run.due),
        [SKIPPED_RUN_ANNOTATION]: run.wall,
      },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          name: cronJob.metadata.name,
          uid: cronJob.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        } as any,
      ],
    },
    // A run from snapshots stays held until they exist, whatever daylight saving and the run cap say.
    spec: { ...template.spec, suspend: held || template.spec.suspend === true },
  };
}
