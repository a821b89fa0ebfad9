import * as api from './backup-api';
import {
  boundedInteger,
  conditionsSchema,
  JsonSchema,
  objectName,
  objectProperties,
  observedGeneration,
  patternedString,
  quantity,
  timestamp,
} from './schema-parts';
import * as rapi from './restore-api';

const snapshotID = patternedString(
  { field: 'snapshotID', patterns: [rapi.SNAPSHOT_ID_PATTERN], accepted: `use ${rapi.SNAPSHOT_ID_FORMS}` },
  'Restore this snapshot (as listed by restic snapshots or ' +
    "the Backup's status.lastSnapshotID). It must belong to the " +
    'Backup and hold every claim restored. Leave out snapshotID and pointInTime for the newest snapshot of each claim.',
  64,
);

/** One entry of `spec.paths`: its forms are read by the synth-time check too (`patternedString`). */
const includedPath = patternedString(
  {
    field: 'paths[]',
    patterns: [rapi.RESTORE_PATH_PATTERN],
    accepted: rapi.RESTORE_PATH_FORMS,
    forbidden: rapi.RESTORE_PATH_FORBIDDEN,
  },
  'A file or folder (with everything below it) inside the claim, "/" being the claim\'s root.',
  rapi.RESTORE_PATH_MAX_LENGTH,
);

const paths: JsonSchema = {
  type: 'array',
  description:
    'Restore only these files and folders (a folder with everything below it), each a path inside the claim ' +
    'starting with "/" (e.g. "/db", "/uploads/2026"), taken literally: no glob characters, no "." or ".." ' +
    'folders, no "/" at the end. Needs exactly one claim in claims. Each path must be in the chosen snapshot: ' +
    'a path that is not fails the Restore before anything is written. Leave out to restore the whole claim.',
  minItems: 1,
  maxItems: rapi.RESTORE_PATHS_MAX,
  'x-kubernetes-list-type': 'set',
  items: includedPath,
};

const newClaims: JsonSchema = {
  type: 'object',
  description:
    'Restore each claim into a new PersistentVolumeClaim named <restore name>-<claim>, created by the operator ' +
    'and owned by nobody (it outlives the Restore). The restore ' +
    'fails, writing nothing, if such a claim already exists.',
  required: ['size'],
  properties: {
    size: quantity('Requested size of each new claim, as a Kubernetes quantity (e.g. "10Gi").'),
    storageClassName: objectName(
      'target.newClaims.storageClassName',
      "StorageClass of the new claims. Defaults to the cluster's default class.",
    ),
  },
};

const target: JsonSchema = {
  type: 'object',
  description:
    'Where the files go: exactly one of newClaims, existingClaim or inPlace. A restore never writes over ' +
    'files unless inPlace says so: into an existing claim it writes a folder per restored claim and refuses a ' +
    'folder that is not empty.',
  properties: {
    newClaims,
    existingClaim: objectName(
      'target.existingClaim',
      "An existing PersistentVolumeClaim in the Restore's namespace, " +
        'not one of the claims restored: each restored claim lands ' +
        'in its folder <claim>/, which must be missing or empty.',
    ),
    inPlace: {
      type: 'boolean',
      description:
        'true to restore into the source claims themselves, overwriting files of the same name (other files ' +
        'stay). Only done while no pod mounts them: the Restore waits until then.',
      'x-kubernetes-validations': [
        { rule: 'self', message: 'inPlace may only be true: leave it out to restore elsewhere' },
      ],
    },
  },
  'x-kubernetes-validations': [
    {
      rule: `${rapi.RESTORE_TARGET_KINDS.map((k) => `(has(self.${k}) ? 1 : 0)`).join(' + ')} == 1`,
      message: `target must name exactly one of ${rapi.RESTORE_TARGET_KINDS.join(', ')}`,
    },
  ],
};

const spec: JsonSchema = {
  type: 'object',
  description: 'The permit: which Backup, which snapshot, which claims and where to.',
  required: ['backupName', 'target'],
  properties: {
    backupName: objectName(
      'backupName',
      "The Backup, in the Restore's namespace, whose vault and snapshots to restore from. " +
        'Its vault Secret is handed to the restore pod.',
    ),
    snapshotID,
    pointInTime: timestamp(
      'Restore, for each claim, the newest snapshot of the Backup holding that claim taken at or ' +
        'before this time (RFC 3339, e.g. "2024-05-01T02:00:00Z").',
    ),
    claims: {
      type: 'array',
      description:
        "Which of the Backup's claims to restore, by name. Defaults to every claim the Backup backs up now. " +
        "Each is restored from a snapshot holding that claim: another claim's newer snapshot is never taken.",
      minItems: 1,
      maxItems: rapi.RESTORE_CLAIMS_MAX,
      'x-kubernetes-list-type': 'set',
      items: objectName('claims[]', 'Name of a PersistentVolumeClaim the Backup backs up.'),
    },
    paths,
    target,
    activeDeadlineSeconds: boundedInteger(
      'A restore still going after this many seconds is stopped and marked failed.',
      1,
      rapi.RESTORE_ACTIVE_DEADLINE_MAX,
    ),
  },
  'x-kubernetes-validations': [
    { rule: 'self == oldSelf', message: 'a Restore cannot be changed once filed: file a new one' },
    {
      rule: '!(has(self.snapshotID) && has(self.pointInTime))',
      message: 'give snapshotID or pointInTime, not both',
      fieldPath: '.pointInTime',
    },
    {
      rule:
        '!(has(self.claims) && has(self.target.existingClaim) && ' +
        'self.claims.exists(c, c == self.target.existingClaim))',
      message:
        'target.existingClaim must not be one of the claims restored: use inPlace: true to restore a claim into itself',
      fieldPath: '.target.existingClaim',
    },
    {
      // A missing path must be unambiguous: one claim to look it up in.
      rule: '!has(self.paths) || (has(self.claims) && size(self.claims) == 1)',
      message: rapi.RESTORE_PATHS_CLAIMS_MESSAGE,
      fieldPath: '.paths',
    },
  ],
};

const claimStatus: JsonSchema = {
  type: 'object',
  description: 'What was restored for one claim.',
  required: ['claim'],
  properties: {
    claim: { type: 'string', maxLength: api.DNS_SUBDOMAIN_MAX_LENGTH, description: 'The source claim.' },
    targetClaim: { type: 'string', maxLength: api.DNS_SUBDOMAIN_MAX_LENGTH, description: 'The claim written to.' },
    path: {
      type: 'string',
      maxLength: 512,
      description: 'The folder inside targetClaim the files went to ("/" for its root).',
    },
    snapshotID: {
      type: 'string',
      maxLength: 64,
      description:
        "The snapshot restored: restic's full ID (64 hex digits) when the restore chose it from the vault's listing " +
        "(a snapshotID, a pointInTime, paths, inPlace or more than one claim); restic's short form (its first 8 " +
        'hex digits, as restic snapshots lists it) for the newest snapshot of a single claim, which restic picks ' +
        'inside the restore and names only in that form.',
    },
    snapshotTime: timestamp('When that snapshot was taken.'),
    files: { type: 'integer', format: 'int64', minimum: 0, description: 'Files restored.' },
    bytes: { type: 'integer', format: 'int64', minimum: 0, description: 'Bytes restored (file contents).' },
  },
};

const status: JsonSchema = {
  type: 'object',
  description: 'What the operator observed. Written by the operator only.',
  properties: {
    phase: { type: 'string', enum: rapi.RESTORE_PHASES, description: `Summary: ${rapi.RESTORE_PHASES.join(', ')}.` },
    conditions: conditionsSchema(
      'Restore',
      `${rapi.RESTORE_CONDITIONS.ready} or ${rapi.RESTORE_CONDITIONS.succeeded}.`,
      `${rapi.RESTORE_CONDITIONS.ready} (source and target are in place) and ${rapi.RESTORE_CONDITIONS.succeeded} ` +
        '(the outcome).',
    ),
    observedGeneration: observedGeneration('The metadata.generation the status describes.'),
    jobName: { type: 'string', maxLength: 63, description: 'The restore Job.' },
    startTime: timestamp('When the restore Job started.'),
    completionTime: timestamp('When the restore finished, successfully or not.'),
    durationSeconds: { type: 'integer', format: 'int64', minimum: 0, description: 'How long the restore Job ran.' },
    snapshotID: {
      type: 'string',
      // One full ID and a comma per claim at most.
      maxLength: rapi.RESTORE_CLAIMS_MAX * 65,
      description:
        'The snapshots used, comma-separated (one per claim; usually the same), each as in claims[].snapshotID.',
    },
    claims: {
      type: 'array',
      description: 'What was restored, claim by claim.',
      maxItems: rapi.RESTORE_CLAIMS_MAX,
      items: claimStatus,
      'x-kubernetes-list-type': 'atomic',
    },
    message: {
      type: 'string',
      maxLength: api.STATUS_MESSAGE_MAX_LENGTH,
      description: 'Why the Restore is in its phase, in words.',
    },
  },
};

/** The Restore's `openAPIV3Schema`. */
export const RESTORE_SCHEMA: JsonSchema = {
  type: 'object',
  description: "A Restore Permit: asks the mall-backup operator to bring claims back from a Backup's vault.",
  required: ['spec'],
  'x-kubernetes-validations': [
    {
      // Its name is a label value on the Job, pods and claims it makes; label values stop at 63.
      rule: `size(self.metadata.name) <= ${rapi.RESTORE_NAME_MAX_LENGTH}`,
      message:
        `metadata.name is too long: at most ${rapi.RESTORE_NAME_MAX_LENGTH} characters, as it labels the ` +
        `Restore's Job, pods and new claims`,
    },
  ],
  properties: objectProperties(spec, status),
};

/** `kubectl get rsts` columns. */
export const RESTORE_PRINTER_COLUMNS = [
  { name: 'Backup', type: 'string', jsonPath: '.spec.backupName', description: 'The Backup restored from.' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary state.' },
  { name: 'Snapshot', type: 'string', jsonPath: '.status.snapshotID', description: 'The snapshots restored.' },
  {
    name: 'Point In Time',
    type: 'string',
    jsonPath: '.spec.pointInTime',
    priority: 1,
    description: 'Newest snapshot at or before this time.',
  },
  { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1, description: 'Why.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
] as const;
