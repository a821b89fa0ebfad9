/**
 * Keyed moments served by one timer, armed for the earliest. Thousands of Backups each waiting for a moment (turning
 * Stale, a retry, the next run) cost a number in a map and a heap slot each, instead of a Node timer each (a Timeout,
 * its closure, and for every distinct delay a timer list of its own).
 */
/** setTimeout's longest delay (about 24.8 days); a later moment is armed in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Replaced moments stay in the heap until they come up; past this many slots per live key they are swept. */
const SWEEP_RATIO = 2;

export class Deadlines {
  private readonly moments = new Map<string, number>();
  // A binary min-heap on `heapAt`, `heapKey` beside it: two arrays of numbers and strings, no object per entry.
  private readonly heapAt: number[] = [];
  private readonly heapKey: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  public get size(): number {
    return this.moments.size;
  }

  public has(key: string): boolean {
    return this.moments.has(key);
  }

  /** The moment `key` fires at, if it is waiting. */
  public get(key: string): number | undefined {
    return this.moments.get(key);
  }

  /** Fires `key` once at `at` (milliseconds on `now`'s clock), replacing an earlier moment for it. */
  public set(key: string, at: number): void {
    if (this.moments.get(key) === at) return;
    this.moments.set(key, at);
    this.push(at, key);
    this.sweepIfSparse();
    this.arm();
  }

  public delete(key: string): void {
    if (!this.moments.delete(key)) return;
    this.sweepIfSparse();
    this.arm();
  }

  public clear(): void {
    this.moments.clear();
    this.heapAt.length = 0;
    this.heapKey.length = 0;
    this.arm();
  }

  /** How many heap slots are held (live and replaced); for tests. */
  public get slots(): number {
    return this.heapAt.length;
  }

  /** Whether a Node timer is armed; there is never more than one. */
  public get armed(): boolean {
    return this.timer !== undefined;
  }

  private arm(): void {
    while (this.heapAt.length > 0 && this.moments.get(this.heapKey[0]) !== this.heapAt[0]) this.pop();
    const next = this.heapAt.length > 0 ? this.heapAt[0] : undefined;
    if (next === undefined) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.armedFor = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && this.armedFor <= next) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = next;
    this.timer = setTimeout(() => this.due(), Math.min(MAX_DELAY_MS, Math.max(0, next - this.now())));
    this.timer.unref();
  }

  private due(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    const keys: string[] = [];
    while (this.heapAt.length > 0 && this.heapAt[0] <= now) {
      const at = this.heapAt[0];
      const key = this.pop();
      if (this.moments.get(key) !== at) continue;
      this.moments.delete(key);
      keys.push(key);
    }
    this.arm();
    for (const key of keys) this.fire(key);
  }

  private sweepIfSparse(): void {
    const slots = this.heapAt.length;
    if (slots <= 64 || slots <= SWEEP_RATIO * this.moments.size) return;
    // A sorted array is a valid min-heap.
    const live = [...this.moments].sort((a, b) => a[1] - b[1]);
    this.heapAt.length = 0;
    this.heapKey.length = 0;
    for (const [key, at] of live) {
      this.heapAt.push(at);
      this.heapKey.push(key);
    }
  }

  private push(at: number, key: string): void {
    const { heapAt, heapKey } = this;
    let i = heapAt.length;
    heapAt.push(at);
    heapKey.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heapAt[parent] <= at) break;
      heapAt[i] = heapAt[parent];
      heapKey[i] = heapKey[parent];
      i = parent;
    }
    heapAt[i] = at;
    heapKey[i] = key;
  }

  private pop(): string {
    const { heapAt, heapKey } = this;
    const top = heapKey[0];
    const lastAt = heapAt.pop()!;
    const lastKey = heapKey.pop()!;
    const n = heapAt.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const child = left + 1 < n && heapAt[left + 1] < heapAt[left] ? left + 1 : left;
      if (heapAt[child] >= lastAt) break;
      heapAt[i] = heapAt[child];
      heapKey[i] = heapKey[child];
      i = child;
    }
    heapAt[i] = lastAt;
    heapKey[i] = lastKey;
    return top;
  }
}
