import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { QUANTITY_PATTERN } from '../permits/backup-api';
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
const BINARY_SUFFIXES: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIXES: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The value of a Kubernetes quantity as a number (base units), or undefined when it is not one. */
export function quantityValue(quantity: string): number | undefined {
  if (!QUANTITY.test(quantity)) return undefined;
  const match = /^([+-]?[0-9.]+)(.*)$/.exec(quantity)!;
  const [, number, suffix] = match;
  if (/^[eE]/.test(suffix)) return Number(quantity);
  const factor = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix];
  return factor === undefined ? undefined : Number(number) * factor;
}

/** Problems with `spec` (named `prop` in messages): malformed quantities, a request above its limit, a missing limit. */
export function checkResources(prop: string, spec: ResourceSpec): string[] {
  const problems: string[] = [];
  for (const kind of ['cpu', 'memory'] as const) {
    const request = spec.requests?.[kind];
    const limit = spec.limits?.[kind];
    for (const [where, value] of [['requests', request], ['limits', limit]] as const) {
      if (value !== undefined && (quantityValue(value) === undefined || quantityValue(value)! <= 0)) {
        problems.push(`${prop}.${where}.${kind} ${show(value)} is not valid: use a positive Kubernetes quantity such as "${kind === 'cpu' ? '500m' : '256Mi'}"`);
      }
    }
    if (request === undefined || limit === undefined) {
      problems.push(`${prop} must set both requests.${kind} and limits.${kind}: every container we render is bounded`);
    } else if ((quantityValue(request) ?? 0) > (quantityValue(limit) ?? Infinity)) {
      problems.push(`${prop}.requests.${kind} ${show(request)} is above limits.${kind} ${show(limit)}: a request may not exceed its limit`);
    }
  }
  return problems;
}

export function toResourceRequirements(spec: ResourceSpec): k8s.ResourceRequirements {
  const amounts = (a?: ResourceAmounts) => a && Object.fromEntries(
    Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => [k, k8s.Quantity.fromString(v as string)]));
  return { requests: amounts(spec.requests), limits: amounts(spec.limits) };
}

type Amounts = Record<string, string | number>;

/**
 * A Backup's own requests and limits, with the operator's defaults filling only what it leaves out, and
 * only where the default cannot clash: a default limit below the Backup's request (or a default request
 * above its limit) is left out, as the API server refuses a request above its limit.
 */
export function mergeResources(own: { requests?: Amounts; limits?: Amounts }, fallback: ResourceSpec): { requests: Amounts; limits: Amounts } {
  const requests: Amounts = { ...own.requests };
  const limits: Amounts = { ...own.limits };
  const amount = (v: string | number | undefined) => (v === undefined ? undefined : quantityValue(String(v)));
  for (const [name, value] of Object.entries(fallback.limits ?? {})) {
    if (value !== undefined && limits[name] === undefined && !((amount(requests[name]) ?? 0) > amount(value)!)) limits[name] = value;
  }
  for (const [name, value] of Object.entries(fallback.requests ?? {})) {
    if (value !== undefined && requests[name] === undefined && !(amount(value)! > (amount(limits[name]) ?? Infinity))) requests[name] = value;
  }
  return { requests, limits };
}
