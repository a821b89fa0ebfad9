import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BackupSpecConcurrencyPolicy } from '../imports/mall.example.com';
import { BackupCrd, BackupCrdProps } from './backup-crd';
import { BackupOperator, BackupOperatorProps } from './backup-operator';
import { standardLabels } from './labels';
import { RestoreCrd } from './restore-crd';
import { ShopBackup } from './shop-backup';

/** The permit types (Backup, Restore). Applied first: nothing else can name a permit before its type is established. */
export class BackupApiChart extends Chart {
  public readonly crd: BackupCrd;
  public readonly restoreCrd: RestoreCrd;
  constructor(scope: Construct, id: string, props: BackupCrdProps = {}) {
    super(scope, id);
    this.crd = new BackupCrd(this, 'backups', props);
    this.restoreCrd = new RestoreCrd(this, 'restores', props);
  }
}

/** The contractor: namespace, identity, rights and the operator Deployment. */
export class BackupOperatorChart extends Chart {
  public readonly operator: BackupOperator;
  constructor(scope: Construct, id: string, props: BackupOperatorProps = {}) {
    super(scope, id);
    this.operator = new BackupOperator(this, 'operator', props);
  }
}

export interface SampleBackupsChartProps {
  /**
   * Namespace of the sample shops, created with the samples.
   * @default 'mall-shops'
   */
  readonly namespace?: string;
}

/** Filed permits for three shops with different times, time zones and vault kinds. */
export class SampleBackupsChart extends Chart {
  public readonly backups: ShopBackup[];
  constructor(scope: Construct, id: string, props: SampleBackupsChartProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? 'mall-shops';
    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: { ...standardLabels('sample'), 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    });
    this.backups = [
      new ShopBackup(this, 'bakery', {
        namespace,
        shopName: 'bakery',
        backupTime: '02:30',
        timeZone: 'Europe/Rome',
        vaultLocation: 's3:https://s3.eu-south-1.amazonaws.com/mall-vault/bakery',
        vaultCredentialsSecret: 'bakery-vault',
        retention: { keepLast: 7, keepDaily: 14, keepWeekly: 8, keepMonthly: 12 },
      }),
      new ShopBackup(this, 'bookshop', {
        namespace,
        shopName: 'bookshop',
        backupTime: '15 3 * * 1-5',
        timeZone: 'America/New_York',
        vaultLocation: 'rest:https://vault.mall.internal:8000/bookshop',
        vaultCredentialsSecret: 'bookshop-vault',
        volumeClaims: ['bookshop-catalogue', 'bookshop-orders'],
        concurrencyPolicy: BackupSpecConcurrencyPolicy.REPLACE,
        activeDeadlineSeconds: 3600,
        securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      }),
      new ShopBackup(this, 'florist', {
        namespace,
        shopName: 'florist',
        backupTime: '@daily',
        vaultLocation: 'pvc://mall-vault/florist',
        vaultCredentialsSecret: 'florist-vault',
        startingDeadlineSeconds: 600,
        retention: { keepLast: 3 },
      }),
    ];
  }
}
