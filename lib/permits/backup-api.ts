/**
 * Names, patterns and limits of the Backup API. The CRD schema, the CEL rules, the synth-time
 * validation of construct props and the operator all read them from here, so the accepted forms
 * cannot drift apart.
 */

export const API_GROUP = 'mall.example.com';
export const API_VERSION = 'v1alpha1';
export const BACKUP_KIND = 'Backup';
export const BACKUP_PLURAL = 'backups';
export const BACKUP_SINGULAR = 'backup';
export const BACKUP_SHORT_NAMES = ['bks'];
export const BACKUP_CATEGORIES = ['mall'];
export const BACKUP_CRD_NAME = `${BACKUP_PLURAL}.${API_GROUP}`;
export const BACKUP_API_VERSION = `${API_GROUP}/${API_VERSION}`;

/** Label that marks a PersistentVolumeClaim as one of a shop's volumes. */
export const SHOP_LABEL = `${API_GROUP}/shop`;
/** Annotation whose new value asks the operator for one immediate backup run. */
export const RUN_NOW_ANNOTATION = `${API_GROUP}/run-now`;
/** Label on the Job a run-now request started: a digest of the request (a label value cannot hold any text). */
export const RUN_NOW_DIGEST_LABEL = `${API_GROUP}/run-now-digest`;
/**
 * The key the digest label had up to 0.1.0, shared with the annotation: read, never written, so a Job started before an
 * upgrade still answers its request and is not run a second time.
 */
export const RUN_NOW_DIGEST_LABEL_UNTIL_0_1 = RUN_NOW_ANNOTATION;
/** Annotation a person sets on a Backup: the snapshot ID accepted as the new reference after a drastic shrink. */
export const ACKNOWLEDGE_SHRINK_ANNOTATION = `${API_GROUP}/acknowledge-shrink`;

/** The Backup's condition types: part of its API (`kubectl wait --for=condition=Ready`), written by the operator. */
export const BACKUP_CONDITIONS = {
  /** The schedule is in place. */
  Ready: 'Ready',
  /** The outcome of the newest finished run. */
  LastBackupSucceeded: 'LastBackupSucceeded',
  /** The newest good snapshot is within the freshness objective (lib/permits/freshness.ts). */
  Fresh: 'Fresh',
  /** True while a drastic shrink of the shop holds retention back, until a person acknowledges it. */
  ShrinkDetected: 'ShrinkDetected',
  /** The outcome of the newest verification run (lib/run/verify-script.ts). */
  Verified: 'Verified',
  /** The newest finished run of the vault's maintenance (prune + check) succeeded. */
  VaultMaintained: 'VaultMaintained',
} as const;

/** DNS-1123 label: what Kubernetes accepts as a label value and a host name part. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_LABEL_MAX_LENGTH = 63;
/** A Backup's name labels what it makes (`mall.example.com/backup=<name>`): at most a label value's 63 characters. */
export const BACKUP_NAME_MAX_LENGTH = 63;
/** DNS-1123 subdomain: what Kubernetes accepts as the name of a Secret or a PersistentVolumeClaim. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;

/** `"HH:MM"`, 24-hour clock. */
export const WALL_CLOCK_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
/**
 * `"HH:MM-HH:MM"`: a window (start included, end excluded; an end before the start crosses midnight,
 * an end equal to the start is the whole day) inside which the operator picks one stable minute per Backup.
 */
export const WINDOW_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$';
export const CRON_MACROS = ['@hourly', '@daily', '@weekly', '@monthly', '@yearly'] as const;

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** A name in any letter case, as Kubernetes' cron parser reads names (RE2 and JavaScript alike). */
function anyCase(name: string): string {
  return [...name].map((c) => `[${c}${c.toLowerCase()}]`).join('');
}

/** Month names are 1-based (JAN = 1), day names 0-based (SUN = 0). */
const MONTH_NAME_PATTERN = MONTH_NAMES.map(anyCase).join('|');
const DAY_NAME_PATTERN = DAY_NAMES.map(anyCase).join('|');

/**
 * One cron field: `*` (or `?`, which Kubernetes reads as `*`), a value or a range, each optionally
 * with a step, in a comma-separated list. Written in the subset of regular-expression syntax that RE2
 * (the API server's CEL) and JavaScript read the same way.
 */
function cronField(value: string): string {
  const item = `(\\*|\\?|(${value})(-(${value}))?)(/[1-9][0-9]?)?`;
  return `${item}(,${item})*`;
}

/** Five fields: minute, hour, day of month, month, day of week — the forms a CronJob accepts. */
export const CRON_PATTERN =
  '^' +
  [
    cronField('[0-5]?[0-9]'),
    cronField('[01]?[0-9]|2[0-3]'),
    cronField('0?[1-9]|[12][0-9]|3[01]'),
    cronField(`0?[1-9]|1[0-2]|${MONTH_NAME_PATTERN}`),
    cronField(`[0-6]|${DAY_NAME_PATTERN}`),
  ].join(' ') +
  '$';

/** The written forms of the numbers `low`..`high` (0..59): "7" or "07", "42". */
function numbersFrom(low: number, high: number): string {
  const parts: string[] = [];
  for (let tens = Math.floor(low / 10); tens <= Math.floor(high / 10); tens++) {
    const from = tens === Math.floor(low / 10) ? low % 10 : 0;
    const to = tens === Math.floor(high / 10) ? high % 10 : 9;
    parts.push(`${tens === 0 ? '0?' : tens}${from === to ? from : `[${from}-${to}]`}`);
  }
  return parts.join('|');
}

/** Ranges whose end comes before their start ("5-1", "SAT-MON", "DEC-3"), which Kubernetes refuses. */
function reversedRanges(): string {
  const ranges: string[] = [];
  for (let start = 1; start <= 59; start++)
    ranges.push(`(${numbersFrom(start, start)})-(${numbersFrom(0, start - 1)})`);
  for (const [names, first] of [
    [MONTH_NAMES, 1],
    [DAY_NAMES, 0],
  ] as const) {
    names.forEach((name, i) => {
      const value = first + i;
      if (value > first)
        ranges.push(`${anyCase(name)}-(${[numbersFrom(0, value - 1), ...names.slice(0, i).map(anyCase)].join('|')})`);
      if (i > 0) ranges.push(`(${numbersFrom(value, value)})-(${names.slice(0, i).map(anyCase).join('|')})`);
    });
  }
  return ranges.join('|');
}

/** Matches a cron expression holding a reversed range; the schema refuses those. */
export const CRON_REVERSED_RANGE_PATTERN = `(^|[ ,])(${reversedRanges()})(/[0-9]+)?([ ,]|$)`;

export const BACKUP_TIME_MAX_LENGTH = 128;
export const BACKUP_TIME_FORMS =
  '"HH:MM" (24-hour, e.g. "02:30"), a 5-field cron expression (e.g. "30 2 * * 1-5"), ' +
  `one of ${CRON_MACROS.join(', ')}, or a window "HH:MM-HH:MM" (e.g. "01:00-05:00": one stable minute inside it)`;

/**
 * IANA time zone names: `UTC`, `Etc/GMT+3`, `America/Argentina/Buenos_Aires`. The schema checks the
 * shape; the operator and the constructs check the name against the time zone database.
 */
export const TIME_ZONE_PATTERN = '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$';
export const TIME_ZONE_MAX_LENGTH = 64;
export const TIME_ZONE_KNOWN_FORMS =
  'use a name from the IANA time zone database exactly as spelled there, e.g. "UTC", "Europe/Rome" or ' +
  '"America/New_York" (case matters; abbreviations such as "PST" are not zones)';
export const TIME_ZONE_FORMS = 'an IANA time zone name such as "UTC", "Europe/Rome" or "America/New_York"';
export const DEFAULT_TIME_ZONE = 'UTC';

/**
 * Vault locations: restic repository URLs whose transport is encrypted or local, and `pvc://` for a
 * vault volume in the Backup's namespace. Plain-HTTP transports are left out on purpose: the
 * credentials and the encrypted-but-unauthenticated chunk uploads would cross the network in clear. sftp: is
 * left out too: the backup pod has no SSH key or known_hosts to connect with.
 */
export const VAULT_KINDS = {
  s3:
    '^s3:https://([A-Za-z0-9._~%-]+(:[A-Za-z0-9._~%-]+)?@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?' +
    '/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$',
  rest: '^rest:https://([A-Za-z0-9._~%-]+(:[A-Za-z0-9._~%-]+)?@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?$',
  azure: '^azure:[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])?:/[A-Za-z0-9._/-]*$',
  gs: '^gs:[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]:/[A-Za-z0-9._/-]*$',
  b2: '^b2:[A-Za-z0-9][A-Za-z0-9-]{4,48}[A-Za-z0-9]:[A-Za-z0-9._/-]*$',
  pvc: '^pvc://[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(/[A-Za-z0-9._-]+)*/?$',
} as const;
export type VaultKind = keyof typeof VAULT_KINDS;
export const VAULT_LOCATION_MAX_LENGTH = 512;
export const VAULT_LOCATION_FORMS =
  's3:https://<host>/<bucket>[/<path>], rest:https://<host>[:<port>][/<path>], azure:<container>:/<path>, ' +
  'gs:<bucket>:/<path>, b2:<bucket>:<path> or pvc://<claim>[/<path>] ' +
  '(sftp: is not offered: the pod has no SSH key or known_hosts)';
/**
 * Credentials inside a URL would be shown to everyone who may read Backups (and in `kubectl get`): refused. The
 * URL forms accept the "user:password@" part only so that this rule, with its own words, is the one that fires.
 */
export const VAULT_CREDENTIALS_PATTERN = '^(rest|s3):https://[^/]*@';
export const VAULT_CREDENTIALS_MESSAGE =
  'vaultLocation must not carry credentials ("user:password@"): they belong in the Secret named by ' +
  'vaultCredentialsSecret (RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD ' +
  'for rest:, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:)';
export const PVC_VAULT_PREFIX = 'pvc://';

/** Retention rules: `restic forget --keep-*`. */
export const RETENTION_KEYS = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const;
export type RetentionKey = (typeof RETENTION_KEYS)[number];
export const RETENTION_MAX = 10000;
export const DEFAULT_KEEP_LAST = 7;

export const CONCURRENCY_POLICIES = ['Forbid', 'Replace'] as const;
export type BackupConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];
export const DEFAULT_CONCURRENCY_POLICY: BackupConcurrencyPolicy = 'Forbid';

/** The CronJob controller may miss a schedule shorter than its 10 s sync period. */
export const STARTING_DEADLINE_MIN = 10;
export const STARTING_DEADLINE_MAX = 86400;
export const ACTIVE_DEADLINE_MAX = 7 * 86400;
export const BACKOFF_LIMIT_MAX = 10;
export const DEFAULT_BACKOFF_LIMIT = 2;
export const VOLUME_CLAIMS_MAX = 32;
/** Linux IDs: 0 is root (refused by Pod Security restricted), 2^31-1 the Kubernetes maximum. */
export const ID_MAX = 2147483647;

/**
 * Kubernetes resource quantities, e.g. `500m`, `1Gi`, `2`: the form controller-gen emits, except that an
 * exponent is a whole number of at most three digits. The API server cannot decode a fractional
 * exponent ("1e1.5": 400 Bad Request), and one of eleven digits ("1e99999999999") keeps it computing
 * past the request timeout while its memory grows.
 */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?[0-9]{1,3}))?$';
/** The API server reads a quantity in time that grows with the square of its length (200 000 digits: seconds). */
export const QUANTITY_MAX_LENGTH = 64;
/** A quantity without a minus sign: the API server refuses negative requests and limits. */
export const NON_NEGATIVE_QUANTITY_PATTERN = QUANTITY_PATTERN.replace('^(\\+|-)?', '^\\+?');
export const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;

export const BACKUP_PHASES = [
  'Pending',
  'Scheduled',
  'Queued',
  'Running',
  'Completed',
  'PartiallyFailed',
  'Failed',
  'Suspended',
] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

/**
 * How much of the vault's data a verification reads back: a percentage, so each scheduled run picks a new random
 * subset of pack files and, over runs, the whole vault is read. restic's fixed group form `n/m` is refused: a
 * CronJob repeats its arguments, so it would re-read the same packs on every run and never the others.
 */
export const READ_DATA_SUBSET_PATTERN = '^(100(\\.0{1,2})?|[1-9][0-9]?(\\.[0-9]{1,2})?|0\\.([1-9][0-9]?|0[1-9]))%$';
export const READ_DATA_SUBSET_FIXED_GROUP_PATTERN = '^[0-9]+/[0-9]+$';
export const READ_DATA_SUBSET_FORMS =
  'use a percentage of the pack files above 0 and at most 100, with up to two decimals, e.g. "5%", "0.5%" or "100%"';
export const READ_DATA_SUBSET_FIXED_GROUP_MESSAGE =
  'a fixed group n/m would read the same pack files on every scheduled run and never the others: use a percentage ' +
  'such as "5%" (a new random subset each run)';
export const DEFAULT_READ_DATA_SUBSET = '5%';
