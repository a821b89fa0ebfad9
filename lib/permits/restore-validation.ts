import { schemaProblems } from './backup-validation';
import { show } from '../common/prop-errors';
import * as rapi from './restore-api';
import { RESTORE_SCHEMA } from './restore-schema';

/** RFC 3339 date-time, what the API server's `format: date-time` accepts. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The name rule the CRD holds Restores to (what the operator checks on objects filed before it). */
export function validateRestoreName(name: string): string[] {
  return name.length > rapi.RESTORE_NAME_MAX_LENGTH
    ? [
        `metadata.name ${show(name)} is ${name.length} characters long: at most ${rapi.RESTORE_NAME_MAX_LENGTH} ` +
          `allowed, as it labels the Restore's Job, pods and new claims`,
      ]
    : [];
}

/**
 * Checks a Restore `spec` (wire form) the way the API server will: the structural schema read from
 * `RESTORE_SCHEMA`, then the rules its CEL expresses, in words that name the field, the value and
 * what is allowed.
 */
export function validateRestoreSpec(spec: unknown): string[] {
  const problems = schemaProblems(RESTORE_SCHEMA.properties!.spec, spec, 'spec');
  if (problems.length > 0) return problems;
  const s = spec as Record<string, any>;
  if (s.pointInTime !== undefined && (!RFC3339.test(s.pointInTime) || Number.isNaN(Date.parse(s.pointInTime)))) {
    problems.push(
      `spec.pointInTime ${show(s.pointInTime)} is not valid: use an RFC 3339 time such as "2024-05-01T02:00:00Z"`,
    );
  }
  if (s.snapshotID !== undefined && s.pointInTime !== undefined) {
    problems.push('spec.pointInTime: give snapshotID or pointInTime, not both');
  }
  const kinds = rapi.RESTORE_TARGET_KINDS.filter((k) => s.target[k] !== undefined);
  if (kinds.length !== 1) {
    problems.push(
      `spec.target names ${kinds.length ? kinds.join(' and ') : 'nothing'}: ` +
        `name exactly one of ${rapi.RESTORE_TARGET_KINDS.join(', ')}`,
    );
  }
  if (s.target.inPlace === false)
    problems.push(
      'spec.target.inPlace false is not valid: inPlace may only be true; leave it out to restore elsewhere',
    );
  if (s.target.existingClaim !== undefined && (s.claims ?? []).includes(s.target.existingClaim)) {
    problems.push(
      `spec.target.existingClaim ${show(s.target.existingClaim)} is one of ` +
        `the claims restored: use inPlace: true to restore a claim into itself`,
    );
  }
  if (s.paths !== undefined && s.claims?.length !== 1) {
    problems.push(
      `spec.paths needs exactly one claim in claims, not ${
        s.claims === undefined ? 'every claim of the Backup (claims is left out)' : s.claims.length
      }: ${rapi.RESTORE_PATHS_CLAIMS_ADVICE}`,
    );
  }
  return problems;
}
