/** What a bench part gets from bench/run.ts: where to work, how long to run, how to time and report. */

/** Milliseconds of several runs of one contender. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export interface Bench {
  /** A scratch folder of this bench run, removed after it. */
  readonly work: string;
  /** `--quick`: smaller data and fewer runs, for a check that the bench still works. */
  readonly quick: boolean;
  /** Appends a titled section to the report. */
  section(title: string, lines: string[]): void;
  /** Runs the contenders in turn, `runs` times each, so that a drift of the machine hits them alike. */
  sideBySide(contenders: Record<string, () => number>, runs: number): Record<string, Stats>;
  /** Milliseconds one command takes; a failure ends the bench. */
  timeOnce(command: string, argv: string[], options?: { env?: NodeJS.ProcessEnv }): number;
  stats(values: number[]): Stats;
  fmt(s: Stats): string;
}
