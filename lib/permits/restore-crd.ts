import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { BackupCrdProps, permitCrd } from './backup-crd';
import * as rapi from './restore-api';
import { RESTORE_PRINTER_COLUMNS, RESTORE_SCHEMA } from './restore-schema';

/**
 * Registers the Restore permit type (`restores.mall.example.com`), read from `RESTORE_SCHEMA` like the
 * Backup's CRD is from its schema.
 */
export class RestoreCrd extends Construct {
  /** The CustomResourceDefinition's name. */
  public static readonly NAME = rapi.RESTORE_CRD_NAME;

  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: BackupCrdProps = {}) {
    super(scope, id);
    this.apiObject = permitCrd(
      this,
      {
        kind: rapi.RESTORE_KIND,
        plural: rapi.RESTORE_PLURAL,
        singular: rapi.RESTORE_SINGULAR,
        shortNames: rapi.RESTORE_SHORT_NAMES,
        categories: rapi.RESTORE_CATEGORIES,
        schema: RESTORE_SCHEMA,
        printerColumns: RESTORE_PRINTER_COLUMNS,
      },
      props,
    );
  }
}
