/**
 * A fresh local (pvc://) vault for tests that need one but do not test its creation: the operator's real init Job
 * runs once per jest run into the run's temp folder, and each test copies that repository (a few empty folders, the
 * config and a key) instead of running its own init.
 *
 * The copy's key is re-sealed with cheap scrypt parameters. restic calibrates its key derivation to take about half a
 * second of CPU on the machine that runs `init`, and pays it again in every later command that opens the vault: on
 * an idle machine that is most of the CPU a test's hundreds of restic calls use. restic's own test suite lowers the
 * same parameters (TestUseLowSecurityKDFParameters). What the tests prove (the run's script, its restic calls and
 * their outcomes) does not depend on them; a wrong password still fails the same way, since the key's MAC is
 * checked as with any key. The init Job itself stays under test where it is the subject (the first runs on a fresh
 * vault, the S3 vaults).
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initVault, PASSWORD } from './backup-pod';
import { resticBinary } from './restic';

/** scrypt N=2^10, r=8, p=1: about 3 ms per vault opening instead of restic's calibrated ~500 ms. */
const CHEAP = { N: 1 << 10, r: 8, p: 1 };

let built: string | undefined;

/**
 * Poly1305 (RFC 8439) over `msg` with the one-time key r||s; restic's MAC (Poly1305-AES) is this with
 * s = AES_k(nonce).
 */
function poly1305(msg: Buffer, r16: Buffer, s16: Buffer): Buffer {
  const le = (b: Buffer) => BigInt(`0x${Buffer.from(b).reverse().toString('hex') || '0'}`);
  const p = (1n << 130n) - 5n;
  const r = le(r16) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  const tag = (acc + le(s16)) & ((1n << 128n) - 1n);
  return Buffer.from(tag.toString(16).padStart(32, '0'), 'hex').reverse();
}

/** A key file (restic's format: scrypt, then AES-256-CTR and Poly1305-AES) holding `master` under the password. */
function keyFile(master: object, password = PASSWORD): Buffer {
  const salt = crypto.randomBytes(64);
  const user = crypto.scryptSync(password, salt, 64, { ...CHEAP, maxmem: 64 << 20 });
  const nonce = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-ctr', user.subarray(0, 32), nonce);
  const sealed = Buffer.concat([cipher.update(JSON.stringify(master)), cipher.final()]);
  const s = crypto.createCipheriv('aes-128-ecb', user.subarray(32, 48), null).setAutoPadding(false).update(nonce);
  const mac = poly1305(sealed, user.subarray(48, 64), s);
  const key = {
    created: new Date().toISOString(),
    username: 'mall-backup-tests',
    hostname: os.hostname(),
    kdf: 'scrypt',
    N: CHEAP.N,
    r: CHEAP.r,
    p: CHEAP.p,
    salt: salt.toString('base64'),
    data: Buffer.concat([nonce, sealed, mac]).toString('base64'),
  };
  return Buffer.from(JSON.stringify(key));
}

function opens(repository: string, work: string): boolean {
  try {
    execFileSync(resticBinary(), ['--no-lock', 'cat', 'config'], {
      env: { RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(work, 'c') },
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * The run's template repository, built on first use (workers race benignly: the first rename wins). Each worker
 * starting a suite that needs it builds one (4 builds a run, ~1.5 s of CPU each), yet building it once in the
 * cluster global setup instead measured slower: on 4 cluster suites, 1-2 s less CPU but 9-11 s more wall in each of
 * three paired runs, the build then delaying every worker rather than overlapping their waits.
 */
export function templateRepository(): string {
  if (built && fs.existsSync(built)) return built;
  // The jest run's folder (testing/temp-folder.js), shared by its workers and removed with it; outside jest, this
  // process's own, removed when it exits.
  let parent = process.env.MALL_BACKUP_TEST_TMPDIR;
  if (!parent) {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-vault-template-'));
    process.on('exit', () => fs.rmSync(own, { recursive: true, force: true }));
    parent = own;
  }
  const final = path.join(parent, 'vault-template');
  if (!fs.existsSync(path.join(final, 'config'))) {
    const work = fs.mkdtempSync(path.join(parent, 'vault-template-build-'));
    try {
      const vault = path.join(work, 'vault');
      fs.mkdirSync(vault);
      initVault({ name: 'template', namespace: 'mall-shops', spec: {}, claims: [] }, { data: work, vault, work });
      const repository = path.join(vault, 'shops');
      const env = { RESTIC_REPOSITORY: repository, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(work, 'c') };
      const master = JSON.parse(
        execFileSync(resticBinary(), ['cat', 'masterkey', '--no-lock'], { env, encoding: 'utf8' }),
      );
      const keys = path.join(repository, 'keys');
      const [calibrated] = fs.readdirSync(keys);
      const file = keyFile(master);
      const id = crypto.createHash('sha256').update(file).digest('hex');
      fs.writeFileSync(path.join(keys, id), file, { mode: fs.statSync(path.join(keys, calibrated)).mode & 0o777 });
      fs.rmSync(path.join(keys, calibrated));
      if (!opens(repository, work)) throw new Error('the re-sealed template key does not open the vault');
      try {
        fs.renameSync(repository, final);
      } catch (error: any) {
        if (!fs.existsSync(path.join(final, 'config'))) throw error;
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }
  built = final;
  return final;
}

let master: object | undefined;

/**
 * A copy of the template at `repository` whose one key opens with `password` (cheap scrypt cost, as the template's),
 * owned by `owner`: what an init Job running as that user leaves when it creates the vault with that password.
 */
export function seedVault(repository: string, password: string, owner?: { uid: number; gid: number }): void {
  const template = templateRepository();
  if (!master) {
    const env = { RESTIC_REPOSITORY: template, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: `${template}-cache` };
    master = JSON.parse(
      execFileSync(resticBinary(), ['cat', 'masterkey', '--no-lock', '--no-cache'], { env, encoding: 'utf8' }),
    );
  }
  fs.mkdirSync(path.dirname(repository), { recursive: true });
  fs.cpSync(template, repository, { recursive: true });
  const keys = path.join(repository, 'keys');
  const [templateKey] = fs.readdirSync(keys);
  const mode = fs.statSync(path.join(keys, templateKey)).mode & 0o777;
  fs.rmSync(path.join(keys, templateKey));
  const file = keyFile(master!, password);
  fs.writeFileSync(path.join(keys, crypto.createHash('sha256').update(file).digest('hex')), file, { mode });
  if (owner) chownTree(repository, owner.uid, owner.gid);
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(child, uid, gid);
    else fs.chownSync(child, uid, gid);
  }
}

/** A copy of the template as `<vault>/<name>` (the pvc:// vault's repository folder), as the init Job leaves it. */
export function vaultFromTemplate(vault: string, name = 'shops'): string {
  const repository = path.join(vault, name);
  fs.cpSync(templateRepository(), repository, { recursive: true, preserveTimestamps: true });
  return repository;
}
