/**
 * Nothing lost, for real: the backup pod's command, args and env, taken from the rendered CronJob,
 * run with restic against a temp shop folder into (a) a local vault (pvc://) and (b) an S3 vault served
 * by s3rver over TLS on 127.0.0.1; then the README's restore Job brings the files back, compared
 * byte for byte and mode for mode.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_VAULT_RUN_SETTINGS, RESTIC_IMAGE } from '../lib/run/backup-job-spec';
import { RESTIC_VERSION } from '../lib/run/restic-version';
import * as pod from '../testing/backup-pod';
import { restrictedProblems } from '../testing/k8s-rules';
import { resticBinary, resticPath } from '../testing/restic';
import { runContainer } from '../testing/run-container';
import { useS3Vault } from '../testing/s3-server';

const PASSWORD = pod.PASSWORD;
let work: string;

beforeAll(() => {
  resticBinary();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-restic-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

test('the backup image and the tests run one restic release', () => {
  expect(RESTIC_IMAGE).toBe(`docker.io/restic/restic:${RESTIC_VERSION}`);
  expect(execFileSync(resticBinary(), ['version'], { encoding: 'utf8' })).toMatch(
    new RegExp(`^restic ${RESTIC_VERSION.replace(/\./g, '\\.')} `),
  );
});

/** A shop folder with nested folders, binary and empty files, and several modes. */
function makeShop(root: string, claims: string[]): void {
  for (const claim of claims) {
    const dir = path.join(root, claim);
    fs.mkdirSync(path.join(dir, 'recipes', 'secret'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'recipes', 'bread.txt'), `flour, water, salt for ${claim}\n`);
    fs.writeFileSync(path.join(dir, 'recipes', 'secret', 'sourdough.bin'), crypto.randomBytes(300_000));
    fs.writeFileSync(path.join(dir, 'empty'), '');
    fs.writeFileSync(path.join(dir, 'oven.sh'), '#!/bin/sh\necho hot\n');
    fs.chmodSync(path.join(dir, 'oven.sh'), 0o755);
    fs.chmodSync(path.join(dir, 'recipes', 'secret', 'sourdough.bin'), 0o600);
    fs.chmodSync(path.join(dir, 'recipes', 'secret'), 0o700);
  }
}

/** relative path → [mode, sha256] of every file and folder below `root`. */
function fingerprint(root: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = path.relative(root, full);
      const mode = (fs.statSync(full).mode & 0o7777).toString(8);
      if (entry.isDirectory()) {
        out[rel] = [mode, 'dir'];
        walk(full);
      } else {
        out[rel] = [mode, crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')];
      }
    }
  };
  walk(root);
  return out;
}

type Shop = pod.Shop;

/** Runs one backup of `shop` as the pod would (the vault created once first, as the operator does). */
function backupRun(shop: Shop, dirs: { data: string; vault: string }, secret: Record<string, string>) {
  const place = { ...dirs, work, secret };
  if (!fs.existsSync(path.join(work, `.init-${shop.spec.vaultLocation ?? 'default'}`.replace(/[/:]/g, '_')))) {
    pod.initVault(shop, place);
    fs.writeFileSync(path.join(work, `.init-${shop.spec.vaultLocation ?? 'default'}`.replace(/[/:]/g, '_')), '');
  }
  const out = pod.backupRun(shop, place);
  return { run: out, snapshot: out.result?.snapshot, result: out.result };
}

function snapshots(repository: string, env: Record<string, string> = {}) {
  return pod.snapshots(repository, work, env);
}

function readmeRestoreJob(): any {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = /<!-- restore-job:begin -->\n```yaml\n([\s\S]*?)```\n<!-- restore-job:end -->/.exec(readme);
  if (!block) throw new Error('README.md has no restore-job block');
  return parse(block[1]);
}

/** Runs the README's restore Job for shop "bakery" in namespace "mall-shops" against `repository`. */
function restoreWithReadmeJob(repository: string, env: Record<string, string> = {}): string {
  const job = readmeRestoreJob();
  const target = fs.mkdtempSync(path.join(work, 'restore-'));
  const tmp = fs.mkdtempSync(path.join(work, 'restore-tmp-'));
  const run = runContainer(job.spec.template.spec, {
    mounts: { '/restore': target, '/tmp': tmp },
    secret: { RESTIC_PASSWORD: PASSWORD, ...env },
    // The example names a cloud vault; the test points the same Job at its own.
    extraEnv: { RESTIC_REPOSITORY: repository, PATH: resticPath() },
  });
  expect(run.stderr).not.toMatch(/Fatal/);
  expect(run.status).toBe(0);
  return target;
}

const bakery: Shop = { name: 'bakery', namespace: 'mall-shops', spec: {}, claims: ['bakery-data', 'bakery-db'] };

test('the README restore Job passes Pod Security restricted', () => {
  expect(restrictedProblems(readmeRestoreJob().spec.template.spec, 'restore Job')).toEqual([]);
});

test('local vault (pvc://): back up, then restore every file with its bytes and mode', () => {
  const data = path.join(work, 'data');
  const vault = path.join(work, 'vault');
  fs.mkdirSync(vault);
  makeShop(data, bakery.claims);
  const { run, snapshot, result } = backupRun(bakery, { data, vault }, {});
  expect(run.status).toBe(0);
  expect(result).toMatchObject({
    outcome: 'Completed',
    reason: 'BackupSucceeded',
    stats: { totalFiles: 8, filesNew: 8 },
  });
  const second = backupRun(bakery, { data, vault }, {});
  expect(second.result).toMatchObject({ outcome: 'Completed', stats: { filesNew: 0, filesChanged: 0, totalFiles: 8 } });
  const all = snapshots(path.join(vault, 'shops'));
  expect(all).toHaveLength(2);
  expect(all[0]).toMatchObject({ hostname: 'bakery', tags: ['shop=bakery', 'backup=mall-shops/bakery'] });
  expect(all[0].id.startsWith(snapshot!)).toBe(true);

  const restored = restoreWithReadmeJob(path.join(vault, 'shops'));
  expect(fingerprint(path.join(restored, data))).toEqual(fingerprint(data));
  expect(Object.keys(fingerprint(data)).length).toBe(14);
});

describe('S3 vault over TLS (s3rver on 127.0.0.1)', () => {
  const s3 = useS3Vault();

  test('back up, then restore every file with its bytes and mode', () => {
    const data = path.join(work, 'data');
    makeShop(data, bakery.claims);
    const endpoint = s3.endpoint;
    const tlsEnv = { ...s3.secret, ...s3.env };
    const shop = { ...bakery, spec: { vaultLocation: `${endpoint}/mall` } };
    const { run, snapshot } = backupRun(shop, { data, vault: path.join(work, 'unused') }, tlsEnv);
    expect(run.status).toBe(0);
    const [only] = snapshots(`${endpoint}/mall`, tlsEnv);
    expect(only.id.startsWith(snapshot!)).toBe(true);
    const restored = restoreWithReadmeJob(`${endpoint}/mall`, tlsEnv);
    expect(fingerprint(path.join(restored, data))).toEqual(fingerprint(data));
  }, 60_000);
});

describe('retention', () => {
  const data = () => path.join(work, 'data');
  const vault = () => path.join(work, 'vault');
  const repo = () => path.join(vault(), 'shops');
  beforeEach(() => {
    fs.mkdirSync(vault());
    makeShop(data(), ['bakery-data', 'florist-data']);
  });

  test('keeps the newest keepLast snapshots, the newest among them', () => {
    // No floor here: the cluster's floor (days) would keep all three.
    const shop: Shop = {
      name: 'bakery',
      namespace: 'mall-shops',
      spec: { retention: { keepLast: 2 } },
      claims: ['bakery-data'],
      props: { vaultSettings: { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0 } },
    };
    const ids = [1, 2, 3].map((i) => {
      fs.writeFileSync(path.join(data(), 'bakery-data', 'day.txt'), `day ${i}\n`);
      const { run, snapshot } = backupRun(shop, { data: data(), vault: vault() }, {});
      expect(run.status).toBe(0);
      return snapshot!;
    });
    expect(
      snapshots(repo())
        .map((s) => s.id.slice(0, 8))
        .sort(),
    ).toEqual([ids[1], ids[2]].map((id) => id.slice(0, 8)).sort());
  });

  test('a failing run does not prune', () => {
    const shop: Shop = {
      name: 'bakery',
      namespace: 'mall-shops',
      spec: { retention: { keepLast: 1 } },
      claims: ['bakery-data'],
    };
    expect(backupRun(shop, { data: data(), vault: vault() }, {}).run.status).toBe(0);
    const before = snapshots(repo());
    // Two snapshots on the vault, then a run whose shop volume is gone: restic fails, forget must not run.
    const extra = pod.restic(repo(), work, [
      'backup',
      '--host',
      'bakery',
      '--tag',
      'shop=bakery',
      '--tag',
      'backup=mall-shops/bakery',
      path.join(data(), 'bakery-data'),
    ]);
    expect(extra.status).toBe(0);
    const failed = backupRun(shop, { data: path.join(data(), 'nowhere'), vault: vault() }, {});
    expect(failed.run.status).not.toBe(0);
    expect(failed.snapshot).toBeUndefined();
    expect(snapshots(repo())).toHaveLength(before.length + 1);
  });

  test("never touches another shop's snapshots in a shared vault", () => {
    const florist: Shop = { name: 'florist', namespace: 'mall-shops', spec: {}, claims: ['florist-data'] };
    const bakeryShop: Shop = {
      name: 'bakery',
      namespace: 'mall-shops',
      spec: { retention: { keepLast: 1 } },
      claims: ['bakery-data'],
      props: { vaultSettings: { ...DEFAULT_VAULT_RUN_SETTINGS, retentionFloorDays: 0 } },
    };
    expect(backupRun(florist, { data: data(), vault: vault() }, {}).run.status).toBe(0);
    // A second florist snapshot straight from restic: were bakery's forget not confined to bakery, keep-last 1
    // would prune it.
    expect(
      pod.restic(repo(), work, [
        'backup',
        '--host',
        'florist',
        '--tag',
        'shop=florist',
        '--tag',
        'backup=mall-shops/florist',
        path.join(data(), 'florist-data'),
      ]).status,
    ).toBe(0);
    for (let i = 0; i < 2; i++) expect(backupRun(bakeryShop, { data: data(), vault: vault() }, {}).run.status).toBe(0);
    const byHost = (h: string) => snapshots(repo()).filter((s) => s.hostname === h);
    expect(byHost('florist')).toHaveLength(2);
    expect(byHost('bakery')).toHaveLength(1);
  });
});

test('hostile shop names and claim names are data, never commands', () => {
  const marker = path.join(work, 'pwned');
  const hostile = `x$(touch ${marker})"; touch ${marker}; echo "`;
  const data = path.join(work, 'data');
  const vault = path.join(work, 'vault');
  fs.mkdirSync(vault);
  const claim = `c$(touch ${marker.replace(/\//g, '_')})`;
  makeShop(data, [claim]);
  // Rendered without the validation that would refuse these names, to prove the script does not need it.
  const { run } = backupRun(
    { name: hostile, namespace: 'ns', spec: { shopName: hostile }, claims: [claim] },
    { data, vault },
    {},
  );
  expect(fs.existsSync(marker)).toBe(false);
  expect(run.status).toBe(0);
  const [only] = snapshots(path.join(vault, 'shops'));
  expect(only.hostname).toBe(hostile);
  expect(only.tags).toEqual([`shop=${hostile}`, `backup=ns/${hostile}`]);
});
