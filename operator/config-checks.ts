/** The checks of the operator's settings that span more than one value: the namespace list and the Lease timings. */
import { DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN } from '../lib/permits/backup-api';
import { JITTER_FACTOR } from './runtime/leader-timings';

const NAMESPACE = new RegExp(DNS_LABEL_PATTERN);

/** The namespaces to watch; none (every namespace) only when the option is left out or its variable is blank. */
export function namespaceList(raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined) return [];
  const names = raw.split(',').map((s) => s.trim());
  if (names.every((n) => n === ''))
    problems.push(
      `--namespaces ${JSON.stringify(raw)} names no namespace: list namespace names separated by commas, or leave it ` +
        `out to watch all`,
    );
  else if (names.includes('')) problems.push(`--namespaces ${JSON.stringify(raw)} has an empty name between commas`);
  else
    for (const n of names.filter((n) => !NAMESPACE.test(n) || n.length > DNS_LABEL_MAX_LENGTH))
      problems.push(
        `--namespaces: ${JSON.stringify(n)} is not a namespace name (a DNS-1123 label: lower-case letters, digits ` +
          `and -, at most ${DNS_LABEL_MAX_LENGTH} characters)`,
      );
  return names.filter(Boolean);
}

/**
 * The renew deadline, checked against the other two timings as client-go checks them (leaseDuration >
 * renewDeadline > 1.2 × retryPeriod), each problem naming the flags to change. Past the deadline a leader stops
 * writing; a standby takes over a lease duration after the last renewal it saw: the deadline must come first.
 */
export function renewDeadlineMs(
  values: Record<string, string | undefined>,
  problems: string[],
  int: (flag: string, fallback: number, min: number, max: number) => number,
  durationS: number,
  retryS: number,
): number {
  const given = values['lease-renew-deadline-seconds'];
  const renewMs =
    given === undefined ? Math.floor((durationS * 2000) / 3) : int('lease-renew-deadline-seconds', 0, 1, 299) * 1000;
  if (values['leader-elect'] === 'false' || [durationS, retryS, renewMs].some((n) => Number.isNaN(n))) return renewMs;
  const renew =
    given === undefined
      ? `the renew deadline (${renewMs / 1000} s, two thirds of --lease-duration-seconds; ` +
        'set --lease-renew-deadline-seconds to change it)'
      : `--lease-renew-deadline-seconds (${given})`;
  if (renewMs >= durationS * 1000)
    problems.push(
      `--lease-renew-deadline-seconds ${JSON.stringify(given)} is not valid: it must be less than ` +
        `--lease-duration-seconds (${durationS}), or a leader could still write after a standby took the Lease`,
    );
  else if (renewMs <= JITTER_FACTOR * retryS * 1000)
    problems.push(
      `--lease-retry-seconds ${retryS} is not valid: ${JITTER_FACTOR} × it (${JITTER_FACTOR * retryS} s) must be ` +
        `less than ${renew}, so a leader gets to retry a failed renewal before it must stop`,
    );
  return renewMs;
}
