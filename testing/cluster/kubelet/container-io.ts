/**
 * The test kubelet's view into a running container from outside: its readiness probe (httpGet on the host network)
 * and its log, served for `kubectl logs` as a kubelet serves it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from '../../tls';

/** The container's readiness probe (httpGet only; none is ready at once). */
export function probeReady(pod: any): Promise<boolean> {
  const [container] = pod.spec.containers;
  const http = container.readinessProbe?.httpGet;
  if (!http) return Promise.resolve(true);
  const port =
    typeof http.port === 'number' ? http.port : container.ports?.find((p: any) => p.name === http.port)?.containerPort;
  return new Promise((done) => {
    const req = httpGet({ host: '127.0.0.1', port, path: http.path ?? '/', timeout: 1000 }, (res) => {
      res.resume();
      done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * GET /containerLogs/<ns>/<pod>/<container>, which the API server proxies for `kubectl logs` (HTTPS, self-signed,
 * 127.0.0.1): `logFile` finds the log of a pod on this node. Returns the server and its port.
 */
export async function serveContainerLogs(
  dir: string,
  nodeName: string,
  logFile: (namespace: string, pod: string) => string | undefined,
): Promise<{ server: Server; port: number }> {
  const server = createHttpsServer(selfSignedCertificate(dir, nodeName), (req, res) => {
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(req.url ?? '');
    const file = m ? logFile(m[1], m[2]) : undefined;
    if (!file || !existsSync(file)) {
      res.writeHead(404).end('no such container on this node');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(readFileSync(file));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as AddressInfo).port };
}
