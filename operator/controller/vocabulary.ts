/**
 * The words the operator writes into the cluster, declared once: condition and Event reasons and its own
 * annotations (the condition types and the annotations a person sets belong to the Backup API, lib/permits).
 * Reconcile, the writer and the tests read them from here.
 */
import {
  API_GROUP,
  BACKUP_CONDITIONS,
  RUN_NOW_REQUEST_MAX_LENGTH,
  STATUS_MESSAGE_MAX_LENGTH,
} from '../../lib/permits/backup-api';

/** The Backup's condition types, declared with its API (lib/permits/backup-api.ts). */
export const CONDITION = BACKUP_CONDITIONS;
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
  /** The newest snapshot did not shrink drastically: ShrinkDetected is False. */
  NoShrink: 'NoShrink',
  SomeFilesUnreadable: 'SomeFilesUnreadable',
  /** A run's VolumeSnapshot reported an error or was not ready in time: the run ended without reading any file. */
  SnapshotFailed: 'SnapshotFailed',
  /** The API server refused a VolumeSnapshot or a temporary claim (create or delete). */
  SnapshotWorkRefused: 'SnapshotWorkRefused',
  /** The newest verification run checked the vault and restored a snapshot that matches it. */
  Verified: 'Verified',
  /** The newest verification Job failed or finished without a report of its own reason. */
  VerificationFailed: 'VerificationFailed',
  /** The test restore needs more scratch space than its pod may use (the script's room check, or an eviction). */
  ScratchTooSmall: 'ScratchTooSmall',
  /** No verification passed within two periods of verify.schedule: the runs stopped (suspended, refused, deleted). */
  VerificationStale: 'VerificationStale',
  /** The vault's check passed; this Backup's first test restore has not run yet. */
  AwaitingTestRestore: 'AwaitingTestRestore',
  /** This Backup's test restore passed; the vault's first check has not run yet. */
  AwaitingVaultCheck: 'AwaitingVaultCheck',
  /** The vault's maintenance Job failed without a result of its own (e.g. its pod never started). */
  MaintenanceFailed: 'MaintenanceFailed',
  /** Event: the vault's maintenance failed (the VaultMaintained condition gives the cause). */
  VaultMaintenanceFailed: 'VaultMaintenanceFailed',
} as const;
export type Reason = (typeof REASON)[keyof typeof REASON];

/** The reasons of a Restore's conditions and Events, from the pure restore reconcile and its writer. */
export const RESTORE_REASON = {
  InvalidSpec: 'InvalidSpec',
  /** The Backup names no claim and the shop has none labelled for it: nothing to restore. */
  NoClaims: 'NoClaims',
  /** A claim of target.newClaims exists already and is not this Restore's. */
  TargetExists: 'TargetExists',
  InvalidTarget: 'InvalidTarget',
  ClaimNotFound: 'ClaimNotFound',
  ClaimInUse: 'ClaimInUse',
  JobCreated: 'JobCreated',
  RestoreSucceeded: 'RestoreSucceeded',
  RestoreFailed: 'RestoreFailed',
  /** The Job's own reason when it ran past its activeDeadlineSeconds, passed on as is. */
  DeadlineExceeded: 'DeadlineExceeded',
  /** The API server refused a claim of target.newClaims (e.g. a quota's 403). */
  ClaimRefused: 'ClaimRefused',
  /** The API server refused the restore Job. */
  JobRefused: 'JobRefused',
  RestoreStarted: 'RestoreStarted',
  /** The restore Job was deleted before it finished: its outcome is unknown and it is never run again. */
  JobDeleted: 'JobDeleted',
  /** A pod started mounting a claim that is being restored in place (Warning Event). */
  ClaimInUseDuringRestore: 'ClaimInUseDuringRestore',
  /** A path of spec.paths is not in the chosen snapshot: nothing was written. */
  PathNotInSnapshot: 'PathNotInSnapshot',
} as const;

/** On the CronJob: a digest of what it was rendered from, so a field dropped from the spec is noticed. */
export const INPUTS_ANNOTATION = `${API_GROUP}/inputs`;

/** The status schema's limits (declared with the permit's API): a longer value fails the whole status write. */
export const STATUS_LIMITS = { message: STATUS_MESSAGE_MAX_LENGTH, runNowRequest: RUN_NOW_REQUEST_MAX_LENGTH } as const;
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
