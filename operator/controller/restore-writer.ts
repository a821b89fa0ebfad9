/**
 * Carrying out a Restore: what the controller's caches hold goes into the pure `reconcileRestore`, and its
 * answer comes back through the same path Backups take: every write is tried, the status is written last
 * and says why when the API server refused a claim or the Job, Events follow.
 */
import type { KubeClient } from '../runtime/kube';
import { Attempts } from '../runtime/attempts';
import { isConflict, resourcePath } from '../runtime/kube';
import type { BackupObject, Condition, KubeEvent, KubeObject } from './types';
import { canonicalJson, timestamp } from './values';
import { reconcileRestore } from './restore-reconcile';
import type { RestoreObject, RestoreStatus } from './types';
import { bounded } from './write-outcome';
import { RESTORE_REASON, STATUS_LIMITS } from './vocabulary';
import * as rapi from '../../lib/permits/restore-api';
import { RESTORE_UID_LABEL, restoreJobNameFor } from '../../lib/run/restore-job';

/** Work-queue keys of Restores carry this prefix; Backups' keys are bare `namespace/name`. */
export const RESTORE_KEY_PREFIX = 'restore:';

export const isFinal = (restore: RestoreObject): boolean =>
  restore.status?.phase === 'Completed' || restore.status?.phase === 'Failed';

/** What carrying out a Restore reads from the caches and how it writes. */
export interface RestoreContext {
  readonly client: KubeClient;
  readonly settings: { readonly resticImage?: string };
  restore(namespace: string, name: string): RestoreObject | undefined;
  backup(namespace: string, name: string): BackupObject | undefined;
  /** The Job labelled with the Restore's uid. */
  restoreJob(namespace: string, uid: string): KubeObject | undefined;
  podsOfJob(namespace: string, jobName: string): KubeObject[];
  claims(namespace: string): KubeObject[];
  podsMounting(namespace: string, claims: readonly string[]): KubeObject[];
  writeStatus(restore: RestoreObject, status: RestoreStatus): Promise<void>;
  recordEvent(restore: RestoreObject, event: KubeEvent): Promise<void>;
}

interface Refusal {
  readonly what: string;
  readonly reason: typeof RESTORE_REASON.ClaimRefused | typeof RESTORE_REASON.JobRefused;
  readonly statusCode: number;
  readonly message: string;
}

function advice(statusCode: number): string {
  if (statusCode === 403)
    return "check the namespace's ResourceQuota and LimitRange and the operator's RBAC; the operator retries";
  return 'the operator retries with a growing delay';
}

/**
 * The status after refused writes: still Pending (a Restore that never started is not Failed, it is
 * retried), Ready=False with the API server's words; a Warning Event when that is news.
 */
export function withRestoreRefusals(
  decided: RestoreStatus,
  previous: RestoreStatus | undefined,
  refusals: readonly Refusal[],
  now: string,
): { status: RestoreStatus; events: KubeEvent[] } {
  if (refusals.length === 0) return { status: decided, events: [] };
  const message = bounded(
    refusals
      .map((r) => `the API server refused ${r.what} (HTTP ${r.statusCode}): ${r.message}; ${advice(r.statusCode)}`)
      .join('; '),
    STATUS_LIMITS.message,
  );
  const old = previous?.conditions?.find((c) => c.type === rapi.RESTORE_CONDITIONS.ready);
  const ready: Condition = {
    type: rapi.RESTORE_CONDITIONS.ready,
    status: 'False',
    reason: refusals[0].reason,
    message,
    observedGeneration: decided.observedGeneration,
    lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : now,
  };
  const { jobName: _notCreated, ...rest } = decided;
  const status: RestoreStatus = {
    ...rest,
    phase: 'Pending',
    message,
    conditions: [ready, ...(decided.conditions ?? []).filter((c) => c.type !== ready.type)],
  };
  if (previous?.jobName) status.jobName = previous.jobName;
  const news = old?.reason !== ready.reason || old?.message !== message;
  return { status, events: news ? [{ type: 'Warning', reason: ready.reason, message }] : [] };
}

/** Reconciles one Restore; returns whether anything was written. Throws to be retried. */
export async function carryOutRestore(ctx: RestoreContext, namespace: string, name: string): Promise<boolean> {
  const restore = ctx.restore(namespace, name);
  // Owner references remove its Job; restored claims are nobody's and stay.
  if (!restore || restore.metadata.deletionTimestamp) return false;
  const job = ctx.restoreJob(namespace, restore.metadata.uid!);
  const claims = ctx.claims(namespace);
  const desired = reconcileRestore(
    {
      restore,
      backup: typeof restore.spec?.backupName === 'string' ? ctx.backup(namespace, restore.spec.backupName) : undefined,
      job,
      jobPods: ctx.podsOfJob(namespace, job?.metadata.name ?? restoreJobNameFor(name)),
      claims,
      namespacePods: ctx.podsMounting(
        namespace,
        claims.map((c) => c.metadata.name),
      ),
      now: new Date(),
    },
    ctx.settings,
  );

  const attempts = new Attempts<Omit<Refusal, 'statusCode' | 'message'>>();
  const { refusals } = attempts;
  // The Job was created by an earlier round (the cache is behind): its RestoreStarted Event was recorded then.
  let startedEarlier = false;
  /**
   * Already there (AlreadyExists): ours if created by an earlier round whose answer the cache has not seen yet;
   * a name taken by anything else (a Job from the restore runbook, a claim made by hand) would be mistaken for
   * ours: the Restore would wait on a Job that never reports, or write into a stranger's claim.
   */
  const alreadyThere = async (
    plural: string,
    apiVersion: string,
    obj: KubeObject,
    refused: Omit<Refusal, 'statusCode' | 'message'>,
  ) => {
    const mine = await ctx.client.list(
      resourcePath(apiVersion, plural, namespace),
      `${RESTORE_UID_LABEL}=${restore.metadata.uid}`,
    );
    if (mine.items.some((o: KubeObject) => o.metadata.name === obj.metadata.name)) {
      if (plural === 'jobs') startedEarlier = true;
    } else {
      refusals.push({
        ...refused,
        statusCode: 409,
        message:
          `${refused.what} already exists and is not this Restore's: delete it or file the Restore under ` +
          `another name`,
      });
    }
    return false;
  };
  const create = (
    plural: string,
    apiVersion: string,
    obj: KubeObject,
    refused: Omit<Refusal, 'statusCode' | 'message'>,
  ) =>
    attempts.run(
      () =>
        ctx.client
          .create(resourcePath(apiVersion, plural, namespace), obj)
          .catch((e) => (isConflict(e) ? alreadyThere(plural, apiVersion, obj, refused) : Promise.reject(e))),
      refused,
    );
  for (const claim of desired.createClaims) {
    await create('persistentvolumeclaims', 'v1', claim, {
      what: `claim ${claim.metadata.name}`,
      reason: RESTORE_REASON.ClaimRefused,
    });
  }
  // The Job mounts the new claims: it waits until every one of them exists.
  if (desired.createJob && !attempts.failed) {
    await create('jobs', 'batch/v1', desired.createJob, {
      what: `Job ${desired.createJob.metadata.name}`,
      reason: RESTORE_REASON.JobRefused,
    });
  }
  const outcome = withRestoreRefusals(desired.status, restore.status, refusals, timestamp(new Date()));
  const notStarted = attempts.failed || startedEarlier;
  const { transient } = attempts;
  let { wrote } = attempts;
  // After passing trouble alone (a 500, a timeout) the decided status would claim a Job that may not exist:
  // the status stays as it was until the retry, which comes within seconds.
  const status = transient !== undefined && refusals.length === 0 ? (restore.status ?? {}) : outcome.status;
  if (canonicalJson(status) !== canonicalJson(restore.status ?? {})) {
    await ctx.writeStatus(restore, status);
    wrote = true;
  }
  const events = [
    ...desired.events.filter((e) => !(notStarted && e.reason === RESTORE_REASON.RestoreStarted)),
    ...outcome.events,
  ];
  await Promise.all(events.map((e) => ctx.recordEvent(restore, e)));
  if (transient !== undefined) throw transient;
  if (refusals.length > 0) throw new Error(outcome.status.message);
  return wrote;
}
