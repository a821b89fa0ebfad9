/**
 * The Backup's schema: its spec field by field (the schedule fields in backup-schedule-schema.ts), the whole
 * `openAPIV3Schema` and the `kubectl get` columns.
 */
import * as api from './backup-api';
import { BACKUP_STATUS_SCHEMA } from './backup-status-schema';
import { FRESHNESS_FORMS, FRESHNESS_MAX_LENGTH, FRESHNESS_PATTERN } from './freshness-api';
import {
  boundedInteger,
  celString,
  DNS_LABEL_FORM,
  JsonSchema,
  objectName,
  objectProperties,
  patternedString,
  quantity,
} from './schema-parts';
import { backupTime, timeZone, verify } from './backup-schedule-schema';

function resourceList(description: string): JsonSchema {
  return {
    type: 'object',
    description,
    properties: Object.fromEntries(
      api.RESOURCE_NAMES.map((r) => [r, quantity(`Amount of ${r}, as a Kubernetes quantity (e.g. "500m", "1Gi").`)]),
    ),
  };
}

const shopName = patternedString(
  { field: 'shopName', patterns: [api.DNS_LABEL_PATTERN], accepted: DNS_LABEL_FORM },
  "The shop to back up. Its volumes are the PersistentVolumeClaims in the Backup's namespace labelled " +
    `${api.SHOP_LABEL}=<shopName>, or the claims listed in volumeClaims. Snapshots are tagged shop=<shopName> ` +
    'and use it as their host name. A DNS-1123 label; immutable once set.',
  api.DNS_LABEL_MAX_LENGTH,
  { rules: [{ rule: 'self == oldSelf', message: 'shopName is immutable: file a new Backup for another shop' }] },
);

const vaultLocation = patternedString(
  {
    field: 'vaultLocation',
    patterns: Object.values(api.VAULT_KINDS),
    accepted: `use ${api.VAULT_LOCATION_FORMS}`,
    forbidden: [
      { pattern: '(^|/)\\.\\.(/|$)', message: 'vaultLocation must not contain a ".." path segment' },
      { pattern: api.VAULT_CREDENTIALS_PATTERN, message: api.VAULT_CREDENTIALS_MESSAGE, quiet: true },
    ],
  },
  'Where the backups go: a restic repository over an encrypted transport (s3:https://…, rest:https://…, azure:…, ' +
    "gs:…, b2:…) or pvc://<claim>/<path> for a vault volume in the Backup's namespace; credentials go in the Secret, " +
    "never in the URL. Several shops may share one vault, and so its key: each can read the others' snapshots.",
  api.VAULT_LOCATION_MAX_LENGTH,
);

const retention: JsonSchema = {
  type: 'object',
  description:
    'Which snapshots of this Backup to keep after each successful run (restic forget --prune). Only this ' +
    `Backup's snapshots are considered. keepLast is always at least 1, so the newest good backup is never pruned. ` +
    `Defaults to keepLast: ${api.DEFAULT_KEEP_LAST}.`,
  default: { keepLast: api.DEFAULT_KEEP_LAST },
  properties: {
    keepLast: boundedInteger(
      `Keep the newest n snapshots (at least 1). Defaults to ${api.DEFAULT_KEEP_LAST}.`,
      1,
      api.RETENTION_MAX,
      api.DEFAULT_KEEP_LAST,
    ),
    keepDaily: boundedInteger(
      'Also keep the newest snapshot of each of the last n days that have one.',
      1,
      api.RETENTION_MAX,
    ),
    keepWeekly: boundedInteger(
      'Also keep the newest snapshot of each of the last n weeks that have one.',
      1,
      api.RETENTION_MAX,
    ),
    keepMonthly: boundedInteger(
      'Also keep the newest snapshot of each of the last n months that have one.',
      1,
      api.RETENTION_MAX,
    ),
  },
};

const spec: JsonSchema = {
  type: 'object',
  description: 'The permit: which shop, when, and into which vault.',
  required: ['shopName', 'backupTime', 'vaultLocation', 'vaultCredentialsSecret'],
  properties: {
    shopName,
    backupTime,
    timeZone,
    vaultLocation,
    vaultCredentialsSecret: objectName(
      'vaultCredentialsSecret',
      "Name of a Secret in the Backup's namespace holding RESTIC_PASSWORD and any provider credentials " +
        '(e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). It is ' +
        'handed to the backup pod only; the operator never reads it.',
    ),
    volumeClaims: {
      type: 'array',
      description:
        'The PersistentVolumeClaims to back up, by name, instead of the claims labelled with the shop. ' +
        'Each is mounted read-only under /data/<claim>.',
      minItems: 1,
      maxItems: api.VOLUME_CLAIMS_MAX,
      'x-kubernetes-list-type': 'set',
      items: objectName('volumeClaims[]', "Name of a PersistentVolumeClaim in the Backup's namespace."),
    },
    retention,
    suspend: {
      type: 'boolean',
      default: false,
      description: 'Stop scheduling new runs; runs already started finish. Defaults to false.',
    },
    concurrencyPolicy: {
      type: 'string',
      enum: api.CONCURRENCY_POLICIES,
      default: api.DEFAULT_CONCURRENCY_POLICY,
      description:
        'What to do when a run is due while the previous one is still going: Forbid (skip the new run, ' +
        'the default) or Replace (stop the old run). Two runs of one shop never write at once.',
    },
    freshness: patternedString(
      { field: 'freshness', patterns: [FRESHNESS_PATTERN], accepted: `use ${FRESHNESS_FORMS}` },
      'How old the newest good snapshot may be before the Backup ' +
        'counts as stale (condition Fresh=False, reason Stale): ' +
        'minutes, hours or days, e.g. "36h". Defaults to two periods of the schedule.',
      FRESHNESS_MAX_LENGTH,
    ),
    verify,
    startingDeadlineSeconds: boundedInteger(
      'A run that cannot start within this many seconds of its time is counted ' +
        `as missed. At least ${api.STARTING_DEADLINE_MIN}.`,
      api.STARTING_DEADLINE_MIN,
      api.STARTING_DEADLINE_MAX,
    ),
    activeDeadlineSeconds: boundedInteger(
      'A run still going after this many seconds is stopped and marked failed.',
      1,
      api.ACTIVE_DEADLINE_MAX,
    ),
    backoffLimit: boundedInteger(
      `Retries of a failed run before it is marked failed. Defaults to ${api.DEFAULT_BACKOFF_LIMIT}.`,
      0,
      api.BACKOFF_LIMIT_MAX,
      api.DEFAULT_BACKOFF_LIMIT,
    ),
    resources: {
      type: 'object',
      description: "CPU, memory and ephemeral storage for the backup pod. Defaults to the operator's defaults.",
      properties: {
        requests: resourceList('What the backup pod is guaranteed.'),
        limits: resourceList('What the backup pod may use at most.'),
      },
    },
    securityContext: {
      type: 'object',
      description:
        'Identity of the backup pod, to read shop files owned by a particular user or group. The pod always ' +
        'runs as non-root under the Pod Security Standard "restricted".',
      properties: {
        runAsUser: boundedInteger('User ID of the backup process (not 0).', 1, api.ID_MAX),
        runAsGroup: boundedInteger('Primary group ID of the backup process (not 0).', 1, api.ID_MAX),
        fsGroup: boundedInteger('Supplementary group that owns the mounted volumes (not 0).', 1, api.ID_MAX),
      },
    },
  },
  'x-kubernetes-validations': [
    {
      rule:
        `!(self.vaultLocation.startsWith(${celString(api.PVC_VAULT_PREFIX)}) && has(self.volumeClaims) && ` +
        `self.volumeClaims.exists(c, self.vaultLocation == ${celString(api.PVC_VAULT_PREFIX)} + c || ` +
        `self.vaultLocation.startsWith(${celString(api.PVC_VAULT_PREFIX)} + c + '/')))`,
      message:
        'the vault claim named in vaultLocation must not also be ' +
        'listed in volumeClaims: a backup must not contain its own vault',
      fieldPath: '.volumeClaims',
    },
  ],
};

/** The Backup's `openAPIV3Schema`: the one source of truth for the permit's shape. */
export const BACKUP_SCHEMA: JsonSchema = {
  type: 'object',
  description:
    "A Nightly Backup Permit: asks the mall-backup operator to back up a shop's volumes into a vault on a schedule.",
  required: ['spec'],
  'x-kubernetes-validations': [
    {
      // Its name is a label value on the CronJob, Jobs and pods it makes; label values stop at 63.
      rule: `size(self.metadata.name) <= ${api.BACKUP_NAME_MAX_LENGTH}`,
      message:
        `metadata.name is too long: at most ${api.BACKUP_NAME_MAX_LENGTH} ` +
        `characters, as it labels the Backup's CronJob, Jobs and pods`,
    },
  ],
  properties: objectProperties(spec, BACKUP_STATUS_SCHEMA),
};

/** `kubectl get bks` columns. */
export const BACKUP_PRINTER_COLUMNS = [
  { name: 'Shop', type: 'string', jsonPath: '.spec.shopName', description: 'The shop backed up.' },
  { name: 'Time', type: 'string', jsonPath: '.spec.backupTime', description: 'When it runs.' },
  { name: 'Zone', type: 'string', jsonPath: '.spec.timeZone', priority: 1, description: 'Time zone of Time.' },
  {
    name: 'Schedule',
    type: 'string',
    jsonPath: '.status.effectiveSchedule',
    priority: 1,
    description: 'The cron schedule run, a window resolved to its minute.',
  },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary state.' },
  { name: 'Last Success', type: 'date', jsonPath: '.status.lastSuccessfulTime', description: 'Newest successful run.' },
  {
    name: api.BACKUP_CONDITIONS.Fresh,
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${api.BACKUP_CONDITIONS.Fresh}")].status`,
    description: 'Whether the newest good snapshot is within the freshness objective.',
  },
  {
    name: api.BACKUP_CONDITIONS.Verified,
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${api.BACKUP_CONDITIONS.Verified}")].status`,
    priority: 1,
    description: 'Whether the latest vault check and test restore passed (with spec.verify).',
  },
  // A date column prints future times as "<invalid>", so the next run is shown as a timestamp.
  { name: 'Next', type: 'string', jsonPath: '.status.nextScheduleTime', description: 'Next run.' },
  { name: 'Vault', type: 'string', jsonPath: '.spec.vaultLocation', priority: 1, description: 'Where backups go.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;
