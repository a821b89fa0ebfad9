import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Restore, RestoreSpec, toJson_RestoreSpec } from '../../imports/mall.example.com';
import * as api from './backup-api';
import { standardLabels } from '../common/labels';
import { PropErrors, show } from '../common/prop-errors';
import { validateRestoreSpec } from './restore-validation';

export interface ShopRestoreProps extends RestoreSpec {
  /** Name of the Restore object; also the prefix of the claims it creates under `target.newClaims`. */
  readonly name: string;

  /**
   * Namespace of the Restore: the Backup, its vault Secret and the claims live there.
   * @default - no namespace (the one `kubectl apply` targets)
   */
  readonly namespace?: string;
}

/**
 * Files a Restore Permit: a `Restore` built from the generated class, checked at synth time against the
 * same rules the API server applies. A Restore runs once, when applied; it cannot be changed afterwards.
 */
export class ShopRestore extends Construct {
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: ShopRestoreProps) {
    super(scope, id);
    const { name, namespace, ...spec } = props;
    const errors = new PropErrors(`ShopRestore ${this.node.path}`);
    // New claims are named <name>-<claim>, so the name is held to a DNS-1123 label.
    errors.check(
      new RegExp(api.DNS_LABEL_PATTERN).test(name) && name.length <= api.DNS_LABEL_MAX_LENGTH,
      `name ${show(name)} is not valid: use a DNS-1123 label (lower-case ` +
        `letters, digits and "-", at most ${api.DNS_LABEL_MAX_LENGTH} characters)`,
    );
    if (namespace !== undefined) {
      errors.check(
        new RegExp(api.DNS_LABEL_PATTERN).test(namespace) && namespace.length <= api.DNS_LABEL_MAX_LENGTH,
        `namespace ${show(namespace)} is not valid: use a DNS-1123 label`,
      );
    }
    errors.add(...validateRestoreSpec(toJson_RestoreSpec(spec)));
    errors.throwIfAny();

    // Restore.manifest turns pointInTime (a Date) into its wire form; the generated class would hand the Date to cdk8s.
    this.apiObject = new ApiObject(
      this,
      'Resource',
      Restore.manifest({
        metadata: { name, namespace, labels: standardLabels('restore-permit') },
        spec,
      }),
    );
  }
}
