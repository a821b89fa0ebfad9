/**
 * Backup and restore runs for real restic: the rendered backup pod and the rendered restore Job, each run
 * on this machine with runContainer, their volumes mapped to folders under one work folder.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BackupSpec } from '../lib/permits/api-types';
import { CACHE_MOUNT, DATA_ROOT, TMP_MOUNT, VAULT_MOUNT } from '../lib/run/backup-job-spec';
import { RESTORE_MOUNT, RestoreClaimPlan, restoreJobManifest, RestorePodProps } from '../lib/run/restore-job';
import { backupRun as backupPodRun, initVault } from './backup-pod';
import { busyboxBinary, busyboxFolder } from './busybox';
import { resticBinary } from './restic';
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

/** A fresh world in a temp folder (remove its `work` afterwards), with restic's folder `resticDir` first on PATH. */
export function newWorld(prefix: string, resticDir: string): World {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const world = {
    work,
    claims: path.join(work, 'claims'),
    vault: path.join(work, 'vault'),
    path: `${resticDir}:${process.env.PATH}`,
  };
  fs.mkdirSync(world.vault);
  return world;
}

export function claimDir(world: World, claim: string): string {
  return path.join(world.claims, claim);
}

function scratch(world: World, prefix: string): { cache: string; tmp: string; log: string } {
  const dir = fs.mkdtempSync(path.join(world.work, prefix));
  fs.mkdirSync(path.join(dir, 'cache'));
  fs.mkdirSync(path.join(dir, 'tmp'));
  return { cache: path.join(dir, 'cache'), tmp: path.join(dir, 'tmp'), log: path.join(dir, 'termination-log') };
}

export function backupSpec(shop: string, extra: Partial<BackupSpec> = {}): BackupSpec {
  return {
    shopName: shop,
    backupTime: '02:30',
    vaultCredentialsSecret: 'vault',
    vaultLocation: 'pvc://vault/shops',
    ...extra,
  } as BackupSpec;
}

/**
 * One run of the Backup's pod over `claims` (the shared backup-pod helper, after the vault's init Job, which
 * creates the repository only when there is none); returns the snapshot ID the run reported.
 */
export function backupRun(
  world: World,
  ref: { name: string; namespace: string },
  spec: BackupSpec,
  claims: string[],
  env: Record<string, string> = {},
): string {
  // The Backup's name tags its snapshots (backup=<namespace>/<name>); the spec's shopName wins over the name.
  const shop = { name: ref.name, namespace: ref.namespace, spec, claims };
  const place = { data: world.claims, vault: world.vault, work: world.work, env: { PATH: world.path, ...env } };
  initVault(shop, place);
  const run = backupPodRun(shop, place);
  if (run.status !== 0 || !run.result?.snapshot)
    throw new Error(`backup failed: ${run.message}\n${run.stdout}\n${run.stderr}`);
  return run.result.snapshot;
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
export function restoreRun(
  world: World,
  props: Omit<RestorePodProps, 'restore'> & { restore?: RestorePodProps['restore'] },
  env: Record<string, string> = {},
): RestoreRun {
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
  // As in the image (Alpine): BusyBox sh and applets, and restic, so no GNU tool hides a BusyBox difference.
  const run = runContainer(pod, {
    mounts,
    secret: { RESTIC_PASSWORD: PASSWORD },
    extraEnv: { TERMINATION_LOG: s.log, PATH: busyboxFolder(world.work, resticBinary()), ...env },
    shell: [busyboxBinary(), 'sh'],
  });
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
      out[path.relative(root, full)] = entry.isDirectory()
        ? [mode, 'dir']
        : [mode, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')];
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
