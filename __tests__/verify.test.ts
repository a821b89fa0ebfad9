/**
 * Verification with real restic: the fixed check and test-restore scripts over a real vault pass, and once bytes
 * in one pack file are flipped the check fails with CheckFailed, which the judgement turns into Verified=False.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHECK_SCRIPT, TEST_RESTORE_SCRIPT } from '../lib/run/verify-script';
import type { KubeObject } from '../operator/controller/types';
import { judgeVerification, parseVerifyReport } from '../operator/controller/verification';
import { WATCHES } from '../operator/controller/watches';
import { resticForRestore } from '../testing/restic-binary';
import { vaultFromTemplate } from '../testing/vault-template';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery staple';
let work: string;
let restic: { dir: string; binary: string };
let env: Record<string, string>;

function run(args: string[], extra: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(restic.binary, args, { env: { ...env, ...extra }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** One verification run as the pod runs it: sh, the fixed script, values in the environment only. */
function runScript(script: string, subset: string): { status: number | null; report: string; log: string } {
  const tmp = fs.mkdtempSync(path.join(work, 'tmp-'));
  const log = path.join(tmp, 'termination-log');
  const r = spawnSync('/bin/sh', ['-c', script, 'mall-verify'], {
    env: {
      ...env,
      TMPDIR: tmp,
      TERMINATION_LOG: log,
      READ_DATA_SUBSET: subset,
      SHOP_NAME: 'bakery',
      BACKUP_REF: 'shops/bakery',
      LOCK_WAIT: '5s',
    },
    encoding: 'utf8',
  });
  return {
    status: r.status,
    report: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '',
    log: `${r.stdout}${r.stderr}`,
  };
}

/** The vault's check, then this Backup's test restore: what the two CronJobs run. */
function verify(subset = '100%'): { check: ReturnType<typeof runScript>; restore: ReturnType<typeof runScript> } {
  return { check: runScript(CHECK_SCRIPT, subset), restore: runScript(TEST_RESTORE_SCRIPT, subset) };
}

beforeAll(() => {
  restic = resticForRestore();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-verify-'));
  env = {
    PATH: `${restic.dir}:/usr/bin:/bin`,
    HOME: work,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_REPOSITORY: path.join(work, 'vault'),
    RESTIC_CACHE_DIR: path.join(work, 'cache'),
  };
  const data = path.join(work, 'data', 'bakery-data');
  fs.mkdirSync(path.join(data, 'orders'), { recursive: true });
  // Random, so restic's compression leaves a pack file as big as the data and a flipped byte lands in data.
  for (let i = 0; i < 20; i++)
    fs.writeFileSync(path.join(data, 'orders', `order-${i}.bin`), crypto.randomBytes(50_000));
  fs.writeFileSync(path.join(data, 'menu.txt'), 'bread, cake\n');
  // The init Job's repository, copied (testing/vault-template.ts): what is verified is what the runs write to it.
  vaultFromTemplate(work, 'vault');
  // Another Backup's newer snapshot in the same vault must not be the one test-restored.
  expect(
    run(['backup', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=shops/bakery', path.join(work, 'data')])
      .status,
  ).toBe(0);
  fs.writeFileSync(path.join(work, 'other.txt'), 'not the bakery');
  expect(
    run([
      'backup',
      '--host',
      'florist',
      '--tag',
      'shop=florist',
      '--tag',
      'backup=shops/florist',
      path.join(work, 'other.txt'),
    ]).status,
  ).toBe(0);
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const job = (name: string, failed: boolean, at = '2026-11-25T03:10:00Z'): KubeObject => ({
  metadata: { name },
  status: {
    completionTime: failed ? undefined : at,
    conditions: [{ type: failed ? 'Failed' : 'Complete', status: 'True', lastTransitionTime: at }],
  },
});
const pod = (jobName: string, message: string): KubeObject => ({
  metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
  status: {
    containerStatuses: [{ state: { terminated: { exitCode: message.startsWith('failed') ? 1 : 0, message } } }],
  },
});

test(
  'a sound vault: check passes, the newest snapshot of this Backup restores with matching content; ' + 'Verified=True',
  () => {
    const { check, restore } = verify();
    expect({ status: check.status, log: check.log }).toMatchObject({ status: 0 });
    expect({ status: restore.status, log: restore.log }).toMatchObject({ status: 0 });
    expect(parseVerifyReport(check.report)).toEqual({ checked: { subset: '100%' } });
    const report = parseVerifyReport(restore.report);
    expect(report.verified).toMatchObject({ files: 21, bytes: 20 * 50_000 + 'bread, cake\n'.length });
    const snapshots = JSON.parse(run(['snapshots', '--json', '--host', 'bakery']).out);
    // restic's full ID, as restic snapshots --json gives it and the Backup's lastSnapshotID holds it.
    expect(report.verified!.snapshotID).toBe(snapshots[0].id);
    const runs = {
      checkJobs: [job('vault-check-1', false, '2026-11-25T03:05:00Z')],
      restoreJobs: [job('verify-bakery-1', false)],
      pods: [pod('vault-check-1', check.report), pod('verify-bakery-1', restore.report)],
    };
    expect(judgeVerification(runs, undefined)).toMatchObject({
      condition: { type: 'Verified', status: 'True', reason: 'Verified' },
      lastVerifiedSnapshotID: report.verified!.snapshotID,
      lastVerifiedTime: '2026-11-25T03:10:00Z',
      events: [],
    });
    // One half alone proves nothing about the other: Unknown, no claim of a verified snapshot.
    const halves = [
      { ...runs, checkJobs: [] },
      { ...runs, restoreJobs: [] },
    ].map((r) => judgeVerification(r, undefined));
    expect(halves.map((h) => [h.condition?.status, h.condition?.reason, h.lastVerifiedSnapshotID])).toEqual([
      ['Unknown', 'AwaitingVaultCheck', undefined],
      ['Unknown', 'AwaitingTestRestore', undefined],
    ]);
  },
);

test(
  'bytes flipped in one pack file: CheckFailed, Verified=False with a Warning, and no claim of a verified ' +
    'snapshot',
  () => {
    const packs = fs
      .readdirSync(path.join(work, 'vault', 'data'))
      .flatMap((d) =>
        fs.readdirSync(path.join(work, 'vault', 'data', d)).map((f) => path.join(work, 'vault', 'data', d, f)),
      );
    const biggest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    const bytes = fs.readFileSync(biggest);
    for (let i = 1000; i < 1016; i++) bytes[i] ^= 0xff;
    fs.writeFileSync(biggest, bytes);

    const { check } = verify();
    expect(check.status).toBe(1);
    expect(check.report).toMatch(
      new RegExp(
        String.raw`^failed CheckFailed restic check found the vault damaged or unreadable: .*ciphertext ` +
          String.raw`verification failed.*; The repository contains damaged pack files\..* \(read subset 100%\)\n$`,
      ),
    );
    const previous = {
      type: 'Verified',
      status: 'True' as const,
      reason: 'Verified',
      message: '',
      lastTransitionTime: '2026-11-24T03:10:00Z',
    };
    const runs = {
      checkJobs: [job('vault-check-1', false), job('vault-check-2', true, '2026-11-26T03:10:00Z')],
      restoreJobs: [job('verify-bakery-1', false)],
      pods: [
        pod('vault-check-1', 'checked 100%'),
        pod('vault-check-2', check.report),
        pod('verify-bakery-1', 'verified 4bba301e 2026-11-25T02:30:00Z 21 1000012'),
      ],
    };
    const verdict = judgeVerification(runs, previous);
    expect(verdict.condition).toMatchObject({
      status: 'False',
      reason: 'CheckFailed',
      message: expect.stringMatching(/^vault-check-2: restic check found the vault damaged/),
    });
    expect(verdict.lastVerifiedSnapshotID).toBeUndefined();
    expect(verdict.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'CheckFailed' })]);
    // Already unverified for the same reason: no second Warning.
    expect(judgeVerification(runs, { ...previous, status: 'False', reason: 'CheckFailed' }).events).toEqual([]);
  },
);

test(
  "a damaged pack the check's subset skips is still caught: the test restore compares content with the " + 'snapshot',
  () => {
    const damaged = fs
      .readdirSync(path.join(work, 'vault', 'data'))
      .flatMap((d) => fs.readdirSync(path.join(work, 'vault', 'data', d)))
      .map((f) => ({ f, size: fs.statSync(path.join(work, 'vault', 'data', f.slice(0, 2), f)).size }))
      .sort((a, b) => b.size - a.size)[0].f;
    // restic's n/t reads the packs whose ID's first byte is n-1 modulo t: pick the half without the damaged one.
    const subset = `${((parseInt(damaged.slice(0, 2), 16) + 1) % 2) + 1}/2`;
    const result = runScript(TEST_RESTORE_SCRIPT, subset);
    expect(runScript(CHECK_SCRIPT, subset).status).toBe(0);
    expect(result.status).toBe(1);
    expect(result.report).toMatch(
      new RegExp(
        String.raw`^failed TestRestoreFailed the test restore of snapshot [0-9a-f]+ did not restore ` +
          String.raw`every file with the content the snapshot records`,
      ),
    );
    const verdict = judgeVerification(
      {
        checkJobs: [job('vault-check-3', false)],
        restoreJobs: [job('verify-bakery-3', true)],
        pods: [pod('vault-check-3', `checked ${subset}`), pod('verify-bakery-3', result.report)],
      },
      undefined,
    );
    expect(verdict.condition).toMatchObject({ status: 'False', reason: 'TestRestoreFailed' });
  },
);

test(
  'a Job that finished without a report proves nothing; one whose pod has not reported yet is not judged ' + 'yet',
  () => {
    const none = { checkJobs: [], restoreJobs: [], pods: [] };
    const silent = {
      checkJobs: [job('vault-check-4', false)],
      restoreJobs: [job('verify-bakery-4', false)],
      pods: [pod('vault-check-4', ''), pod('verify-bakery-4', '')],
    };
    expect(judgeVerification(silent, undefined).condition).toMatchObject({
      status: 'False',
      reason: 'VerificationFailed',
      message: expect.stringMatching(/^vault-check-4: the vault check Job finished without reporting a result/),
    });
    // The Jobs are seen finished, their pods still running in the cache: no verdict, so no false alarm.
    const running = (name: string): KubeObject => ({
      metadata: { name: `${name}-x`, labels: { 'job-name': name } },
      status: { containerStatuses: [{ state: { running: {} } }] },
    });
    expect(
      judgeVerification({ ...silent, pods: [running('vault-check-4'), running('verify-bakery-4')] }, undefined),
    ).toEqual({ events: [] });
    // A failed Job whose pod never existed (e.g. refused by a quota) is judged at once.
    expect(judgeVerification({ ...none, checkJobs: [job('vault-check-5', true)] }, undefined).condition).toMatchObject({
      status: 'False',
      reason: 'VerificationFailed',
      message: expect.stringMatching(/the vault check Job failed without a report/),
    });
    expect(parseVerifyReport('failed Mischief rm -rf /\n')).toEqual({});
    expect(judgeVerification(none, undefined)).toEqual({ events: [] });
  },
);

test('an evicted pod reports nothing: the kubelet says why, a full scratch volume as ScratchTooSmall', () => {
  // As the operator's pod cache keeps it (trimmed as it arrives), not as the API server sends it.
  const cached = (pod: KubeObject): KubeObject => {
    WATCHES.pods.trim?.(pod);
    return pod;
  };
  const evicted = (jobName: string, message: string): KubeObject =>
    cached({
      metadata: { name: `${jobName}-x`, labels: { 'job-name': jobName } },
      spec: { nodeName: 'node-1', containers: [{ name: 'restic' }] },
      // The kubelet kills the container: no termination message, and the container status may not say terminated.
      status: { phase: 'Failed', reason: 'Evicted', message, containerStatuses: [{ state: { waiting: {} } }] },
    });
  const full = 'Usage of EmptyDir volume "tmp" exceeds the limit "20Gi". ';
  const runs = {
    checkJobs: [job('vault-check-6', false)],
    restoreJobs: [job('verify-bakery-6', true)],
    pods: [pod('vault-check-6', 'checked 5%'), evicted('verify-bakery-6', full)],
  };
  expect(judgeVerification(runs, undefined).condition).toMatchObject({
    status: 'False',
    reason: 'ScratchTooSmall',
    message: expect.stringMatching(
      new RegExp(
        "^verify-bakery-6: the kubelet evicted the test restore's pod: " +
          '"Usage of EmptyDir volume "tmp" exceeds the limit "20Gi". "; .*raise the operator\'s verifyScratchSize',
      ),
    ),
  });
  // Evicted for the node's memory, or the check's pod: the kubelet's words, not a scratch-space finding.
  const memory = { ...runs, pods: [runs.pods[0], evicted('verify-bakery-6', 'The node was low on resource: memory.')] };
  expect(judgeVerification(memory, undefined).condition).toMatchObject({
    reason: 'VerificationFailed',
    message: expect.stringContaining(`evicted the test restore's pod: "The node was low on resource: memory."`),
  });
  const check = { ...runs, checkJobs: [job('vault-check-6', true)], pods: [evicted('vault-check-6', full)] };
  expect(judgeVerification(check, undefined).condition).toMatchObject({
    reason: 'VerificationFailed',
    message: expect.stringContaining(`vault-check-6: the kubelet evicted the vault check's pod: "Usage of EmptyDir`),
  });
});
