import { Construct } from 'constructs';
import { Backup, BackupSpec, toJson_BackupSpec } from '../../imports/mall.example.com';
import * as api from './backup-api';
import { validateBackupName, validateBackupSpec } from './backup-validation';
import { PropErrors, show } from '../common/prop-errors';
import { standardLabels } from '../common/labels';

export interface ShopBackupProps extends BackupSpec {
  /**
   * Name of the Backup object.
   * @default - the shop name
   */
  readonly name?: string;

  /**
   * Namespace of the Backup: the shop's volumes and the vault Secret live there.
   * @default - no namespace (the one `kubectl apply` targets)
   */
  readonly namespace?: string;
}

const DNS_SUBDOMAIN = new RegExp(api.DNS_SUBDOMAIN_PATTERN);

/**
 * Files a Nightly Backup Permit for one shop: a `Backup` built from the generated class, checked at
 * synth time against the same rules the API server applies, so a bad permit fails `cdk8s synth`
 * instead of `kubectl apply`.
 */
export class ShopBackup extends Construct {
  public readonly backup: Backup;

  constructor(scope: Construct, id: string, props: ShopBackupProps) {
    super(scope, id);
    const { name = props.shopName, namespace, ...spec } = props;
    const errors = new PropErrors(`ShopBackup ${this.node.path}`);
    if (props.name !== undefined) {
      errors.check(
        DNS_SUBDOMAIN.test(name) && name.length <= api.DNS_SUBDOMAIN_MAX_LENGTH,
        `name ${show(name)} is not valid: use a DNS-1123 subdomain`,
      );
    }
    if (namespace !== undefined) {
      errors.check(
        new RegExp(api.DNS_LABEL_PATTERN).test(namespace) && namespace.length <= api.DNS_LABEL_MAX_LENGTH,
        `namespace ${show(namespace)} is not valid: use a DNS-1123 label`,
      );
    }
    errors.add(...validateBackupName(name), ...validateBackupSpec(toJson_BackupSpec(spec)));
    errors.throwIfAny();

    this.backup = new Backup(this, 'Resource', {
      metadata: { name, namespace, labels: standardLabels('backup-permit', { [api.SHOP_LABEL]: spec.shopName }) },
      spec,
    });
  }
}
