/** Throwaway TLS for the test servers (the S3 vault, the fault proxy, the test kubelet), made with the openssl CLI. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Certificate {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** Where they were written, for a server in another process or a client's trusted roots. */
  readonly keyPath: string;
  readonly certPath: string;
}

/** A self-signed certificate for 127.0.0.1, valid for a day, written into `dir` as `<name>.key` and `<name>.crt`. */
export function selfSignedCertificate(dir: string, name: string): Certificate {
  const [keyPath, certPath] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'].concat([
        '-subj',
        `/CN=${name}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyPath,
        '-out',
        certPath,
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err: any) {
    if (err.code === 'ENOENT') throw new Error('openssl is needed for the test servers: apt-get install openssl');
    throw new Error(`openssl could not make a certificate for ${name}: ${err.stderr?.toString() ?? err.message}`);
  }
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), keyPath, certPath };
}
