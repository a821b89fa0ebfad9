/**
 * The judgement on a Backup's verification runs, without I/O: from its finished verification Jobs and
 * their pods' termination logs (lib/run/verify-script.ts) to the Verified condition, lastVerifiedTime and
 * lastVerifiedSnapshotID, and a Warning Event when the vault turns unverified.
 */
import { VERIFY_FAILURE_REASONS } from '../../lib/run/verify-script';
import type { Condition, KubeEvent, KubeObject } from './types';
import { timestamp } from './values';

export const VERIFIED_CONDITION = 'Verified';

export interface VerifyReport {
  readonly verified?: { snapshotID: string; snapshotTime: string; files: number; bytes: number };
  readonly failed?: { reason: string; message: string };
}

/** What a verification pod wrote to its termination log. */
export function parseVerifyReport(text: string): VerifyReport {
  for (const line of text.split('\n').map((l) => l.trim())) {
    const ok = /^verified ([0-9a-f]{8,64}) (\S+) (\d+) (\d+)$/.exec(line);
    if (ok)
      return {
        verified: {
          snapshotID: ok[1],
          snapshotTime: timestamp(new Date(ok[2])),
          files: Number(ok[3]),
          bytes: Number(ok[4]),
        },
      };
    const failed = /^failed ([A-Z][A-Za-z]{0,63}) (.*)$/.exec(line);
    // Only the run's own reasons become a condition's reason; anything else is a run that did not finish its report.
    if (failed && (VERIFY_FAILURE_REASONS as readonly string[]).includes(failed[1]))
      return { failed: { reason: failed[1], message: failed[2] } };
  }
  return {};
}

export interface VerificationVerdict {
  /** Undefined while no verification has finished: no condition is claimed. */
  readonly condition?: Omit<Condition, 'lastTransitionTime'>;
  readonly lastVerifiedTime?: string;
  readonly lastVerifiedSnapshotID?: string;
  readonly events: KubeEvent[];
}

function finishedAt(job: KubeObject): { done: boolean; failed: boolean; at?: string } {
  const c = (job.status?.conditions ?? []).find(
    (x: any) => x.status === 'True' && ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(x.type),
  );
  if (!c) return { done: false, failed: false };
  return {
    done: true,
    failed: c.type === 'Failed' || c.type === 'FailureTarget',
    at: job.status?.completionTime ?? c.lastTransitionTime,
  };
}

/**
 * The newest finished verification decides. A success needs the pod's `verified` line as well as the Job's
 * Complete condition: a run that says nothing has proved nothing.
 */
export function judgeVerification(
  jobs: readonly KubeObject[],
  pods: readonly KubeObject[],
  previous: Condition | undefined,
): VerificationVerdict {
  const finished = jobs
    .map((job) => ({ job, ...finishedAt(job) }))
    .filter((j) => j.done)
    .sort(
      (a, b) =>
        Date.parse(a.at ?? '') - Date.parse(b.at ?? '') || a.job.metadata.name.localeCompare(b.job.metadata.name),
    );
  const newest = finished[finished.length - 1];
  if (!newest) return { events: [] };
  const text = pods
    .filter((p) => p.metadata.labels?.['job-name'] === newest.job.metadata.name)
    .flatMap((p) => (p.status?.containerStatuses ?? []).map((cs: any) => String(cs.state?.terminated?.message ?? '')))
    .join('\n');
  const report = parseVerifyReport(text);
  const name = newest.job.metadata.name;
  let condition: Omit<Condition, 'lastTransitionTime'>;
  if (!newest.failed && report.verified) {
    const v = report.verified;
    condition = {
      type: VERIFIED_CONDITION,
      status: 'True',
      reason: 'Verified',
      message:
        `${name}: the vault checks out and snapshot ${v.snapshotID} restored ` +
        `${v.files} files (${v.bytes} bytes) whose content matches the snapshot`,
    };
    return { condition, lastVerifiedTime: newest.at, lastVerifiedSnapshotID: v.snapshotID, events: [] };
  }
  const why = report.failed ?? {
    reason: 'VerificationFailed',
    message: newest.failed
      ? 'the verification Job failed without a report (see its pod log)'
      : 'the verification Job finished without reporting a result',
  };
  condition = {
    type: VERIFIED_CONDITION,
    status: 'False',
    reason: why.reason,
    message: `${name}: ${why.message}; the Backup does not count as protected until a verification passes`,
  };
  const news = previous?.status !== 'False' || previous.reason !== condition.reason;
  return { condition, events: news ? [{ type: 'Warning', reason: condition.reason, message: condition.message }] : [] };
}
