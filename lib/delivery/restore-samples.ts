import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { RestoreSpecTargetNewClaimsSize } from '../../imports/mall.example.com';
import { ShopRestore } from '../permits/shop-restore';
import { SAMPLES_NAMESPACE } from './charts';

export interface SampleRestoresChartProps {
  /** @default 'mall-shops' */
  readonly namespace?: string;
}

/**
 * Example Restore permits. Kept out of the samples applied with the Backups: applying a Restore starts a
 * restore, so these are applied one by one, on purpose.
 */
export class SampleRestoresChart extends Chart {
  public readonly restores: ShopRestore[];
  constructor(scope: Construct, id: string, props: SampleRestoresChartProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? SAMPLES_NAMESPACE;
    this.restores = [
      // The newest snapshot of each bakery claim, into new claims bakery-latest-<claim>.
      new ShopRestore(this, 'bakery-latest', {
        name: 'bakery-latest',
        namespace,
        backupName: 'bakery',
        target: { newClaims: { size: RestoreSpecTargetNewClaimsSize.fromString('20Gi') } },
      }),
      // The bakery's data as it was on the morning of 1 May, into folder bakery-data/ of a scratch claim.
      new ShopRestore(this, 'bakery-may-day', {
        name: 'bakery-may-day',
        namespace,
        backupName: 'bakery',
        claims: ['bakery-data'],
        pointInTime: new Date('2024-05-01T06:00:00Z'),
        target: { existingClaim: 'bakery-scratch' },
      }),
      // Only the recipes folder and one price list of the newest snapshot of bakery-data, back into the claim.
      new ShopRestore(this, 'bakery-recipes', {
        name: 'bakery-recipes',
        namespace,
        backupName: 'bakery',
        claims: ['bakery-data'],
        paths: ['/recipes', '/prices/2024.csv'],
        target: { inPlace: true },
      }),
    ];
  }
}
