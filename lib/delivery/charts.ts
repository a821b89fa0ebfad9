import { Chart } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import { BackupCrd, BackupCrdProps } from '../permits/backup-crd';
import { BackupOperator } from '../contractor/backup-operator';
import { BackupOperatorProps } from '../contractor/operator-props';
import { standardLabels } from '../common/labels';
import { RestoreCrd } from '../permits/restore-crd';
import { ShopBackup } from '../permits/shop-backup';

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

/** Where the sample shops live unless the configuration says otherwise; the one place this default is written. */
export const SAMPLES_NAMESPACE = 'mall-shops';

export interface SampleBackupsChartProps {
  /**
   * Namespace of the sample shops, created with the samples.
   * @default 'mall-shops'
   */
  readonly namespace?: string;
}

/**
 * The demo permit the README's quickstart files: the bakery's claims (labelled mall.example.com/shop=bakery)
 * backed up every night into the `mall-vault` claim. The quickstart creates both claims and the Secret; the
 * samples name nothing else, so applying them on an empty cluster can reach Completed.
 */
export class SampleBackupsChart extends Chart {
  public readonly backups: ShopBackup[];
  constructor(scope: Construct, id: string, props: SampleBackupsChartProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? SAMPLES_NAMESPACE;
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
        vaultLocation: 'pvc://mall-vault/bakery',
        vaultCredentialsSecret: 'bakery-vault',
        retention: { keepLast: 7, keepDaily: 14, keepWeekly: 8, keepMonthly: 12 },
        // Sundays at 04:30 in Rome: a test restore of the newest snapshot, and a check reading 5 % of the vault.
        verify: { schedule: '30 4 * * 0', readDataSubset: '5%' },
      }),
    ];
  }
}
