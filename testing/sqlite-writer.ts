/**
 * A shop's database under load: one sqlite3 process (WAL mode) fed INSERTs through its stdin, a row every
 * few milliseconds, each its own transaction, until stopped. `sqlite()` runs one query and fails with
 * sqlite3's own words. Needs the sqlite3 command (Debian: apt-get install sqlite3; .ci/run installs it).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';

export function sqlite(file: string, sql: string): string {
  const run = spawnSync('sqlite3', ['-batch', file, sql], { encoding: 'utf8' });
  if (run.error)
    throw new Error(
      `sqlite3 could not be started (${run.error.message}): install it (Debian: apt-get install sqlite3)`,
    );
  if (run.status !== 0) throw new Error(`sqlite3 ${file} ${JSON.stringify(sql)} exited ${run.status}: ${run.stderr}`);
  return run.stdout.trim();
}

export class SqliteWriter {
  private readonly child: ChildProcess;
  private readonly timer: NodeJS.Timeout;
  private readonly exited: Promise<unknown>;
  public stderr = '';

  constructor(file: string) {
    this.child = spawn('sqlite3', ['-batch', '-bail', file], { stdio: ['pipe', 'ignore', 'pipe'] });
    this.exited = new Promise((done) => this.child.once('exit', done));
    this.child.stderr!.on('data', (chunk) => (this.stderr += chunk));
    this.child.stdin!.write(
      'PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n' +
        'CREATE TABLE IF NOT EXISTS orders(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, payload BLOB NOT NULL);\n',
    );
    // Rows of 4 KiB: the WAL passes its checkpoint size (1000 pages) every few hundred rows.
    this.timer = setInterval(() => {
      if (this.child.stdin!.writableLength < 1 << 16)
        this.child.stdin!.write(`INSERT INTO orders(at, payload) VALUES(${Date.now()}, randomblob(4096));\n`);
    }, 2);
  }

  public get pid(): number {
    return this.child.pid!;
  }

  /** Stops feeding rows and lets sqlite3 finish what it was sent; fails if it reported an error. */
  public async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      this.child.stdin!.end('.quit\n');
      await this.exited;
    }
    if (this.stderr) throw new Error(`sqlite3 reported: ${this.stderr}`);
  }
}
