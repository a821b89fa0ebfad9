/**
 * The operator's flags: each one's name, value, help text, environment fallback and default, as `--help` prints
 * them. Reading and checking their values is operator/config.ts.
 */
import { LOG_LEVELS, OPERATOR_DEFAULTS } from '../lib/contractor/operator-props';
import type { CliCommand, CliOption } from '../lib/common/cli';
import { DEFAULT_VAULT_RUN_SETTINGS } from '../lib/run/backup-job-spec';
import { DEFAULT_VERIFY_SCRATCH_SIZE } from '../lib/run/verify-job';
import { DEFAULT_MAINTENANCE_SCHEDULE } from './controller/vault-plan';
import { DEFAULT_SNAPSHOT_TIMEOUT_SECONDS } from './controller/snapshot-runs';

/** Defaults of the settings only the operator process has (the others are in OPERATOR_DEFAULTS). */
export const DEFAULTS = {
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
      'verify-scratch-size',
      'quantity',
      "size of a test restore's scratch volume (a larger snapshot fails ScratchTooSmall)",
      'VERIFY_SCRATCH_SIZE',
      DEFAULT_VERIFY_SCRATCH_SIZE,
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
