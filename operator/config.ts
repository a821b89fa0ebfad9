/** The operator's settings, from flags (`--name value` or `--name=value`) with environment variables as fallbacks. */
import * as os from 'node:os';
import { LOG_LEVELS, LogLevel, OPERATOR_DEFAULTS } from '../lib/contractor/operator-props';
import { CliCommand, CliOption, parseCommandLine, UsageError } from '../lib/common/cli';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';
import { scheduleProblem } from '../lib/permits/cron';
import { DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN } from '../lib/permits/backup-api';
import { DEFAULT_MAINTENANCE_SCHEDULE } from './controller/vault-plan';
import { DEFAULT_SNAPSHOT_TIMEOUT_SECONDS } from './controller/snapshot-runs';
import { JITTER_FACTOR } from './runtime/leader-timings';

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
}

const DEFAULTS = {
  leaseDurationSeconds: 15,
  leaseRetrySeconds: 2,
  bindAddress: '0.0.0.0',
  resyncSeconds: 300,
  workers: 4,
  connectTimeoutSeconds: 60,
} as const;

const option = (
  name: string,
  value: string,
  description: string,
  env?: string,
  def?: string | number | boolean,
): CliOption => ({ name, value, description, env, default: def });

export const OPERATOR_COMMAND: CliCommand = {
  usage: 'npm run operator -- (in the image: node /app/operator.cjs)',
  summary:
    'The mall-backup operator: turns each Backup into a CronJob ' +
    'running restic. In a pod it uses its service-account\n' +
    'token; elsewhere --kubeconfig, KUBECONFIG or ~/.kube/config.',
  options: [
    option('namespaces', 'a,b', 'namespaces to watch, comma-separated', 'WATCH_NAMESPACES', 'all'),
    option(
      'leader-elect',
      'true|false',
      'elect a leader through a Lease',
      'LEADER_ELECT',
      OPERATOR_DEFAULTS.leaderElection,
    ),
    option('lease-name', 'name', 'name of the Lease', 'LEASE_NAME', OPERATOR_DEFAULTS.leaseName),
    option('lease-namespace', 'namespace', 'namespace of the Lease', 'POD_NAMESPACE', OPERATOR_DEFAULTS.namespace),
    option('identity', 'name', "this replica's name in the Lease", 'POD_NAME', '<host>-<pid>'),
    option(
      'lease-duration-seconds',
      'seconds',
      'how long a Lease is held without renewal',
      'LEASE_DURATION_SECONDS',
      DEFAULTS.leaseDurationSeconds,
    ),
    option(
      'lease-renew-deadline-seconds',
      'seconds',
      'how long a leader keeps leading without renewing the Lease (less than the duration)',
      'LEASE_RENEW_DEADLINE_SECONDS',
      '2/3 of the duration',
    ),
    option(
      'lease-retry-seconds',
      'seconds',
      'how often to try to take or renew the Lease',
      'LEASE_RETRY_SECONDS',
      DEFAULTS.leaseRetrySeconds,
    ),
    option(
      'metrics-port',
      'port',
      'Prometheus /metrics port (0: any free port)',
      'METRICS_PORT',
      OPERATOR_DEFAULTS.metricsPort,
    ),
    option(
      'probe-port',
      'port',
      '/healthz and /readyz port (0: any free port)',
      'PROBE_PORT',
      OPERATOR_DEFAULTS.probePort,
    ),
    option(
      'bind-address',
      'address',
      'address the metrics and probe servers listen on',
      'BIND_ADDRESS',
      DEFAULTS.bindAddress,
    ),
    option('log-level', LOG_LEVELS.join('|'), 'log level', 'LOG_LEVEL', OPERATOR_DEFAULTS.logLevel),
    option(
      'resync-seconds',
      'seconds',
      'reconcile every Backup at least this often',
      'RESYNC_SECONDS',
      DEFAULTS.resyncSeconds,
    ),
    option('workers', 'n', 'Backups reconciled in parallel', 'WORKERS', DEFAULTS.workers),
    option('kubeconfig', 'file', 'kubeconfig to use outside a cluster (without it: $KUBECONFIG, then ~/.kube/config)'),
    option('restic-image', 'image', 'restic image of the backup pods', 'RESTIC_IMAGE', 'the pinned default'),
    option(
      'allow-cross-namespace-vaults',
      '',
      'let Backups in different namespaces share a vault (they ' +
        "share its key: each can read and prune the others' snapshots)",
      'ALLOW_CROSS_NAMESPACE_VAULTS',
      false,
    ),
    option(
      'maintenance-schedule',
      'cron',
      "when each vault's maintenance (prune + check) runs, UTC",
      'MAINTENANCE_SCHEDULE',
      DEFAULT_MAINTENANCE_SCHEDULE,
    ),
    option(
      'retention-floor-days',
      'days',
      'retention never removes snapshots younger than this (0: no floor); no Backup can lower it',
      'RETENTION_FLOOR_DAYS',
      DEFAULT_VAULT_RUN_SETTINGS.retentionFloorDays,
    ),
    option(
      'shrink-percent',
      'percent',
      'a snapshot with this many percent fewer files or bytes ' +
        'than the reference holds retention back until acknowledged',
      'SHRINK_PERCENT',
      DEFAULT_VAULT_RUN_SETTINGS.shrinkPercent,
    ),
    option(
      'snapshot-timeout-seconds',
      'seconds',
      "how long a run waits for its claims' VolumeSnapshots to be ready before it fails without reading any file",
      'SNAPSHOT_TIMEOUT_SECONDS',
      DEFAULT_SNAPSHOT_TIMEOUT_SECONDS,
    ),
    option(
      'connect-timeout-seconds',
      'seconds',
      'outside a cluster, give up (exit 1) when the API server was ' +
        'not reached in this time; in a cluster it retries for ever',
      'CONNECT_TIMEOUT_SECONDS',
      DEFAULTS.connectTimeoutSeconds,
    ),
    option(
      'max-concurrent-runs',
      'n',
      'cap on backup runs at once in the whole cluster (0: no cap); runs beyond it wait in a queue',
      'MAX_CONCURRENT_RUNS',
      OPERATOR_DEFAULTS.maxConcurrentRuns,
    ),
    option(
      'max-concurrent-runs-per-vault',
      'n',
      'cap on backup runs at once into one vault (0: no cap)',
      'MAX_CONCURRENT_RUNS_PER_VAULT',
      OPERATOR_DEFAULTS.maxConcurrentRunsPerVault,
    ),
  ],
};

const NAMESPACE = new RegExp(DNS_LABEL_PATTERN);

/** The namespaces to watch; none (every namespace) only when the option is left out or its variable is blank. */
function namespaceList(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const names = raw.split(',').map((s) => s.trim());
  if (names.every((n) => n === ''))
    problems.push(
      `--namespaces ${JSON.stringify(raw)} names no namespace: list namespace names separated by commas, or leave it ` +
        `out to watch all`,
    );
  else if (names.includes('')) problems.push(`--namespaces ${JSON.stringify(raw)} has an empty name between commas`);
  else
    for (const n of names.filter((n) => !NAMESPACE.test(n) || n.length > DNS_LABEL_MAX_LENGTH))
      problems.push(
        `--namespaces: ${JSON.stringify(n)} is not a namespace name (a DNS-1123 label: lower-case letters, digits ` +
          `and -, at most ${DNS_LABEL_MAX_LENGTH} characters)`,
      );
  return names.filter(Boolean);
}

/**
 * The renew deadline, checked against the other two timings as client-go checks them (leaseDuration >
 * renewDeadline > 1.2 × retryPeriod), each problem naming the flags to change. Past the deadline a leader stops
 * writing; a standby takes over a lease duration after the last renewal it saw: the deadline must come first.
 */
function renewDeadlineMs(
  values: Record<string, string | undefined>,
  problems: string[],
  int: (flag: string, fallback: number, min: number, max: number) => number,
  durationS: number,
  retryS: number,
): number {
  const given = values['lease-renew-deadline-seconds'];
  const renewMs =
    given === undefined ? Math.floor((durationS * 2000) / 3) : int('lease-renew-deadline-seconds', 0, 1, 299) * 1000;
  if (values['leader-elect'] === 'false' || [durationS, retryS, renewMs].some((n) => Number.isNaN(n))) return renewMs;
  const renew =
    given === undefined
      ? `the renew deadline (${renewMs / 1000} s, two thirds of --lease-duration-seconds; ` +
        'set --lease-renew-deadline-seconds to change it)'
      : `--lease-renew-deadline-seconds (${given})`;
  if (renewMs >= durationS * 1000)
    problems.push(
      `--lease-renew-deadline-seconds ${JSON.stringify(given)} is not valid: it must be less than ` +
        `--lease-duration-seconds (${durationS}), or a leader could still write after a standby took the Lease`,
    );
  else if (renewMs <= JITTER_FACTOR * retryS * 1000)
    problems.push(
      `--lease-retry-seconds ${retryS} is not valid: ${JITTER_FACTOR} × it (${JITTER_FACTOR * retryS} s) must be ` +
        `less than ${renew}, so a leader gets to retry a failed renewal before it must stop`,
    );
  return renewMs;
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
  };
  const cron = scheduleProblem(config.maintenanceSchedule);
  if (cron) problems.push(`--maintenance-schedule ${JSON.stringify(config.maintenanceSchedule)} is not valid: ${cron}`);
  if (problems.length > 0)
    throw new UsageError(
      `invalid operator configuration:\n  - ${problems.join('\n  - ')}\n\nRun with --help for every option.`,
    );
  return config;
}
