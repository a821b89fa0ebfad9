/**
 * The Restore admission table: permits the CRD must admit and permits it must refuse, each refusal with the message
 * it gives (the real API server's words; the offline model's where they differ, as alternatives). `restore-crd.test.ts`
 * checks them against the offline model and the synth-time validation; `cluster/restore-admission.test.ts` against
 * the real API server.
 */
export const minimalSpec = { backupName: 'bakery', target: { newClaims: { size: '10Gi' } } };
/** A Restore with `spec` over the minimal spec; a field set to undefined is left out. */
export function restore(spec: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...minimalSpec, ...spec };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Restore',
    metadata: { name: 'r', namespace: 'shops' },
    spec: merged,
  };
}

export const VALID: [string, Record<string, unknown>][] = [
  ['the minimal permit: latest snapshot into new claims', {}],
  ['a snapshot ID prefix', { snapshotID: '4f3c2a1b' }],
  ['a full snapshot ID', { snapshotID: 'a'.repeat(64) }],
  ['a point in time in UTC', { pointInTime: '2024-05-01T02:00:00Z' }],
  ['a point in time with an offset', { pointInTime: '2024-05-01T04:00:00+02:00' }],
  ['chosen claims', { claims: ['bakery-data', 'bakery.db'] }],
  ['new claims with a storage class', { target: { newClaims: { size: 1073741824, storageClassName: 'fast-ssd' } } }],
  ['an existing claim', { target: { existingClaim: 'scratch' }, claims: ['bakery-data'] }],
  ['in place', { target: { inPlace: true } }],
  ['a deadline', { activeDeadlineSeconds: 3600 }],
  ['paths of one claim', { claims: ['bakery-data'], paths: ['/db', '/uploads/2026/report.pdf'] }],
  [
    'paths with spaces, quotes, shell text, a leading "-" and non-ASCII, taken literally',
    { claims: ['bakery-data'], paths: ['/a b/c\'d"e', '/$(reboot)', '/-rf', '/caf\u00e9/\u6f22'] },
  ],
  ['the most paths', { claims: ['d'], paths: Array.from({ length: 64 }, (_, i) => `/p${i}`) }],
  ['the longest path', { claims: ['d'], paths: [`/${'a'.repeat(1023)}`] }],
  ['a line separator, which is no control character', { claims: ['d'], paths: ['/a\u2028b'] }],
  ['a dotted name that is not "." or ".."', { claims: ['d'], paths: ['/.config/...x/a..b'] }],
];

export const one = { claims: ['bakery-data'] };

export const INVALID: [string, Record<string, unknown>, RegExp][] = [
  ['no backupName', { backupName: undefined }, /spec\.backupName: Required value/],
  ['no target', { target: undefined }, /spec\.target: Required value/],
  ['an upper-case backupName', { backupName: 'Bakery' }, /backupName "Bakery" is not valid: use a DNS-1123 subdomain/],
  [
    'a snapshot ID with upper case',
    { snapshotID: '4F3C2A1B' },
    /snapshotID "4F3C2A1B" is not valid: use a restic snapshot ID/,
  ],
  ['a snapshot ID too short', { snapshotID: '4f3c' }, /snapshotID "4f3c" is not valid/],
  ['latest spelled out as an ID', { snapshotID: 'latest' }, /snapshotID "latest" is not valid/],
  ['a snapshot ID with shell text', { snapshotID: '4f3c2a1b;reboot' }, /snapshotID "4f3c2a1b;reboot" is not valid/],
  [
    'a date without a time',
    { pointInTime: '2024-05-01' },
    /spec\.pointInTime: Invalid value: "2024-05-01": (must match format "date-time"|.* must be of type date-time)/,
  ],
  [
    'both an ID and a point in time',
    { snapshotID: '4f3c2a1b', pointInTime: '2024-05-01T02:00:00Z' },
    /spec\.pointInTime: Invalid value: give snapshotID or pointInTime, not both/,
  ],
  [
    'an empty claims list',
    { claims: [] },
    /spec\.claims: Invalid value: 0: spec\.claims in body should have at least 1 items/,
  ],
  ['a repeated claim', { claims: ['a', 'a'] }, /spec\.claims\[1\]: Duplicate value: "a"/],
  ['a claim with upper case', { claims: ['Data'] }, /claims\[\] "Data" is not valid/],
  [
    'no target kind',
    { target: {} },
    /spec\.target: Invalid value: target must name exactly one of newClaims, existingClaim, inPlace/,
  ],
  [
    'two target kinds',
    { target: { existingClaim: 'x', inPlace: true } },
    /target must name exactly one of newClaims, existingClaim, inPlace/,
  ],
  [
    'inPlace false',
    { target: { inPlace: false } },
    /spec\.target\.inPlace: Invalid value: false: inPlace may only be true/,
  ],
  ['new claims without a size', { target: { newClaims: {} } }, /spec\.target\.newClaims\.size: Required value/],
  [
    'a malformed size',
    { target: { newClaims: { size: '10 GB' } } },
    /spec\.target\.newClaims\.size: Invalid value: "10 GB": spec\.target\.newClaims\.size in body should match /,
  ],
  [
    'a storage class with upper case',
    { target: { newClaims: { size: '1Gi', storageClassName: 'Fast' } } },
    /storageClassName "Fast" is not valid/,
  ],
  [
    'an existing claim that is also restored',
    { target: { existingClaim: 'a' }, claims: ['a', 'b'] },
    /spec\.target\.existingClaim: Invalid value: target\.existingClaim must not be one of the claims restored/,
  ],
  [
    'a deadline of 0',
    { activeDeadlineSeconds: 0 },
    new RegExp(
      /spec\.activeDeadlineSeconds: Invalid value: 0: spec\.activeDeadlineSeconds in body should be /.source +
        /greater than or equal to 1/.source,
    ),
  ],
  ['an unknown field', { overwrite: true }, /unknown field "spec\.overwrite"/],
  [
    'paths without claims',
    { paths: ['/db'] },
    /spec\.paths: Invalid value: paths needs exactly one claim in claims: each path is looked up in that claim/,
  ],
  [
    'paths with two claims',
    { claims: ['a', 'b'], paths: ['/db'] },
    /spec\.paths: Invalid value: paths needs exactly one claim in claims: each path is looked up in that claim/,
  ],
  ['an empty paths list', { ...one, paths: [] }, /spec\.paths in body should have at least 1 items/],
  [
    'a relative path',
    { ...one, paths: ['db'] },
    /paths\[\] "db" is not valid: use a path inside the claim starting with "\/"/,
  ],
  ['the root alone', { ...one, paths: ['/'] }, /paths\[\] "\/" is not valid: use a path inside the claim/],
  ['a trailing slash', { ...one, paths: ['/db/'] }, /paths\[\] "\/db\/" is not valid: use a path inside/],
  ['an empty segment', { ...one, paths: ['/db//x'] }, /paths\[\] "\/db\/\/x" is not valid: use a path inside/],
  ['a glob', { ...one, paths: ['/db/*.sql'] }, /paths\[\] "\/db\/\*\.sql" is not valid: a path is taken literally/],
  ['a question mark', { ...one, paths: ['/db?'] }, /a path is taken literally: the glob characters/],
  ['a bracket', { ...one, paths: ['/db[1]'] }, /a path is taken literally: the glob characters/],
  ['a backslash', { ...one, paths: ['/db\\x'] }, /a path is taken literally: the glob characters/],
  ['a ".." folder', { ...one, paths: ['/db/../etc'] }, /"\/db\/\.\.\/etc" is not valid: a path must not hold a "\."/],
  ['a "." folder', { ...one, paths: ['/./db'] }, /is not valid: a path must not hold a "\." or "\.\." folder/],
  ['a path ending in ".."', { ...one, paths: ['/db/..'] }, /a path must not hold a "\." or "\.\." folder/],
  ['a newline', { ...one, paths: ['/db\nx'] }, /a path must not hold control characters/],
  ['a tab', { ...one, paths: ['/db\tx'] }, /a path must not hold control characters/],
  ['a DEL', { ...one, paths: ['/db\u007fx'] }, /a path must not hold control characters/],
  ['a repeated path', { ...one, paths: ['/db', '/db'] }, /spec\.paths\[1\]: Duplicate value: "\/db"/],
  [
    'too many paths',
    { ...one, paths: Array.from({ length: 65 }, (_, i) => `/p${i}`) },
    /spec\.paths: .*(at most|more than) 64 items/,
  ],
  [
    'a path too long',
    { ...one, paths: [`/${'a'.repeat(1024)}`] },
    /spec\.paths\[0\]: Too long: may not be (longer|more) than 1024/,
  ],
  ['an unknown target', { target: { bucket: 's3://x' } }, /unknown field "spec\.target\.bucket"/],
];
