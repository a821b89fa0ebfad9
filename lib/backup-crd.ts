import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as api from './backup-api';
import { standardLabels } from './labels';
import { BACKUP_PRINTER_COLUMNS, BACKUP_SCHEMA } from './backup-schema';

export interface BackupCrdProps {
  /**
   * Extra labels for the CustomResourceDefinition.
   * @default - the standard app.kubernetes.io labels only
   */
  readonly labels?: Record<string, string>;

  /**
   * Extra annotations for the CustomResourceDefinition, e.g. a GitOps sync wave.
   * @default - none
   */
  readonly annotations?: Record<string, string>;
}

/**
 * Registers the Backup permit type (`backups.mall.example.com`) with the API server. The schema and
 * its CEL rules come from `BACKUP_SCHEMA`, so what the API server enforces is what the constructs and
 * the operator check.
 */
export class BackupCrd extends Construct {
  /** The CustomResourceDefinition's name. */
  public static readonly NAME = api.BACKUP_CRD_NAME;

  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: BackupCrdProps = {}) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: api.BACKUP_CRD_NAME,
        labels: standardLabels('api', props.labels),
        annotations: props.annotations,
      },
      spec: {
        group: api.API_GROUP,
        scope: 'Namespaced',
        names: {
          kind: api.BACKUP_KIND,
          listKind: `${api.BACKUP_KIND}List`,
          plural: api.BACKUP_PLURAL,
          singular: api.BACKUP_SINGULAR,
          shortNames: api.BACKUP_SHORT_NAMES,
          categories: api.BACKUP_CATEGORIES,
        },
        versions: [{
          name: api.API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: BACKUP_PRINTER_COLUMNS,
          schema: { openAPIV3Schema: BACKUP_SCHEMA },
        }],
      },
    });
  }
}
