/**
 * The permits the Backup CRD must refuse, as tables by the kind of message the API server gives: a required field
 * left out, a value a pattern or CEL rule refuses (`<field> "<value>" is not valid...`), a number out of bounds, an
 * unknown field, and the few messages of their own.
 */
type Spec = Record<string, unknown>;
/** A refusal: the API server's message (which the offline model reproduces) and the field it names. */
export type Refusal = [name: string, spec: Spec, message: RegExp, field: string];

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `{ a: { b: value } }` for the path `a.b`. */
function nested(path: string, value: unknown): Spec {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), value) as Spec;
}

const required: [field: string, spec: Spec][] = [
  ['shopName', { shopName: undefined }],
  ['backupTime', { backupTime: undefined }],
  ['vaultLocation', { vaultLocation: undefined }],
  ['vaultCredentialsSecret', { vaultCredentialsSecret: undefined }],
];

/**
 * Values refused as `<label> "<value>" <verdict><detail>`, per field: the detail is a regular expression for what
 * follows the verdict (what is allowed), when the case checks it.
 */
interface Refused {
  readonly field: string;
  /** The field as the message names it. */
  readonly label?: string;
  /** The field the refusal points at, when not `spec.<field>`. */
  readonly at?: string;
  readonly spec?: (value: string) => Spec;
  readonly verdict?: string;
  readonly cases: [name: string, value: string, detail?: string][];
}
const CRON_RANGE = ': a cron range must run from low to high';
const PERCENT = ': use a percentage of the pack files above 0 and at most 100';
const FIXED_GROUP = ': a fixed group n/m would read the same pack files';
const refusedValues: Refused[] = [
  {
    field: 'shopName',
    cases: [
      ['an upper-case shopName', 'Bakery', ': use a DNS-1123 label'],
      ['a shopName ending in a dash', 'bakery-'],
      ['a shopName with a dot', 'bake.ry'],
      ['a shopName with shell text', 'x;rm -rf /'],
    ],
  },
  {
    field: 'backupTime',
    cases: [
      ['backupTime 25:00', '25:00', String.raw`: use "HH:MM" \(24-hour, e\.g\. "02:30"\), a 5-field cron expression`],
      ['backupTime 2:30 without a leading zero', '2:30'],
      ['a window ending at 24:00', '01:00-24:00', ': .*or a window "HH:MM-HH:MM"'],
      ['a window without leading zeros', '1:00-5:00'],
      ['a window with spaces', '01:00 - 05:00'],
      ['a window of three times', '01:00-03:00-05:00'],
      ['backupTime 12:60', '12:60'],
      ['a 6-field cron expression', '0 30 2 * * *'],
      ['a cron minute of 60', '60 2 * * *'],
      ['a cron day of week of 7', '0 2 * * 7'],
      ['an unknown macro', '@nightly', ': .*@hourly, @daily, @weekly, @monthly, @yearly'],
      ['a CRON_TZ prefix', 'CRON_TZ=UTC 0 2 * * *'],
      ['a reversed day-of-week range', '0 2 * * 5-1', CRON_RANGE],
      ['a reversed range of day names', '0 2 * * SAT-MON', CRON_RANGE],
      ['a reversed minute range with a step', '30-10/5 2 * * *', CRON_RANGE],
      ['a reversed month range mixing a number and a name', '0 2 * 12-FEB *', CRON_RANGE],
    ],
  },
  {
    field: 'timeZone',
    verdict: 'is not a time zone Kubernetes knows',
    cases: [
      ['a time zone in the wrong case', 'europe/rome', ': use a name from the IANA time zone database exactly'],
      ['an abbreviation only Node knows', 'PST'],
      ['an upper-case UTC variant', 'utc'],
      ['a made-up zone', 'Mars/Olympus_Mons'],
    ],
  },
  {
    field: 'timeZone',
    cases: [
      ['a time zone with spaces', 'Europe/ Rome', ': use an IANA time zone name'],
      ['a time zone offset', '+02:00'],
    ],
  },
  {
    field: 'freshness',
    cases: [
      ['a freshness in weeks', '1w', ': use a duration in whole minutes, hours or days'],
      ['a freshness without a unit', '36'],
    ],
  },
  {
    field: 'vaultLocation',
    cases: [
      ['a vault without a known scheme', 'ftp://vault/bakery', ': use s3:https://<host>/<bucket>'],
      ['an S3 vault over plain HTTP', 's3:http://minio:9000/vault'],
      ['a REST vault over plain HTTP', 'rest:http://vault:8000/'],
      ['a local path vault', '/srv/restic'],
      ['a PVC vault with an upper-case claim', 'pvc://Vault/x'],
      [
        'an SFTP vault (the pod has no key or known_hosts)',
        'sftp:backup@vault.mall.internal:/srv/restic',
        ': .*sftp: is not offered',
      ],
      ['a vault with shell text', 's3:https://h/b/$(reboot)'],
    ],
  },
  {
    field: 'vaultCredentialsSecret',
    cases: [['a Secret name with upper case', 'Vault', ': use a DNS-1123 subdomain']],
  },
  {
    field: 'volumeClaims',
    label: 'volumeClaims[]',
    at: 'spec.volumeClaims[0]',
    spec: (claim) => ({ volumeClaims: [claim] }),
    cases: [['a volume claim with upper case', 'Data']],
  },
  {
    field: 'verify.schedule',
    cases: [['a verification schedule of 25:00', '25:00', String.raw`: use "HH:MM" \(24-hour, e\.g\. "02:30"\)`]],
  },
  {
    field: 'verify.readDataSubset',
    spec: (subset) => ({ verify: { schedule: '@weekly', readDataSubset: subset } }),
    cases: [
      ['a fixed group n/m as the subset', '1/5', `${FIXED_GROUP} on every scheduled run`],
      ['a subset of 0%', '0%', PERCENT],
      ['a subset above 100%', '150%'],
      ['a subset of 101%', '101%', PERCENT],
      ['a subset of three decimals', '0.001%', ': use a percentage .* with up to two decimals'],
      ['a fixed group 1/3 as the subset', '1/3', FIXED_GROUP],
      ['a subset without the percent sign', '5'],
    ],
  },
];

/** Numbers the schema's minimum or maximum refuses. */
const outOfBounds: [name: string, field: string, value: number, bound: 'greater' | 'less', limit: number][] = [
  ['keepLast 0', 'retention.keepLast', 0, 'greater', 1],
  ['a negative keepDaily', 'retention.keepDaily', -1, 'greater', 1],
  ['a starting deadline under 10 s', 'startingDeadlineSeconds', 5, 'greater', 10],
  ['an active deadline of 0', 'activeDeadlineSeconds', 0, 'greater', 1],
  ['a backoff limit of 11', 'backoffLimit', 11, 'less', 10],
  ['runAsUser 0', 'securityContext.runAsUser', 0, 'greater', 1],
];

/** Fields the schema does not have (pruning would drop them silently; strict field validation refuses them). */
const unknownFields: [name: string, spec: Spec, field: string][] = [
  [
    'a retention floor in the Backup (the cluster sets it, no Backup can lower it)',
    { retention: { keepWithin: '1h' } },
    'retention.keepWithin',
  ],
  ['an unknown retention rule', { retention: { keepYearly: 2 } }, 'retention.keepYearly'],
  ['a GPU resource', { resources: { limits: { 'nvidia.com/gpu': 1 } } }, 'resources.limits.nvidia.com/gpu'],
  ['a privileged securityContext', { securityContext: { privileged: true } }, 'securityContext.privileged'],
  ['an unknown spec field', { schedule: '0 2 * * *' }, 'schedule'],
  ['an unknown verify field', { verify: { schedule: '@weekly', every: '7d' } }, 'verify.every'],
];

/** Messages of their own. */
const others: Refusal[] = [
  [
    'a shopName of 64 characters',
    { shopName: 'a'.repeat(64) },
    /spec\.shopName: Too long: may not be more than 63 bytes/,
    'spec.shopName',
  ],
  ['verification without a schedule', { verify: {} }, /spec\.verify\.schedule: Required value/, 'spec.verify.schedule'],
  [
    'a negative memory request',
    { resources: { requests: { memory: '-1Gi' } } },
    /spec\.resources\.requests\.memory: Invalid value: "-1Gi"/,
    'spec.resources.requests.memory',
  ],
  [
    'a negative CPU limit as a number',
    { resources: { limits: { cpu: -1 } } },
    /spec\.resources\.limits\.cpu: Invalid value: .*a quantity must not be negative/,
    'spec.resources.limits.cpu',
  ],
  [
    'a malformed memory quantity',
    { resources: { limits: { memory: '1 GB' } } },
    /spec\.resources\.limits\.memory: Invalid value: "1 GB": spec\.resources\.limits\.memory in body should match '/,
    'spec.resources.limits.memory',
  ],
  [
    'a PVC vault escaping its volume',
    { vaultLocation: 'pvc://vault/../etc' },
    /vaultLocation must not contain a "\.\." path segment/,
    'spec.vaultLocation',
  ],
  [
    'a REST vault with a user and password in the URL',
    { vaultLocation: 'rest:https://alice:s3cret@vault.mall.internal:8000/bakery' },
    new RegExp(
      /vaultLocation must not carry credentials \("user:password@"\): they belong in the Secret named /.source +
        /by vaultCredentialsSecret/.source,
    ),
    'spec.vaultLocation',
  ],
  [
    'a REST vault with a user in the URL',
    { vaultLocation: 'rest:https://alice@vault.mall.internal/bakery' },
    /vaultLocation must not carry credentials/,
    'spec.vaultLocation',
  ],
  [
    'an S3 vault with keys in the URL',
    { vaultLocation: 's3:https://AKIAEXAMPLE:secret@s3.amazonaws.com/mall-vault/bakery' },
    /vaultLocation must not carry credentials .*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3:/,
    'spec.vaultLocation',
  ],
  [
    'an empty volumeClaims list',
    { volumeClaims: [] },
    /spec\.volumeClaims: Invalid value: 0: spec\.volumeClaims in body should have at least 1 items/,
    'spec.volumeClaims',
  ],
  [
    'a repeated volume claim',
    { volumeClaims: ['data', 'data'] },
    /spec\.volumeClaims\[1\]: Duplicate value: "data"/,
    'spec.volumeClaims[1]',
  ],
  [
    'the vault claim among the volumes',
    { volumeClaims: ['vault', 'data'], vaultLocation: 'pvc://vault/shops' },
    /spec\.volumeClaims: Invalid value: the vault claim named in vaultLocation must not also be listed in volumeClaims/,
    'spec.volumeClaims',
  ],
  [
    'concurrencyPolicy Allow',
    { concurrencyPolicy: 'Allow' },
    /spec\.concurrencyPolicy: Unsupported value: "Allow": supported values: "Forbid", "Replace"/,
    'spec.concurrencyPolicy',
  ],
  [
    'a string for suspend',
    { suspend: 'yes' },
    /spec\.suspend: Invalid value: "string": spec\.suspend in body must be of type boolean/,
    'spec.suspend',
  ],
];

export const INVALID: Refusal[] = [
  ...required.map(
    ([field, spec]): Refusal => [`no ${field}`, spec, new RegExp(`spec\\.${field}: Required value`), `spec.${field}`],
  ),
  ...refusedValues.flatMap(({ field, label = field, at = `spec.${field}`, spec, verdict = 'is not valid', cases }) =>
    cases.map(
      ([name, value, detail = '']): Refusal => [
        name,
        spec ? spec(value) : nested(field, value),
        new RegExp(`${escaped(`${label} "${value}" ${verdict}`)}${detail}`),
        at,
      ],
    ),
  ),
  ...outOfBounds.map(([name, field, value, bound, limit]): Refusal => {
    const path = escaped(`spec.${field}`);
    return [
      name,
      nested(field, value),
      new RegExp(`${path}: Invalid value: ${value}: ${path} in body should be ${bound} than or equal to ${limit}`),
      `spec.${field}`,
    ];
  }),
  ...unknownFields.map(
    ([name, spec, field]): Refusal => [
      name,
      spec,
      new RegExp(escaped(`unknown field "spec.${field}"`)),
      `spec.${field}`,
    ],
  ),
  ...others,
];
