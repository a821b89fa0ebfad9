/**
 * Admits or rejects a Backup the way the API server would with the synthesized CRD: structural
 * schema with defaults (ajv), unknown fields rejected (kubectl's strict field validation),
 * `x-kubernetes-list-type` uniqueness, then every `x-kubernetes-validations` CEL rule (@bufbuild/cel),
 * including transition rules against the old object on update.
 *
 * Known gap: @bufbuild/cel lacks the Kubernetes CEL libraries and optional field selection
 * (`self.?x`); the CRD's rules use neither, which `crd.test.ts` checks.
 */
import Ajv, { ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { run } from '@bufbuild/cel';

export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; fieldPath?: string }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [key: string]: unknown;
}

export interface Admission {
  readonly allowed: boolean;
  /** `<field path>: <message>` per problem, like the API server's `Invalid value` lines. */
  readonly errors: string[];
  /** The object after defaulting. */
  readonly object: Record<string, any>;
}

/** Converts JSON to CEL input: objects become maps and integers become `int` (BigInt). */
export function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  }
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value;
}

/** A copy of `schema` that ajv reads with Kubernetes semantics: unknown fields are errors. */
function strictForAjv(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, strictForAjv(v)]),
      );
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = strictForAjv(value as Schema);
    } else if (key === 'anyOf') {
      out.anyOf = (value as Schema[]).map(strictForAjv);
    } else {
      out[key] = value;
    }
  }
  if (
    schema.properties &&
    schema.additionalProperties === undefined &&
    !schema['x-kubernetes-preserve-unknown-fields']
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
}

/**
 * ajv's error in the API server's words (apiextensions-apiserver's schema validation and strict decoding),
 * so the offline model and the real server can be compared message by message (`cluster/admission.test.ts`).
 */
function describeAjvError(e: ErrorObject): string {
  const at = fieldPath(e.instancePath);
  const p = e.params as any;
  const value = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown field "${at ? `${at}.` : ''}${p.additionalProperty}"`;
    case 'required':
      return `${at ? `${at}.` : ''}${p.missingProperty}: Required value`;
    case 'enum':
      return (
        `${at}: Unsupported value: ${value(e.data)}: supported values: ` +
        `${p.allowedValues.map((v: string) => `"${v}"`).join(', ')}`
      );
    case 'minimum':
      return `${at}: Invalid value: ${e.data}: ${at} in body should be greater than or equal to ${p.limit}`;
    case 'maximum':
      return `${at}: Invalid value: ${e.data}: ${at} in body should be less than or equal to ${p.limit}`;
    case 'minItems':
      return (
        `${at}: Invalid value: ${(e.data as unknown[]).length}: ` +
        `${at} in body should have at least ${p.limit} items`
      );
    case 'maxLength':
      return `${at}: Too long: may not be more than ${p.limit} bytes`;
    case 'pattern':
      return `${at}: Invalid value: ${value(e.data)}: ${at} in body should match '${p.pattern}'`;
    case 'type': {
      const actual = Array.isArray(e.data) ? 'array' : e.data === null ? 'null' : typeof e.data;
      return `${at}: Invalid value: "${actual}": ${at} in body must be of type ${p.type}: "${actual}"`;
    }
    default:
      return `${at}: Invalid value: ${JSON.stringify(e.data)}: ${e.message}`;
  }
}

/** The value the API server prints before a failed rule's message: none for objects and lists. */
function shownValue(schema: Schema, value: unknown): string {
  if (schema.type === 'object' || schema.type === 'array') return '';
  return `${typeof value === 'string' ? JSON.stringify(value) : String(value)}: `;
}

export class BackupAdmission {
  private readonly validate: ReturnType<Ajv['compile']>;

  constructor(private readonly schema: Schema) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
    addFormats(ajv);
    this.validate = ajv.compile(strictForAjv(schema));
  }

  /** Admits `object` as a create, or as an update of `old` when given. */
  public admit(object: unknown, old?: unknown): Admission {
    const copy = structuredClone(object) as Record<string, any>;
    const errors: string[] = [];
    if (!this.validate(copy)) {
      // anyOf failures of int-or-string fields repeat once per branch; report each field once.
      errors.push(
        ...new Set(
          (this.validate.errors ?? [])
            .filter((e) => e.keyword !== 'type' || !e.schemaPath.includes('anyOf'))
            .map(describeAjvError),
        ),
      );
    }
    this.checkLists(this.schema, copy, '', errors);
    if (errors.length === 0) {
      const oldCopy = old === undefined ? undefined : this.admit(old).object;
      this.checkRules(this.schema, copy, oldCopy, '', errors);
    }
    return { allowed: errors.length === 0, errors, object: copy };
  }

  private checkLists(schema: Schema, value: unknown, at: string, errors: string[]): void {
    if (Array.isArray(value)) {
      const type = schema['x-kubernetes-list-type'];
      const keyOf =
        type === 'set'
          ? (v: unknown) => JSON.stringify(v)
          : type === 'map'
            ? (v: any) => JSON.stringify((schema['x-kubernetes-list-map-keys'] ?? []).map((k) => v?.[k]))
            : undefined;
      if (keyOf) {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const key = keyOf(item);
          if (seen.has(key)) errors.push(`${at}[${i}]: Duplicate value: ${key}`);
          seen.add(key);
        });
      }
      value.forEach((item, i) => schema.items && this.checkLists(schema.items, item, `${at}[${i}]`, errors));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const child = schema.properties?.[k];
        if (child) this.checkLists(child, v, at ? `${at}.${k}` : k, errors);
      }
    }
  }

  private checkRules(schema: Schema, value: unknown, old: unknown, at: string, errors: string[]): void {
    if (value === undefined) return;
    for (const rule of schema['x-kubernetes-validations'] ?? []) {
      const transition = /\boldSelf\b/.test(rule.rule);
      if (transition && old === undefined) continue;
      const bindings: Record<string, unknown> = { self: toCel(value) };
      if (transition) bindings.oldSelf = toCel(old);
      const result = run(rule.rule, bindings as any);
      if (result !== true) {
        let message = rule.message ?? `failed rule: ${rule.rule}`;
        if (rule.messageExpression) {
          const rendered = run(rule.messageExpression, bindings as any);
          if (typeof rendered === 'string') message = rendered;
        }
        if (result !== false) message = `${message} (rule did not evaluate to a bool: ${String(result)})`;
        errors.push(`${at}${rule.fieldPath ?? ''}: Invalid value: ${shownValue(schema, value)}${message}`);
      }
    }
    if (Array.isArray(value) && schema.items) {
      // Only list-type=map items correlate with old items; the CRD has no transition rule below a list.
      value.forEach((item, i) => this.checkRules(schema.items!, item, undefined, `${at}[${i}]`, errors));
    } else if (value !== null && typeof value === 'object' && schema.properties) {
      for (const [k, child] of Object.entries(schema.properties)) {
        const oldChild = old !== null && typeof old === 'object' ? (old as any)[k] : undefined;
        this.checkRules(child, (value as any)[k], oldChild, at ? `${at}.${k}` : k, errors);
      }
    }
  }
}
