/**
 * Leader election timings at the command line, checked as client-go checks them (leaseDuration > renewDeadline >
 * 1.2 × retryPeriod): an impossible combination is refused before anything starts, naming the flag to change.
 */
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../../operator/config';
import { leaderElectionProblems } from '../../operator/runtime/leader-timings';
import { operatorBundle } from '../../testing/operator-process';

// Within the bounded waits below even on a loaded machine (jest's default of 5 s is not).
jest.setTimeout(60_000);

const problems = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfig(argv, env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

test('the defaults, and every accepted combination, pass the elector’s own check', () => {
  expect(parseConfig([], {})).toMatchObject({
    leaseDurationSeconds: 15,
    leaseRenewDeadlineMs: 10_000,
    leaseRetrySeconds: 2,
  });
  for (const argv of [
    ['--lease-duration-seconds=2', '--lease-retry-seconds=1'],
    ['--lease-duration-seconds=300', '--lease-renew-deadline-seconds=299', '--lease-retry-seconds=60'],
    ['--lease-duration-seconds=3', '--lease-renew-deadline-seconds=2', '--lease-retry-seconds=1'],
  ]) {
    const c = parseConfig(argv, {})!;
    expect(
      leaderElectionProblems(c.leaseDurationSeconds * 1000, c.leaseRenewDeadlineMs, c.leaseRetrySeconds * 1000),
    ).toEqual([]);
  }
});

test.each([
  [
    ['--lease-renew-deadline-seconds=15'],
    /--lease-renew-deadline-seconds "15" is not valid: it must be less than --lease-duration-seconds \(15\)/,
  ],
  [
    ['--lease-duration-seconds=10', '--lease-renew-deadline-seconds=12'],
    /--lease-renew-deadline-seconds "12" is not valid: it must be less than --lease-duration-seconds \(10\)/,
  ],
  [
    ['--lease-duration-seconds=3', '--lease-retry-seconds=2'],
    new RegExp(
      String.raw`--lease-retry-seconds 2 is not valid: 1.2 × it \(2.4 s\) must be less than ` +
        String.raw`the renew deadline \(2 s, two thirds of --lease-duration-seconds`,
    ),
  ],
  [
    ['--lease-renew-deadline-seconds=5', '--lease-retry-seconds=5'],
    /--lease-retry-seconds 5 is not valid: 1.2 × it \(6 s\) must be less than --lease-renew-deadline-seconds \(5\)/,
  ],
  [['--lease-duration-seconds=0'], /--lease-duration-seconds "0" is not valid: use an integer from 2 to 300/],
  [['--lease-retry-seconds=-1'], /--lease-retry-seconds "-1" is not valid: use an integer from 1 to 60/],
  [
    ['--lease-renew-deadline-seconds=0'],
    /--lease-renew-deadline-seconds "0" is not valid: use an integer from 1 to 299/,
  ],
  [['--lease-duration-seconds=99999999999999999999'], /--lease-duration-seconds "99999999999999999999" is not valid/],
  [['--lease-retry-seconds=1.5'], /--lease-retry-seconds "1.5" is not valid: use an integer from 1 to 60/],
])('%j is refused, naming the flag', (argv, message) => {
  expect(problems(argv)).toMatch(message);
});

test('the same checks apply to the environment variables', () => {
  expect(problems([], { LEASE_DURATION_SECONDS: '4', LEASE_RETRY_SECONDS: '3' })).toMatch(
    /--lease-retry-seconds 3 is not valid/,
  );
});

test('without leader election the Lease timings do not matter', () => {
  expect(problems(['--leader-elect=false', '--lease-duration-seconds=3', '--lease-retry-seconds=2'])).toBe('');
});

test(
  'the operator process refuses impossible timings before it ' + 'listens or connects: exit 2, the flag named',
  async () => {
    const run = spawnSync(
      process.execPath,
      [await operatorBundle(), '--lease-duration-seconds=3', '--lease-retry-seconds=2', '--probe-port=0'],
      { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 30_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^mall-backup operator: invalid operator configuration:\n {2}- --lease-retry-seconds 2 is not valid/,
    );
    expect(run.stderr).not.toMatch(/ at /);
  },
);
