/**
 * A wake-up per key for a moment the observed state will not announce: a Backup turning Stale is a
 * change of the clock, not of any object, so without it the Backup waits for the next periodic resync.
 * All keys share one timer (see Deadlines).
 */
import { Deadlines } from './deadlines';

/** setTimeout's longest delay (about 24.8 days); later moments are left to the periodic resync. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class WakeUps {
  private readonly deadlines: Deadlines;

  constructor(
    fire: (key: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.deadlines = new Deadlines(fire, now);
  }

  /** Wakes `key` once at `at`, replacing an earlier wish for it; undefined cancels. */
  public set(key: string, at: Date | undefined): void {
    if (!at || at.getTime() - this.now() > MAX_DELAY_MS) this.deadlines.delete(key);
    else this.deadlines.set(key, at.getTime());
  }

  public get size(): number {
    return this.deadlines.size;
  }

  public clear(): void {
    this.deadlines.clear();
  }
}
