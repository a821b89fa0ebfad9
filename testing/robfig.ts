/**
 * Kubernetes' own cron parser as an oracle: a small Go program (robfig-cron/) built once with the
 * machine's Go into the tool cache, then asked many cases in one run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface CronQuery {
  readonly schedule: string;
  readonly timeZone?: string;
  readonly after?: string;
}
export interface CronAnswer {
  readonly error?: string;
  readonly next?: string;
}

const SOURCE = path.join(__dirname, 'robfig-cron');
const VERSION = 'v3.0.1';

function binary(): string {
  const cache = process.env.MALL_BACKUP_CACHE ?? path.join(os.homedir(), '.cache', 'mall-backup');
  const target = path.join(cache, 'robfig-cron', VERSION, 'robfig-cron');
  const source = fs.readFileSync(path.join(SOURCE, 'main.go'));
  const stamp = `${target}.source`;
  if (fs.existsSync(target) && fs.existsSync(stamp) && fs.readFileSync(stamp).equals(source)) return target;
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error(
      'the cron oracle needs Go (https://go.dev/dl/, 1.22 or newer) on PATH to build robfig/cron ' +
        `${VERSION}, the parser Kubernetes uses; install Go and run the tests again`,
    );
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  execFileSync('go', ['build', '-o', target, '.'], {
    cwd: SOURCE,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  fs.writeFileSync(stamp, source);
  return target;
}

/** What robfig/cron says of each query: the parse error, or the next run after `after` in the zone. */
export function askRobfig(queries: readonly CronQuery[]): CronAnswer[] {
  const lines = queries.map((q) => JSON.stringify({ timeZone: '', after: '1970-01-01T00:00:00Z', ...q }));
  const input = `${lines.join('\n')}\n`;
  const run = spawnSync(binary(), [], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`the cron oracle failed: ${run.stderr}`);
  return run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as CronAnswer);
}
