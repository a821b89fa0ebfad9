/** What a finished backup pod said about its run: the termination message, read through lib/run-result. */
import { parseRunResult, RunResult } from '../../lib/run/run-result';

interface PodLike {
  status?: { containerStatuses?: { state?: { terminated?: { message?: string } } }[] };
}

/** The run's result from the newest pod that left one. */
export function runResultOf(pods: readonly PodLike[]): RunResult | undefined {
  for (const pod of [...pods].reverse()) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const result = parseRunResult(cs.state?.terminated?.message);
      if (result) return result;
    }
  }
  return undefined;
}

/** The condition's reason and message for a run that left a result: its cause in words, with its numbers. */
export function describeRun(jobName: string, result: RunResult): { reason: string; message: string } {
  const parts = [`${jobName}: ${result.message}`];
  if (result.unreadable)
    parts.push(`${result.unreadable.count} unreadable file(s), e.g. ${result.unreadable.paths.join(', ')}`);
  if (result.stats) {
    const s = result.stats;
    parts.push(
      `${s.filesNew} new and ${s.filesChanged} changed file(s), ` +
        `${s.bytesAdded} bytes added in ${Math.round(s.durationSeconds)} s; ` +
        `snapshot of ${s.totalFiles} file(s), ${s.totalBytes} bytes`,
    );
  }
  if (result.lockWaited) parts.push("the run waited for another restic's lock");
  return { reason: result.reason, message: parts.join('; ') };
}
