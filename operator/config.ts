/**
 * The operator's settings, from flags (`--name value` or `--name=value`) with environment variables as fallbacks:
 * the flags are declared in config-flags.ts, the checks spanning several values are in config-checks.ts.
 */
import * as os from 'node:os';
import { LOG_LEVELS, LogLevel, OPERATOR_DEFAULTS } from '../lib/contractor/operator-props';
import { parseCommandLine, UsageError } from '../lib/common/cli';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';
import { scheduleProblem } from '../lib/permits/cron';
import { DEFAULT_MAINTENANCE_SCHEDULE } from './controller/vault-plan';
import { DEFAULT_SNAPSHOT_TIMEOUT_SECONDS } from './controller/snapshot-runs';
import { DEFAULTS, OPERATOR_COMMAND } from './config-flags';
import { DEFAULT_VERIFY_SCRATCH_SIZE } from '../lib/run/verify-job';
import { verifyScratchSizeProblem } from '../lib/contractor/operator-props';
import { namespaceList, renewDeadlineMs } from './config-checks';

export interface OperatorConfig {
  readonly namespaces: string[];
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseNamespace: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly leaseRetrySeconds: number;
  /** How long a leader keeps leading without a renewal (ms): --lease-renew-deadline-seconds, else ⅔ of the duration. */
  readonly leaseRenewDeadlineMs: number;
  readonly metricsPort: number;
  readonly probePort: number;
  /** Address the metrics and probe servers listen on. */
  readonly bindAddress: string;
  readonly logLevel: LogLevel;
  readonly resyncSeconds: number;
  readonly workers: number;
  readonly kubeconfig?: string;
  readonly resticImage?: string;
  /** Outside a cluster, how long to try to reach the API server at start before giving up. */
  readonly connectTimeoutSeconds: number;
  /** Cluster-wide cap on concurrent backup runs; 0 is no cap (operator/controller/fleet-admission.ts). */
  readonly maxConcurrentRuns: number;
  /** Cap on concurrent runs into one vault; 0 is no cap. */
  readonly maxConcurrentRunsPerVault: number;
  /** Whether Backups in different namespaces may name one vault (and so share its key). */
  readonly allowCrossNamespaceVaults: boolean;
  /** When each vault's prune + check runs (cron, UTC). */
  readonly maintenanceSchedule: string;
  /** Cluster-wide: snapshots younger than this are never removed by a run's retention. No Backup can lower it. */
  readonly retentionFloorDays: number;
  /** Cluster-wide: a snapshot this many percent smaller (files or bytes) than the reference holds retention back. */
  readonly shrinkPercent: number;
  /** How long a run waits for its VolumeSnapshots to be ready before it fails. */
  readonly snapshotTimeoutSeconds: number;
  /** The size of a test restore's scratch volume (a quantity). */
  readonly verifyScratchSize: string;
}

/**
 * The operator's configuration, or undefined when `--help` was asked for (the help is printed). Throws a
 * UsageError naming every bad value, with what is allowed.
 */
export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out?: (text: string) => void,
): OperatorConfig | undefined {
  const values = parseCommandLine(OPERATOR_COMMAND, argv, env, out);
  if (!values) return undefined;
  const problems: string[] = [];
  const int = (flag: string, fallback: number, min: number, max: number) => {
    const raw = values[flag];
    // Digits only: Number() would also read " " as 0, "0x10" as 16 and "1e1" as 10.
    const value = raw === undefined ? fallback : /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(value) || value < min || value > max)
      problems.push(`--${flag} ${JSON.stringify(raw)} is not valid: use an integer from ${min} to ${max}`);
    return value;
  };
  const bool = (flag: string, fallback: boolean) => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false')
      problems.push(`--${flag} ${JSON.stringify(raw)} is not valid: use true or false`);
    return raw === 'true';
  };
  const logLevel = (values['log-level'] ?? OPERATOR_DEFAULTS.logLevel) as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    problems.push(`--log-level ${JSON.stringify(logLevel)} is not valid: use one of ${LOG_LEVELS.join(', ')}`);
  const leaseDurationSeconds = int('lease-duration-seconds', DEFAULTS.leaseDurationSeconds, 2, 300);
  const leaseRetrySeconds = int('lease-retry-seconds', DEFAULTS.leaseRetrySeconds, 1, 60);
  const config: OperatorConfig = {
    namespaces: namespaceList(values.namespaces, problems),
    leaderElect: bool('leader-elect', OPERATOR_DEFAULTS.leaderElection),
    leaseName: values['lease-name'] ?? OPERATOR_DEFAULTS.leaseName,
    leaseNamespace: values['lease-namespace'] ?? OPERATOR_DEFAULTS.namespace,
    identity: values.identity ?? `${os.hostname()}-${process.pid}`,
    leaseDurationSeconds,
    leaseRetrySeconds,
    leaseRenewDeadlineMs: renewDeadlineMs(values, problems, int, leaseDurationSeconds, leaseRetrySeconds),
    metricsPort: int('metrics-port', OPERATOR_DEFAULTS.metricsPort, 0, 65535),
    probePort: int('probe-port', OPERATOR_DEFAULTS.probePort, 0, 65535),
    bindAddress: values['bind-address'] ?? DEFAULTS.bindAddress,
    logLevel,
    resyncSeconds: int('resync-seconds', DEFAULTS.resyncSeconds, 1, 86400),
    workers: int('workers', DEFAULTS.workers, 1, 64),
    kubeconfig: values.kubeconfig,
    resticImage: values['restic-image'],
    connectTimeoutSeconds: int('connect-timeout-seconds', DEFAULTS.connectTimeoutSeconds, 1, 86400),
    maxConcurrentRuns: int('max-concurrent-runs', OPERATOR_DEFAULTS.maxConcurrentRuns, 0, 100000),
    maxConcurrentRunsPerVault: int(
      'max-concurrent-runs-per-vault',
      OPERATOR_DEFAULTS.maxConcurrentRunsPerVault,
      0,
      100000,
    ),
    allowCrossNamespaceVaults: bool('allow-cross-namespace-vaults', false),
    maintenanceSchedule: values['maintenance-schedule'] ?? DEFAULT_MAINTENANCE_SCHEDULE,
    retentionFloorDays: int('retention-floor-days', DEFAULT_VAULT_RUN_SETTINGS.retentionFloorDays, 0, 3650),
    shrinkPercent: int('shrink-percent', DEFAULT_VAULT_RUN_SETTINGS.shrinkPercent, 1, 100),
    snapshotTimeoutSeconds: int('snapshot-timeout-seconds', DEFAULT_SNAPSHOT_TIMEOUT_SECONDS, 1, 86400),
    verifyScratchSize: values['verify-scratch-size'] ?? DEFAULT_VERIFY_SCRATCH_SIZE,
  };
  const scratch = verifyScratchSizeProblem(config.verifyScratchSize);
  if (scratch)
    problems.push(`--verify-scratch-size ${JSON.stringify(config.verifyScratchSize)} is not valid: ${scratch}`);
  const cron = scheduleProblem(config.maintenanceSchedule);
  if (cron) problems.push(`--maintenance-schedule ${JSON.stringify(config.maintenanceSchedule)} is not valid: ${cron}`);
  if (problems.length > 0)
    throw new UsageError(
      `invalid operator configuration:\n  - ${problems.join('\n  - ')}\n\nRun with --help for every option.`,
    );
  return config;
}
