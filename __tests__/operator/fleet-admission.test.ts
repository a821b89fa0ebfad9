import { RUN_NOW_ANNOTATION } from '../../lib/permits/backup-api';
import { decideFleet, HeldRun } from '../../operator/controller/fleet-admission';
import { reconcile } from '../../operator/controller/reconcile';
import { Testing } from 'cdk8s';
import { BackupOperator } from '../../lib/contractor/backup-operator';
import { parseConfig } from '../../operator/config';
import { asStored, backupObject, job, observed } from '../../testing/reconcile-fixtures';

const held = (name: string, dueAt: number, vault = 'v1', giveUpAt?: number): HeldRun => ({
  key: `ns/${name}`,
  backup: `ns/${name}`,
  vault,
  dueAt,
  giveUpAt,
});
const names = (runs: HeldRun[]) => runs.map((r) => r.key.slice(3));

describe('which held runs start under the cap', () => {
  test('the oldest due first, up to the cluster cap, counting what runs already', () => {
    const d = decideFleet(
      { maxConcurrentRuns: 3, maxConcurrentRunsPerVault: 0 },
      [{ key: 'ns/r', backup: 'ns/r', vault: 'v9' }],
      [held('c', 300), held('a', 100), held('d', 400), held('b', 200)],
      1000,
    );
    expect(names(d.start)).toEqual(['a', 'b']);
    expect(names(d.queue)).toEqual(['c', 'd']);
  });

  test('equal due times are ordered by namespace/name, so every leader orders them alike', () => {
    const d = decideFleet(
      { maxConcurrentRuns: 1, maxConcurrentRunsPerVault: 0 },
      [],
      [held('zeta', 100), held('alpha', 100)],
      1000,
    );
    expect(names(d.start)).toEqual(['alpha']);
  });

  test(
    'a full vault is passed over, not waited on: runs into ' + 'other vaults behind it start, and it keeps its place',
    () => {
      const d = decideFleet(
        { maxConcurrentRuns: 10, maxConcurrentRunsPerVault: 1 },
        [{ key: 'ns/r', backup: 'ns/r', vault: 'v1' }],
        [held('a', 100, 'v1'), held('b', 200, 'v2'), held('c', 300, 'v2'), held('d', 400, 'v3')],
        1000,
      );
      expect(names(d.start)).toEqual(['b', 'd']);
      expect(names(d.queue)).toEqual(['a', 'c']);
    },
  );

  test('a run held past its starting deadline is given up, not started', () => {
    const d = decideFleet(
      { maxConcurrentRuns: 5, maxConcurrentRunsPerVault: 0 },
      [],
      [held('late', 100, 'v1', 500), held('fine', 200, 'v1', 5000)],
      1000,
    );
    expect(names(d.giveUp)).toEqual(['late']);
    expect(names(d.start)).toEqual(['fine']);
  });

  test(
    '10 000 runs due in the same minute, cap 50: never more ' +
      'than 50 running, all started in due order, in 200 rounds',
    () => {
      const runs = Array.from({ length: 10_000 }, (_, i) =>
        held(`shop-${String(i).padStart(5, '0')}`, 100 + (i % 60), `vault-${i % 7}`),
      );
      let queue = runs;
      let running: HeldRun[] = [];
      const order: string[] = [];
      let rounds = 0;
      let peak = 0;
      while (queue.length > 0) {
        const d = decideFleet({ maxConcurrentRuns: 50, maxConcurrentRunsPerVault: 0 }, running, queue, 1000);
        running = [...running, ...d.start];
        peak = Math.max(peak, running.length);
        order.push(...names(d.start));
        queue = d.queue;
        running = running.slice(Math.min(running.length, 50)); // every run finishes before the next round
        rounds++;
      }
      expect(peak).toBe(50);
      expect(rounds).toBe(200);
      expect(order).toEqual(names([...runs].sort((a, b) => a.dueAt - b.dueAt || (a.key < b.key ? -1 : 1))));
    },
  );
});

describe('a Backup under a run cap', () => {
  const settings = { holdRuns: true };

  test('its CronJob creates Jobs suspended, and a run-now Job is created suspended too', () => {
    const backup = backupObject({}, { annotations: { [RUN_NOW_ANNOTATION]: '1' } });
    const d = reconcile(observed({ backup }), settings);
    expect(d.cronJob!.spec.jobTemplate.spec.suspend).toBe(true);
    expect(d.createJobs[0].spec.suspend).toBe(true);
    expect(d.admitJobs).toEqual([]);
    expect(reconcile(observed({ backup })).cronJob!.spec.jobTemplate.spec.suspend).toBeUndefined();
  });

  test('a held run shows phase Queued with its place; once started it is Running', () => {
    const cronJob = asStored(reconcile(observed(), settings).cronJob!);
    const waiting = job('backup-bakery-29400000', { start: '2026-11-25T02:30:00Z' });
    waiting.spec = { suspend: true };
    const d = reconcile(observed({ cronJob, jobs: [waiting], queuePlace: { position: 3, of: 40 } }), settings);
    expect(d.status).toMatchObject({
      phase: 'Queued',
      queuePosition: 3,
      message: 'backup-bakery-29400000 is queued for a free run slot: position 3 of 40',
    });
    waiting.spec = { suspend: false };
    const started = reconcile(observed({ cronJob, jobs: [waiting] }), settings);
    expect(started.status.phase).toBe('Running');
    expect(started.status.queuePosition).toBeUndefined();
  });
});

describe('operator flags for the cap', () => {
  test('default no cap; flags and environment variables set it; bad values are refused with the allowed range', () => {
    expect(parseConfig([], {})).toMatchObject({ maxConcurrentRuns: 0, maxConcurrentRunsPerVault: 0 });
    expect(parseConfig(['--max-concurrent-runs=50'], { MAX_CONCURRENT_RUNS_PER_VAULT: '2' })).toMatchObject({
      maxConcurrentRuns: 50,
      maxConcurrentRunsPerVault: 2,
    });
    expect(() => parseConfig(['--max-concurrent-runs=-1'], {})).toThrow(
      '--max-concurrent-runs "-1" is not valid: use an integer from 0 to 100000',
    );
  });

  test('the construct passes the caps to the operator, only when set, and refuses a bad one at synth time', () => {
    const argsOf = (props: object) => {
      const chart = Testing.chart();
      new BackupOperator(chart, 'op', props);
      return (chart.toJson() as any[]).find((o) => o.kind === 'Deployment').spec.template.spec.containers[0]
        .args as string[];
    };
    expect(argsOf({ maxConcurrentRuns: 50, maxConcurrentRunsPerVault: 5 })).toEqual(
      expect.arrayContaining(['--max-concurrent-runs=50', '--max-concurrent-runs-per-vault=5']),
    );
    expect(argsOf({}).filter((a) => a.startsWith('--max-concurrent'))).toEqual([]);
    expect(() => argsOf({ maxConcurrentRuns: 2.5 })).toThrow(
      'maxConcurrentRuns 2.5 is not valid: use an integer from 0 (no cap) to 100000',
    );
  });
});
