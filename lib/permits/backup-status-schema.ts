/** The Backup's status schema: what the operator observed, written by the operator only. */
import * as api from './backup-api';
import { conditionsSchema, JsonSchema, observedGeneration, timestamp } from './schema-parts';

const C = api.BACKUP_CONDITIONS;

const count = (description: string): JsonSchema => ({ type: 'integer', format: 'int64', minimum: 0, description });

const lastRun: JsonSchema = {
  type: 'object',
  description: "The newest finished run that reported its result: outcome, cause and restic's numbers.",
  required: ['job', 'outcome', 'reason'],
  properties: {
    job: { type: 'string', maxLength: 63, description: 'The Job of the run.' },
    outcome: {
      type: 'string',
      enum: ['Completed', 'PartiallyFailed', 'Failed'],
      description: 'Completed, PartiallyFailed (snapshot saved without some unreadable files) or Failed.',
    },
    reason: {
      type: 'string',
      maxLength: 64,
      description:
        "The run's cause, CamelCase (e.g. BackupSucceeded, SomeFilesUnreadable, WrongPassword, VaultLocked).",
    },
    snapshotID: { type: 'string', maxLength: 64, description: 'restic ID of the snapshot the run saved.' },
    filesNew: count('Files new in this snapshot.'),
    filesChanged: count('Files changed since the previous snapshot.'),
    bytesAdded: count('Bytes the run added to the vault.'),
    durationSeconds: count('How long restic backup took, in seconds.'),
    snapshotFiles: count('Files in the snapshot.'),
    snapshotBytes: count('Bytes in the snapshot.'),
    unreadableFiles: count('Files that could not be read (PartiallyFailed).'),
    retention: {
      type: 'string',
      enum: ['applied', 'skipped', 'skipped-shrunk', 'deferred', 'failed'],
      description:
        'What became of retention: applied, skipped, skipped-shrunk (the ' +
        'shrink guard), deferred (the vault stayed locked) or failed.',
    },
  },
};

export const BACKUP_STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'What the operator observed. Written by the operator only.',
  properties: {
    phase: {
      type: 'string',
      enum: api.BACKUP_PHASES,
      description: `Summary of the conditions: ${api.BACKUP_PHASES.join(', ')}.`,
    },
    conditions: conditionsSchema(
      'Backup',
      `${[C.Ready, C.LastBackupSucceeded, C.Fresh, C.ShrinkDetected, C.Verified].join(', ')} or ${C.VaultMaintained}.`,
      `${C.Ready} (the schedule is in place), ${C.LastBackupSucceeded} (the outcome of the newest finished run), ` +
        `${C.Fresh} (the newest good snapshot is within the freshness objective), ` +
        `${C.ShrinkDetected} (retention is held back after a drastic ` +
        `shrink until the ${api.ACKNOWLEDGE_SHRINK_ANNOTATION} annotation names the new snapshot), ` +
        `${C.VaultMaintained} (the vault's newest finished maintenance, prune and check, and why it failed) and, ` +
        `with spec.verify, ${C.Verified} (the latest vault check and test restore passed).`,
    ),
    observedGeneration: observedGeneration('The metadata.generation the status describes.'),
    lastScheduleTime: timestamp('When the newest run was started.'),
    lastSuccessfulTime: timestamp('When the newest successful run finished.'),
    lastFailureTime: timestamp('When the newest failed run finished.'),
    nextScheduleTime: timestamp('When the next run is due, computed in timeZone.'),
    queuePosition: {
      type: 'integer',
      format: 'int32',
      minimum: 1,
      description:
        "While Queued: the place of this Backup's run among the runs waiting for a free " +
        "slot under the operator's run cap (1 starts next), as of its last reconcile.",
    },
    effectiveSchedule: {
      type: 'string',
      maxLength: 128,
      description: 'The cron schedule the CronJob runs in timeZone: backupTime with a window resolved to its minute.',
    },
    lastSnapshotID: {
      type: 'string',
      maxLength: 64,
      description: "restic's full ID (64 hex digits) of the newest snapshot written by this Backup, when known.",
    },
    lastRun,
    lastVerifiedTime: timestamp('When the newest passing verification (vault check and test restore) finished.'),
    lastVerifiedSnapshotID: {
      type: 'string',
      maxLength: 64,
      description:
        "The snapshot the newest passing verification restored and compared: restic's full ID (64 hex digits).",
    },
    lastRunNowRequest: {
      type: 'string',
      maxLength: api.RUN_NOW_REQUEST_MAX_LENGTH,
      description: `The value of the ${api.RUN_NOW_ANNOTATION} annotation the operator last acted on.`,
    },
    message: {
      type: 'string',
      maxLength: api.STATUS_MESSAGE_MAX_LENGTH,
      description: 'Why the Backup is in its phase, in words.',
    },
  },
};
