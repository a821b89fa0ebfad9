import { Deadlines } from '../../operator/runtime/deadlines';
import { WorkQueue } from '../../operator/runtime/queue';
import { WakeUps } from '../../operator/runtime/wake-ups';

const now = new Date('2026-11-25T10:00:00Z');

describe('Deadlines', () => {
  beforeEach(() => jest.useFakeTimers({ now }));
  afterEach(() => jest.useRealTimers());

  test('10 000 keys with distinct moments hold one Node timer and fire each once, in order, at its moment', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    // Shuffled moments 1..10 000 ms ahead.
    const order = Array.from({ length: 10_000 }, (_, i) => i).sort(
      (a, b) => ((a * 7919) % 10_007) - ((b * 7919) % 10_007),
    );
    for (const i of order) d.set(`ns/b${i}`, now.getTime() + i + 1);
    expect(jest.getTimerCount()).toBe(1);
    expect(d.size).toBe(10_000);
    jest.advanceTimersByTime(500);
    expect(fired).toEqual(Array.from({ length: 500 }, (_, i) => `ns/b${i}`));
    jest.advanceTimersByTime(10_000);
    expect(fired).toHaveLength(10_000);
    expect(new Set(fired).size).toBe(10_000);
    expect(d.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('a new moment replaces the old one, earlier or later; delete and clear cancel; the heap does not grow', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    for (let round = 0; round < 1_000; round++) {
      for (let i = 0; i < 100; i++) d.set(`k${i}`, now.getTime() + 1_000 + ((round * 37 + i) % 500));
    }
    expect(d.size).toBe(100);
    expect(d.slots).toBeLessThanOrEqual(200);
    d.set('k0', now.getTime() + 10);
    d.delete('k1');
    jest.advanceTimersByTime(10);
    expect(fired).toEqual(['k0']);
    jest.advanceTimersByTime(2_000);
    expect(fired).toHaveLength(99);
    expect(fired).not.toContain('k1');
    d.set('x', now.getTime() + 100_000);
    d.clear();
    expect(d.armed).toBe(false);
    jest.advanceTimersByTime(200_000);
    expect(fired).toHaveLength(99);
  });

  test('a key set again from inside its own firing is kept; a moment in the past fires at once', () => {
    const fired: string[] = [];
    const d: Deadlines = new Deadlines((k) => {
      fired.push(k);
      if (fired.length < 3) d.set(k, Date.now() + 1_000);
    });
    d.set('again', now.getTime() - 60_000);
    jest.advanceTimersByTime(0);
    expect(fired).toEqual(['again']);
    jest.advanceTimersByTime(2_000);
    expect(fired).toEqual(['again', 'again', 'again']);
    expect(d.size).toBe(0);
  });

  test('a moment beyond setTimeout range is armed in steps and still fires', () => {
    const fired: string[] = [];
    const d = new Deadlines((k) => fired.push(k));
    const far = 40 * 86_400_000;
    d.set('far', now.getTime() + far);
    jest.advanceTimersByTime(far - 1);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(fired).toEqual(['far']);
  });
});

describe('users of Deadlines', () => {
  beforeEach(() => jest.useFakeTimers({ now }));
  afterEach(() => jest.useRealTimers());

  test('WakeUps for 3 000 Backups and their retries on the queue hold two Node timers in all', async () => {
    const wake = new WakeUps(() => undefined);
    const queue = new WorkQueue();
    for (let i = 0; i < 3_000; i++) {
      wake.set(`ns/b${i}`, new Date(now.getTime() + 60_000 + i * 1_000));
      queue.addAfter(`ns/b${i}`, 1_000 + i);
    }
    expect(jest.getTimerCount()).toBe(2);
    expect(queue.pending).toBe(3_000);
    // The earliest wish for a key wins: a short retry is not held back by a long recheck set before it, and a
    // later wish does not put off an earlier one.
    queue.addAfter('ns/b0', 10);
    queue.addAfter('ns/b1', 999_999);
    jest.advanceTimersByTime(9);
    expect(queue.length).toBe(0);
    jest.advanceTimersByTime(1);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('ns/b0');
    jest.advanceTimersByTime(991);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('ns/b1');
    queue.shutDown();
    wake.clear();
    expect(jest.getTimerCount()).toBe(0);
  });
});
