/**
 * The certificates and keys of a throwaway control plane, made with the openssl CLI (Node can sign
 * nothing X.509). EC P-256 keys: generating them takes milliseconds, RSA keys take seconds on a busy CI machine.
 * Everything expires after a day: a leaked data directory is worth little.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  readonly dir: string;
  /** The CA that signs every certificate and that clients trust; also the client CA of the API server. */
  readonly caCert: string;
  readonly caKey: string;
  readonly servingCert: string;
  readonly servingKey: string;
  /** Signs and verifies service-account tokens (TokenRequest and the controller manager's own tokens). */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
  readonly clients: Record<ClientName, { cert: string; key: string }>;
}

/** The identities the control plane hands out, with the groups RBAC knows them by. */
const CLIENTS = {
  // system:masters bypasses authorization: the cluster's administrator (tests, dev:cluster users).
  admin: '/O=system:masters/CN=mall-backup-admin',
  // The bootstrap RBAC policy grants this user what the controller manager needs to mint its controllers' tokens.
  'kube-controller-manager': '/CN=system:kube-controller-manager',
} as const;
export type ClientName = keyof typeof CLIENTS;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new Error(
        "openssl is needed to make the control plane's certificates: install it (apt-get install openssl)",
      );
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];

/** A certificate signed by the CA in `dir`, for a server (`san` given) or a client. */
function issue(dir: string, name: string, subject: string, san?: string): { cert: string; key: string } {
  const usage = san
    ? ['-addext', `subjectAltName=${san}`, '-addext', 'extendedKeyUsage=serverAuth']
    : ['-addext', 'extendedKeyUsage=clientAuth'];
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-addext',
      'basicConstraints=critical,CA:FALSE',
      '-addext',
      'keyUsage=critical,digitalSignature',
      ...usage,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** Writes a fresh CA, the API server's serving certificate, client certificates and the token key into `dir`. */
export function createPki(dir: string): Pki {
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-subj',
      '/CN=mall-backup-test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  const serving = issue(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    'IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  );
  const clients = Object.fromEntries(
    Object.entries(CLIENTS).map(([name, subject]) => [name, issue(dir, name, subject)]),
  ) as Pki['clients'];
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: serving.cert,
    servingKey: serving.key,
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    clients,
  };
}

/** A kubeconfig with everything inline, so it stays valid wherever it is copied. */
export function kubeconfig(pki: Pki, server: string, client: ClientName): string {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  const { cert, key } = pki.clients[client];
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'mall-backup', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
      users: [{ name: client, user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } }],
      contexts: [{ name: 'mall-backup', context: { cluster: 'mall-backup', user: client, namespace: 'default' } }],
      'current-context': 'mall-backup',
    },
    null,
    2,
  );
}
