import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { COMPONENT_LABEL, NAME_LABEL, standardLabels } from '../common/labels';
import {
  RESTRICTED_CONTAINER_SECURITY_CONTEXT,
  restrictedPodSecurityContext,
  NONROOT_ID,
  RESTRICTED_NAMESPACE_LABELS,
} from '../common/pod-security';
import { toResourceRequirements } from '../common/resources';
import {
  BackupOperatorProps,
  OPERATOR_COMPONENT,
  OPERATOR_DEFAULTS,
  MALLOC_ARENA_MAX,
  nodeOptionsFor,
  resolveOperatorProps,
} from './operator-props';
import { aggregateUserRoles, grantLeaseRights, grantOperatorRights } from './operator-rbac';

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
    const resolved = resolveOperatorProps(this.node.path, props);
    const { namespace, image, replicas, leaderElection, watchNamespaces, logLevel, metricsPort, probePort } = resolved;
    const { resources, graceSeconds } = resolved;

    const name = OPERATOR_DEFAULTS.name;
    this.namespace = namespace;
    this.serviceAccountName = name;
    this.leaseName = OPERATOR_DEFAULTS.leaseName;
    const labels = standardLabels(OPERATOR_COMPONENT);
    const selector = {
      [NAME_LABEL]: labels[NAME_LABEL],
      [COMPONENT_LABEL]: OPERATOR_COMPONENT,
    };
    this.metricsServiceSelector = selector;

    if (props.createNamespace ?? true) {
      new k8s.KubeNamespace(this, 'Namespace', {
        metadata: {
          name: namespace,
          labels: { ...labels, ...RESTRICTED_NAMESPACE_LABELS },
        },
      });
    }

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name, namespace, labels },
      automountServiceAccountToken: true,
    });

    grantOperatorRights(this, name, namespace, labels, watchNamespaces);
    grantLeaseRights(this, this.leaseName, name, namespace, labels);
    aggregateUserRoles(this);

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
      ...(props.verifyScratchSize ? [`--verify-scratch-size=${props.verifyScratchSize}`] : []),
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
                  { name: 'NODE_OPTIONS', value: nodeOptionsFor(resources.limits!.memory!) },
                  { name: 'MALLOC_ARENA_MAX', value: MALLOC_ARENA_MAX },
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
}
