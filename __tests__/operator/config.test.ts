import { Backoff } from '../../operator/runtime/queue';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../operator/config';
import { WorkQueue } from '../../operator/runtime/queue';
import { DEFAULT_OPERATOR_IMAGE, OPERATOR_IMAGE_REPOSITORY, SEMI_SPACE_MIB } from '../../lib/contractor/operator-props';
import { NONROOT_ID } from '../../lib/common/pod-security';
import { allObjects, synthDefaultApp } from '../../testing/synth';

describe('operator configuration', () => {
  test("the Deployment's args and env are what the operator understands", () => {
    const deployment = allObjects(synthDefaultApp()).find((o) => o.kind === 'Deployment')!;
    const container = deployment.spec.template.spec.containers[0];
    const config = parseConfig(container.args, {
      POD_NAME: 'mall-backup-operator-abc',
      POD_NAMESPACE: 'mall-backup-system',
    });
    expect(config).toMatchObject({
      leaderElect: true,
      leaseName: 'mall-backup-operator-leader',
      leaseNamespace: 'mall-backup-system',
      identity: 'mall-backup-operator-abc',
      metricsPort: 8080,
      probePort: 8081,
      logLevel: 'info',
      namespaces: [],
    });
    expect(container.env.map((e: any) => e.name).sort()).toEqual([
      'MALLOC_ARENA_MAX',
      'NODE_OPTIONS',
      'POD_NAME',
      'POD_NAMESPACE',
    ]);
  });

  test('started by hand with no flags, the operator elects through the one Lease its Role lets it touch', () => {
    const objects = allObjects(synthDefaultApp());
    const leaseRules = objects
      .filter((o) => o.kind === 'Role')
      .flatMap((r) => r.rules)
      .filter((r: any) => r.resources.includes('leases') && r.resourceNames);
    const bare = parseConfig([], {})!;
    expect(leaseRules.flatMap((r: any) => r.resourceNames)).toEqual([bare.leaseName]);
    const role = objects.find((o) => o.kind === 'Role' && o.rules.some((r: any) => r.resources.includes('leases')))!;
    expect([bare.leaderElect, bare.leaseNamespace]).toEqual([true, role.metadata.namespace]);
  });

  test(
    'vault settings: cross-namespace sharing off, weekly maintenance, a 7-day ' +
      'floor and 50 % shrink by default; flags change them; bad values are named',
    () => {
      expect(parseConfig([], {})).toMatchObject({
        allowCrossNamespaceVaults: false,
        maintenanceSchedule: '0 4 * * 0',
        retentionFloorDays: 7,
        shrinkPercent: 50,
      });
      expect(
        parseConfig(
          [
            '--allow-cross-namespace-vaults',
            '--maintenance-schedule',
            '30 1 * * *',
            '--retention-floor-days=30',
            '--shrink-percent',
            '20',
          ],
          {},
        ),
      ).toMatchObject({
        allowCrossNamespaceVaults: true,
        maintenanceSchedule: '30 1 * * *',
        retentionFloorDays: 30,
        shrinkPercent: 20,
      });
      expect(parseConfig([], { ALLOW_CROSS_NAMESPACE_VAULTS: 'true', RETENTION_FLOOR_DAYS: '0' })).toMatchObject({
        allowCrossNamespaceVaults: true,
        retentionFloorDays: 0,
      });
      expect(() =>
        parseConfig(['--maintenance-schedule', 'sometimes', '--shrink-percent', '0', '--retention-floor-days=-1'], {}),
      ).toThrow(
        new RegExp(
          /--retention-floor-days "-1" is not valid: use an integer from 0 to 3650\n {2}- /.source +
            /--shrink-percent "0" is not valid: use an integer from 1 to 100\n {2}- /.source +
            /--maintenance-schedule "sometimes" is not valid: /.source,
        ),
      );
    },
  );

  test("node accepts the Deployment's NODE_OPTIONS and caps the heap below the memory limit", () => {
    const deployment = allObjects(synthDefaultApp()).find((o) => o.kind === 'Deployment')!;
    const container = deployment.spec.template.spec.containers[0];
    const nodeOptions = container.env.find((e: any) => e.name === 'NODE_OPTIONS').value;
    const run = spawnSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'],
      {
        env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions },
        encoding: 'utf8',
      },
    );
    expect(run.stderr).toBe('');
    const limitMiB = Number(run.stdout) / 2 ** 20;
    const memoryLimitMiB = 256;
    expect(container.resources.limits.memory).toBe(`${memoryLimitMiB}Mi`);
    // Old space at half the limit, plus V8's young generation: well under the limit, far under V8's own default.
    expect(limitMiB).toBeGreaterThanOrEqual(memoryLimitMiB / 2);
    expect(limitMiB).toBeLessThan(memoryLimitMiB * 0.75);
    // The young generation as set, not Node's 16 MiB semi-spaces (V8 counts three of them in the limit).
    expect(limitMiB - memoryLimitMiB / 2).toBeLessThanOrEqual(3 * SEMI_SPACE_MIB);
  });

  test('flags win over environment variables', () => {
    expect(
      parseConfig(['--namespaces=a,b', '--log-level=debug'], { WATCH_NAMESPACES: 'c', LOG_LEVEL: 'warn' }),
    ).toMatchObject({ namespaces: ['a', 'b'], logLevel: 'debug' });
  });

  test('bad settings are all reported, with what is allowed; --flag value works like --flag=value', () => {
    expect(() => parseConfig(['--metrics-port=http', '--leader-elect', 'yes', '--log-level=loud'], {})).toThrow(
      'invalid operator configuration:\n' +
        '  - --log-level "loud" is not valid: use one of fatal, error, warn, info, debug, trace\n' +
        '  - --leader-elect "yes" is not valid: use true or false\n' +
        '  - --metrics-port "http" is not valid: use an integer from 0 to 65535',
    );
    expect(parseConfig(['--namespaces', 'a,b', '--workers', '8'], {})).toMatchObject({
      namespaces: ['a', 'b'],
      workers: 8,
    });
    expect(() => parseConfig(['extra'], {})).toThrow('unexpected argument "extra"');
  });

  test('--help prints the options and yields no configuration', () => {
    let printed = '';
    expect(
      parseConfig(['--help'], {}, (t) => {
        printed += t;
      }),
    ).toBeUndefined();
    expect(printed).toContain('--connect-timeout-seconds <seconds>');
  });
});

describe('the work queue', () => {
  test('a key waiting is handed out once', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  test('a key changed while being worked on comes back once, after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
  });

  test('failures back off exponentially up to a cap, and forget resets them', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = [1, 2, 3, 4, 5].map(() => q.addRateLimited('a'));
    expect(delays).toEqual([100, 200, 400, 800, 1000]);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
    q.shutDown();
  });

  test('shutting down releases waiting workers', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });
});

describe('the image', () => {
  const dockerfile = fs.readFileSync(path.join(__dirname, '..', '..', 'Dockerfile'), 'utf8');

  test('runs the bundle on distroless Node 22 as the non-root user the pod expects', () => {
    expect(dockerfile).toMatch(/^FROM gcr\.io\/distroless\/nodejs22-debian12:nonroot$/m);
    expect(dockerfile).toMatch(new RegExp(`^USER ${NONROOT_ID}:${NONROOT_ID}$`, 'm'));
    expect(dockerfile).toMatch(
      /^ENTRYPOINT \["\/nodejs\/bin\/node", "--optimize-for-size", "\/app\/operator\.cjs"\]$/m,
    );
  });

  test('the default operator image tag follows the package version', () => {
    expect(DEFAULT_OPERATOR_IMAGE).toBe(`${OPERATOR_IMAGE_REPOSITORY}:v${require('../../package.json').version}`);
  });
});

describe('informer restart backoff', () => {
  test(
    'doubles from 0.8 s with up to 100 % jitter, caps at ' + '30 s, and starts over after a success or a calm period',
    () => {
      let now = 0;
      const b = new Backoff({ random: () => 0, now: () => now });
      expect(Array.from({ length: 8 }, () => b.next())).toEqual([800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
      b.reset();
      expect(b.next()).toBe(800);
      now += 121_000;
      expect(b.next()).toBe(800);
      expect(new Backoff({ random: () => 0.999 }).next()).toBeGreaterThan(1590);
    },
  );
});
