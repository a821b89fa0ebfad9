/**
 * Backup and restore runs for real restic: the rendered backup pod and the rendered restore Job, each run
 * on this machine with runContainer, their volumes mapped to folders under one work folder.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import type { BackupSpec } from '../../imports/mall.example.com';
import { BackupCronJob, CACHE_MOUNT, DATA_ROOT, STATE_MOUNT, TMP_MOUNT, VAULT_MOUNT } from '../../lib/run/backup-job';
import { parseRunResult } from '../../lib/run/run-result';
import { initJobManifest } from '../../lib/run/vault-jobs';
import { RESTORE_MOUNT, RestoreClaimPlan, restoreJobManifest, RestorePodProps } from '../../lib/run/restore-job';
import { runContainer } from './run-container';

export const PASSWORD = 'correct horse battery staple';

export interface World {
  /** Host folder standing in for each claim's volume: <work>/claims/<claim>. */
  readonly claims: string;
  /** The pvc:// vault's volume. */
  readonly vault: string;
  readonly work: string;
  /** PATH with the restic under test first. */
  readonly path: string;
}

export function claimDir(world: World, claim: string): string {
  return path.join(world.claims, claim);
}

function scratch(world: World, prefix: string): { cache: string; tmp: string; state: string; log: string } {
  const dir = fs.mkdtempSync(path.join(world.work, prefix));
  for (const d of ['cache', 'tmp', 'state']) fs.mkdirSync(path.join(dir, d));
  return { cache: path.join(dir, 'cache'), tmp: path.join(dir, 'tmp'), state: path.join(dir, 'state'), log: path.join(dir, 'termination-log') };
}

/** The vault's repository, created once as the operator's init Job does (a backup run never creates one). */
function initVault(world: World, namespace: string, spec: BackupSpec): void {
  const marker = path.join(world.work, `.init-${spec.vaultLocation.replace(/[/:]/g, '_')}`);
  if (fs.existsSync(marker)) return;
  const s = scratch(world, 'init-');
  const job = initJobManifest({ namespace, spec });
  const run = runContainer(job.spec.template.spec, {
    mounts: { [VAULT_MOUNT]: world.vault, [CACHE_MOUNT]: s.cache, [TMP_MOUNT]: s.tmp, [STATE_MOUNT]: s.state },
    secret: { RESTIC_PASSWORD: PASSWORD }, extraEnv: { TERMINATION_LOG: s.log, PATH: world.path },
  });
  if (run.status !== 0) throw new Error(`the vault init Job failed: ${run.stdout}\n${run.stderr}`);
  fs.writeFileSync(marker, '');
}

export function backupSpec(shop: string, extra: Partial<BackupSpec> = {}): BackupSpec {
  return { shopName: shop, backupTime: '02:30', vaultCredentialsSecret: 'vault', vaultLocation: 'pvc://vault/shops', ...extra } as BackupSpec;
}

/** One run of the Backup's pod over `claims`; returns the snapshot ID it reported. */
export function backupRun(world: World, ref: { name: string; namespace: string }, spec: BackupSpec, claims: string[], env: Record<string, string> = {}): string {
  const chart = Testing.chart();
  new BackupCronJob(chart, 'cron', { backup: { ...ref, uid: 'u' }, spec, claims });
  const pod = chart.toJson()[0].spec.jobTemplate.spec.template.spec;
  initVault(world, ref.namespace, spec);
  const s = scratch(world, 'backup-');
  const mounts: Record<string, string> = { [VAULT_MOUNT]: world.vault, [CACHE_MOUNT]: s.cache, [TMP_MOUNT]: s.tmp, [STATE_MOUNT]: s.state };
  for (const claim of claims) mounts[`${DATA_ROOT}/${claim}`] = claimDir(world, claim);
  const run = runContainer(pod, { mounts, secret: { RESTIC_PASSWORD: PASSWORD }, extraEnv: { TERMINATION_LOG: s.log, PATH: world.path, ...env } });
  const result = parseRunResult(fs.existsSync(s.log) ? fs.readFileSync(s.log, 'utf8') : undefined);
  if (run.status !== 0 || result?.outcome !== 'Completed' || !result.snapshot) throw new Error(`backup failed: ${run.stdout}\n${run.stderr}`);
  return result.snapshot;
}

export interface RestoreRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the pod wrote to its termination log. */
  readonly report: string;
  readonly job: any;
}

/**
 * Runs the restore Job rendered for `props`. Target claims are the host folders of those claims. In the
 * cluster the backup pod saw each claim at /data/<claim>; here it saw the host folder, so the restore
 * pod's snapshot paths are pointed there too.
 */
export function restoreRun(world: World, props: Omit<RestorePodProps, 'restore'> & { restore?: RestorePodProps['restore'] }, env: Record<string, string> = {}): RestoreRun {
  const job = restoreJobManifest({ restore: { name: 'r', namespace: 'mall-shops', uid: 'ru' }, ...props });
  const pod = structuredClone(job.spec.template.spec);
  const s = scratch(world, 'restore-');
  const mounts: Record<string, string> = { [VAULT_MOUNT]: world.vault, [CACHE_MOUNT]: s.cache, [TMP_MOUNT]: s.tmp };
  // Not volumes of the restore pod: paths inside the snapshots, mapped like mounts so the pod's arguments follow.
  for (const { claim } of props.claims) {
    pod.containers[0].volumeMounts.push({ name: 'snapshot-path', mountPath: `${DATA_ROOT}/${claim}` });
    mounts[`${DATA_ROOT}/${claim}`] = claimDir(world, claim);
  }
  const targets = [...new Set(props.claims.map((c: RestoreClaimPlan) => c.targetClaim))];
  targets.forEach((claim, i) => {
    fs.mkdirSync(claimDir(world, claim), { recursive: true });
    mounts[`${RESTORE_MOUNT}/${i}`] = claimDir(world, claim);
  });
  const run = runContainer(pod, { mounts, secret: { RESTIC_PASSWORD: PASSWORD }, extraEnv: { TERMINATION_LOG: s.log, PATH: world.path, ...env } });
  const report = fs.existsSync(s.log) ? fs.readFileSync(s.log, 'utf8') : '';
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, report, job };
}

/** relative path → [mode, sha256 or 'dir'] of everything below `root`. */
export function fingerprint(root: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const mode = (fs.statSync(full).mode & 0o7777).toString(8);
      out[path.relative(root, full)] = entry.isDirectory() ? [mode, 'dir'] : [mode, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')];
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out;
}

/** Writes a claim's files for `version`: a text file naming claim and version, a random binary, an executable. */
export function writeClaim(world: World, claim: string, version: string): void {
  const dir = claimDir(world, claim);
  fs.mkdirSync(path.join(dir, 'nested', 'deeper'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'version.txt'), `${claim} ${version}\n`);
  fs.writeFileSync(path.join(dir, 'nested', 'deeper', 'blob.bin'), crypto.randomBytes(100_000));
  fs.writeFileSync(path.join(dir, 'nested', 'run.sh'), '#!/bin/sh\necho hi\n');
  fs.chmodSync(path.join(dir, 'nested', 'run.sh'), 0o750);
}
