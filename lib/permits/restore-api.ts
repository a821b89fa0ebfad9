/**
 * Names and limits of the Restore API: a permit to bring a Backup's snapshots back into claims. Shared by
 * the CRD schema, synth-time validation, the restore Job and the operator.
 */
import { API_GROUP } from './backup-api';

export const RESTORE_KIND = 'Restore';
export const RESTORE_PLURAL = 'restores';
export const RESTORE_SINGULAR = 'restore';
export const RESTORE_SHORT_NAMES = ['rsts'];
export const RESTORE_CATEGORIES = ['mall'];
export const RESTORE_CRD_NAME = `${RESTORE_PLURAL}.${API_GROUP}`;

/** A restic snapshot ID or an unambiguous prefix of one (restic prints 8 characters). */
export const SNAPSHOT_ID_PATTERN = '^[0-9a-f]{8,64}$';
export const SNAPSHOT_ID_FORMS = 'a restic snapshot ID: 8 to 64 lower-case hexadecimal characters (e.g. "4f3c2a1b")';

export const RESTORE_PHASES = ['Pending', 'Running', 'Completed', 'Failed'] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];

/** Where a restore writes: new claims, one existing claim (a folder per restored claim), or the source claims. */
export const RESTORE_TARGET_KINDS = ['newClaims', 'existingClaim', 'inPlace'] as const;
export type RestoreTargetKind = (typeof RESTORE_TARGET_KINDS)[number];

export const RESTORE_CLAIMS_MAX = 32;
/**
 * A Restore's name labels its Job, pods and new claims (`mall.example.com/restore=<name>`): a label value's 63 at most.
 */
export const RESTORE_NAME_MAX_LENGTH = 63;
export const RESTORE_ACTIVE_DEADLINE_MAX = 7 * 86400;

/** Conditions of a Restore. */
export const RESTORE_CONDITIONS = {
  /** The source and target are in place and the restore Job can run. */
  ready: 'Ready',
  /** The outcome of the restore Job. */
  succeeded: 'Succeeded',
} as const;
