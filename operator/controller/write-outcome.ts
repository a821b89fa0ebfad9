/**
 * What the writer tells the Backup when the API server refuses one of its writes. Pure, like
 * reconcile: the decided status in, the status to write instead out. The status write comes last and
 * always happens, so a refused CronJob or run-now Job is reported rather than retried in silence.
 */
import type { BackupStatus, Condition, KubeEvent } from './types';
import { CONDITION, REASON, Reason, STATUS_LIMITS } from './vocabulary';

export interface RefusedWrite {
  /** What was refused: `CronJob backup-bakery`, `run-now Job backup-bakery-now-1a2b3c4d`. */
  readonly what: string;
  readonly reason:
    | typeof REASON.CronJobRefused
    | typeof REASON.RunNowRefused
    | typeof REASON.RunAdmissionRefused
    | typeof REASON.VaultWorkRefused
    | typeof REASON.SnapshotWorkRefused;
  readonly statusCode: number;
  /** The API server's own words. */
  readonly message: string;
}

/** What a person can do about a refusal, by HTTP status. */
function advice(refused: RefusedWrite): string {
  switch (refused.statusCode) {
    case 403:
      return refused.reason !== REASON.CronJobRefused
        ? "check the namespace's ResourceQuota and LimitRange (or lower " +
            "spec.resources) and the operator's RBAC; the run is retried"
        : "check the operator's RBAC and the namespace's admission policies; the operator retries";
    case 422:
      return "correct the Backup's spec; the operator retries after every change";
    default:
      return 'the operator retries with a growing delay';
  }
}

export function describeRefusal(refused: RefusedWrite): string {
  return `the API server refused ${refused.what} (HTTP ${refused.statusCode}): ${refused.message}; ${advice(refused)}`;
}

/**
 * A string cut to at most `limit` characters as the API server counts them for maxLength (Unicode code
 * points, though its message says "bytes"; JavaScript's length counts UTF-16 units), at a character
 * boundary, marked as cut.
 */
export function bounded(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const characters = Array.from(text);
  return characters.length <= limit ? text : `${characters.slice(0, limit - 1).join('')}…`;
}

/**
 * The status to write after refused writes: Ready=False with the refusal's reason and words, the phase
 * Failed (nothing will run as asked), and a Warning Event when that is news.
 */
export function withRefusals(
  decided: BackupStatus,
  previous: BackupStatus | undefined,
  refusals: readonly RefusedWrite[],
  now: string,
): { status: BackupStatus; events: KubeEvent[] } {
  if (refusals.length === 0) return { status: decided, events: [] };
  const reason: Reason = refusals[0].reason;
  const message = bounded(refusals.map(describeRefusal).join('; '), STATUS_LIMITS.message);
  const old = previous?.conditions?.find((c) => c.type === CONDITION.Ready);
  const ready: Condition = {
    type: CONDITION.Ready,
    status: 'False',
    reason,
    message,
    observedGeneration: decided.observedGeneration,
    lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : now,
  };
  const conditions = [ready, ...(decided.conditions ?? []).filter((c) => c.type !== CONDITION.Ready)];
  const news = old?.reason !== reason || old?.message !== message;
  // A refused run-now request is not acted on yet: leaving it unrecorded makes the next attempt try again.
  const runNowRefused = refusals.some((r) => r.reason === REASON.RunNowRefused);
  const status: BackupStatus = { ...decided, phase: 'Failed', conditions, message };
  if (runNowRefused) {
    if (previous?.lastRunNowRequest === undefined) delete status.lastRunNowRequest;
    else status.lastRunNowRequest = previous.lastRunNowRequest;
  }
  return {
    status,
    events: news ? [{ type: 'Warning', reason, message }] : [],
  };
}
