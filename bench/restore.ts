/**
 * Restore throughput: the rendered Restore Job's script against plain `restic restore` of the same snapshot, with
 * the pinned restic (the release the image runs). Both restore one claim's folder of a snapshot into an empty
 * folder, which is removed after each run, so the disk holds one copy at a time.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resticForRestore } from '../testing/restic-binary';
import { restoreJobManifest } from '../lib/run/restore-job';
import type { Bench } from './bench';

export function benchRestore(ctx: Bench): void {
  const restic = resticForRestore();
  const sizeMiB = ctx.quick ? 64 : 1024;
  const runs = ctx.quick ? 3 : 5;
  const root = path.join(ctx.work, 'restore');
  // The claim's folder as a backup pod sees it is /data/<claim>; here it is this folder, in the snapshot and below.
  const shop = path.join(root, 'data', 'bakery-data');
  fs.mkdirSync(shop, { recursive: true });
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < sizeMiB; i++) {
    crypto.randomFillSync(chunk);
    fs.writeFileSync(path.join(shop, `file-${String(i).padStart(4, '0')}.bin`), chunk);
  }
  const env = {
    PATH: `${restic.dir}:${process.env.PATH}`,
    RESTIC_PASSWORD: 'bench',
    RESTIC_REPOSITORY: path.join(root, 'vault'),
    RESTIC_CACHE_DIR: path.join(root, 'cache'),
    TMPDIR: path.join(root, 'tmp'),
    HOME: path.join(root, 'tmp'),
  };
  fs.mkdirSync(env.TMPDIR, { recursive: true });
  const resticOk = (args: string[]) => {
    const r = spawnSync(restic.binary, args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`restic ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  resticOk(['init', '-q']);
  resticOk(['backup', '-q', '--host', 'bakery', '--tag', 'shop=bakery', '--tag', 'backup=mall-shops/bakery', shop]);
  const id = JSON.parse(resticOk(['snapshots', '--json']))[0].id as string;
  // The shop's data is in the vault now; only the repository is read from here on.
  fs.rmSync(shop, { recursive: true, force: true });

  const job = restoreJobManifest({
    restore: { name: 'monday', namespace: 'mall-shops', uid: 'u' },
    backupName: 'bakery',
    backupSpec: {
      shopName: 'bakery',
      backupTime: '02:30',
      vaultLocation: 'pvc://vault/repo',
      vaultCredentialsSecret: 'v',
    } as never,
    claims: [{ claim: 'bakery-data', targetClaim: 'restored', path: '' }],
  });
  const container = job.spec.template.spec.containers[0];
  const target = () => path.join(root, `target-${crypto.randomUUID()}`);
  const contenders: Record<string, (folder: string) => number> = {
    "the rendered Restore Job's script": (folder) => {
      const jobEnv: Record<string, string> = {};
      for (const e of container.env) jobEnv[e.name] = e.value;
      Object.assign(jobEnv, env, { TERMINATION_LOG: path.join(env.TMPDIR, 'termination') });
      // The claim's path in the snapshot and the target claim's mount, as this machine has them.
      const argv = container.command.map((a: string) =>
        a === '/data/bakery-data' ? shop : a === '/restore/0' ? folder : a,
      );
      return ctx.timeOnce(argv[0], argv.slice(1), { env: jobEnv });
    },
    'plain restic restore': (folder) =>
      ctx.timeOnce(restic.binary, ['restore', '-q', `${id}:${shop}`, '--target', folder], { env }),
  };
  const bytesIn = (folder: string): number =>
    fs
      .readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
  // Each must bring back every byte before either is timed, and the script report them; each run's copy is removed.
  for (const [name, run] of Object.entries(contenders)) {
    const folder = target();
    try {
      run(folder);
      const restored = bytesIn(folder);
      if (restored !== sizeMiB * 2 ** 20) throw new Error(`${name} restored ${restored} bytes, not ${sizeMiB} MiB`);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }
  const reported = fs.readFileSync(path.join(env.TMPDIR, 'termination'), 'utf8').trim().split(' ');
  if (reported[2] !== id.slice(0, 8) || reported[4] !== String(sizeMiB) || reported[5] !== String(sizeMiB * 2 ** 20))
    throw new Error(`the script reported ${reported.join(' ')}, not snapshot ${id.slice(0, 8)}, ${sizeMiB} files`);
  const timed = (run: (folder: string) => number) => () => {
    const folder = target();
    try {
      return run(folder);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  };
  const results = ctx.sideBySide(
    Object.fromEntries(Object.entries(contenders).map(([k, run]) => [k, timed(run)])),
    runs,
  );
  const ratio = results['plain restic restore'].median / results["the rendered Restore Job's script"].median;
  // What one opening of the repository costs (restic's key derivation, and little else): the script's fixed share.
  const open = ctx.sideBySide(
    { 'restic --no-lock cat config': () => ctx.timeOnce(restic.binary, ['--no-lock', 'cat', 'config'], { env }) },
    runs,
  )['restic --no-lock cat config'];
  // What the script adds on top of the restore: counting the restored files for the status (its walk of the target).
  const restored = target();
  contenders['plain restic restore'](restored);
  const walk = ctx.sideBySide(
    {
      walk: () =>
        ctx.timeOnce('sh', ['-c', 'cd "$1" && find . -type f -exec stat -c %s {} + >/dev/null', 'walk', restored]),
    },
    runs,
  ).walk;
  fs.rmSync(restored, { recursive: true, force: true });
  const mibPerS = (ms: number) => (sizeMiB / (ms / 1000)).toFixed(0);
  ctx.section(
    `Restore data path: ${sizeMiB} MiB of random data from a local repository into an empty folder (median of ` +
      `${runs} runs after a warm-up, min–max)`,
    [
      '| run | time | throughput |',
      '| --- | --- | --- |',
      ...Object.entries(results).map(([k, s]) => `| ${k} | ${ctx.fmt(s)} | ${mibPerS(s.median)} MiB/s |`),
      '',
      `- throughput, script / plain restic restore: ${ratio.toFixed(3)}× (target ≥ 0.95×); restic ${restic.version}, ` +
        `the pinned release.`,
      `- Opening the repository (\`restic --no-lock cat config\`: the key derivation restic calibrated when the ` +
        `vault was made, and little else) costs ${ctx.fmt(open)} per call. The script opens it once, as plain ` +
        "restic does: restic picks the newest snapshot of the claim (`latest` with the Backup's host, tags and the " +
        "claim's path) inside the restore and prints its ID and time; the files and bytes for the status are " +
        'counted in the target afterwards (it was empty), a walk with `find` and `stat`, with no second read of the ' +
        `repository. What is left between the two is that walk (${ctx.fmt(walk)} for these ${sizeMiB} files) and ` +
        'the shell; the spread of the two medians on a shared machine is far larger than either.',
    ],
  );
}
