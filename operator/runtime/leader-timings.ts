/**
 * The timings of leader election, checked as client-go checks them (leaderelection.NewLeaderElector), apart from
 * the elector so the operator's flags can be checked before anything starts.
 */

/** client-go's JitterFactor: waits between acquire attempts are stretched by up to this much. */
export const JITTER_FACTOR = 1.2;

/** client-go's checks of the timings (leaderelection.NewLeaderElector). */
export function leaderElectionProblems(
  leaseDurationMs: number,
  renewDeadlineMs: number,
  retryPeriodMs: number,
): string[] {
  const problems: string[] = [];
  if (leaseDurationMs <= renewDeadlineMs)
    problems.push(`leaseDuration (${leaseDurationMs} ms) must be greater than renewDeadline (${renewDeadlineMs} ms)`);
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
    problems.push(
      `renewDeadline (${renewDeadlineMs} ms) must be greater than ` +
        `retryPeriod × ${JITTER_FACTOR} (${JITTER_FACTOR * retryPeriodMs} ms)`,
    );
  }
  for (const [name, value] of [
    ['leaseDuration', leaseDurationMs],
    ['renewDeadline', renewDeadlineMs],
    ['retryPeriod', retryPeriodMs],
  ] as const) {
    if (!(value >= 1)) problems.push(`${name} (${value} ms) must be greater than zero`);
  }
  return problems;
}
