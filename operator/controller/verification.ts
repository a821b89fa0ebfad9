/**
 * The judgement on a Backup's verification, without I/O: from the newest finished run of its vault's check
 * (vault-check-<hash>, shared by every Backup on the vault) and of its own test restore (verify-<name>), and
 * their pods' termination logs (lib/run/verify-script.ts), to the Verified condition, lastVerifiedTime and
 * lastVerifiedSnapshotID, and a Warning Event when the vault turns unverified.
 */
import { VERIFY_FAILURE_REASONS } from '../../lib/run/verify-script';
import type { Condition, KubeEvent, KubeObject } from './types';
import { timestamp } from './values';
import { CONDITION, REASON } from './vocabulary';

export interface VerifyReport {
  readonly checked?: { subset: string };
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
    const checked = /^checked (\S{1,16})$/.exec(line);
    if (checked) return { checked: { subset: checked[1] } };
    const failed = /^failed ([A-Z][A-Za-z]{0,63}) (.*)$/.exec(line);
    // Only the run's own reasons become a condition's reason; anything else is a run that did not finish its report.
    if (failed && (VERIFY_FAILURE_REASONS as readonly string[]).includes(failed[1]))
      return { failed: { reason: failed[1], message: failed[2] } };
  }
  return {};
}

export interface VerificationRuns {
  /** Jobs of the vault's check CronJob. */
  readonly checkJobs: readonly KubeObject[];
  /** Jobs of this Backup's test-restore CronJob. */
  readonly restoreJobs: readonly KubeObject[];
  /** Pods of any of those Jobs. */
  readonly pods: readonly KubeObject[];
}

export interface VerificationVerdict {
  /** Undefined while no verification run has finished: no condition is claimed. */
  readonly condition?: Omit<Condition, 'lastTransitionTime'>;
  readonly lastVerifiedTime?: string;
  readonly lastVerifiedSnapshotID?: string;
  /** With True: when the older of the two passing runs finished, from which the proof ages (verify-plan.ts). */
  readonly provenSince?: string;
  readonly events: KubeEvent[];
}

interface Finished {
  readonly job: KubeObject;
  readonly failed: boolean;
  readonly at: string;
  readonly report: VerifyReport;
  /** The kubelet's words when it evicted a pod of the Job (status.reason Evicted): the pod wrote no report. */
  readonly evicted?: string;
}

function newestFinished(jobs: readonly KubeObject[], pods: readonly KubeObject[]): Finished | undefined {
  const finished: Finished[] = [];
  for (const job of jobs) {
    const c = (job.status?.conditions ?? []).find(
      (x: any) => x.status === 'True' && ['Complete', 'SuccessCriteriaMet', 'Failed', 'FailureTarget'].includes(x.type),
    );
    if (!c) continue;
    const own = pods.filter((p) => p.metadata.labels?.['job-name'] === job.metadata.name);
    const ended = own.flatMap((p) => (p.status?.containerStatuses ?? []).filter((cs: any) => cs.state?.terminated));
    const evicted = own.find((p) => p.status?.reason === 'Evicted');
    // Jobs and pods arrive by separate watches: a Job seen finished before its pod's report waits for the
    // report rather than be judged silent (a false alarm). A failed Job with no pod at all, or an evicted one
    // (killed by the kubelet, it reports nothing), is judged now.
    const waiting = own.length > 0 || c.type === 'Complete' || c.type === 'SuccessCriteriaMet';
    if (ended.length === 0 && !evicted && waiting) continue;
    const text = ended.map((cs: any) => String(cs.state.terminated.message ?? '')).join('\n');
    finished.push({
      job,
      failed: c.type === 'Failed' || c.type === 'FailureTarget',
      at: job.status?.completionTime ?? c.lastTransitionTime ?? '',
      report: parseVerifyReport(text),
      evicted: evicted && String(evicted.status.message ?? 'no message').slice(0, 400),
    });
  }
  finished.sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at) || a.job.metadata.name.localeCompare(b.job.metadata.name),
  );
  return finished[finished.length - 1];
}

/** Why a finished run did not pass, or undefined when it did (a run that says nothing has proved nothing). */
function failure(run: Finished, passed: boolean, what: string): { reason: string; message: string } | undefined {
  if (!run.failed && passed) return undefined;
  if (!run.report.failed && run.evicted !== undefined) return evictedFailure(run.evicted, what);
  return (
    run.report.failed ?? {
      reason: REASON.VerificationFailed,
      message: run.failed
        ? `the ${what} Job failed without a report (see its pod log)`
        : `the ${what} Job finished without reporting a result`,
    }
  );
}

/**
 * The kubelet evicts a pod past its scratch volume's sizeLimit or its ephemeral-storage limit (it counts disk
 * blocks) or when the node runs short: the pod's own log stops mid-restore, so the kubelet's message is the reason.
 */
function evictedFailure(message: string, what: string): { reason: string; message: string } {
  const disk = /ephemeral|emptydir|storage|disk|volume/i.test(message);
  if (what === 'test restore' && disk)
    return {
      reason: 'ScratchTooSmall',
      message:
        `the kubelet evicted the test restore's pod: "${message}"; the snapshot needs more scratch space than the ` +
        `pod may use: raise the operator's verifyScratchSize (and the Backup's resources.limits ephemeral-storage, ` +
        `if set and smaller) or run on nodes with more ephemeral storage`,
    };
  return {
    reason: REASON.VerificationFailed,
    message: `the kubelet evicted the ${what}'s pod: "${message}"; the run did not finish`,
  };
}

/**
 * The newest finished check and the newest finished test restore decide together: True only when both passed;
 * False when either failed (the check's finding first: it speaks for the whole vault); Unknown while one of them
 * has passed and the other has not run yet.
 */
export function judgeVerification(runs: VerificationRuns, previous: Condition | undefined): VerificationVerdict {
  const check = newestFinished(runs.checkJobs, runs.pods);
  const restore = newestFinished(runs.restoreJobs, runs.pods);
  if (!check && !restore) return { events: [] };
  const checkFailure = check && failure(check, check.report.checked !== undefined, 'vault check');
  const restoreFailure = restore && failure(restore, restore.report.verified !== undefined, 'test restore');
  const bad = checkFailure
    ? { run: check!, why: checkFailure }
    : restoreFailure && { run: restore!, why: restoreFailure };
  if (bad) {
    const condition = {
      type: CONDITION.Verified,
      status: 'False' as const,
      reason: bad.why.reason,
      message:
        `${bad.run.job.metadata.name}: ${bad.why.message}; the Backup does not count as protected until a ` +
        `verification passes`,
    };
    const news = previous?.status !== 'False' || previous.reason !== condition.reason;
    return {
      condition,
      events: news ? [{ type: 'Warning', reason: condition.reason, message: condition.message }] : [],
    };
  }
  if (!check || !restore) {
    const done = (check ?? restore)!;
    return {
      condition: {
        type: CONDITION.Verified,
        status: 'Unknown',
        reason: check ? REASON.AwaitingTestRestore : REASON.AwaitingVaultCheck,
        message: check
          ? `the vault check ${done.job.metadata.name} passed; waiting for this Backup's first test restore`
          : `the test restore ${done.job.metadata.name} passed; waiting for the vault's first check`,
      },
      events: [],
    };
  }
  const v = restore.report.verified!;
  const condition = {
    type: CONDITION.Verified,
    status: 'True' as const,
    reason: REASON.Verified,
    message:
      `${check.job.metadata.name}: the vault checks out (read subset ${check.report.checked!.subset}); ` +
      `${restore.job.metadata.name}: snapshot ${v.snapshotID} restored ${v.files} files (${v.bytes} bytes) whose ` +
      `content matches the snapshot`,
  };
  const checkFirst = Date.parse(check.at) <= Date.parse(restore.at);
  const lastVerifiedTime = checkFirst ? restore.at : check.at;
  const events: KubeEvent[] =
    previous?.status === 'False' ? [{ type: 'Normal', reason: REASON.Verified, message: condition.message }] : [];
  return {
    condition,
    lastVerifiedTime,
    lastVerifiedSnapshotID: v.snapshotID,
    provenSince: checkFirst ? check.at : restore.at,
    events,
  };
}
