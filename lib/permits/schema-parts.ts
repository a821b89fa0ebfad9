/**
 * The building blocks of the permit schemas (Backup and Restore): the structural schema type in wire form,
 * CEL rules, and the field kinds every permit uses (patterned strings, names, bounded integers, quantities,
 * timestamps, conditions, the top level).
 */
import * as api from './backup-api';

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

/**
 * The accepted forms of a patterned string field, kept beside its schema so TypeScript checks read the same patterns as
 * CEL.
 */
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

export function timestamp(description: string): JsonSchema {
  return { type: 'string', format: 'date-time', description };
}

/** A metav1.Condition of `kind` (e.g. "Backup"), whose types are listed in `types`. */
function conditionSchema(kind: string, types: string): JsonSchema {
  return {
    type: 'object',
    description: `One aspect of the ${kind}'s state (metav1.Condition).`,
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: {
        type: 'string',
        maxLength: 316,
        pattern:
          '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?' +
          '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
        description: types,
      },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'True, False or Unknown.' },
      observedGeneration: observedGeneration('The metadata.generation this condition was computed from.'),
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

/**
 * A status' conditions (metav1.Condition), one per type, as `kubectl wait --for=condition=` reads them: `types`
 * names the types a `kind` has, `description` what each says.
 */
export function conditionsSchema(kind: string, types: string, description: string): JsonSchema {
  return {
    type: 'array',
    description,
    items: conditionSchema(kind, types),
    maxItems: 8,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  };
}

/** A metadata.generation a status (or one of its conditions) was computed from. */
export function observedGeneration(description: string): JsonSchema {
  return { type: 'integer', format: 'int64', minimum: 0, description };
}

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
