/**
 * The PrometheusRule and ServiceMonitor: valid against the Prometheus Operator's CRD schemas, every alert
 * querying only series (and labels, and label values) the operator exports, and the alerts firing for the
 * right Backups when Prometheus' own rule engine (promtool) evaluates them over the operator's real series.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { stringify } from 'yaml';
import { buildApp } from '../lib/delivery/app';
import { parseConfigText } from '../lib/delivery/app-config';
import { BACKUP_PHASES } from '../lib/permits/backup-api';
import { RUN_OUTCOMES } from '../lib/contractor/metric-names';
import { BACKUP_ALERTS, BackupMonitoring } from '../lib/contractor/monitoring';
import { OperatorMetrics } from '../operator/controller/metrics';
import type { BackupStatus } from '../operator/controller/types';
import type { K8sObject } from '../testing/k8s-rules';
import { runPromtool } from '../testing/promtool';
import { promqlProblems } from '../testing/promql';

const render = (yaml: string): (K8sObject & { file: string; spec?: any })[] =>
  buildApp(Testing.app(), parseConfigText(yaml, 'inline')).flatMap(({ path: file, chart }) =>
    (chart.toJson() as K8sObject[]).map((o) => ({ file, ...o })),
  );
const objects = render('monitoring: { enabled: true }');
const rule = objects.find((o) => o.kind === 'PrometheusRule')!;
const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;

describe('rendering', () => {
  test("off by default; on, both objects go to 02-monitoring.yaml in the operator's namespace", () => {
    expect(render('').filter((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
    expect([rule.file, monitor.file]).toEqual(['02-monitoring.yaml', '02-monitoring.yaml']);
    expect([rule.metadata.namespace, monitor.metadata.namespace]).toEqual(['mall-backup-system', 'mall-backup-system']);
  });

  test(
    "valid against the Prometheus Operator's PrometheusRule " + 'and ServiceMonitor schemas, which do reject a bad one',
    () => {
      expect(() => new PrometheusRule(rule as never).validate()).not.toThrow();
      expect(() => new ServiceMonitor(monitor as never).validate()).not.toThrow();
      const badRule = structuredClone(rule);
      badRule.spec.groups[0].rules[0].for = 'soon';
      expect(() => new PrometheusRule(badRule as never).validate()).toThrow(/for must match pattern/);
      const badMonitor = structuredClone(monitor);
      badMonitor.spec.endpoints[0].scheme = 'gopher';
      expect(() => new ServiceMonitor(badMonitor as never).validate()).toThrow(/scheme/);
    },
  );

  test("the ServiceMonitor selects exactly the operator's metrics Service, by its port name", () => {
    const services = objects.filter((o) => o.kind === 'Service');
    const selected = services.filter(
      (s) =>
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v) &&
        monitor.spec.namespaceSelector.matchNames.includes(s.metadata.namespace),
    );
    expect(selected.map((s) => s.metadata.name)).toEqual(['mall-backup-operator-metrics']);
    expect(selected[0].spec.ports.map((p: any) => p.name)).toContain(monitor.spec.endpoints[0].port);
  });

  test("the scrape keeps the series' own namespace label, the Backup's (not the operator's namespace)", () => {
    // Without honorLabels Prometheus renames it exported_namespace and sets the operator's namespace: every alert
    // would name mall-backup-system, and MallBackupFailed would merge same-named Backups of different namespaces.
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', honorLabels: true })]);
  });

  test("under Argo CD, a dry run does not fail for want of the Prometheus Operator's CRDs", () => {
    expect(rule.metadata.annotations).toMatchObject({
      'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true',
    });
  });

  test('bad input names the prop, the value and what is allowed; a bad config names the field', () => {
    expect(
      () =>
        new BackupMonitoring(Testing.chart(), 'm', { namespace: 'x', serviceSelector: {}, scrapeInterval: 'often' }),
    ).toThrow(
      'BackupMonitoring: invalid props:\n  - scrapeInterval "often" is not valid: use a Prometheus duration ' +
        'such as "30s" or "1m"\n  - serviceSelector is empty: name the labels of the operator\'s metrics Service',
    );
    expect(() => parseConfigText('monitoring: { enabled: "yes" }', 'bad.yaml')).toThrow(
      'config.monitoring.enabled "yes" is not valid: must be of type boolean, not string',
    );
  });
});

describe('every alert queries what the operator exports', () => {
  const registry = new OperatorMetrics().registry;
  const exported = new Map(registry.getMetricsAsArray().map((m: any) => [m.name as string, m.labelNames as string[]]));
  const values = { phase: BACKUP_PHASES as readonly string[], outcome: RUN_OUTCOMES as readonly string[] };

  test.each(BACKUP_ALERTS.map((a) => [a.alert, a.expr]))('%s: %s', (_, expr) => {
    expect(promqlProblems(expr, exported, values)).toEqual([]);
  });

  test('the check itself catches an unknown series, label or value, and a syntax error', () => {
    expect(promqlProblems('mall_backup_freshness == 0', exported, values)).toEqual([
      'mall_backup_freshness is not a series the operator exports',
    ]);
    expect(promqlProblems('mall_backup_fresh{shop="x"} == 0', exported, values)).toEqual([
      'mall_backup_fresh has no label shop (it has namespace, name)',
    ]);
    expect(promqlProblems('mall_backup_phase{phase="Broken"}', exported, values)).toEqual([
      `mall_backup_phase{phase="Broken"}: phase is never "Broken" (it is one of ${BACKUP_PHASES.join(', ')})`,
    ]);
    expect(promqlProblems('max by (name (mall_backup_fresh)', exported, values)[0]).toMatch(/^syntax error at \d+/);
  });
});

describe("promtool: Prometheus' own rule engine", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-rules-'));
    fs.writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('promtool check rules accepts the rule groups', () => {
    const result = runPromtool(['check', 'rules', 'rules.yaml'], dir);
    expect(result).toMatchObject({
      status: 0,
      output: expect.stringContaining(`SUCCESS: ${BACKUP_ALERTS.length} rules found`),
    });
  });

  /** The operator's own series after recording these statuses, as promtool input: constant for 30 minutes. */
  function seriesOf(statuses: Record<string, BackupStatus>, leader: number): { series: string; values: string }[] {
    const metrics = new OperatorMetrics();
    for (const [name, status] of Object.entries(statuses)) metrics.recordStatus('shops', name, status);
    metrics.leader.set(leader);
    const json = (metrics.registry as any)
      .getMetricsAsArray()
      .filter((m: any) => m.name.startsWith('mall_backup_') && m.type === 'gauge')
      .flatMap((m: any) =>
        m.hashMap ? Object.values(m.hashMap).map((v: any) => ({ name: m.name, labels: v.labels, value: v.value })) : [],
      );
    return json.map((s: any) => ({
      series: `${s.name}{${Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`,
      values: `${s.value}x30`,
    }));
  }

  const condition = (type: string, status: 'True' | 'False', reason: string) => ({
    type,
    status,
    reason,
    message: '',
    lastTransitionTime: '2026-11-25T10:00:00Z',
  });
  const ok = [
    condition('Fresh', 'True', 'WithinObjective'),
    condition('LastBackupSucceeded', 'True', 'BackupSucceeded'),
    condition('Verified', 'True', 'Verified'),
  ];
  const but = (type: string, status: 'True' | 'False', reason: string) => [
    ...ok.filter((c) => c.type !== type),
    condition(type, status, reason),
  ];
  const statuses: Record<string, BackupStatus> = {
    healthy: { phase: 'Completed', conditions: ok },
    stale: { phase: 'Completed', conditions: but('Fresh', 'False', 'Stale') },
    failing: { phase: 'Failed', conditions: but('LastBackupSucceeded', 'False', 'BackoffLimitExceeded') },
    invalid: { phase: 'Failed', conditions: ok.filter((c) => c.type === 'Fresh') },
    partial: { phase: 'Completed', conditions: but('LastBackupSucceeded', 'True', 'SomeFilesUnreadable') },
    corrupt: { phase: 'Completed', conditions: but('Verified', 'False', 'CheckFailed') },
    unmaintained: { phase: 'Completed', conditions: but('VaultMaintained', 'False', 'VaultLocked') },
  };
  const alertFor = (alertname: string, name?: string, labels: Record<string, string> = {}) => {
    const a = BACKUP_ALERTS.find((x) => x.alert === alertname)!;
    const expand = (text: string) =>
      text.replaceAll('{{ $labels.namespace }}', 'shops').replaceAll('{{ $labels.name }}', name ?? '');
    return {
      exp_labels: { severity: a.severity, ...(name ? { namespace: 'shops', name } : {}), ...labels },
      exp_annotations: { summary: a.summary, description: expand(a.description) },
    };
  };

  test('promtool test rules: each alert fires for exactly the Backups it is about, after its `for`', () => {
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: seriesOf(statuses, 1),
          alert_rule_test: [
            { eval_time: '1m', alertname: 'MallBackupStale', exp_alerts: [alertFor('MallBackupStale', 'stale')] },
            {
              eval_time: '1m',
              alertname: 'MallBackupVaultNotMaintained',
              exp_alerts: [alertFor('MallBackupVaultNotMaintained', 'unmaintained')],
            },
            {
              eval_time: '1m',
              alertname: 'MallBackupUnverified',
              exp_alerts: [alertFor('MallBackupUnverified', 'corrupt')],
            },
            // Not yet: 5 minutes must pass.
            { eval_time: '3m', alertname: 'MallBackupFailed', exp_alerts: [] },
            {
              eval_time: '10m',
              alertname: 'MallBackupFailed',
              exp_alerts: [alertFor('MallBackupFailed', 'failing'), alertFor('MallBackupFailed', 'invalid')],
            },
            {
              eval_time: '10m',
              alertname: 'MallBackupPartiallyFailed',
              exp_alerts: [alertFor('MallBackupPartiallyFailed', 'partial')],
            },
            { eval_time: '20m', alertname: 'MallBackupOperatorNotLeading', exp_alerts: [] },
          ],
        },
        {
          interval: '1m',
          input_series: seriesOf({ healthy: statuses.healthy }, 0),
          alert_rule_test: [
            { eval_time: '5m', alertname: 'MallBackupOperatorNotLeading', exp_alerts: [] },
            {
              eval_time: '15m',
              alertname: 'MallBackupOperatorNotLeading',
              exp_alerts: [alertFor('MallBackupOperatorNotLeading')],
            },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'tests.yaml'), stringify(tests));
    const result = runPromtool(['test', 'rules', 'tests.yaml'], dir);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  test(
    "as scraped (the target's labels added): same-named Backups of two namespaces stay apart, and an alert is one " +
      "Backup's whichever operator pod exported it",
    () => {
      // What Prometheus stores from the ServiceMonitor: the operator's series plus the target's labels; the leader
      // changed from pod op-a to op-b at minute 10 (op-a dropped its series when it stopped leading).
      const target = (pod: string) =>
        `job="mall-backup-operator-metrics",instance="10.0.0.${pod === 'op-a' ? 1 : 2}:8080",pod="${pod}",` +
        `service="mall-backup-operator-metrics",endpoint="metrics",container="operator"`;
      const backup = (namespace: string) => `namespace="${namespace}",name="bakery"`;
      const input_series = [
        { series: `mall_backup_fresh{${backup('ns-a')},${target('op-a')}}`, values: '0x9' },
        { series: `mall_backup_fresh{${backup('ns-a')},${target('op-b')}}`, values: '_x10 0x20' },
        { series: `mall_backup_fresh{${backup('ns-b')},${target('op-a')}}`, values: '1x9' },
        { series: `mall_backup_fresh{${backup('ns-b')},${target('op-b')}}`, values: '_x10 1x20' },
        {
          series: `mall_backup_last_run_outcome{${backup('ns-a')},outcome="PartiallyFailed",${target('op-a')}}`,
          values: '1x9',
        },
        {
          series: `mall_backup_last_run_outcome{${backup('ns-a')},outcome="PartiallyFailed",${target('op-b')}}`,
          values: '_x10 1x20',
        },
        { series: `mall_backup_verified{${backup('ns-a')},${target('op-a')}}`, values: '0x9' },
        { series: `mall_backup_verified{${backup('ns-a')},${target('op-b')}}`, values: '_x10 0x20' },
        { series: `mall_backup_phase{${backup('ns-b')},phase="Failed",${target('op-b')}}`, values: '_x10 1x20' },
      ];
      const only = (alertname: string, namespace: string) => ({
        exp_labels: { severity: BACKUP_ALERTS.find((a) => a.alert === alertname)!.severity, namespace, name: 'bakery' },
        exp_annotations: {
          summary: BACKUP_ALERTS.find((a) => a.alert === alertname)!.summary,
          description: BACKUP_ALERTS.find((a) => a.alert === alertname)!
            .description.replaceAll('{{ $labels.namespace }}', namespace)
            .replaceAll('{{ $labels.name }}', 'bakery'),
        },
      });
      const tests = {
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series,
            alert_rule_test: [
              ...[5, 12, 25].flatMap((minute) => [
                {
                  eval_time: `${minute}m`,
                  alertname: 'MallBackupStale',
                  exp_alerts: [only('MallBackupStale', 'ns-a')],
                },
                {
                  eval_time: `${minute}m`,
                  alertname: 'MallBackupUnverified',
                  exp_alerts: [only('MallBackupUnverified', 'ns-a')],
                },
              ]),
              {
                eval_time: '25m',
                alertname: 'MallBackupPartiallyFailed',
                exp_alerts: [only('MallBackupPartiallyFailed', 'ns-a')],
              },
              { eval_time: '25m', alertname: 'MallBackupFailed', exp_alerts: [only('MallBackupFailed', 'ns-b')] },
            ],
          },
        ],
      };
      fs.writeFileSync(path.join(dir, 'scraped.yaml'), stringify(tests));
      const result = runPromtool(['test', 'rules', 'scraped.yaml'], dir);
      expect(result.output).toContain('SUCCESS');
      expect(result.status).toBe(0);
    },
  );
});
