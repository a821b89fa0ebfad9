import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { QUANTITY_PATTERN, RESOURCE_NAMES } from '../permits/backup-api';
import { show } from './prop-errors';

export interface ResourceAmounts {
  /** e.g. "50m" or "1" */
  readonly cpu?: string;
  /** e.g. "64Mi" */
  readonly memory?: string;
}

/** Requests and limits of a container, as Kubernetes quantities. */
export interface ResourceSpec {
  readonly requests?: ResourceAmounts;
  readonly limits?: ResourceAmounts;
}

const QUANTITY = new RegExp(QUANTITY_PATTERN);
const BINARY_POWERS: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_POWERS: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const NANO = 9;
/** The API server caps binary-suffixed amounts (BinarySI) at the largest int64, and only those. */
const BINARY_CAP = ((1n << 63n) - 1n) * 10n ** BigInt(NANO);

/**
 * A quantity in nano units, exactly as the API server reads it (resource.ParseQuantity): decimal
 * arithmetic without loss, non-zero amounts rounded up to a whole nano unit, binary-suffixed amounts
 * capped at 2^63-1. Undefined when it is not a quantity. "1E" and "1Ei" are exa amounts, not exponents.
 */
export function quantityNanos(quantity: string | number): bigint | undefined {
  const text = String(quantity);
  if (!QUANTITY.test(text)) return undefined;
  const [, sign, whole, fraction = '', suffix] = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/.exec(text)!;
  let digits = BigInt(`${whole}${fraction}` || '0');
  let power10 = NANO - fraction.length;
  const binary = BINARY_POWERS[suffix];
  if (binary !== undefined) digits <<= BigInt(binary);
  else power10 += DECIMAL_POWERS[suffix] ?? Number(suffix.slice(1));
  let nanos: bigint;
  if (power10 >= 0) {
    nanos = digits * 10n ** BigInt(power10);
  } else {
    const divisor = 10n ** BigInt(-power10);
    nanos = digits / divisor + (digits % divisor === 0n ? 0n : 1n);
  }
  if (binary !== undefined && nanos > BINARY_CAP) nanos = BINARY_CAP;
  return sign === '-' ? -nanos : nanos;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b` for the API server; undefined when either is not a quantity. */
export function compareQuantities(a: string | number, b: string | number): number | undefined {
  const [x, y] = [quantityNanos(a), quantityNanos(b)];
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The value of a Kubernetes quantity as a number (base units, approximate), or undefined when it is not one. */
export function quantityValue(quantity: string): number | undefined {
  const nanos = quantityNanos(quantity);
  return nanos === undefined ? undefined : Number(nanos) / 1e9;
}

/**
 * Problems with `spec` (named `prop` in messages): malformed quantities, a request above its limit, a missing limit.
 */
export function checkResources(prop: string, spec: ResourceSpec): string[] {
  const problems: string[] = [];
  for (const kind of ['cpu', 'memory'] as const) {
    const request = spec.requests?.[kind];
    const limit = spec.limits?.[kind];
    for (const [where, value] of [
      ['requests', request],
      ['limits', limit],
    ] as const) {
      if (value !== undefined && !((quantityNanos(value) ?? 0n) > 0n)) {
        problems.push(
          `${prop}.${where}.${kind} ${show(value)} is not valid: use a positive ` +
            `Kubernetes quantity such as "${kind === 'cpu' ? '500m' : '256Mi'}"`,
        );
      }
    }
    if (request === undefined || limit === undefined) {
      problems.push(`${prop} must set both requests.${kind} and limits.${kind}: every container we render is bounded`);
    } else if ((compareQuantities(request, limit) ?? 0) > 0) {
      problems.push(
        `${prop}.requests.${kind} ${show(request)} is above ` +
          `limits.${kind} ${show(limit)}: a request may not exceed its limit`,
      );
    }
  }
  return problems;
}

export function toResourceRequirements(spec: ResourceSpec): k8s.ResourceRequirements {
  const amounts = (a?: ResourceAmounts) =>
    a &&
    Object.fromEntries(
      Object.entries(a)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, k8s.Quantity.fromString(v as string)]),
    );
  return { requests: amounts(spec.requests), limits: amounts(spec.limits) };
}

type Amounts = Record<string, string | number>;
/** A Backup's own amounts as the API stores them (spec.resources.requests or .limits). */
type OwnAmounts = { readonly [name in (typeof RESOURCE_NAMES)[number]]?: string | number };

/**
 * A Backup's own requests and limits, with the operator's defaults filling only what it leaves out, and
 * only where the default cannot clash: a default limit below the Backup's request (or a default request
 * above its limit) is left out, as the API server refuses a request above its limit.
 */
export function mergeResources(
  own: { readonly requests?: OwnAmounts; readonly limits?: OwnAmounts },
  fallback: ResourceSpec,
): { requests: Amounts; limits: Amounts } {
  const requests: Amounts = { ...own.requests };
  const limits: Amounts = { ...own.limits };
  // Undefined or unreadable amounts never clash.
  const above = (a: string | number | undefined, b: string | number | undefined) =>
    a !== undefined && b !== undefined && (compareQuantities(a, b) ?? 0) > 0;
  for (const [name, value] of Object.entries(fallback.limits ?? {})) {
    if (value !== undefined && limits[name] === undefined && !above(requests[name], value)) limits[name] = value;
  }
  for (const [name, value] of Object.entries(fallback.requests ?? {})) {
    if (value !== undefined && requests[name] === undefined && !above(value, limits[name])) requests[name] = value;
  }
  return { requests, limits };
}
