/**
 * One timer per key for a moment the observed state will not announce: a Backup turning Stale is a
 * change of the clock, not of any object, so without a timer it waits for the next periodic resync.
 */
/** setTimeout's longest delay (about 24.8 days); later moments are left to the periodic resync. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class WakeUps {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Wakes `key` once at `at`, replacing an earlier wish for it; undefined cancels. */
  public set(key: string, at: Date | undefined): void {
    const existing = this.timers.get(key);
    if (existing && existing.at === at?.getTime()) return;
    if (existing) clearTimeout(existing.timer);
    this.timers.delete(key);
    if (!at) return;
    const delay = Math.max(0, at.getTime() - this.now());
    if (delay > MAX_DELAY_MS) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.fire(key);
    }, delay);
    timer.unref();
    this.timers.set(key, { at: at.getTime(), timer });
  }

  public get size(): number {
    return this.timers.size;
  }

  public clear(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
