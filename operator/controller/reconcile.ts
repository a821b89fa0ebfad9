/**
 * The contractor's judgement, without I/O: from what is observed (a Backup, its CronJob, its Jobs and
 * their pods, the shop's claims) to what should be (the CronJob, run-now Jobs, the status, Events).
 * Level-based: the same observation always gives the same answer, so it can be re-run at any time.
 */
import { createHash } from 'node:crypto';
import { App, Chart } from 'cdk8s';
import type { BackupSpec } from '../../imports/mall.example.com';
import * as api from '../../lib/permits/backup-api';
import {
  BackupCronJob,
  BackupPodProps,
  VaultRunSettings,
  BackupRef,
  BackupRunNowJob,
  cronJobNameFor,
  cronScheduleOf,
  RUN_NOW_LABEL,
  runNowToken,
} from '../../lib/run/backup-job';
import { pvcVaultClaim, validateBackupName, validateBackupSpec } from '../../lib/permits/backup-validation';
import { nextAfter, parseSchedule, previousAtOrBefore } from '../../lib/permits/cron';
import type { ResourceSpec } from '../../lib/common/resources';
import type { BackupIdentity } from '../../lib/permits/schedule-window';
import { decideRuns, RunDecisions, SCHEDULED_TIMESTAMP_ANNOTATION, SKIPPED_RUN_ANNOTATION } from './run-admission';
import { ACKNOWLEDGE_SHRINK_ANNOTATION, CONDITION, INPUTS_ANNOTATION, REASON, STATUS_LIMITS } from './vocabulary';
import { bounded } from './write-outcome';
import { FRESH_CONDITION, FreshnessVerdict, judgeFreshness } from '../../lib/permits/freshness';
import { describeRun, runResultOf } from './run-outcome';
import { LastRun, lastRunOf, shrinkCondition } from './run-status';
import { describeSources, fromSnapshots, planSources, SnapshotClasses } from './snapshot-support';
import { snapshotFailureOf } from './snapshot-runs';
import { waitsForSnapshots } from '../../lib/run/snapshot-source';

/** A Kubernetes object as JSON; only the fields the operator reads are named. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; name: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: any;
  status?: any;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface BackupStatus {
  phase?: api.BackupPhase;
  conditions?: Condition[];
  observedGeneration?: number;
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
  lastFailureTime?: string;
  nextScheduleTime?: string;
  effectiveSchedule?: string;
  queuePosition?: number;
  lastSnapshotID?: string;
  lastRunNowRequest?: string;
  lastRun?: LastRun;
  message?: string;
}

export interface BackupObject extends KubeObject {
  spec: BackupSpec;
  status?: BackupStatus;
}

export interface Observed {
  readonly backup: BackupObject;
  /** The CronJob the Backup owns, if it exists. */
  readonly cronJob?: KubeObject;
  /** Jobs labelled with the Backup's uid (scheduled and run-now). */
  readonly jobs: readonly KubeObject[];
  /** Pods of those Jobs. */
  readonly jobPods: readonly KubeObject[];
  /** PersistentVolumeClaims in the Backup's namespace (at least those it names or labelled with its shop). */
  readonly claims: readonly KubeObject[];
  /** Other pods in the Backup's namespace (at least those mounting those claims), to find who holds a ReadWriteOnce claim. */
  readonly namespacePods: readonly KubeObject[];
  readonly now: Date;
  /**
   * What this operator last applied to the CronJob: a digest of the inputs it rendered from, and the
   * resourceVersion the API server gave the result. When both still hold, nothing needs rendering.
   */
  readonly lastApplied?: { readonly inputs: string; readonly resourceVersion: string };
  /** Under a run cap: the place of this Backup's oldest held run in the queue (operator/fleet-gate.ts). */
  readonly queuePlace?: { readonly position: number; readonly of: number };
  /** Why the Backup's vault cannot take runs yet (vault-plan.ts); nothing is scheduled until it can. */
  readonly vaultProblem?: { readonly reason: string; readonly message: string };
  /** The cluster's storage and snapshot classes: claims whose class can be snapshotted are read from a snapshot. */
  readonly snapshotClasses?: SnapshotClasses;
}

export interface Settings {
  /** The restic image for backup pods. */
  readonly resticImage?: string;
  /** Resources of backup pods whose Backup sets none. */
  readonly defaultResources?: ResourceSpec;
  /** A run cap is set: every run is created suspended and started by the operator (operator/fleet-admission.ts). */
  readonly holdRuns?: boolean;
  /** The cluster's retention floor and shrink threshold, passed to every run; no Backup field can change them. */
  readonly vaultRunSettings?: VaultRunSettings;
  /** How long a run waits for its VolumeSnapshots to be ready before it fails (operator/snapshot-runs.ts). */
  readonly snapshotTimeoutSeconds?: number;
}

export interface KubeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface Desired {
  /** The CronJob to converge to; undefined leaves whatever exists alone. */
  readonly cronJob?: KubeObject;
  /** Whether the observed CronJob differs from `cronJob` in a field the operator manages. */
  readonly cronJobChanged: boolean;
  /** A digest of the inputs the CronJob is rendered from (for `Observed.lastApplied`). */
  readonly cronJobInputs?: string;
  readonly createJobs: KubeObject[];
  /** Names of Jobs to delete (active runs replaced by a run-now request under Replace). */
  readonly deleteJobs: string[];
  /** Suspended Jobs of the CronJob to start (operator/run-admission.ts). */
  readonly admitJobs: string[];
  /** Suspended Jobs of the CronJob to delete unstarted: the second pass of a repeated hour. */
  readonly dropJobs: string[];
  /** When to reconcile again even if nothing changes in the cluster (a daylight-saving change). */
  readonly requeueAt?: Date;
  readonly status: BackupStatus;
  /** Whether `status` differs from the observed status: write it only then. */
  readonly statusChanged: boolean;
  readonly events: KubeEvent[];
  /** While Fresh: when it turns Stale unless a run succeeds first (the controller looks again then). */
  readonly staleAt?: Date;
}

export const READY = CONDITION.Ready;
/** Problems that no amount of waiting solves. */
const NEEDS_A_PERSON = new Set<string>([
  REASON.InvalidSpec,
  REASON.VaultInitFailed,
  REASON.VaultSharedAcrossNamespaces,
]);
export const LAST_BACKUP_SUCCEEDED = CONDITION.LastBackupSucceeded;

/**
 * How a run-now request is remembered in the status: as written, or, when longer than the status field
 * allows, as a digest (a longer value would make every status write fail).
 */
export function runNowRecord(request: string): string {
  return request.length <= STATUS_LIMITS.runNowRequest
    ? request
    : `sha256:${createHash('sha256').update(request).digest('hex')}`;
}

/** RFC 3339 with whole seconds, as the API server writes times. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function later(a?: string, b?: string): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function render<T extends { apiObject: { toJson(): any } }>(build: (chart: Chart) => T): KubeObject {
  const chart = new Chart(new App({ outdir: '/dev/null' }), 'reconcile');
  return build(chart).apiObject.toJson();
}

/** Whether every field set in `desired` has the same value in `observed` (the API server adds defaults). */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(observed) && desired.length === observed.length && desired.every((d, i) => isSubset(d, observed[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (observed === null || typeof observed !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, (observed as any)[k]));
  }
  return desired === observed || String(desired) === String(observed);
}

function jobCondition(job: KubeObject, ...types: string[]): any {
  return (job.status?.conditions ?? []).find((c: any) => types.includes(c.type) && c.status === 'True');
}

function jobStart(job: KubeObject): string {
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

function snapshotOf(pods: readonly KubeObject[]): string | undefined {
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

export interface VolumePlan {
  claims: string[];
  nodeName?: string;
  problem?: { reason: string; message: string };
}

/** Which claims to mount, and on which node when a ReadWriteOnce claim is in use by a pod. */
export function planVolumes(
  spec: BackupSpec,
  claims: readonly KubeObject[],
  pods: readonly KubeObject[],
  jobPodNames: Set<string>,
): VolumePlan {
  const vaultClaim = pvcVaultClaim(spec.vaultLocation);
  const byName = new Map(claims.filter((c) => !c.metadata.deletionTimestamp).map((c) => [c.metadata.name, c]));
  let chosen: KubeObject[];
  if (spec.volumeClaims?.length) {
    const missing = spec.volumeClaims.filter((n) => !byName.has(n));
    if (missing.length > 0) {
      return {
        claims: [],
        problem: { reason: 'NoVolumes', message: `volume claims not found: ${missing.join(', ')}` },
      };
    }
    chosen = spec.volumeClaims.map((n) => byName.get(n)!);
  } else {
    chosen = [...byName.values()].filter(
      (c) => c.metadata.labels?.[api.SHOP_LABEL] === spec.shopName && c.metadata.name !== vaultClaim,
    );
    if (chosen.length === 0) {
      return {
        claims: [],
        problem: {
          reason: 'NoVolumes',
          message: `no PersistentVolumeClaim labelled ${api.SHOP_LABEL}=${spec.shopName} in this namespace`,
        },
      };
    }
  }
  const names = chosen.map((c) => c.metadata.name).sort();
  const nodes = new Set<string>();
  for (const claim of chosen) {
    const modes: string[] = claim.spec?.accessModes ?? [];
    if (!modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteOncePod')) continue;
    for (const pod of pods) {
      if (
        jobPodNames.has(pod.metadata.name) ||
        !pod.spec?.nodeName ||
        ['Succeeded', 'Failed'].includes(pod.status?.phase)
      )
        continue;
      if ((pod.spec.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name)) {
        if (modes.includes('ReadWriteOncePod')) {
          return {
            claims: names,
            problem: {
              reason: 'VolumeInUse',
              message: `claim ${claim.metadata.name} is ReadWriteOncePod and in use by pod ${pod.metadata.name}`,
            },
          };
        }
        nodes.add(pod.spec.nodeName);
      }
    }
  }
  if (nodes.size > 1) {
    return {
      claims: names,
      problem: {
        reason: 'VolumesOnDifferentNodes',
        message: `ReadWriteOnce claims are in use on several nodes: ${[...nodes].sort().join(', ')}`,
      },
    };
  }
  return { claims: names, nodeName: [...nodes][0] };
}

function condition(
  previous: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition {
  const old = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = old && old.status === next.status ? old.lastTransitionTime : timestamp(now);
  // Messages quote spec values and the cluster's words; one above the schema's limit would fail the whole status write.
  return { ...next, message: bounded(next.message, STATUS_LIMITS.message), lastTransitionTime };
}

const nextRuns = new Map<string, { from: number; next: number | undefined }>();

/**
 * The next run after `now`, in the Backup's time zone, as the CronJob controller computes it; undefined
 * when the schedule never fires (30 February) or cannot be read. Remembered per schedule and zone: an
 * answer computed at an earlier time stays right until that run is reached, as no run lies between.
 */
export function nextRun(spec: BackupSpec, identity: BackupIdentity, now: Date): string | undefined {
  const schedule = cronScheduleOf(spec.backupTime, identity);
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
      parseSchedule(cronScheduleOf(spec.backupTime, identity)),
      spec.timeZone ?? api.DEFAULT_TIME_ZONE,
      now,
    ),
  );
}

/** Schedules are validated before they get here; a reading error still must not stop the status write. */
function safely<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}

/** JSON with object keys sorted, so equal values compare equal whatever order the API server wrote. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function reconcile(observed: Observed, settings: Settings = {}): Desired {
  const { backup, now } = observed;
  const spec = backup.spec;
  const previous = backup.status ?? {};
  const generation = backup.metadata.generation;
  const ref: BackupRef = {
    name: backup.metadata.name,
    namespace: backup.metadata.namespace!,
    uid: backup.metadata.uid!,
  };
  const events: KubeEvent[] = [];

  const allJobs = [...observed.jobs].filter((j) => !j.metadata.deletionTimestamp).sort(byStart);
  const runs = dstRuns(spec, ref, allJobs, observed);
  // A repeat about to be dropped never ran and is not reported.
  const jobs = allJobs.filter((j) => !runs?.drop.includes(j.metadata.name));
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
  const newestFinished = finished[finished.length - 1];

  // What the permit asks for, and whether it can be done.
  const problems = [...validateBackupName(backup.metadata.name), ...validateBackupSpec(spec)];
  const jobPodNames = new Set(observed.jobPods.map((p) => p.metadata.name));
  const planned =
    problems.length > 0 ? undefined : planVolumes(spec, observed.claims, observed.namespacePods, jobPodNames);
  const sources =
    planned && observed.snapshotClasses
      ? planSources(ref, planned.claims, observed.claims, observed.snapshotClasses)
      : undefined;
  const plan = planned && sources ? fromSnapshots(planned, sources) : planned;
  const readyProblem =
    problems.length > 0
      ? { reason: REASON.InvalidSpec, message: problems.join('; ') }
      : (plan!.problem ?? observed.vaultProblem);
  const podProps: BackupPodProps | undefined = readyProblem
    ? undefined
    : {
        backup: ref,
        spec,
        claims: plan!.claims,
        nodeName: plan!.nodeName,
        image: settings.resticImage,
        defaultResources: settings.defaultResources,
        vaultSettings: settings.vaultRunSettings,
        shrinkAcknowledged: acknowledgedShrink(backup),
        snapshots: sources?.snapshots.length ? sources.snapshots : undefined,
      };

  // The hold is part of the inputs only while on, so CronJobs rendered before it existed are not rewritten.
  const hold = settings.holdRuns === true || runs?.hold === true;
  const cronJobInputs =
    podProps &&
    createHash('sha256')
      .update(canonicalJson(hold ? { ...podProps, holdRuns: true } : podProps))
      .digest('base64');
  const unchangedSinceApplied =
    cronJobInputs !== undefined &&
    observed.lastApplied?.inputs === cronJobInputs &&
    observed.cronJob?.metadata.resourceVersion === observed.lastApplied.resourceVersion;
  const desiredCronJob = podProps && !unchangedSinceApplied ? BackupCronJob.manifest(podProps) : undefined;
  // The digest of the inputs rides on the CronJob: inputs that lost a field (a deadline, the node pin)
  // change it, where comparing only the fields still wanted would see nothing to do.
  if (desiredCronJob)
    desiredCronJob.metadata.annotations = {
      ...desiredCronJob.metadata.annotations,
      [INPUTS_ANNOTATION]: cronJobInputs,
    };
  if (desiredCronJob && hold) desiredCronJob.spec.jobTemplate.spec.suspend = true;
  const cronJobChanged =
    desiredCronJob !== undefined &&
    !(
      observed.cronJob &&
      isSubset(
        {
          metadata: {
            labels: desiredCronJob.metadata.labels,
            annotations: desiredCronJob.metadata.annotations,
            ownerReferences: desiredCronJob.metadata.ownerReferences,
          },
          spec: desiredCronJob.spec,
        },
        observed.cronJob,
      )
    );

  // Run now: one Job per new annotation value, within the concurrency policy.
  const createJobs: KubeObject[] = [];
  const deleteJobs: string[] = [];
  let lastRunNowRequest = previous.lastRunNowRequest;
  const request = backup.metadata.annotations?.[api.RUN_NOW_ANNOTATION];
  if (request && runNowRecord(request) !== previous.lastRunNowRequest && podProps) {
    lastRunNowRequest = runNowRecord(request);
    const alreadyStarted = jobs.some((j) => j.metadata.labels?.[RUN_NOW_LABEL] === runNowToken(request));
    if (!alreadyStarted) {
      if (active.length > 0 && (spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY) === 'Forbid') {
        events.push({
          type: 'Warning',
          reason: REASON.RunNowSkipped,
          message: `run-now request ${JSON.stringify(request)} skipped: ${active[0].metadata.name} is still running and concurrencyPolicy is Forbid`,
        });
      } else {
        deleteJobs.push(...active.map((j) => j.metadata.name));
        const runNow = render((chart) => new BackupRunNowJob(chart, 'now', { ...podProps, request }));
        if (settings.holdRuns) runNow.spec.suspend = true;
        createJobs.push(runNow);
      }
    }
  }

  if (runs?.catchUp && podProps && observed.cronJob?.metadata.uid && !spec.suspend) {
    createJobs.push(skippedRunJob(podProps, observed.cronJob, runs.catchUp, settings.holdRuns === true));
    if (active.length > 0) deleteJobs.push(...active.map((j) => j.metadata.name));
  }

  // Outcome of the newest finished run, or a run the CronJob missed.
  const newestSucceeded = succeeded[succeeded.length - 1];
  const newestFailed = failed[failed.length - 1];
  let lastBackup: Omit<Condition, 'lastTransitionTime'> | undefined;
  if (newestFinished && newestFinished === newestSucceeded) {
    const snapshot = snapshotOf(podsOf(newestFinished));
    const result = runResultOf(podsOf(newestFinished));
    // A PartiallyFailed run exits 0 (so nothing retries), yet needs a person: the condition says False.
    lastBackup = result
      ? {
          type: LAST_BACKUP_SUCCEEDED,
          status: result.outcome === 'Completed' ? 'True' : 'False',
          ...describeRun(newestFinished.metadata.name, result),
        }
      : {
          type: LAST_BACKUP_SUCCEEDED,
          status: 'True',
          reason: 'BackupSucceeded',
          message: `${newestFinished.metadata.name} finished${snapshot ? `, snapshot ${snapshot}` : ''}`,
        };
  } else if (newestFinished && runResultOf(podsOf(newestFinished))) {
    lastBackup = {
      type: LAST_BACKUP_SUCCEEDED,
      status: 'False',
      ...describeRun(newestFinished.metadata.name, runResultOf(podsOf(newestFinished))!),
    };
  } else if (newestFinished && snapshotFailureOf(newestFinished)) {
    lastBackup = {
      type: LAST_BACKUP_SUCCEEDED,
      status: 'False',
      reason: REASON.SnapshotFailed,
      message: `${newestFinished.metadata.name} did not run: ${snapshotFailureOf(newestFinished)}`,
    };
  } else if (newestFinished) {
    const failure = jobCondition(newestFinished, 'Failed', 'FailureTarget');
    const trouble = podsOf(newestFinished).map(podTrouble).find(Boolean);
    lastBackup = {
      type: LAST_BACKUP_SUCCEEDED,
      status: 'False',
      reason: failure?.reason || 'BackupFailed',
      message: `${newestFinished.metadata.name} failed${failure?.message ? `: ${failure.message}` : ''}${trouble ? ` (${trouble})` : ''}`,
    };
  }
  const missed =
    spec.startingDeadlineSeconds !== undefined && !spec.suspend && observed.cronJob && active.length === 0
      ? missedRun(spec, ref, observed.cronJob, jobs, now)
      : undefined;
  if (missed) {
    lastBackup = {
      type: LAST_BACKUP_SUCCEEDED,
      status: 'False',
      reason: 'MissedSchedule',
      message: `the run due at ${missed} did not start within ${spec.startingDeadlineSeconds}s`,
    };
  }

  const ready = readyProblem
    ? { type: READY, status: 'False' as const, reason: readyProblem.reason, message: readyProblem.message }
    : {
        type: READY,
        status: 'True' as const,
        reason: REASON.CronJobReady,
        message: `runs "${cronScheduleOf(spec.backupTime, ref)}" in ${spec.timeZone ?? api.DEFAULT_TIME_ZONE}${plan!.nodeName ? ` on node ${plan!.nodeName}` : ''}${runs?.notes.length ? `; daylight saving: ${runs.notes.join('; ')}` : ''}${sources ? `; ${describeSources(sources)}` : ''}`,
      };
  // Freshness: judged from times alone, so runs that silently stop happening turn it False too.
  const fresh: FreshnessVerdict =
    problems.length > 0
      ? { status: 'Unknown' as const, reason: 'InvalidSpec', message: 'the spec is not valid' }
      : judgeFreshness(
          {
            backupTime: spec.backupTime,
            timeZone: spec.timeZone,
            freshness: spec.freshness,
            suspend: spec.suspend,
            lastSuccessfulTime: later(
              previous.lastSuccessfulTime,
              succeeded[succeeded.length - 1]?.status?.completionTime,
            ),
            createdAt: backup.metadata.creationTimestamp,
            trouble:
              readyProblem?.message ??
              (observed.cronJob || podProps
                ? lastBackup?.status === 'False'
                  ? lastBackup.message
                  : undefined
                : 'the CronJob is missing'),
          },
          now,
        );
  const freshCondition = { type: FRESH_CONDITION, status: fresh.status, reason: fresh.reason, message: fresh.message };
  const newestResult = newestFinished && runResultOf(podsOf(newestFinished));
  const shrink = newestResult && shrinkCondition(backup.metadata.name, newestResult);
  const keptShrink = (previous.conditions ?? []).filter((c) => c.type === CONDITION.ShrinkDetected);
  const conditions = [
    ready,
    ...(lastBackup ? [lastBackup] : (previous.conditions ?? []).filter((c) => c.type === LAST_BACKUP_SUCCEEDED)),
    freshCondition,
    ...(shrink ? [shrink] : keptShrink),
  ].map((c) => condition(previous.conditions, { ...c, observedGeneration: generation }, now));
  const previousFresh = previous.conditions?.find((c) => c.type === FRESH_CONDITION);
  if (fresh.status === 'False' && previousFresh?.status !== 'False')
    events.push({ type: 'Warning', reason: fresh.reason, message: fresh.message });

  const newestActive = active[active.length - 1];
  const activeTrouble = newestActive && podsOf(newestActive).map(podTrouble).find(Boolean);
  let phase: api.BackupPhase;
  let message: string;
  if (readyProblem) {
    phase = NEEDS_A_PERSON.has(readyProblem.reason) ? 'Failed' : 'Pending';
    message = readyProblem.message;
  } else if (newestActive && newestActive.spec?.suspend === true && settings.holdRuns) {
    phase = 'Queued';
    const place = observed.queuePlace;
    message = `${newestActive.metadata.name} is queued for a free run slot${place ? `: position ${place.position} of ${place.of}` : ''}`;
  } else if (newestActive) {
    phase = 'Running';
    message = activeTrouble
      ? `${newestActive.metadata.name} is stuck: ${activeTrouble}`
      : waitsForSnapshots(newestActive)
        ? `${newestActive.metadata.name} is waiting for its VolumeSnapshots and temporary claims`
        : newestActive.spec?.suspend === true
          ? `${newestActive.metadata.name} is waiting for the operator to start it`
          : `${newestActive.metadata.name} is running`;
  } else if (spec.suspend) {
    phase = 'Suspended';
    message = 'suspended: no new runs are scheduled';
  } else if (lastBackup) {
    phase =
      lastBackup.status === 'True'
        ? 'Completed'
        : newestResult?.outcome === 'PartiallyFailed' && lastBackup.reason !== 'MissedSchedule'
          ? 'PartiallyFailed'
          : 'Failed';
    message = lastBackup.message;
  } else {
    phase = 'Scheduled';
    const next = nextRun(spec, ref, now);
    message = next
      ? `next run at ${next}`
      : `the schedule "${cronScheduleOf(spec.backupTime, ref)}" has no run in the next five years: change backupTime`;
  }

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
    nextScheduleTime: readyProblem || spec.suspend ? undefined : nextRun(spec, ref, now),
    effectiveSchedule: problems.length > 0 ? undefined : cronScheduleOf(spec.backupTime, ref),
    queuePosition: phase === 'Queued' ? observed.queuePlace?.position : undefined,
    // The CronJob keeps the newest runs, so the newest succeeded Job here is the newest overall.
    lastSnapshotID: succeededSnapshot ?? previous.lastSnapshotID,
    lastRunNowRequest,
    lastRun: newestResult ? lastRunOf(newestFinished.metadata.name, newestResult) : previous.lastRun,
    message: bounded(message, STATUS_LIMITS.message),
  };
  for (const key of Object.keys(status) as (keyof BackupStatus)[]) if (status[key] === undefined) delete status[key];

  // Events mark what changed since the status was last written.
  if (status.lastScheduleTime && status.lastScheduleTime !== previous.lastScheduleTime) {
    events.push({ type: 'Normal', reason: 'BackupStarted', message: `${jobs[jobs.length - 1].metadata.name} started` });
  }
  if (status.lastSuccessfulTime && status.lastSuccessfulTime !== previous.lastSuccessfulTime) {
    const partial = runResultOf(podsOf(newestSucceeded))?.outcome === 'PartiallyFailed';
    events.push(
      partial
        ? {
            type: 'Warning',
            reason: REASON.SomeFilesUnreadable,
            message: describeRun(newestSucceeded.metadata.name, runResultOf(podsOf(newestSucceeded))!).message,
          }
        : {
            type: 'Normal',
            reason: 'BackupSucceeded',
            message: `${newestSucceeded.metadata.name} finished${status.lastSnapshotID ? `, snapshot ${status.lastSnapshotID}` : ''}`,
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
      reason: 'BackupFailed',
      message: lastBackup?.message ?? `${newestFailed.metadata.name} failed`,
    });
  }
  const previousReady = previous.conditions?.find((c) => c.type === READY);
  if (
    ready.status === 'False' &&
    (previousReady?.reason !== ready.reason || previousReady?.message !== ready.message)
  ) {
    events.push({ type: 'Warning', reason: ready.reason, message: ready.message });
  }

  return {
    cronJob: desiredCronJob,
    cronJobChanged,
    cronJobInputs,
    createJobs,
    deleteJobs,
    admitJobs: settings.holdRuns
      ? []
      : (runs?.admit ?? []).filter((name) => !jobs.some((j) => j.metadata.name === name && waitsForSnapshots(j))),
    dropJobs: runs?.drop ?? [],
    requeueAt: runs?.recheckAt,
    staleAt: fresh.status === 'True' ? fresh.staleAt : undefined,
    status,
    statusChanged: canonicalJson(backup.status ?? {}) !== canonicalJson(status),
    events,
  };
}

/** The snapshot a person acknowledged after a drastic shrink; anything that is not a snapshot ID is ignored. */
function acknowledgedShrink(backup: BackupObject): string | undefined {
  const value = backup.metadata.annotations?.[ACKNOWLEDGE_SHRINK_ANNOTATION]?.trim();
  return value && /^[0-9a-f]{8,64}$/.test(value) ? value : undefined;
}

/** The due time of a run the CronJob should have started by now but did not, if any. */
function missedRun(
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
function dstRuns(
  spec: BackupSpec,
  ref: BackupRef,
  jobs: readonly KubeObject[],
  observed: Observed,
): RunDecisions | undefined {
  const scheduleText = cronScheduleOf(spec.backupTime, ref);
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
