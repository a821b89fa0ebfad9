/**
 * What the operator's deployment can be told (BackupOperatorProps), its defaults, declared once, and the check
 * of a set of props, which names each bad value and what is allowed.
 */
import { Duration } from 'cdk8s';
import * as api from '../permits/backup-api';
import { PropErrors, show } from '../common/prop-errors';
import { ResourceSpec, checkResources, compareQuantities, quantityValue } from '../common/resources';
import { DEFAULT_VERIFY_SCRATCH_SIZE, MIN_VERIFY_SCRATCH_SIZE } from '../run/verify-job';

// Imported rather than read at run time, so the compiled library carries its own version (tsc copies this
// package.json beside the output) and never picks up the package.json of the app that installs it.
import packageJson from '../../package.json';

/** This package's version: the operator image's tag and the Helm chart's version. */
export const PACKAGE_VERSION: string = packageJson.version;

/** Where the operator image is published; its tag follows the package version. */
export const OPERATOR_IMAGE_REPOSITORY = 'ghcr.io/mall-example/mall-backup-operator';
export const DEFAULT_OPERATOR_IMAGE = `${OPERATOR_IMAGE_REPOSITORY}:v${PACKAGE_VERSION}`;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface BackupOperatorProps {
  /**
   * Namespace the operator runs in.
   * @default 'mall-backup-system'
   */
  readonly namespace?: string;

  /**
   * Create the namespace (labelled to enforce Pod Security "restricted"). Turn off when the namespace
   * is managed elsewhere.
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Operator image, pinned by tag or digest (never `latest`).
   * @default `ghcr.io/mall-example/mall-backup-operator:v<package version>`
   */
  readonly image?: string;

  /**
   * Image pull policy.
   * @default 'IfNotPresent'
   */
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';

  /**
   * Operator pods. Only the Lease holder reconciles; the others wait to take over.
   * @default 1
   */
  readonly replicas?: number;

  /**
   * Elect a leader through a coordination.k8s.io Lease before reconciling. Needed when `replicas` > 1.
   * @default true
   */
  readonly leaderElection?: boolean;

  /**
   * Namespaces whose Backups the operator handles. When set, the operator's rights are granted in
   * those namespaces only (RoleBindings) instead of cluster-wide.
   * @default - all namespaces
   */
  readonly watchNamespaces?: string[];

  /**
   * Log level of the operator's JSON logs.
   * @default 'info'
   */
  readonly logLevel?: LogLevel;

  /**
   * Port of `/metrics` (Prometheus), behind a Service.
   * @default 8080
   */
  readonly metricsPort?: number;

  /**
   * Port of the `/healthz` and `/readyz` probes.
   * @default 8081
   */
  readonly probePort?: number;

  /**
   * CPU and memory of the operator container.
   * @default - requests 50m CPU / 64Mi memory, limits 500m CPU / 256Mi memory
   */
  readonly resources?: ResourceSpec;

  /**
   * How long a stopping pod may take to finish in-flight work and release its Lease.
   * @default Duration.seconds(30)
   */
  readonly terminationGracePeriod?: Duration;

  /**
   * Cluster-wide cap on concurrent backup runs. When set, every run is created suspended and the
   * operator starts the runs in the order they were due as slots free (phase Queued meanwhile).
   * @default 0 (no cap)
   */
  readonly maxConcurrentRuns?: number;

  /**
   * Cap on concurrent backup runs into one vault (the same vaultLocation), alone or with maxConcurrentRuns.
   * @default 0 (no cap)
   */
  readonly maxConcurrentRunsPerVault?: number;

  /**
   * Size of the scratch volume a Backup's test restore (spec.verify) restores its newest snapshot into: the
   * volume's sizeLimit, so a large snapshot cannot fill the node's disk. A snapshot larger than it (or than the
   * Backup's ephemeral-storage limit) fails the verification with ScratchTooSmall before anything is restored.
   * @default '20Gi'
   */
  readonly verifyScratchSize?: string;

  /**
   * Render a NetworkPolicy that lets in only metrics and probe traffic.
   * @default true
   */
  readonly networkPolicy?: boolean;
}

/** The operator's name: its ServiceAccount, Deployment and roles, and its field manager on the objects it writes. */
export const OPERATOR_NAME = 'mall-backup-operator';
/** The component label of the operator's objects, which also selects its pods and metrics Service. */
export const OPERATOR_COMPONENT = 'operator';

/** The defaults of the construct, the app's config file and the operator's own flags alike. */
export const OPERATOR_DEFAULTS = {
  namespace: 'mall-backup-system',
  name: OPERATOR_NAME,
  leaderElection: true,
  /** The Lease the replicas elect a leader through; the only Lease the operator's Role may touch. */
  leaseName: `${OPERATOR_NAME}-leader`,
  replicas: 1,
  maxConcurrentRuns: 0,
  maxConcurrentRunsPerVault: 0,
  metricsPort: 8080,
  probePort: 8081,
  logLevel: 'info' as LogLevel,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  terminationGracePeriod: Duration.seconds(30),
};

const DNS_LABEL = new RegExp(api.DNS_LABEL_PATTERN);
/** `repository[:tag][@sha256:digest]`, the forms a container runtime pulls. */
const IMAGE_PATTERN = new RegExp(
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*/.source +
    /(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.source,
);

/** What is wrong with a verifyScratchSize, in words that say what is allowed; undefined when it is fine. */
export function verifyScratchSizeProblem(size: unknown): string | undefined {
  const at = typeof size === 'string' ? compareQuantities(size, MIN_VERIFY_SCRATCH_SIZE) : undefined;
  if (at === undefined || at < 0)
    return `use a quantity of at least ${MIN_VERIFY_SCRATCH_SIZE} (e.g. "${DEFAULT_VERIFY_SCRATCH_SIZE}", "500Gi")`;
  return undefined;
}

/**
 * The operator's V8 heap ceiling: half its memory limit. Left to itself V8 sizes the heap from the
 * node's memory, not the container's, and lets garbage pile up: at 10 000 Backups the process peaked at
 * ~350 MiB with a ~60 MiB live heap, past a 256Mi limit. With the ceiling it collects in time (peak
 * ~230 MiB measured), leaving the other half for code, buffers and the runtime.
 */
export function heapCeilingMiB(memoryLimit: string): number {
  return Math.max(16, Math.floor((quantityValue(memoryLimit) ?? 0) / 2 ** 20 / 2));
}

/**
 * V8's semi-space, in MiB: the young generation is two of them. Node's default (16 MiB, a 32 MiB young
 * generation) is resident memory from the first minute; the operator's short-lived garbage (a request's JSON, a
 * reconcile's plan) is small, so 4 MiB collects it as well: 23 MiB less peak RSS at 3 000 Backups in the cluster
 * benchmark, with no more CPU.
 */
export const SEMI_SPACE_MIB = 4;

/** The operator's NODE_OPTIONS for a memory limit: the heap ceiling and the young generation's size. */
export function nodeOptionsFor(memoryLimit: string): string {
  return `--max-old-space-size=${heapCeilingMiB(memoryLimit)} --max-semi-space-size=${SEMI_SPACE_MIB}`;
}

/**
 * glibc's malloc arenas (distroless Node runs on glibc): by default up to 8 per core, each keeping freed memory of
 * the threads that used it (TLS, zlib, libuv's pool). Two keep the operator's off-heap memory compact.
 */
export const MALLOC_ARENA_MAX = '2';

/** The props with every default filled in, or an error naming each bad value. */
export function resolveOperatorProps(path: string, props: BackupOperatorProps) {
  const d = OPERATOR_DEFAULTS;
  const namespace = props.namespace ?? d.namespace;
  const image = props.image ?? DEFAULT_OPERATOR_IMAGE;
  const replicas = props.replicas ?? d.replicas;
  const leaderElection = props.leaderElection ?? d.leaderElection;
  const watchNamespaces = props.watchNamespaces ?? [];
  const logLevel = props.logLevel ?? d.logLevel;
  const metricsPort = props.metricsPort ?? d.metricsPort;
  const probePort = props.probePort ?? d.probePort;
  const resources = props.resources ?? d.resources;
  const grace = props.terminationGracePeriod ?? d.terminationGracePeriod;

  const errors = new PropErrors(`BackupOperator ${path}`);
  errors.check(
    DNS_LABEL.test(namespace) && namespace.length <= api.DNS_LABEL_MAX_LENGTH,
    `namespace ${show(namespace)} is not valid: use a DNS-1123 ` +
      `label (lower-case letters, digits and "-", at most 63 characters)`,
  );
  errors.check(
    IMAGE_PATTERN.test(image) && (/:[^/]+$/.test(image) || image.includes('@sha256:')),
    `image ${show(image)} is not valid: use <repository>:<tag> or <repository>@sha256:<digest>`,
  );
  errors.check(
    !/:latest(@|$)/.test(image),
    `image ${show(image)} is not valid: pin a version tag or a digest, never "latest"`,
  );
  errors.check(
    Number.isInteger(replicas) && replicas >= 1 && replicas <= 10,
    `replicas ${show(replicas)} is not valid: use an integer from 1 to 10`,
  );
  errors.check(
    leaderElection || replicas === 1,
    `replicas ${replicas} needs leaderElection: two operators without ` +
      `a leader would both write; turn leaderElection on or use 1 replica`,
  );
  for (const ns of watchNamespaces) {
    errors.check(
      DNS_LABEL.test(ns) && ns.length <= api.DNS_LABEL_MAX_LENGTH,
      `watchNamespaces entry ${show(ns)} is not valid: use a DNS-1123 label`,
    );
  }
  errors.check(
    new Set(watchNamespaces).size === watchNamespaces.length,
    `watchNamespaces ${show(watchNamespaces)} lists a namespace twice`,
  );
  errors.check(
    (LOG_LEVELS as readonly string[]).includes(logLevel),
    `logLevel ${show(logLevel)} is not valid: use one of ${LOG_LEVELS.join(', ')}`,
  );
  for (const [name, port] of [
    ['metricsPort', metricsPort],
    ['probePort', probePort],
  ] as const) {
    errors.check(
      Number.isInteger(port) && port >= 1024 && port <= 65535,
      `${name} ${show(port)} is not valid: use an unprivileged port from 1024 to 65535 (the operator runs as non-root)`,
    );
  }
  errors.check(metricsPort !== probePort, `metricsPort and probePort are both ${metricsPort}: use two different ports`);
  errors.add(...checkResources('resources', resources));
  for (const [field, cap] of [
    ['maxConcurrentRuns', props.maxConcurrentRuns ?? d.maxConcurrentRuns],
    ['maxConcurrentRunsPerVault', props.maxConcurrentRunsPerVault ?? d.maxConcurrentRunsPerVault],
  ] as const) {
    errors.check(
      Number.isInteger(cap) && cap >= 0 && cap <= 100000,
      `${field} ${show(cap)} is not valid: use an integer from 0 (no cap) to 100000`,
    );
  }
  const verifyScratchSize = props.verifyScratchSize ?? DEFAULT_VERIFY_SCRATCH_SIZE;
  const scratch = verifyScratchSizeProblem(verifyScratchSize);
  errors.check(scratch === undefined, `verifyScratchSize ${show(verifyScratchSize)} is not valid: ${scratch}`);
  const graceSeconds = grace.toSeconds();
  errors.check(
    Number.isInteger(graceSeconds) && graceSeconds >= 5 && graceSeconds <= 600,
    `terminationGracePeriod ${graceSeconds}s is not valid: use whole seconds from 5 to 600`,
  );
  errors.throwIfAny();

  return {
    namespace,
    image,
    replicas,
    leaderElection,
    watchNamespaces,
    logLevel,
    metricsPort,
    probePort,
    resources,
    graceSeconds,
    verifyScratchSize,
  };
}
