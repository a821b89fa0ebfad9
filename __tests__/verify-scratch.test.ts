/**
 * The test restore's scratch volume is bounded: an emptyDir with a sizeLimit (the operator's verifyScratchSize,
 * 20Gi unless set), and the script's room check stops short of it or of the Backup's ephemeral-storage limit,
 * whichever is smaller. The setting goes from the app's configuration to the operator's flag to the CronJob the
 * operator renders; a bad value is refused at synth time (and by the operator) naming the field, the value and
 * what is allowed. The check itself against real restic is in verify-faults.test.ts (ScratchTooSmall).
 */
import { App } from 'cdk8s';
import { buildApp } from '../lib/delivery/app';
import { ConfigError, DEFAULT_CONFIG } from '../lib/delivery/app-config';
import { DEFAULT_VERIFY_SCRATCH_SIZE, verifyCronJobManifest } from '../lib/run/verify-job';
import { parseConfig } from '../operator/config';
import { planVerify } from '../operator/controller/verify-plan';
import { backupObject } from '../testing/reconcile-fixtures';

const spec = {
  shopName: 'bakery',
  backupTime: '02:30',
  vaultLocation: 's3:https://s3.amazonaws.com/vault/bakery',
  vaultCredentialsSecret: 'bakery-vault',
  verify: { schedule: '@weekly' },
};
const GI = 2 ** 30;

/** The scratch volume's sizeLimit and the SCRATCH_LIMIT the script gets, of a rendered test-restore CronJob. */
function scratchOf(cronJob: any): { sizeLimit: string; limitBytes: number } {
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  const tmp = pod.volumes.find((v: any) => v.name === 'tmp');
  const env = pod.containers[0].env.find((e: any) => e.name === 'SCRATCH_LIMIT');
  return { sizeLimit: tmp.emptyDir.sizeLimit, limitBytes: Number(env.value) };
}

function synthWith(operator: Record<string, unknown>): any[] | ConfigError {
  try {
    const files = buildApp(new App(), { ...DEFAULT_CONFIG, operator: { ...DEFAULT_CONFIG.operator, ...operator } });
    return files.flatMap((f) => f.chart.toJson());
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

test('by default the scratch volume has a sizeLimit of 20Gi and the room check stops there', () => {
  expect(DEFAULT_VERIFY_SCRATCH_SIZE).toBe('20Gi');
  const job = verifyCronJobManifest({ backup: { name: 'bakery', namespace: 'shops', uid: 'u' }, spec } as never);
  expect(scratchOf(job)).toEqual({ sizeLimit: '20Gi', limitBytes: 20 * GI });
});

test("the Backup's ephemeral-storage limit, when smaller, bounds the room check; the volume keeps its size", () => {
  const small = { ...spec, resources: { limits: { 'ephemeral-storage': '2Gi' } } };
  const job = verifyCronJobManifest({ backup: { name: 'b', namespace: 's', uid: 'u' }, spec: small } as never);
  expect(scratchOf(job)).toEqual({ sizeLimit: '20Gi', limitBytes: 2 * GI });
  const large = { ...spec, resources: { limits: { 'ephemeral-storage': '1Ti' } } };
  const bigger = verifyCronJobManifest({ backup: { name: 'b', namespace: 's', uid: 'u' }, spec: large } as never);
  expect(scratchOf(bigger)).toEqual({ sizeLimit: '20Gi', limitBytes: 20 * GI });
});

test('a size set in the configuration reaches the operator and the CronJob it renders', () => {
  const objects = synthWith({ verifyScratchSize: '200Gi' }) as any[];
  const container = objects.find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  expect(container.args).toContain('--verify-scratch-size=200Gi');
  const config = parseConfig(container.args, {})!;
  expect(config.verifyScratchSize).toBe('200Gi');
  // What the operator does with its setting (operator/main.ts passes it as settings.verifyScratchSize).
  const plan = planVerify({
    backup: backupObject(spec as never, { name: 'bakery', namespace: 'shops', uid: 'u' }),
    runnable: true,
    jobs: [],
    checkJobs: [],
    pods: [],
    scratchSize: config.verifyScratchSize,
    now: new Date('2026-11-25T00:00:00Z'),
  });
  expect(scratchOf(plan.applyCronJob)).toEqual({ sizeLimit: '200Gi', limitBytes: 200 * GI });
  // Left out, the Deployment passes no flag and the operator uses the default.
  const plain = (synthWith({}) as any[]).find((o) => o.kind === 'Deployment').spec.template.spec.containers[0];
  expect(plain.args.some((a: string) => a.startsWith('--verify-scratch-size'))).toBe(false);
  expect(parseConfig(plain.args, {})!.verifyScratchSize).toBe('20Gi');
});

test.each([
  ['512Mi', '"512Mi"'],
  ['lots', '"lots"'],
  ['-5Gi', '"-5Gi"'],
])('verifyScratchSize %s is refused at synth time, naming the field, the value and what is allowed', (size, shown) => {
  const error = synthWith({ verifyScratchSize: size });
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).problems).toEqual([
    `config.operator.verifyScratchSize ${shown} is not valid: use a quantity of at least 1Gi (e.g. "20Gi", "500Gi")`,
  ]);
  expect(() => parseConfig([`--verify-scratch-size=${size}`], {})).toThrow(
    `--verify-scratch-size ${shown} is not valid: use a quantity of at least 1Gi (e.g. "20Gi", "500Gi")`,
  );
});
