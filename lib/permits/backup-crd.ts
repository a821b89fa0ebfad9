import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as api from './backup-api';
import { standardLabels } from '../common/labels';
import { BACKUP_PRINTER_COLUMNS, BACKUP_SCHEMA } from './backup-schema';
import { JsonSchema } from './schema-parts';

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

/** What makes one permit type: its names, its schema and its `kubectl get` columns. */
export interface PermitType {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly schema: JsonSchema;
  readonly printerColumns: readonly object[];
}

/** A namespaced CustomResourceDefinition of the API group, with a status subresource, for one permit type. */
export function permitCrd(scope: Construct, type: PermitType, props: BackupCrdProps): ApiObject {
  return new ApiObject(scope, 'Resource', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${type.plural}.${api.API_GROUP}`,
      labels: standardLabels('api', props.labels),
      annotations: props.annotations,
    },
    spec: {
      group: api.API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: type.kind,
        listKind: `${type.kind}List`,
        plural: type.plural,
        singular: type.singular,
        shortNames: type.shortNames,
        categories: type.categories,
      },
      versions: [
        {
          name: api.API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: type.printerColumns,
          schema: { openAPIV3Schema: type.schema },
        },
      ],
    },
  });
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
    this.apiObject = permitCrd(
      this,
      {
        kind: api.BACKUP_KIND,
        plural: api.BACKUP_PLURAL,
        singular: api.BACKUP_SINGULAR,
        shortNames: api.BACKUP_SHORT_NAMES,
        categories: api.BACKUP_CATEGORIES,
        schema: BACKUP_SCHEMA,
        printerColumns: BACKUP_PRINTER_COLUMNS,
      },
      props,
    );
  }
}
