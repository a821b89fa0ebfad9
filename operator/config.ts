/** The operator's settings, from flags (`--name=value`) with environment variables as fallbacks. */
import * as os from 'node:os';
import { LOG_LEVELS, LogLevel, OPERATOR_DEFAULTS } from '../lib/backup-operator';

export interface OperatorConfig {
  readonly namespaces: string[];
  readonly leaderElect: boolean;
  readonly leaseName: string;
  readonly leaseNamespace: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly leaseRetrySeconds: number;
  readonly metricsPort: number;
  readonly probePort: number;
  /** Address the metrics and probe servers listen on. */
  readonly bindAddress: string;
  readonly logLevel: LogLevel;
  readonly resyncSeconds: number;
  readonly workers: number;
  readonly kubeconfig?: string;
  readonly resticImage?: string;
  /** Cluster-wide cap on concurrent backup runs; 0 is no cap (operator/fleet-admission.ts). */
  readonly maxConcurrentRuns: number;
  /** Cap on concurrent runs into one vault; 0 is no cap. */
  readonly maxConcurrentRunsPerVault: number;
}

const FLAGS: Record<string, string> = {
  namespaces: 'WATCH_NAMESPACES',
  'leader-elect': 'LEADER_ELECT',
  'lease-name': 'LEASE_NAME',
  'lease-namespace': 'POD_NAMESPACE',
  identity: 'POD_NAME',
  'lease-duration-seconds': 'LEASE_DURATION_SECONDS',
  'lease-retry-seconds': 'LEASE_RETRY_SECONDS',
  'metrics-port': 'METRICS_PORT',
  'probe-port': 'PROBE_PORT',
  'bind-address': 'BIND_ADDRESS',
  'log-level': 'LOG_LEVEL',
  'resync-seconds': 'RESYNC_SECONDS',
  workers: 'WORKERS',
  kubeconfig: 'KUBECONFIG',
  'restic-image': 'RESTIC_IMAGE',
  'max-concurrent-runs': 'MAX_CONCURRENT_RUNS',
  'max-concurrent-runs-per-vault': 'MAX_CONCURRENT_RUNS_PER_VAULT',
};

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const values: Record<string, string> = {};
  const problems: string[] = [];
  for (const arg of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!match || !(match[1] in FLAGS)) {
      problems.push(`unknown argument ${JSON.stringify(arg)}: use --<flag>=<value> with one of ${Object.keys(FLAGS).join(', ')}`);
      continue;
    }
    values[match[1]] = match[2];
  }
  const get = (flag: string) => values[flag] ?? env[FLAGS[flag]];
  const int = (flag: string, fallback: number, min: number, max: number) => {
    const raw = get(flag);
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`--${flag} ${JSON.stringify(raw)} is not valid: use an integer from ${min} to ${max}`);
    return value;
  };
  const bool = (flag: string, fallback: boolean) => {
    const raw = get(flag);
    if (raw === undefined || raw === '') return fallback;
    if (raw !== 'true' && raw !== 'false') problems.push(`--${flag} ${JSON.stringify(raw)} is not valid: use true or false`);
    return raw === 'true';
  };
  const logLevel = (get('log-level') || OPERATOR_DEFAULTS.logLevel) as LogLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problems.push(`--log-level ${JSON.stringify(logLevel)} is not valid: use one of ${LOG_LEVELS.join(', ')}`);
  const config: OperatorConfig = {
    namespaces: (get('namespaces') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    leaderElect: bool('leader-elect', true),
    leaseName: get('lease-name') || `${OPERATOR_DEFAULTS.name}-leader`,
    leaseNamespace: get('lease-namespace') || OPERATOR_DEFAULTS.namespace,
    identity: get('identity') || `${os.hostname()}-${process.pid}`,
    leaseDurationSeconds: int('lease-duration-seconds', 15, 2, 300),
    leaseRetrySeconds: int('lease-retry-seconds', 2, 1, 60),
    metricsPort: int('metrics-port', OPERATOR_DEFAULTS.metricsPort, 0, 65535),
    probePort: int('probe-port', OPERATOR_DEFAULTS.probePort, 0, 65535),
    bindAddress: get('bind-address') || '0.0.0.0',
    logLevel,
    resyncSeconds: int('resync-seconds', 300, 1, 86400),
    workers: int('workers', 4, 1, 64),
    kubeconfig: get('kubeconfig') || undefined,
    resticImage: get('restic-image') || undefined,
    maxConcurrentRuns: int('max-concurrent-runs', 0, 0, 100000),
    maxConcurrentRunsPerVault: int('max-concurrent-runs-per-vault', 0, 0, 100000),
  };
  if (problems.length > 0) throw new Error(`invalid operator configuration:\n  - ${problems.join('\n  - ')}`);
  return config;
}
