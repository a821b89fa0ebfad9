/**
 * mall-backup as a construct library: what another cdk8s app needs to register the Backup API, deploy
 * the operator and file permits. Everything else under lib/ serves this repository's own app.
 */
export { BackupCrd, BackupCrdProps } from './permits/backup-crd';
export { BackupOperator } from './contractor/backup-operator';
export {
  BackupOperatorProps,
  DEFAULT_OPERATOR_IMAGE,
  OPERATOR_IMAGE_REPOSITORY,
  LogLevel,
  LOG_LEVELS,
} from './contractor/operator-props';
export { ShopBackup, ShopBackupProps } from './permits/shop-backup';
export { BackupCronJob, BackupRunNowJob, RunNowJobProps } from './run/backup-job';
export { BackupPodProps, VaultRunSettings, RESTIC_IMAGE } from './run/backup-job-spec';
export { BackupRef } from './run/backup-names';
export type { SnapshotSource } from './run/snapshot-source';
export { BackupApiChart, BackupOperatorChart, SampleBackupsChart, SampleBackupsChartProps } from './delivery/charts';
export { ResourceSpec, ResourceAmounts } from './common/resources';
export {
  API_GROUP,
  API_VERSION,
  BACKUP_API_VERSION,
  BACKUP_KIND,
  BACKUP_CRD_NAME,
  SHOP_LABEL,
  RUN_NOW_ANNOTATION,
} from './permits/backup-api';
export { RestoreCrd } from './permits/restore-crd';
export { ShopRestore, ShopRestoreProps } from './permits/shop-restore';
export { RestoreJob, RestorePodProps, RestoreClaimPlan, RestoreRef } from './run/restore-job';
export { RESTORE_KIND, RESTORE_CRD_NAME } from './permits/restore-api';
export { BackupMonitoring, BackupMonitoringProps, BackupAlert, BACKUP_ALERTS } from './contractor/monitoring';
export { METRIC, RUN_OUTCOMES } from './contractor/metric-names';
export * from '../imports/mall.example.com';
/** The Backup and Restore spec and status as raw JSON (what the API server stores and a client reads). */
export type * as json from './permits/api-types';
