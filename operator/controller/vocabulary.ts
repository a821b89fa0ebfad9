/**
 * The words the operator writes into the cluster, declared once: condition types, condition and Event
 * reasons, and its own annotations. Reconcile, the writer and the tests read them from here.
 */
import { API_GROUP } from '../../lib/permits/backup-api';

export const CONDITION = {
  /** The schedule is in place. */
  Ready: 'Ready',
  /** The outcome of the newest finished run. */
  LastBackupSucceeded: 'LastBackupSucceeded',
  /** True while a drastic shrink of the shop holds retention back, until a person acknowledges it. */
  ShrinkDetected: 'ShrinkDetected',
} as const;
export type ConditionType = (typeof CONDITION)[keyof typeof CONDITION];

export const REASON = {
  CronJobReady: 'CronJobReady',
  InvalidSpec: 'InvalidSpec',
  NoVolumes: 'NoVolumes',
  VolumeInUse: 'VolumeInUse',
  VolumesOnDifferentNodes: 'VolumesOnDifferentNodes',
  /** The API server refused the CronJob (e.g. 422 Invalid, 403 Forbidden). */
  CronJobRefused: 'CronJobRefused',
  /** The API server refused a run-now Job (e.g. a ResourceQuota's 403). */
  RunNowRefused: 'RunNowRefused',
  RunNowSkipped: 'RunNowSkipped',
  /** The API server refused to start or drop a Job held for daylight saving. */
  RunAdmissionRefused: 'RunAdmissionRefused',
  BackupStarted: 'BackupStarted',
  BackupSucceeded: 'BackupSucceeded',
  BackupFailed: 'BackupFailed',
  MissedSchedule: 'MissedSchedule',
  /** The vault's repository is being created by its init Job: runs wait. */
  VaultInitializing: 'VaultInitializing',
  /** The vault's init Job failed: nothing runs until it is fixed. */
  VaultInitFailed: 'VaultInitFailed',
  /** Another namespace's Backup holds this vault and the cluster does not allow sharing across namespaces. */
  VaultSharedAcrossNamespaces: 'VaultSharedAcrossNamespaces',
  /** The operator refused a write for the vault (its init Job or maintenance CronJob). */
  VaultWorkRefused: 'VaultWorkRefused',
  /** The newest snapshot shrank drastically: retention is held until a person acknowledges it. */
  ShrinkDetected: 'ShrinkDetected',
  SomeFilesUnreadable: 'SomeFilesUnreadable',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

/** Reasons the Restore writer adds to those of the pure restore reconcile. */
export const RESTORE_REASON = {
  /** The API server refused a claim of target.newClaims (e.g. a quota's 403). */
  ClaimRefused: 'ClaimRefused',
  /** The API server refused the restore Job. */
  JobRefused: 'JobRefused',
  RestoreStarted: 'RestoreStarted',
} as const;

/** On the CronJob: a digest of what it was rendered from, so a field dropped from the spec is noticed. */
export const INPUTS_ANNOTATION = `${API_GROUP}/inputs`;

/** On the Backup, set by a person: the snapshot ID accepted as the new reference after a drastic shrink. */
export const ACKNOWLEDGE_SHRINK_ANNOTATION = `${API_GROUP}/acknowledge-shrink`;

/**
 * The status schema's limits (lib/permits/backup-status-schema.ts): a longer value would make the whole status write
 * fail.
 */
export const STATUS_LIMITS = { message: 32768, runNowRequest: 1024 } as const;
/** Event messages longer than this are cut by the API server's validation. */
export const EVENT_MESSAGE_LIMIT = 1024;

/** The indexes of the operator's caches (watches.ts): each names what its values are. */
export const INDEX = {
  /** The shop a claim belongs to or a Backup backs up. */
  shop: 'shop',
  /** A claim a Backup names (or holds its vault) or a pod mounts. */
  claim: 'claim',
  /** A claim's own name. */
  name: 'name',
  /** The uid of the Backup or Restore a Job or pod belongs to. */
  uid: 'uid',
  /** A pod's Job. */
  job: 'job',
} as const;
