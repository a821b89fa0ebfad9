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

/** `spec.paths`: at most this many, each at most this long. */
export const RESTORE_PATHS_MAX = 64;
export const RESTORE_PATH_MAX_LENGTH = 1024;
/** A path inside the claim: `/` then segments, no empty segment (`//`) and no trailing `/`. */
export const RESTORE_PATH_PATTERN = '^(/[^/]+)+$';
export const RESTORE_PATH_FORMS =
  'use a path inside the claim starting with "/", its folders separated by single "/" and no "/" at the end ' +
  '(e.g. "/db" or "/uploads/2026/report.pdf")';
export const RESTORE_PATHS_CLAIMS_ADVICE =
  'each path is looked up in that claim; name the one claim whose files to restore';
export const RESTORE_PATHS_CLAIMS_MESSAGE = `paths needs exactly one claim in claims: ${RESTORE_PATHS_CLAIMS_ADVICE}`;
/**
 * What a path must not hold, each with why. restic reads an include as a pattern: glob characters and `\` would
 * match other names than the one written, so a path is taken literally by refusing them. `.` and `..` would
 * leave the claim or name a folder twice; control characters cannot be typed or shown safely (the run also
 * passes each path on one line of its own).
 */
export const RESTORE_PATH_FORBIDDEN = [
  {
    pattern: '[*?\\[\\]\\\\]',
    message: 'a path is taken literally: the glob characters * ? [ ] and \\ are not allowed',
  },
  { pattern: '(^|/)[.][.]?(/|$)', message: 'a path must not hold a "." or ".." folder' },
  {
    pattern: '[\\x00-\\x1f\\x7f]',
    message: 'a path must not hold control characters',
  },
] as const;
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
