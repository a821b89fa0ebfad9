/**
 * Collects every problem with a construct's props before failing, so one synth reports them all.
 * Each message should name the prop, the bad value and what is allowed.
 */
export class PropErrors {
  private readonly problems: string[] = [];

  constructor(private readonly owner: string) {}

  /** Records `message` unless `ok`. */
  public check(ok: boolean, message: string): void {
    if (!ok) this.problems.push(message);
  }

  public add(...messages: string[]): void {
    this.problems.push(...messages);
  }

  /** Throws one error listing every recorded problem, if any. */
  public throwIfAny(): void {
    if (this.problems.length > 0) {
      throw new Error(`${this.owner}: invalid props:\n  - ${this.problems.join('\n  - ')}`);
    }
  }
}

/** JSON rendering of a value for error messages. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
