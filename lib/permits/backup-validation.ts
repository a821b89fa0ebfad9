import * as api from './backup-api';
import { effectiveSchedule } from './schedule-window';
import { BACKUP_SCHEMA } from './backup-schema';
import { JsonSchema, stringFormOf } from './schema-parts';
import { scheduleProblem } from './cron';
import { show } from '../common/prop-errors';
import { compareQuantities } from '../common/resources';
import { KUBERNETES_TIME_ZONES } from './time-zones';

/**
 * Checks a Backup `spec` (wire form) the way the API server will, plus what the API server cannot
 * check (the time zone database), without a CEL engine: the structural keywords are read from
 * `BACKUP_SCHEMA` and the string forms from the same patterns its CEL rules use. Constructs call it at
 * synth time and the operator before it renders anything.
 *
 * @returns one message per problem, each naming the field, the bad value and what is allowed; empty when valid
 */
export function validateBackupSpec(spec: unknown): string[] {
  const problems = schemaProblems(BACKUP_SCHEMA.properties!.spec, spec, 'spec');
  if (problems.length === 0) {
    checkCrossField(spec as Record<string, unknown>, problems);
  }
  return problems;
}

/**
 * Problems with `value` against a structural schema: types, required and unknown fields, bounds,
 * enums, list uniqueness and the string forms of `patternedString` fields. Each names the path (`at`
 * for the root), the bad value and what is allowed.
 */
export function schemaProblems(schema: JsonSchema, value: unknown, at: string): string[] {
  const problems: string[] = [];
  walk(schema, value, at, problems);
  return problems;
}

const KNOWN_TIME_ZONES = new Set(KUBERNETES_TIME_ZONES);

/**
 * Whether Kubernetes accepts `name` as a CronJob time zone: Go's time zone database, case-sensitive.
 * Node's own (ICU) also takes aliases and any letter case, which the API server would refuse.
 */
export function isKnownTimeZone(name: string): boolean {
  return KNOWN_TIME_ZONES.has(name);
}

/** Problems with a Backup's name: it becomes a label value on what the Backup makes. */
export function validateBackupName(name: string): string[] {
  return name.length > api.BACKUP_NAME_MAX_LENGTH
    ? [
        `metadata.name ${show(name)} is ${name.length} characters long: at most ` +
          `${api.BACKUP_NAME_MAX_LENGTH} allowed, as it labels the Backup's CronJob, Jobs and pods`,
      ]
    : [];
}

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function walk(schema: JsonSchema, value: unknown, path: string, problems: string[]): void {
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'string' && schema.maxLength !== undefined && value.length > schema.maxLength) {
      problems.push(`${path} is ${value.length} characters long: at most ${schema.maxLength} allowed`);
      return;
    }
    const ok =
      (typeof value === 'number' && Number.isInteger(value) && value >= 0) ||
      (typeof value === 'string' && new RegExp(schema.pattern ?? '').test(value));
    if (!ok)
      problems.push(
        `${path} ${show(value)} is not valid: use a non-negative Kubernetes quantity such as "500m", "128Mi" or 2`,
      );
    return;
  }
  const actual = typeOf(value);
  if (schema.type && actual !== schema.type) {
    problems.push(`${path} ${show(value)} is not valid: must be of type ${schema.type}, not ${actual}`);
    return;
  }
  switch (schema.type) {
    case 'object':
      return walkObject(schema, value as Record<string, unknown>, path, problems);
    case 'array':
      return walkArray(schema, value as unknown[], path, problems);
    case 'string':
      return checkString(schema, value as string, path, problems);
    case 'integer':
      return checkInteger(schema, value as number, path, problems);
    default:
      return;
  }
}

function walkObject(schema: JsonSchema, value: Record<string, unknown>, path: string, problems: string[]): void {
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) problems.push(`${path}.${name} is required`);
  }
  for (const [name, child] of Object.entries(value)) {
    if (child === undefined) continue;
    const childSchema = properties[name];
    if (!childSchema) {
      problems.push(`${path}.${name} is not a known field: use one of ${Object.keys(properties).join(', ')}`);
      continue;
    }
    walk(childSchema, child, `${path}.${name}`, problems);
  }
}

function walkArray(schema: JsonSchema, value: unknown[], path: string, problems: string[]): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    problems.push(`${path} has ${value.length} items: at least ${schema.minItems} required (leave it out instead)`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    problems.push(`${path} has ${value.length} items: at most ${schema.maxItems} allowed`);
  }
  if (schema['x-kubernetes-list-type'] === 'set') {
    const seen = new Set<string>();
    for (const item of value) {
      const key = show(item);
      if (seen.has(key)) problems.push(`${path} lists ${key} twice: each item must be unique`);
      seen.add(key);
    }
  }
  value.forEach((item, i) => walk(schema.items!, item, `${path}[${i}]`, problems));
}

function checkString(schema: JsonSchema, value: string, path: string, problems: string[]): void {
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(`${path} ${show(value)} is not valid: use one of ${schema.enum.join(', ')}`);
    return;
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    problems.push(`${path} is ${value.length} characters long: at most ${schema.maxLength} allowed`);
    return;
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    problems.push(`${path} ${show(value)} is too short: at least ${schema.minLength} character(s) required`);
    return;
  }
  const form = stringFormOf(schema);
  if (!form) return;
  if (!form.patterns.some((p) => new RegExp(p).test(value))) {
    problems.push(`${path} ${show(value)} is not valid: ${form.accepted}`);
    return;
  }
  for (const { pattern, message, quiet } of form.forbidden ?? []) {
    if (new RegExp(pattern).test(value))
      problems.push(quiet ? `${path} is not valid: ${message}` : `${path} ${show(value)} is not valid: ${message}`);
  }
}

function checkInteger(schema: JsonSchema, value: number, path: string, problems: string[]): void {
  const { minimum, maximum } = schema;
  if ((minimum !== undefined && value < minimum) || (maximum !== undefined && value > maximum)) {
    problems.push(`${path} ${value} is not valid: use an integer from ${minimum ?? '-∞'} to ${maximum ?? '∞'}`);
  }
}

/** The rules that read more than one field, and the time zone database. */
function checkCrossField(spec: Record<string, unknown>, problems: string[]): void {
  const zone = spec.timeZone as string | undefined;
  if (zone !== undefined && !isKnownTimeZone(zone)) {
    problems.push(`spec.timeZone ${show(zone)} is not a time zone Kubernetes knows: ${api.TIME_ZONE_KNOWN_FORMS}`);
  }
  // Any identity will do: every minute of a window is a valid schedule.
  const schedule = effectiveSchedule(spec.backupTime as string, { name: '' });
  const cronProblem = scheduleProblem(schedule);
  if (cronProblem)
    problems.push(`spec.backupTime ${show(spec.backupTime)} is not a schedule Kubernetes accepts: ${cronProblem}`);
  const verify = spec.verify as { schedule: string } | undefined;
  const verifyProblem = verify && scheduleProblem(effectiveSchedule(verify.schedule, { name: '' }));
  if (verifyProblem)
    problems.push(
      `spec.verify.schedule ${show(verify.schedule)} is not a schedule Kubernetes accepts: ${verifyProblem}`,
    );
  const resources = (spec.resources ?? {}) as {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  for (const [name, request] of Object.entries(resources.requests ?? {})) {
    const limit = resources.limits?.[name];
    if (limit !== undefined && (compareQuantities(request, limit) ?? 0) > 0) {
      problems.push(
        `spec.resources.requests.${name} ${show(request)} is above ` +
          `limits.${name} ${show(limit)}: a request may not exceed its limit`,
      );
    }
  }
  const vault = spec.vaultLocation as string;
  const claims = (spec.volumeClaims ?? []) as string[];
  const vaultClaim = pvcVaultClaim(vault);
  if (vaultClaim !== undefined && claims.includes(vaultClaim)) {
    problems.push(
      `spec.volumeClaims lists ${show(vaultClaim)}, the vault claim of vaultLocation ${show(vault)}: ` +
        'a backup must not contain its own vault',
    );
  }
}

/** The claim of a `pvc://<claim>/<path>` vault, or undefined for a remote vault. */
export function pvcVaultClaim(vaultLocation: string): string | undefined {
  if (!vaultLocation.startsWith(api.PVC_VAULT_PREFIX)) return undefined;
  return vaultLocation.slice(api.PVC_VAULT_PREFIX.length).split('/')[0];
}
