/**
 * An S3 vault for a test suite: s3rver over TLS on 127.0.0.1 (s3-vault.js, its own process, since the tests block on
 * restic), a throw-away certificate, and the environment restic needs to reach it. Started once per suite, stopped
 * and removed after it, also when a test fails.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { selfSignedCertificate } from './tls';

export interface S3Vault {
  /** `s3:https://127.0.0.1:<port>/vault`: append `/<prefix>` for a repository. */
  endpoint: string;
  /** S3rver's fixed credentials, as the vault Secret would carry them. */
  secret: Record<string, string>;
  /** What restic needs besides the Secret: Go reads SSL_CERT_FILE for its trusted roots. */
  env: Record<string, string>;
}

/** Registers beforeAll/afterAll for one S3 vault; the returned object is filled in before the first test. */
export function useS3Vault(): S3Vault {
  const vault: S3Vault = { endpoint: '', secret: {}, env: {} };
  let server: ChildProcess | undefined;
  let certs: string | undefined;
  beforeAll(async () => {
    certs = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-tls-'));
    const { keyPath: key, certPath: cert } = selfSignedCertificate(certs, 's3-vault');
    server = spawn(
      process.execPath,
      [path.join(__dirname, 's3-vault.js'), path.join(certs, 's3'), key, cert, 'vault'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the S3 vault did not start within 15 s')), 15_000);
      server!.stdout!.once('data', (chunk) => {
        clearTimeout(timer);
        resolve(Number(String(chunk).trim()));
      });
      server!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the S3 vault exited with ${code}`));
      });
    });
    vault.endpoint = `s3:https://127.0.0.1:${port}/vault`;
    vault.secret = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
    vault.env = { SSL_CERT_FILE: cert };
  }, 30_000);
  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    if (certs) fs.rmSync(certs, { recursive: true, force: true });
  });
  return vault;
}
