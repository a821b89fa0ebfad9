/**
 * Backup windows: `backupTime: "01:00-05:00"` asks for one run a day at a minute inside the window,
 * chosen by the operator from the Backup's identity, so that a fleet filed with the same window spreads
 * across it instead of starting in one minute.
 *
 * The rules, which are part of the API (changing them moves every windowed Backup):
 * - `"HH:MM-HH:MM"`, 24-hour clock, read in the Backup's timeZone. The start is included, the end is
 *   not: `"01:00-05:00"` runs at one of the 240 minutes 01:00 … 04:59.
 * - A window whose end is before its start crosses midnight: `"23:00-01:00"` is 23:00 … 00:59.
 *   An end equal to the start is the whole day (`"00:00-00:00"`: any minute).
 * - The minute is `start + (n mod length)`, where `n` is the first 6 bytes, big-endian, of
 *   SHA-256("<namespace>/<name>") and `length` the window's minutes. SHA-256 is fixed by a standard, so
 *   the choice is the same after restarts, upgrades and on every cluster. The uid is left out on
 *   purpose: a Backup deleted and filed again (a GitOps re-sync, a restore into a new cluster) keeps its
 *   minute.
 */
import { createHash } from 'node:crypto';
import * as api from './backup-api';

export interface ScheduleWindow {
  /** Minutes after midnight of the first minute in the window. */
  readonly start: number;
  /** How many minutes the window holds (1 … 1440). */
  readonly length: number;
}

export interface BackupIdentity {
  readonly namespace?: string;
  readonly name: string;
}

const MINUTES_PER_DAY = 24 * 60;
const WINDOW = new RegExp(api.WINDOW_PATTERN);
const WALL_CLOCK = new RegExp(api.WALL_CLOCK_PATTERN);

function minutesOf(clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number);
  return hours * 60 + minutes;
}

/** The window `backupTime` names, or undefined when it is not a window. */
export function parseWindow(backupTime: string): ScheduleWindow | undefined {
  if (!WINDOW.test(backupTime)) return undefined;
  const [from, to] = backupTime.split('-');
  const start = minutesOf(from);
  const length = (minutesOf(to) - start + MINUTES_PER_DAY) % MINUTES_PER_DAY || MINUTES_PER_DAY;
  return { start, length };
}

/** The stable number a Backup's identity hashes to: 48 bits of SHA-256, exact in a JavaScript number. */
export function identityHash(identity: BackupIdentity): number {
  return createHash('sha256')
    .update(`${identity.namespace ?? ''}/${identity.name}`, 'utf8')
    .digest()
    .readUIntBE(0, 6);
}

/** The minute of the day (0 … 1439) at which `identity` runs inside `window`. */
export function minuteInWindow(window: ScheduleWindow, identity: BackupIdentity): number {
  return (window.start + (identityHash(identity) % window.length)) % MINUTES_PER_DAY;
}

/** `"HH:MM"` of a minute of the day. */
export function clockOf(minuteOfDay: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}`;
}

/**
 * The cron schedule a CronJob runs for `backupTime`: a window resolved for `identity` to
 * `"MM HH * * *"`, `"HH:MM"` to the same form; cron expressions and macros pass through.
 */
export function effectiveSchedule(backupTime: string, identity: BackupIdentity): string {
  if (WALL_CLOCK.test(backupTime)) {
    const [hours, minutes] = backupTime.split(':').map(Number);
    return `${minutes} ${hours} * * *`;
  }
  const window = parseWindow(backupTime);
  if (!window) return backupTime;
  // A reconcile asks several times; the hash is the cost.
  const key = `${backupTime}\n${identity.namespace ?? ''}/${identity.name}`;
  let schedule = resolved.get(key);
  if (schedule === undefined) {
    const minute = minuteInWindow(window, identity);
    schedule = `${minute % 60} ${Math.floor(minute / 60)} * * *`;
    if (resolved.size > 20_000) resolved.clear();
    resolved.set(key, schedule);
  }
  return schedule;
}

const resolved = new Map<string, string>();
