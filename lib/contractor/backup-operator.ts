import { Duration } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import * as api from '../permits/backup-api';
import * as rapi from '../permits/restore-api';
import { standardLabels } from '../common/labels';
import { PropErrors, show } from '../common/prop-errors';
import {
  RESTRICTED_CONTAINER_SECURITY_CONTEXT,
  restrictedPodSecurityContext,
  NONROOT_ID,
} from '../common/pod-security';
import { ResourceSpec, toResourceRequirements, checkResources, quantityValue } from '../common/resources';

// Imported rather than read at run time, so the compiled library carries its own version (tsc copies this
// package.json beside the output) and never picks up the package.json of the app that installs it.
import packageJson from '../../package.json';

const PACKAGE_VERSION: string = packageJson.version;

/** Where the operator image is published; its tag follows the package version. */
/** The ClusterRole (and its cluster-wide binding) for listing storage and snapshot classes: `<operator>-storage-classes`. */
export const STORAGE_CLASSES_ROLE_SUFFIX = '-storage-classes';

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
   * Render a NetworkPolicy that lets in only metrics and probe traffic.
   * @default true
   */
  readonly networkPolicy?: boolean;
}

export const OPERATOR_DEFAULTS = {
  namespace: 'mall-backup-system',
  name: 'mall-backup-operator',
  replicas: 1,
  metricsPort: 8080,
  probePort: 8081,
  logLevel: 'info' as LogLevel,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  terminationGracePeriod: Duration.seconds(30),
};

const DNS_LABEL = new RegExp(api.DNS_LABEL_PATTERN);
/** `repository[:tag][@sha256:digest]`, the forms a container runtime pulls. */
const IMAGE_PATTERN =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

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
 * The External Contractor's deployment: the operator and exactly the rights it needs, under Pod
 * Security "restricted", with leader election, probes, metrics and a NetworkPolicy.
 */
export class BackupOperator extends Construct {
  public readonly namespace: string;
  public readonly serviceAccountName: string;
  public readonly leaseName: string;
  /** Labels selecting the operator's metrics Service (port `metrics`), e.g. for a ServiceMonitor. */
  public readonly metricsServiceSelector: Record<string, string>;

  constructor(scope: Construct, id: string, props: BackupOperatorProps = {}) {
    super(scope, id);
    const d = OPERATOR_DEFAULTS;
    const namespace = props.namespace ?? d.namespace;
    const image = props.image ?? DEFAULT_OPERATOR_IMAGE;
    const replicas = props.replicas ?? d.replicas;
    const leaderElection = props.leaderElection ?? true;
    const watchNamespaces = props.watchNamespaces ?? [];
    const logLevel = props.logLevel ?? d.logLevel;
    const metricsPort = props.metricsPort ?? d.metricsPort;
    const probePort = props.probePort ?? d.probePort;
    const resources = props.resources ?? d.resources;
    const grace = props.terminationGracePeriod ?? d.terminationGracePeriod;

    const errors = new PropErrors(`BackupOperator ${this.node.path}`);
    errors.check(
      DNS_LABEL.test(namespace) && namespace.length <= api.DNS_LABEL_MAX_LENGTH,
      `namespace ${show(namespace)} is not valid: use a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters)`,
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
      `replicas ${replicas} needs leaderElection: two operators without a leader would both write; turn leaderElection on or use 1 replica`,
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
    errors.check(
      metricsPort !== probePort,
      `metricsPort and probePort are both ${metricsPort}: use two different ports`,
    );
    errors.add(...checkResources('resources', resources));
    for (const [field, cap] of [
      ['maxConcurrentRuns', props.maxConcurrentRuns ?? 0],
      ['maxConcurrentRunsPerVault', props.maxConcurrentRunsPerVault ?? 0],
    ] as const) {
      errors.check(
        Number.isInteger(cap) && cap >= 0 && cap <= 100000,
        `${field} ${show(cap)} is not valid: use an integer from 0 (no cap) to 100000`,
      );
    }
    const graceSeconds = grace.toSeconds();
    errors.check(
      Number.isInteger(graceSeconds) && graceSeconds >= 5 && graceSeconds <= 600,
      `terminationGracePeriod ${graceSeconds}s is not valid: use whole seconds from 5 to 600`,
    );
    errors.throwIfAny();

    const name = d.name;
    this.namespace = namespace;
    this.serviceAccountName = name;
    this.leaseName = `${name}-leader`;
    const labels = standardLabels('operator');
    const selector = {
      'app.kubernetes.io/name': labels['app.kubernetes.io/name'],
      'app.kubernetes.io/component': 'operator',
    };
    this.metricsServiceSelector = selector;

    if (props.createNamespace ?? true) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: namespace,
          labels: {
            ...labels,
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      });
    }

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace, labels },
      automountServiceAccountToken: true,
    });

    this.grantOperatorRights(name, namespace, labels, watchNamespaces);
    this.grantLeaseRights(name, namespace, labels);
    this.aggregateUserRoles();

    const args = [
      `--leader-elect=${leaderElection}`,
      `--lease-name=${this.leaseName}`,
      `--metrics-port=${metricsPort}`,
      `--probe-port=${probePort}`,
      `--log-level=${logLevel}`,
      ...(watchNamespaces.length > 0 ? [`--namespaces=${watchNamespaces.join(',')}`] : []),
      ...(props.maxConcurrentRuns ? [`--max-concurrent-runs=${props.maxConcurrentRuns}`] : []),
      ...(props.maxConcurrentRunsPerVault
        ? [`--max-concurrent-runs-per-vault=${props.maxConcurrentRunsPerVault}`]
        : []),
    ];
    const probe = (path: string, periodSeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('probes') },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });

    new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        revisionHistoryLimit: 3,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            // The operator talks to the API server with its own token; cdk8s-plus would turn this off.
            automountServiceAccountToken: true,
            terminationGracePeriodSeconds: graceSeconds,
            securityContext: restrictedPodSecurityContext({ runAsUser: NONROOT_ID, runAsGroup: NONROOT_ID }),
            containers: [
              {
                name: 'operator',
                image,
                imagePullPolicy: props.imagePullPolicy ?? 'IfNotPresent',
                args,
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'NODE_OPTIONS', value: `--max-old-space-size=${heapCeilingMiB(resources.limits!.memory!)}` },
                ],
                ports: [
                  { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' },
                  { name: 'probes', containerPort: probePort, protocol: 'TCP' },
                ],
                livenessProbe: probe('/healthz', 20),
                readinessProbe: probe('/readyz', 10),
                startupProbe: { ...probe('/healthz', 2), failureThreshold: 30 },
                resources: toResourceRequirements(resources),
                securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } }],
          },
        },
      },
    });

    new k8s.KubeService(this, 'MetricsService', {
      metadata: { name: `${name}-metrics`, namespace, labels },
      spec: {
        selector,
        ports: [
          { name: 'metrics', port: metricsPort, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' },
        ],
      },
    });

    if (props.networkPolicy ?? true) {
      new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: { name, namespace, labels },
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ['Ingress'],
          ingress: [
            {
              ports: [
                { port: k8s.IntOrString.fromNumber(metricsPort), protocol: 'TCP' },
                { port: k8s.IntOrString.fromNumber(probePort), protocol: 'TCP' },
              ],
            },
          ],
        },
      });
    }
  }

  /**
   * What reconciling calls, no more (each verb below is a call in operator/): the caches list and watch;
   * CronJobs are server-side applied (a PATCH that may create); run-now Jobs are created and, under
   * Replace, deleted; the status is merge-patched; Events are created. Owner references with
   * blockOwnerDeletion need `update` on the owner's finalizers wherever OwnerReferencesPermissionEnforcement
   * is on. Restores: read, status merge-patched, their Job (owned by the Restore, blockOwnerDeletion)
   * created, and the claims of `target.newClaims` created. Runs from snapshots: VolumeSnapshots created,
   * read and deleted, temporary claims read, created and deleted (operator/controller/snapshot-runs.ts);
   * StorageClasses and VolumeSnapshotClasses are listed, cluster-wide whatever namespaces are watched, as
   * they are cluster-scoped. No `*`, no Secrets (vault credentials reach the backup and restore pods only).
   */
  private grantOperatorRights(
    name: string,
    namespace: string,
    labels: Record<string, string>,
    watchNamespaces: string[],
  ): void {
    const cache = ['list', 'watch'];
    new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name, labels },
      rules: [
        { apiGroups: [api.API_GROUP], resources: [api.BACKUP_PLURAL], verbs: cache },
        { apiGroups: [api.API_GROUP], resources: [`${api.BACKUP_PLURAL}/status`], verbs: ['patch'] },
        { apiGroups: [api.API_GROUP], resources: [`${api.BACKUP_PLURAL}/finalizers`], verbs: ['update'] },
        // delete: a test-restore or vault check CronJob once no Backup asks for verification (spec.verify).
        { apiGroups: ['batch'], resources: ['cronjobs'], verbs: [...cache, 'create', 'patch', 'delete'] },
        { apiGroups: ['batch'], resources: ['jobs'], verbs: [...cache, 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims', 'pods'], verbs: cache },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
        { apiGroups: [api.API_GROUP], resources: [rapi.RESTORE_PLURAL], verbs: cache },
        { apiGroups: [api.API_GROUP], resources: [`${rapi.RESTORE_PLURAL}/status`], verbs: ['patch'] },
        { apiGroups: [api.API_GROUP], resources: [`${rapi.RESTORE_PLURAL}/finalizers`], verbs: ['update'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'get', 'delete'] },
        { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['create', 'get', 'delete'] },
      ],
    });
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name };
    const subjects = [{ kind: 'ServiceAccount', name, namespace }];
    const classesRole = `${name}${STORAGE_CLASSES_ROLE_SUFFIX}`;
    new k8s.KubeClusterRole(this, 'StorageClassesRole', {
      metadata: { name: classesRole, labels },
      rules: [
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['list'] },
        { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshotclasses'], verbs: ['list'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'StorageClassesRoleBinding', {
      metadata: { name: classesRole, labels },
      roleRef: { ...roleRef, name: classesRole },
      subjects,
    });
    if (watchNamespaces.length === 0) {
      new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', { metadata: { name, labels }, roleRef, subjects });
      return;
    }
    for (const watched of watchNamespaces) {
      new k8s.KubeRoleBinding(this, `RoleBinding-${watched}`, {
        metadata: { name, namespace: watched, labels },
        roleRef,
        subjects,
      });
    }
  }

  /** Leader election: create the Lease, then touch only that one Lease. */
  private grantLeaseRights(name: string, namespace: string, labels: Record<string, string>): void {
    const roleName = `${name}-leader-election`;
    new k8s.KubeRole(this, 'LeaderElectionRole', {
      metadata: { name: roleName, namespace, labels },
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          resourceNames: [this.leaseName],
          verbs: ['get', 'update'],
        },
      ],
    });
    new k8s.KubeRoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata: { name: roleName, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });
  }

  /** Lets users holding the built-in view/edit/admin roles read or manage Backups and file Restores. */
  private aggregateUserRoles(): void {
    const read = ['get', 'list', 'watch'];
    const write = ['create', 'update', 'patch', 'delete', 'deletecollection'];
    const roles: [string, string[], string[]][] = [
      ['view', ['view'], read],
      ['edit', ['edit', 'admin'], [...read, ...write]],
    ];
    for (const [suffix, aggregateTo, verbs] of roles) {
      new k8s.KubeClusterRole(this, `Aggregate-${suffix}`, {
        metadata: {
          name: `mall-backup-${suffix}`,
          labels: {
            ...standardLabels('rbac'),
            ...Object.fromEntries(aggregateTo.map((r) => [`rbac.authorization.k8s.io/aggregate-to-${r}`, 'true'])),
          },
        },
        rules: [
          { apiGroups: [api.API_GROUP], resources: [api.BACKUP_PLURAL, rapi.RESTORE_PLURAL], verbs },
          {
            apiGroups: [api.API_GROUP],
            resources: [`${api.BACKUP_PLURAL}/status`, `${rapi.RESTORE_PLURAL}/status`],
            verbs: read,
          },
        ],
      });
    }
  }
}
