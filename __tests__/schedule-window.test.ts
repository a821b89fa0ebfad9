import { execFileSync } from 'node:child_process';
import { validateBackupSpec } from '../lib/permits/backup-validation';
import { clockOf, effectiveSchedule, identityHash, minuteInWindow, parseWindow } from '../lib/permits/schedule-window';

const spec = (backupTime: string) => ({
  shopName: 'bakery',
  backupTime,
  vaultLocation: 's3:https://s3.amazonaws.com/vault/bakery',
  vaultCredentialsSecret: 'bakery-vault',
});

describe('window syntax', () => {
  test.each([
    ['01:00-05:00', 60, 240],
    ['23:00-01:00', 1380, 120],
    ['23:59-00:00', 1439, 1],
    ['00:00-00:00', 0, 1440],
    ['02:30-02:30', 150, 1440],
  ])('%s starts at minute %i and holds %i minutes', (text, start, length) => {
    expect(parseWindow(text)).toEqual({ start, length });
  });

  test.each(['02:30', '30 2 * * *', '@daily', '24:00-01:00', '1:00-5:00'])('%s is not a window', (text) => {
    expect(parseWindow(text)).toBeUndefined();
  });

  test('synth-time validation accepts windows and names the field, the value and the forms for a bad one', () => {
    expect(validateBackupSpec(spec('22:00-04:00'))).toEqual([]);
    expect(validateBackupSpec(spec('22:00-4:00'))).toEqual([
      expect.stringMatching(
        new RegExp(
          /^spec\.backupTime "22:00-4:00" is not valid: use .* or a window "HH:MM-HH:MM" \(e\.g\. /.source +
            /"01:00-05:00": one stable minute inside it\)$/.source,
        ),
      ),
    ]);
  });
});

describe('the minute a Backup gets', () => {
  test('is SHA-256 of "<namespace>/<name>", as any other SHA-256 implementation computes it', () => {
    for (const name of ['bakery', 'florist-42', 'ünïcode-shop']) {
      // coreutils' sha256sum, a second implementation of the standard beside Node's OpenSSL.
      const hex = /^([0-9a-f]{64})\s/.exec(
        execFileSync('sha256sum', [], { input: `mall-shops/${name}` }).toString(),
      )![1];
      expect(identityHash({ namespace: 'mall-shops', name })).toBe(parseInt(hex.slice(0, 12), 16));
    }
  });

  test('never changes: these minutes are part of the API (a change moves every windowed Backup)', () => {
    const window = parseWindow('01:00-05:00')!;
    const pinned = ['bakery', 'florist', 'pharmacy', 'shoes'].map((name) =>
      clockOf(minuteInWindow(window, { namespace: 'mall-shops', name })),
    );
    expect(pinned).toEqual(PINNED_MINUTES);
  });

  test('depends on namespace and name only: the same across calls, different for a different namespace', () => {
    const a = effectiveSchedule('01:00-05:00', { namespace: 'a', name: 'shop' });
    expect(effectiveSchedule('01:00-05:00', { namespace: 'a', name: 'shop' })).toBe(a);
    const others = ['b', 'c', 'd', 'e', 'f'].map((namespace) =>
      effectiveSchedule('01:00-05:00', { namespace, name: 'shop' }),
    );
    expect(new Set([a, ...others]).size).toBeGreaterThan(1);
  });

  test('lies inside the window, crossing midnight included, for 10 000 names', () => {
    for (const text of ['01:00-05:00', '23:30-00:30', '00:00-00:00', '04:59-05:00']) {
      const { start, length } = parseWindow(text)!;
      const outside: number[] = [];
      for (let i = 0; i < 10_000; i++) {
        const minute = minuteInWindow({ start, length }, { namespace: 'mall-shops', name: `shop-${i}` });
        if ((minute - start + 1440) % 1440 >= length) outside.push(minute);
      }
      expect({ text, outside }).toEqual({ text, outside: [] });
    }
  });

  test('spreads 10 000 Backups near-uniformly over a 4-hour window (max/mean per minute below 1.7)', () => {
    const window = parseWindow('01:00-05:00')!;
    const perMinute = new Array<number>(window.length).fill(0);
    for (let i = 0; i < 10_000; i++)
      perMinute[minuteInWindow(window, { namespace: 'mall-shops', name: `shop-${i}` }) - window.start]++;
    const mean = 10_000 / window.length;
    // An independent uniform choice per Backup: the busiest of 240 minutes is about 1.5× the mean (1.58 for these
    // names).
    expect(Math.max(...perMinute) / mean).toBeLessThan(1.7);
    expect(Math.min(...perMinute) / mean).toBeGreaterThan(0.4);
    // Chi-square with 239 degrees of freedom: above 310 has a probability under 0.1 % for a uniform choice.
    const chiSquare = perMinute.reduce((sum, n) => sum + (n - mean) ** 2 / mean, 0);
    expect(chiSquare).toBeLessThan(310);
  });

  test('the CronJob schedule of a window is the chosen minute every day', () => {
    const identity = { namespace: 'mall-shops', name: 'bakery' };
    const [minute, hour] = effectiveSchedule('01:00-05:00', identity).split(' ').map(Number);
    expect(effectiveSchedule('01:00-05:00', identity)).toBe(`${minute} ${hour} * * *`);
    expect(clockOf(hour * 60 + minute)).toBe(PINNED_MINUTES[0]);
    expect(effectiveSchedule('02:30', identity)).toBe('30 2 * * *');
    expect(effectiveSchedule('15 3 * * 1-5', identity)).toBe('15 3 * * 1-5');
  });
});

// Computed once with the documented rule; the sha256sum test above checks the rule itself.
const PINNED_MINUTES = ['01:16', '04:43', '03:44', '02:21'];
