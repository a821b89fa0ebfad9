/**
 * Collects every problem with a construct's props before failing, so one synth reports them all.
 * Each message should name the prop, the bad value and what is allowed.
 */
/** A construct's refusal of its props: every problem, each starting with the prop's name. */
export class PropError extends Error {
  constructor(
    public readonly owner: string,
    public readonly problems: readonly string[],
  ) {
    super(`${owner}: invalid props:\n  - ${problems.join('\n  - ')}`);
  }
}

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
    if (this.problems.length > 0) throw new PropError(this.owner, this.problems);
  }
}

/** JSON rendering of a value for error messages. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
