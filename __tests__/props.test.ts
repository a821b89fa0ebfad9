import { Chart, Duration, Testing } from 'cdk8s';
import { BackupOperator } from '../lib/contractor/backup-operator';
import { BackupOperatorProps } from '../lib/contractor/operator-props';
import { ShopBackup, ShopBackupProps } from '../lib/permits/shop-backup';
import { gateProblems, K8sObject } from '../testing/k8s-rules';

const goodBackup: ShopBackupProps = {
  shopName: 'bakery',
  backupTime: '02:30',
  vaultLocation: 's3:https://s3.amazonaws.com/vault/bakery',
  vaultCredentialsSecret: 'bakery-vault',
};
const shopBackup = (props: Partial<ShopBackupProps>) => () =>
  new ShopBackup(Testing.chart(), 'shop', { ...goodBackup, ...props } as ShopBackupProps);
const operator = (props: BackupOperatorProps) => () => new BackupOperator(Testing.chart(), 'operator', props);

function synthOperator(props: BackupOperatorProps): K8sObject[] {
  const chart: Chart = Testing.chart();
  new BackupOperator(chart, 'operator', props);
  return chart.toJson() as K8sObject[];
}

describe('ShopBackup rejects bad props at synth time, naming the field, the value and what is allowed', () => {
  test.each<[string, Partial<ShopBackupProps>, string]>([
    [
      'backupTime "25:00"',
      { backupTime: '25:00' },
      'spec.backupTime "25:00" is not valid: use "HH:MM" (24-hour, e.g. "02:30"), a 5-field cron expression',
    ],
    [
      'a window with minute 60',
      { backupTime: '01:60-05:00' },
      'spec.backupTime "01:60-05:00" is not valid: use "HH:MM" (24-hour, e.g. ' +
        '"02:30"), a 5-field cron expression (e.g. "30 2 * * 1-5"), one of ' +
        '@hourly, @daily, @weekly, @monthly, @yearly, or a window "HH:MM-HH:MM"',
    ],
    [
      'an unknown time zone',
      { timeZone: 'Mars/Olympus_Mons' },
      'spec.timeZone "Mars/Olympus_Mons" is not a time zone ' +
        'Kubernetes knows: use a name from the IANA time zone database',
    ],
    [
      'a time zone in the wrong case',
      { timeZone: 'europe/rome' },
      'spec.timeZone "europe/rome" is not a time zone Kubernetes knows',
    ],
    [
      'a reversed day range',
      { backupTime: '0 2 * * FRI-MON' },
      'spec.backupTime "0 2 * * FRI-MON" is not valid: a cron range must run from low to high',
    ],
    [
      'a malformed time zone',
      { timeZone: 'GMT +1' },
      'spec.timeZone "GMT +1" is not valid: use an IANA time zone name',
    ],
    [
      'a vault without a known scheme',
      { vaultLocation: 'ftp://vault/x' },
      'spec.vaultLocation "ftp://vault/x" is not valid: use s3:https://<host>/<bucket>[/<path>], rest:https://',
    ],
    ['an upper-case shopName', { shopName: 'Bakery' }, 'spec.shopName "Bakery" is not valid: use a DNS-1123 label'],
    [
      'a negative retention',
      { retention: { keepDaily: -3 } },
      'spec.retention.keepDaily -3 is not valid: use an integer from 1 to 10000',
    ],
    [
      'keepLast 0',
      { retention: { keepLast: 0 } },
      'spec.retention.keepLast 0 is not valid: use an integer from 1 to 10000',
    ],
    [
      'a repeated volume claim',
      { volumeClaims: ['data', 'data'] },
      'spec.volumeClaims lists "data" twice: each item must be unique',
    ],
    [
      'the vault claim among the volumes',
      { volumeClaims: ['vault'], vaultLocation: 'pvc://vault/x' },
      'spec.volumeClaims lists "vault", the vault claim of vaultLocation ' +
        '"pvc://vault/x": a backup must not contain its own vault',
    ],
    [
      'a starting deadline under 10 s',
      { startingDeadlineSeconds: 3 },
      'spec.startingDeadlineSeconds 3 is not valid: use an integer from 10 to 86400',
    ],
    ['a bad Backup name', { name: 'Bakery_Nightly' }, 'name "Bakery_Nightly" is not valid: use a DNS-1123 subdomain'],
    ['a bad namespace', { namespace: 'Shops' }, 'namespace "Shops" is not valid: use a DNS-1123 label'],
  ])('%s', (_, props, message) => {
    expect(shopBackup(props)).toThrow(message);
  });

  test('every problem is reported at once, with the construct path', () => {
    let message = '';
    try {
      shopBackup({ shopName: 'B', backupTime: 'x' })();
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('ShopBackup test/shop: invalid props:');
    expect(
      lines
        .slice(1)
        .map((l) => l.replace(/ is not valid.*/, ''))
        .sort(),
    ).toEqual(['  - spec.backupTime "x"', '  - spec.shopName "B"']);
  });

  test('good props render a Backup labelled with its shop', () => {
    const chart = Testing.chart();
    new ShopBackup(chart, 'shop', { ...goodBackup, namespace: 'shops' });
    const [backup] = chart.toJson();
    expect(backup).toMatchObject({
      kind: 'Backup',
      metadata: { name: 'bakery', namespace: 'shops', labels: { 'mall.example.com/shop': 'bakery' } },
      spec: goodBackup,
    });
  });
});

describe('BackupOperator rejects bad props at synth time', () => {
  test.each<[string, BackupOperatorProps, string]>([
    [
      'an image tagged latest',
      { image: 'ghcr.io/mall-example/op:latest' },
      'image "ghcr.io/mall-example/op:latest" is not valid: pin a version tag or a digest, never "latest"',
    ],
    [
      'an image without a tag',
      { image: 'ghcr.io/mall-example/op' },
      'image "ghcr.io/mall-example/op" is not valid: use <repository>:<tag> or <repository>@sha256:<digest>',
    ],
    ['zero replicas', { replicas: 0 }, 'replicas 0 is not valid: use an integer from 1 to 10'],
    ['two replicas without leader election', { replicas: 2, leaderElection: false }, 'replicas 2 needs leaderElection'],
    [
      'an upper-case namespace',
      { namespace: 'Backup-System' },
      'namespace "Backup-System" is not valid: use a DNS-1123 label',
    ],
    [
      'a bad watched namespace',
      { watchNamespaces: ['shops', 'Bad'] },
      'watchNamespaces entry "Bad" is not valid: use a DNS-1123 label',
    ],
    [
      'a namespace watched twice',
      { watchNamespaces: ['shops', 'shops'] },
      'watchNamespaces ["shops","shops"] lists a namespace twice',
    ],
    [
      'an unknown log level',
      { logLevel: 'verbose' as never },
      'logLevel "verbose" is not valid: use one of fatal, error, warn, info, debug, trace',
    ],
    [
      'a privileged port',
      { metricsPort: 80 },
      'metricsPort 80 is not valid: use an unprivileged port from 1024 to 65535',
    ],
    [
      'one port for metrics and probes',
      { metricsPort: 9000, probePort: 9000 },
      'metricsPort and probePort are both 9000: use two different ports',
    ],
    [
      'a request above its limit',
      { resources: { requests: { cpu: '2', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
      'resources.requests.cpu "2" is above limits.cpu "500m"',
    ],
    [
      'a missing memory limit',
      { resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m' } } },
      'resources must set both requests.memory and limits.memory',
    ],
    [
      'a malformed quantity',
      { resources: { requests: { cpu: '50m', memory: '64 MB' }, limits: { cpu: '500m', memory: '256Mi' } } },
      'resources.requests.memory "64 MB" is not valid: use a positive Kubernetes quantity',
    ],
    [
      'a grace period under 5 s',
      { terminationGracePeriod: Duration.seconds(1) },
      'terminationGracePeriod 1s is not valid: use whole seconds from 5 to 600',
    ],
  ])('%s', (_, props, message) => {
    expect(operator(props)).toThrow(message);
  });
});

describe('BackupOperator props shape the output', () => {
  test('watched namespaces get RoleBindings instead of a ClusterRoleBinding', () => {
    const objects = synthOperator({ watchNamespaces: ['shops', 'kiosks'] });
    // Only listing storage and snapshot classes stays cluster-wide: they are not namespaced.
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.roleRef.name)).toEqual([
      'mall-backup-operator-storage-classes',
    ]);
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual(['kiosks', 'shops']);
    const args = objects.find((o) => o.kind === 'Deployment')!.spec.template.spec.containers[0].args;
    expect(args).toContain('--namespaces=shops,kiosks');
    expect(gateProblems(objects)).toEqual([]);
  });

  test('custom image, replicas, ports, resources and no namespace or NetworkPolicy', () => {
    const objects = synthOperator({
      image: `registry.local/op@sha256:${'a'.repeat(64)}`,
      replicas: 3,
      metricsPort: 9090,
      probePort: 9091,
      createNamespace: false,
      networkPolicy: false,
      logLevel: 'debug',
      resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } },
    });
    expect(objects.map((o) => o.kind)).not.toEqual(expect.arrayContaining(['Namespace']));
    expect(objects.map((o) => o.kind)).not.toEqual(expect.arrayContaining(['NetworkPolicy']));
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const container = deployment.spec.template.spec.containers[0];
    expect(deployment.spec.replicas).toBe(3);
    expect(container.image).toBe(`registry.local/op@sha256:${'a'.repeat(64)}`);
    expect(container.args).toEqual(
      expect.arrayContaining(['--metrics-port=9090', '--probe-port=9091', '--log-level=debug']),
    );
    expect(container.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } });
    // The V8 heap ceiling follows the memory limit: half of 2Gi.
    expect(container.env).toContainEqual({
      name: 'NODE_OPTIONS',
      value: '--max-old-space-size=1024 --max-semi-space-size=4',
    });
    expect(objects.find((o) => o.kind === 'Service')!.spec.ports[0].port).toBe(9090);
    expect(gateProblems(objects.filter((o) => o.kind !== 'Namespace'))).toEqual([]);
  });
});
