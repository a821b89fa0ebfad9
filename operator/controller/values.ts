/** Times and value comparisons as the operator writes and reads them from the API server. */

/** RFC 3339 with whole seconds, as the API server writes times. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The later of two timestamps, either of which may be missing. */
export function later(a?: string, b?: string): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

/** Whether every field set in `desired` has the same value in `observed` (the API server adds defaults). */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(observed) && desired.length === observed.length && desired.every((d, i) => isSubset(d, observed[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (observed === null || typeof observed !== 'object') return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, (observed as any)[k]));
  }
  return desired === observed || String(desired) === String(observed);
}

/** JSON with object keys sorted, so equal values compare equal whatever order the API server wrote. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Schedules are validated before they get here; a reading error still must not stop the status write. */
export function safely<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}
