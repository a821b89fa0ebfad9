/**
 * "Are we protected?" for the Prometheus Operator: a PrometheusRule alerting on Backups that are stale,
 * failed, partially failed or unverified (and on no operator leading, without which none of those series
 * change), and a ServiceMonitor scraping the operator's /metrics. Every alert queries only series the
 * operator exports (lib/contractor/metric-names.ts); the tests parse each expression to hold that.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { standardLabels } from '../common/labels';
import { METRIC } from './metric-names';
import { PropErrors, show } from '../common/prop-errors';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

export interface BackupAlert {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition holds before the alert fires (Prometheus duration). */
  readonly for: string;
  readonly severity: 'critical' | 'warning';
  readonly summary: string;
  readonly description: string;
}

const which = '{{ $labels.namespace }}/{{ $labels.name }}';
const look = 'kubectl -n {{ $labels.namespace }} describe backup {{ $labels.name }}';

/** The alerts, in the order a person reading them should care. */
export const BACKUP_ALERTS: readonly BackupAlert[] = [
  {
    alert: 'MallBackupStale',
    // By Backup: the series also carry the scraped pod's labels, which change with the leader and each rollout.
    expr: `max by (namespace, name) (${METRIC.fresh}) == 0`,
    for: '0m',
    severity: 'critical',
    summary: 'A Backup has no good snapshot within its freshness objective.',
    description:
      `Backup ${which} is Stale: its newest good snapshot is older than spec.freshness (runs ` +
      `failing, suspended or not starting). \`${look}\` shows the Fresh condition and why.`,
  },
  {
    alert: 'MallBackupFailed',
    // The newest run failed, or the Backup cannot run at all (invalid spec, CronJob refused): phase Failed.
    expr:
      `max by (namespace, name) (${METRIC.lastRunOutcome}{outcome="Failed"} ` +
      `or ${METRIC.phase}{phase="Failed"}) == 1`,
    for: '5m',
    severity: 'warning',
    summary: "A Backup's newest run failed, or the Backup cannot run.",
    description: [
      `Backup ${which} failed.`,
      `\`${look}\` shows the reason (LastBackupSucceeded, Ready and status.message).`,
    ].join(' '),
  },
  {
    alert: 'MallBackupPartiallyFailed',
    expr: `max by (namespace, name) (${METRIC.lastRunOutcome}{outcome="PartiallyFailed"}) == 1`,
    for: '5m',
    severity: 'warning',
    summary: "A Backup's newest snapshot is missing files it could not read.",
    description: `Backup ${which} saved a snapshot without some files. \`${look}\` names them.`,
  },
  {
    alert: 'MallBackupUnverified',
    expr: `max by (namespace, name) (${METRIC.verified}) == 0`,
    for: '0m',
    severity: 'critical',
    summary: "A Backup's vault failed verification, or no verification passed lately: it may not restore.",
    description:
      `The vault of Backup ${which} failed its latest check or test restore, or none has passed for two periods ` +
      `of its verify.schedule; it does not count as protected. \`${look}\` shows the Verified condition.`,
  },
  {
    alert: 'MallBackupVaultNotMaintained',
    // Maintenance runs weekly per vault: one failure leaves the vault unpruned and unchecked for a week.
    expr: `${METRIC.vaultMaintained} == 0`,
    for: '0m',
    severity: 'warning',
    summary: "The newest maintenance (prune + check) of a Backup's vault failed.",
    description:
      `The vault of Backup ${which} was not pruned or checked: it grows, and damage would go unnoticed. ` +
      `\`${look}\` shows the VaultMaintained condition, its cause and how to run it again.`,
  },
  {
    alert: 'MallBackupOperatorNotLeading',
    // No series at all (operator gone or not scraped) counts too: then no other alert here can fire.
    expr: `absent(${METRIC.leader} == 1)`,
    for: '10m',
    severity: 'critical',
    summary: 'No mall-backup operator is leading: Backups and Restores are not looked after.',
    description:
      'No operator process holds the leader Lease, or none is scraped; ' +
      'Backup states and the alerts above are not kept up to date.',
  },
];

export interface BackupMonitoringProps {
  /** Namespace of the operator and of its metrics Service; the rule and monitor go there too. */
  readonly namespace: string;
  /** Labels selecting the operator's metrics Service (its port is named `metrics`). */
  readonly serviceSelector: Record<string, string>;
  /**
   * Extra labels on both objects, for a Prometheus that selects rules and monitors by label (e.g.
   * `release: kube-prometheus-stack`).
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /**
   * How often to scrape (Prometheus duration).
   * @default '30s'
   */
  readonly scrapeInterval?: string;
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** A PrometheusRule and a ServiceMonitor for the operator. Needs the Prometheus Operator's CRDs in the cluster. */
export class BackupMonitoring extends Construct {
  public readonly rule: ApiObject;
  public readonly serviceMonitor: ApiObject;

  constructor(scope: Construct, id: string, props: BackupMonitoringProps) {
    super(scope, id);
    const interval = props.scrapeInterval ?? '30s';
    const errors = new PropErrors('BackupMonitoring');
    errors.check(
      DURATION.test(interval),
      `scrapeInterval ${show(interval)} is not valid: use a Prometheus duration such as "30s" or "1m"`,
    );
    errors.check(
      Object.keys(props.serviceSelector).length > 0,
      "serviceSelector is empty: name the labels of the operator's metrics Service",
    );
    errors.throwIfAny();
    const labels = { ...standardLabels('monitoring'), ...props.labels };
    this.rule = new ApiObject(this, 'PrometheusRule', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'PrometheusRule',
      metadata: { name: 'mall-backup', namespace: props.namespace, labels },
      spec: {
        groups: [
          {
            name: 'mall-backup',
            rules: BACKUP_ALERTS.map((a) => ({
              alert: a.alert,
              expr: a.expr,
              for: a.for,
              labels: { severity: a.severity },
              annotations: { summary: a.summary, description: a.description },
            })),
          },
        ],
      },
    });
    this.serviceMonitor = new ApiObject(this, 'ServiceMonitor', {
      apiVersion: MONITORING_API_VERSION,
      kind: 'ServiceMonitor',
      metadata: { name: 'mall-backup-operator', namespace: props.namespace, labels },
      spec: {
        selector: { matchLabels: props.serviceSelector },
        namespaceSelector: { matchNames: [props.namespace] },
        // The series' own namespace label is the Backup's: without honorLabels Prometheus would rename it
        // exported_namespace and put the operator's namespace in its place.
        endpoints: [{ port: 'metrics', path: '/metrics', scheme: 'http', interval, honorLabels: true }],
      },
    });
  }
}
