import * as api from './backup-api';
import { KUBERNETES_TIME_ZONES } from './time-zones';
import { FRESHNESS_FORMS, FRESHNESS_MAX_LENGTH, FRESHNESS_PATTERN } from './freshness-api';

/** A CEL validation rule as the API server reads it (`x-kubernetes-validations`). */
export interface CelRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  readonly fieldPath?: string;
}

/**
 * A structural OpenAPI v3 schema in the exact form the API server stores it. Kept in wire form (not
 * the camel-cased cdk8s L1 form) so that the CRD, the validation tests and the docs read one object.
 */
export interface JsonSchema {
  readonly type?: 'object' | 'string' | 'integer' | 'boolean' | 'array' | 'number';
  readonly description?: string;
  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly default?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-int-or-string'?: boolean;
}

/** A CEL string literal holding `text` (CEL reads backslash escapes in quoted strings). */
export function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The accepted forms of a patterned string field, kept beside its schema so TypeScript checks read the same patterns as CEL. */
export interface StringForm {
  readonly field: string;
  /** The value must match one of these. */
  readonly patterns: readonly string[];
  /** What is accepted, in words, for error messages. */
  readonly accepted: string;
  /** The value must match none of these. */
  /** `quiet`: the refusal does not repeat the value (it would show a secret). */
  readonly forbidden?: readonly { readonly pattern: string; readonly message: string; readonly quiet?: boolean }[];
}

const STRING_FORMS = new WeakMap<JsonSchema, StringForm>();

/** The accepted forms of a string field built by `patternedString`, if `schema` is one. */
export function stringFormOf(schema: JsonSchema): StringForm | undefined {
  return STRING_FORMS.get(schema);
}

function quotedValueMessage(field: string, accepted: string): string {
  return `${celString(`${field} "`)} + self + ${celString(`" is not valid: ${accepted}`)}`;
}

/** A string field whose accepted forms are regular expressions; the error names the field, the value and the forms. */
export function patternedString(
  form: StringForm,
  description: string,
  maxLength: number,
  extras: { readonly rules?: readonly CelRule[]; readonly default?: string } = {},
): JsonSchema {
  const { field, patterns, accepted } = form;
  const schema: JsonSchema = {
    type: 'string',
    description,
    minLength: 1,
    maxLength,
    default: extras.default,
    'x-kubernetes-validations': [
      {
        rule: patterns.map((p) => `self.matches(${celString(p)})`).join(' || '),
        message: `${field} is not valid: ${accepted}`,
        messageExpression: quotedValueMessage(field, accepted),
      },
      ...(form.forbidden ?? []).map(({ pattern, message, quiet }) => ({
        rule: `!self.matches(${celString(pattern)})`,
        message,
        messageExpression: quiet ? undefined : quotedValueMessage(field, message),
      })),
      ...(extras.rules ?? []),
    ],
  };
  STRING_FORMS.set(schema, form);
  return schema;
}

export const DNS_LABEL_FORM =
  'use a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, ' +
  `at most ${api.DNS_LABEL_MAX_LENGTH} characters (e.g. "bakery")`;
export const DNS_SUBDOMAIN_FORM =
  'use a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", starting and ending with a ' +
  `letter or digit, at most ${api.DNS_SUBDOMAIN_MAX_LENGTH} characters`;

export function objectName(field: string, description: string): JsonSchema {
  return patternedString(
    { field, patterns: [api.DNS_SUBDOMAIN_PATTERN], accepted: DNS_SUBDOMAIN_FORM },
    description,
    api.DNS_SUBDOMAIN_MAX_LENGTH,
  );
}

export function boundedInteger(
  description: string,
  minimum: number,
  maximum: number,
  defaultValue?: number,
): JsonSchema {
  return { type: 'integer', format: 'int32', description, minimum, maximum, default: defaultValue };
}

export function quantity(description: string): JsonSchema {
  return {
    description,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: api.NON_NEGATIVE_QUANTITY_PATTERN,
    // Like the pattern, read for strings only.
    maxLength: api.QUANTITY_MAX_LENGTH,
    // The pattern reads strings only; a bare number is an integer here.
    'x-kubernetes-validations': [
      { rule: 'type(self) != int || self >= 0', message: 'a quantity must not be negative' },
    ],
    'x-kubernetes-int-or-string': true,
  };
}

function resourceList(description: string): JsonSchema {
  return {
    type: 'object',
    description,
    properties: Object.fromEntries(
      api.RESOURCE_NAMES.map((r) => [r, quantity(`Amount of ${r}, as a Kubernetes quantity (e.g. "500m", "1Gi").`)]),
    ),
  };
}

export function timestamp(description: string): JsonSchema {
  return { type: 'string', format: 'date-time', description };
}

const shopName = patternedString(
  { field: 'shopName', patterns: [api.DNS_LABEL_PATTERN], accepted: DNS_LABEL_FORM },
  "The shop to back up. Its volumes are the PersistentVolumeClaims in the Backup's namespace labelled " +
    `${api.SHOP_LABEL}=<shopName>, or the claims listed in volumeClaims. Snapshots are tagged shop=<shopName> ` +
    'and use it as their host name. A DNS-1123 label; immutable once set.',
  api.DNS_LABEL_MAX_LENGTH,
  { rules: [{ rule: 'self == oldSelf', message: 'shopName is immutable: file a new Backup for another shop' }] },
);

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

const backupTime = patternedString(
  scheduleForm('backupTime'),
  'When to run, in timeZone: "HH:MM" (24-hour clock, every night at that time), a window "HH:MM-HH:MM" (every night at ' +
    "one minute inside it, from the start up to but not including the end, chosen from the Backup's namespace and name " +
    'so that it never changes and a fleet spreads across the window; "23:00-01:00" crosses midnight, "00:00-00:00" is ' +
    'the whole day; status.effectiveSchedule shows the minute), a 5-field cron expression ' +
    `(minute hour day-of-month month day-of-week) or one of ${api.CRON_MACROS.join(' ')}.`,
  api.BACKUP_TIME_MAX_LENGTH,
);

/** Go's time zone database, which Kubernetes judges CronJob time zones by: case-sensitive, no ICU-only aliases. */
export const KNOWN_TIME_ZONE_RULE: CelRule = {
  rule: `self in [${KUBERNETES_TIME_ZONES.map(celString).join(', ')}]`,
  message: `timeZone is not a time zone Kubernetes knows: ${api.TIME_ZONE_KNOWN_FORMS}`,
  messageExpression: `${celString('timeZone "')} + self + ${celString(`" is not a time zone Kubernetes knows: ${api.TIME_ZONE_KNOWN_FORMS}`)}`,
};

const timeZone = patternedString(
  { field: 'timeZone', patterns: [api.TIME_ZONE_PATTERN], accepted: `use ${api.TIME_ZONE_FORMS}` },
  'IANA time zone in which backupTime is read, e.g. "Europe/Rome" or "America/New_York", spelled exactly as in the ' +
    'time zone database (case matters). Daylight-saving changes follow the zone. Defaults to UTC.',
  api.TIME_ZONE_MAX_LENGTH,
  { default: api.DEFAULT_TIME_ZONE, rules: [KNOWN_TIME_ZONE_RULE] },
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

const verify: JsonSchema = {
  type: 'object',
  description:
    'Proof that the vault can still be restored, on its own schedule; off when left out (verification reads data ' +
    'back from the vault, which costs time and, on a cloud vault, egress). Each run test-restores the newest snapshot of ' +
    "this Backup into scratch space and compares every file's content with the snapshot's own checksums; the vault's " +
    'structure and readDataSubset of its data are checked once per vault (restic check), not once per Backup. The result ' +
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
        `of the pack files, chosen at random on each run. Defaults to "${api.DEFAULT_READ_DATA_SUBSET}". When several ` +
        'Backups share a vault, its check reads the largest subset any of them asks for.',
      8,
      { default: api.DEFAULT_READ_DATA_SUBSET },
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
        '(e.g. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). It is handed to the backup pod only; the operator never reads it.',
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
      'How old the newest good snapshot may be before the Backup counts as stale (condition Fresh=False, reason Stale): ' +
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
        'the vault claim named in vaultLocation must not also be listed in volumeClaims: a backup must not contain its own vault',
      fieldPath: '.volumeClaims',
    },
  ],
};

/** A metav1.Condition of `kind` (e.g. "Backup"), whose types are listed in `types`. */
export function conditionSchema(kind: string, types: string): JsonSchema {
  return {
    type: 'object',
    description: `One aspect of the ${kind}'s state (metav1.Condition).`,
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: {
        type: 'string',
        maxLength: 316,
        pattern:
          '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
        description: types,
      },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' },
      observedGeneration: {
        type: 'integer',
        format: 'int64',
        minimum: 0,
        description: 'The metadata.generation this condition was computed from.',
      },
      lastTransitionTime: timestamp('When the status last changed.'),
      reason: {
        type: 'string',
        minLength: 1,
        maxLength: 1024,
        pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
        description: 'Machine-readable CamelCase reason.',
      },
      message: { type: 'string', maxLength: 32768, description: 'Human-readable details.' },
    },
  };
}

const condition = conditionSchema(
  'Backup',
  'Ready, LastBackupSucceeded, Fresh, ShrinkDetected, Verified or VaultMaintained.',
);

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
        'What became of retention: applied, skipped, skipped-shrunk (the shrink guard), deferred (the vault stayed locked) or failed.',
    },
  },
};

const status: JsonSchema = {
  type: 'object',
  description: 'What the operator observed. Written by the operator only.',
  properties: {
    phase: {
      type: 'string',
      enum: api.BACKUP_PHASES,
      description: `Summary of the conditions: ${api.BACKUP_PHASES.join(', ')}.`,
    },
    conditions: {
      type: 'array',
      description:
        'Ready (the schedule is in place), LastBackupSucceeded (the outcome of the newest finished run), Fresh ' +
        '(the newest good snapshot is within the freshness objective), ShrinkDetected (retention is held back after a drastic ' +
        `shrink until the ${api.API_GROUP}/acknowledge-shrink annotation names the new snapshot), VaultMaintained ` +
        "(the vault's newest finished maintenance, prune and check, and why it failed) and, with spec.verify, " +
        'Verified (the latest vault check and test restore passed).',
      items: condition,
      maxItems: 8,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'The metadata.generation the status describes.',
    },
    lastScheduleTime: timestamp('When the newest run was started.'),
    lastSuccessfulTime: timestamp('When the newest successful run finished.'),
    lastFailureTime: timestamp('When the newest failed run finished.'),
    nextScheduleTime: timestamp('When the next run is due, computed in timeZone.'),
    queuePosition: {
      type: 'integer',
      format: 'int32',
      minimum: 1,
      description:
        "While Queued: the place of this Backup's run among the runs waiting for a free slot under the operator's run cap (1 starts next), as of its last reconcile.",
    },
    effectiveSchedule: {
      type: 'string',
      maxLength: 128,
      description: 'The cron schedule the CronJob runs in timeZone: backupTime with a window resolved to its minute.',
    },
    lastSnapshotID: {
      type: 'string',
      maxLength: 64,
      description: 'restic ID of the newest snapshot written by this Backup, when known.',
    },
    lastRun,
    lastVerifiedTime: timestamp('When the newest passing verification (vault check and test restore) finished.'),
    lastVerifiedSnapshotID: {
      type: 'string',
      maxLength: 64,
      description: 'restic ID of the snapshot the newest passing verification restored and compared.',
    },
    lastRunNowRequest: {
      type: 'string',
      maxLength: 1024,
      description: `The value of the ${api.RUN_NOW_ANNOTATION} annotation the operator last acted on.`,
    },
    message: { type: 'string', maxLength: 32768, description: 'Why the Backup is in its phase, in words.' },
  },
};

/** The top level of a permit kind: the type fields, a bare metadata and the kind's own spec and status. */
export function objectProperties(spec: JsonSchema, status: JsonSchema): Record<string, JsonSchema> {
  return {
    apiVersion: {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    },
    kind: {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    },
    // The API server refuses a CRD whose metadata schema says anything beyond its type (even a description).
    metadata: { type: 'object' },
    spec,
    status,
  };
}

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
      message: `metadata.name is too long: at most ${api.BACKUP_NAME_MAX_LENGTH} characters, as it labels the Backup's CronJob, Jobs and pods`,
    },
  ],
  properties: objectProperties(spec, status),
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
    name: 'Fresh',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Fresh")].status',
    description: 'Whether the newest good snapshot is within the freshness objective.',
  },
  {
    name: 'Verified',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Verified")].status',
    priority: 1,
    description: 'Whether the latest vault check and test restore passed (with spec.verify).',
  },
  // A date column prints future times as "<invalid>", so the next run is shown as a timestamp.
  { name: 'Next', type: 'string', jsonPath: '.status.nextScheduleTime', description: 'Next run.' },
  { name: 'Vault', type: 'string', jsonPath: '.spec.vaultLocation', priority: 1, description: 'Where backups go.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;
