/**
 * The rendered backup pod (and the per-vault init Job) run on this machine with the pinned restic: command, args
 * and env taken from the manifests, mounts mapped to temp folders, the result read from the termination message.
 */
import { ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import type { BackupSpec } from '../lib/permits/api-types';
import { BackupCronJob } from '../lib/run/backup-job';
import {
  BackupPodProps,
  CACHE_MOUNT,
  DATA_ROOT,
  STATE_MOUNT,
  TMP_MOUNT,
  VAULT_MOUNT,
} from '../lib/run/backup-job-spec';
import { parseRunResult, RunResult } from '../lib/run/run-result';
import { initJobManifest, maintenanceCronJobManifest } from '../lib/run/vault-jobs';
import { busyboxBinary, busyboxFolder } from './busybox';
import { resticBinary, resticPath } from './restic';
import { runContainer, startContainer } from './run-container';

export const PASSWORD = 'correct horse battery staple';

export interface Shop {
  name: string;
  namespace: string;
  spec: Partial<BackupSpec>;
  claims: string[];
  props?: Partial<BackupPodProps>;
}

export function specOf(shop: Shop): BackupSpec {
  return {
    shopName: shop.name,
    backupTime: '02:30',
    vaultCredentialsSecret: 'vault',
    vaultLocation: 'pvc://vault/shops',
    ...shop.spec,
  } as BackupSpec;
}

export function renderPod(shop: Shop): any {
  const chart = Testing.chart();
  new BackupCronJob(chart, 'cron', {
    backup: { name: shop.name, namespace: shop.namespace, uid: 'u' },
    spec: specOf(shop),
    claims: shop.claims,
    ...shop.props,
  });
  return chart.toJson()[0].spec.jobTemplate.spec.template.spec;
}

export interface Place {
  /** Folder holding one sub-folder per claim. */
  data: string;
  /** Host folder of the pvc:// vault claim. */
  vault: string;
  /** Scratch space for the pod's emptyDirs. */
  work: string;
  /** Credentials and settings the vault Secret would hold, plus test overrides of the environment. */
  secret?: Record<string, string>;
  env?: Record<string, string>;
  wrap?: string[];
  /**
   * The shell the pod command runs under: `busybox` (default) as in the restic image (Alpine), with a PATH of
   * BusyBox applets and the pinned restic only; `host` for this machine's /bin/sh and tools.
   */
  shell?: 'busybox' | 'host';
  /** Folders put before the image's PATH (e.g. a copy of restic a non-root user can run). */
  pathPrefix?: string[];
}

function podOptions(shop: Shop, place: Place) {
  const scratch = fs.mkdtempSync(path.join(place.work, 'pod-'));
  // Open to any user: some tests run the pod as its non-root user.
  fs.chmodSync(scratch, 0o777);
  for (const d of ['cache', 'tmp', 'state']) fs.mkdirSync(path.join(scratch, d), { mode: 0o777 });
  for (const d of ['cache', 'tmp', 'state']) fs.chmodSync(path.join(scratch, d), 0o777);
  const mounts: Record<string, string> = {
    [VAULT_MOUNT]: place.vault,
    [CACHE_MOUNT]: path.join(scratch, 'cache'),
    [TMP_MOUNT]: path.join(scratch, 'tmp'),
    [STATE_MOUNT]: path.join(scratch, 'state'),
  };
  for (const claim of shop.claims) mounts[`${DATA_ROOT}/${claim}`] = path.join(place.data, claim);
  const terminationLog = path.join(scratch, 'termination-log');
  const image = (place.shell ?? 'busybox') === 'busybox';
  return {
    terminationLog,
    scratch,
    options: {
      mounts,
      secret: { RESTIC_PASSWORD: PASSWORD, ...place.secret },
      extraEnv: {
        PATH: [...(place.pathPrefix ?? []), image ? busyboxFolder(place.work, resticBinary()) : resticPath()].join(':'),
        TERMINATION_LOG: terminationLog,
        ...place.env,
      },
      wrap: place.wrap,
      shell: image ? [busyboxBinary(), 'sh'] : undefined,
    },
  };
}

export interface RunOutput {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  message: string;
  result?: RunResult;
  scratch: string;
}

function outputOf(
  status: number | null,
  signal: NodeJS.Signals | null,
  stdout: string,
  stderr: string,
  terminationLog: string,
  scratch: string,
): RunOutput {
  const message = fs.existsSync(terminationLog) ? fs.readFileSync(terminationLog, 'utf8') : '';
  return { status, signal, stdout, stderr, message, result: parseRunResult(message), scratch };
}

/** One backup run of `shop`, to the end. */
export function backupRun(shop: Shop, place: Place): RunOutput {
  const { terminationLog, scratch, options } = podOptions(shop, place);
  const run = runContainer(renderPod(shop), options);
  return outputOf(run.status, run.signal, run.stdout, run.stderr, terminationLog, scratch);
}

/** A backup run started in the background: the process (to signal) and its end. */
export function startBackup(
  shop: Shop,
  place: Place,
): { child: ChildProcess; done: Promise<RunOutput>; scratch: string; stderr: () => string } {
  const { terminationLog, scratch, options } = podOptions(shop, place);
  const child = startContainer(renderPod(shop), options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => {
    stdout += c;
  });
  child.stderr!.on('data', (c) => {
    stderr += c;
  });
  const done = new Promise<RunOutput>((resolve) => {
    child.on('close', (status, signal) => resolve(outputOf(status, signal, stdout, stderr, terminationLog, scratch)));
  });
  return { child, done, scratch, stderr: () => stderr };
}

/** The operator's init Job for the vault of `shop`, run once. */
export function initVault(shop: Shop, place: Place): void {
  const job = initJobManifest({ namespace: shop.namespace, spec: specOf(shop) });
  const { options } = podOptions({ ...shop, claims: [] }, place);
  const run = runContainer(job.spec.template.spec, options);
  if (run.status !== 0) throw new Error(`the init Job failed (${run.status}): ${run.stderr}`);
}

/** The vault's maintenance (prune + check) as its CronJob's pod runs it, in the background. */
export function startMaintenance(
  shop: Shop,
  place: Place,
  lockWait = '1m',
): { child: ChildProcess; done: Promise<{ status: number | null; stderr: string; result?: RunResult }> } {
  const cron = maintenanceCronJobManifest({
    namespace: shop.namespace,
    spec: specOf(shop),
    schedule: '0 4 * * 0',
    lockWait,
  });
  const { options, terminationLog } = podOptions({ ...shop, claims: [] }, place);
  const child = startContainer(cron.spec.jobTemplate.spec.template.spec, options);
  let stderr = '';
  child.stderr!.on('data', (c) => {
    stderr += c;
  });
  const result = () =>
    fs.existsSync(terminationLog) ? parseRunResult(fs.readFileSync(terminationLog, 'utf8')) : undefined;
  return {
    child,
    done: new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr, result: result() }))),
  };
}

export function resticEnv(
  repository: string,
  work: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    RESTIC_REPOSITORY: repository,
    RESTIC_PASSWORD: PASSWORD,
    RESTIC_CACHE_DIR: path.join(work, 'cli-cache'),
    ...extra,
  };
}

export interface Snapshot {
  id: string;
  hostname: string;
  tags: string[];
  time: string;
  summary?: { total_files_processed: number };
}

export function snapshots(repository: string, work: string, extra: Record<string, string> = {}): Snapshot[] {
  return JSON.parse(
    execFileSync(resticBinary(), ['snapshots', '--json', '--no-lock'], {
      env: resticEnv(repository, work, extra),
      encoding: 'utf8',
    }),
  );
}

/** restic itself, outside any pod. */
export function restic(repository: string, work: string, args: string[], extra: Record<string, string> = {}) {
  return spawnSync(resticBinary(), args, { env: resticEnv(repository, work, extra), encoding: 'utf8' });
}
