/** When a Backup runs and when it is verified: the schedule fields of its spec (backup-schema.ts holds the rest). */
import * as api from './backup-api';
import { CelRule, celString, JsonSchema, patternedString, StringForm } from './schema-parts';
import { KUBERNETES_TIME_ZONES } from './time-zones';

/** The forms of a schedule (backupTime, verify.schedule), named `field` in messages. */
function scheduleForm(field: string): StringForm {
  return {
    field,
    patterns: [api.WALL_CLOCK_PATTERN, api.WINDOW_PATTERN, api.CRON_PATTERN, `^(${api.CRON_MACROS.join('|')})$`],
    accepted: `use ${api.BACKUP_TIME_FORMS}`,
    forbidden: [
      {
        pattern: api.CRON_REVERSED_RANGE_PATTERN,
        message: 'a cron range must run from low to high (e.g. "1-5", "MON-FRI"), as Kubernetes requires',
      },
    ],
  };
}

export const backupTime = patternedString(
  scheduleForm('backupTime'),
  'When to run, in timeZone: "HH:MM" (24-hour clock, every ' +
    'night at that time), a window "HH:MM-HH:MM" (every night at ' +
    'one minute inside it, from the start up to but not including ' +
    "the end, chosen from the Backup's namespace and name " +
    'so that it never changes and a fleet spreads across the ' +
    'window; "23:00-01:00" crosses midnight, "00:00-00:00" is ' +
    'the whole day; status.effectiveSchedule shows the minute), a 5-field cron expression ' +
    `(minute hour day-of-month month day-of-week) or one of ${api.CRON_MACROS.join(' ')}.`,
  api.BACKUP_TIME_MAX_LENGTH,
);

/** Go's time zone database, which Kubernetes judges CronJob time zones by: case-sensitive, no ICU-only aliases. */
export const KNOWN_TIME_ZONE_RULE: CelRule = {
  rule: `self in [${KUBERNETES_TIME_ZONES.map(celString).join(', ')}]`,
  message: `timeZone is not a time zone Kubernetes knows: ${api.TIME_ZONE_KNOWN_FORMS}`,
  messageExpression:
    `${celString('timeZone "')} + self + ` +
    `${celString(`" is not a time zone Kubernetes knows: ${api.TIME_ZONE_KNOWN_FORMS}`)}`,
};

export const timeZone = patternedString(
  { field: 'timeZone', patterns: [api.TIME_ZONE_PATTERN], accepted: `use ${api.TIME_ZONE_FORMS}` },
  'IANA time zone in which backupTime is read, e.g. "Europe/Rome" or "America/New_York", spelled exactly as in the ' +
    'time zone database (case matters). Daylight-saving changes follow the zone. Defaults to UTC.',
  api.TIME_ZONE_MAX_LENGTH,
  { default: api.DEFAULT_TIME_ZONE, rules: [KNOWN_TIME_ZONE_RULE] },
);

export const verify: JsonSchema = {
  type: 'object',
  description:
    'Proof that the vault can still be restored, on its own schedule; off when left out (verification reads data ' +
    'back from the vault, which costs time and, on a cloud vault, egress). Each run test-restores the newest ' +
    'snapshot of ' +
    "this Backup into scratch space and compares every file's content with the snapshot's own checksums; the vault's " +
    'structure and readDataSubset of its data are checked once per vault (restic check), not once per Backup. The ' +
    'result ' +
    'is the Verified condition, lastVerifiedTime and lastVerifiedSnapshotID.',
  required: ['schedule'],
  properties: {
    schedule: patternedString(
      scheduleForm('verify.schedule'),
      'When to verify, in timeZone, in the forms of backupTime, e.g. "0 3 * * 0" (Sundays at 03:00) or a window ' +
        '"03:00-05:00" (daily, at one stable minute inside it, not the minute the backup got).',
      api.BACKUP_TIME_MAX_LENGTH,
    ),
    readDataSubset: patternedString(
      {
        field: 'verify.readDataSubset',
        patterns: [api.READ_DATA_SUBSET_PATTERN],
        accepted: api.READ_DATA_SUBSET_FORMS,
        forbidden: [
          { pattern: api.READ_DATA_SUBSET_FIXED_GROUP_PATTERN, message: api.READ_DATA_SUBSET_FIXED_GROUP_MESSAGE },
        ],
      },
      "How much of the vault's data the check reads back and hashes (restic check --read-data-subset): a percentage " +
        `of the pack files, chosen at random on each run. Defaults to "${api.DEFAULT_READ_DATA_SUBSET}". When ` +
        `several ` +
        'Backups share a vault, its check reads the largest subset any of them asks for.',
      8,
      { default: api.DEFAULT_READ_DATA_SUBSET },
    ),
  },
};
