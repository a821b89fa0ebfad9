/**
 * The fault proxy the cluster suites put in front of the API server must not hide faults: what it does not
 * inject it passes as it came (a watch stream's chunks, bookmarks and ERROR events, a 410, the client's
 * headers, one upstream request per client request, never a retry), and when the upstream connection dies
 * mid-answer the client's connection dies too. Against an HTTPS server on 127.0.0.1 playing the API server.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCertificate } from '../testing/tls';
import { FaultProxy } from '../testing/cluster/fault-proxy';
import { waitFor } from '../testing/operator-process';

const dir = mkdtempSync(join(tmpdir(), 'mall-backup-proxy-test-'));
let upstream: Server;
let proxy: FaultProxy;
/** The proxy's certificate, which its clients trust. */
let proxyCa: Buffer;
/** What reached the upstream server. */
const received: { method: string; url: string; auth?: string }[] = [];
/** Open watch answers, for the test to write events into or cut. */
const watches: ServerResponse[] = [];

const EVENTS = [
  '{"type":"ADDED","object":{"kind":"Backup","metadata":{"name":"a","resourceVersion":"5"}}}\n',
  '{"type":"BOOKMARK","object":{"kind":"Backup","metadata":{"resourceVersion":"9"}}}\n',
  '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}\n',
];

beforeAll(async () => {
  const tls = selfSignedCertificate(dir, 'upstream');
  upstream = createServer(tls, (req, res) => {
    received.push({ method: req.method!, url: req.url!, auth: req.headers.authorization });
    req.resume();
    if (req.url!.includes('watch=true')) {
      // A watch: headers at once, events later, chunked (no length).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      watches.push(res);
    } else if (req.url!.includes('continue=old')) {
      res.writeHead(410, { 'content-type': 'application/json' }).end('{"kind":"Status","code":410,"reason":"Expired"}');
    } else res.writeHead(500).end('{"kind":"Status","code":500}');
  });
  await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
  const kubeconfig = join(dir, 'kubeconfig');
  const server = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const ca = tls.cert.toString('base64');
  writeFileSync(
    kubeconfig,
    JSON.stringify({ clusters: [{ name: 'u', cluster: { server, 'certificate-authority-data': ca } }] }),
  );
  proxy = await new FaultProxy(kubeconfig).start();
  const config = JSON.parse(readFileSync(proxy.kubeconfig('t0ken'), 'utf8'));
  proxyCa = Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64');
});

afterAll(async () => {
  await proxy?.stop();
  upstream?.closeAllConnections();
  await new Promise((done) => upstream.close(done));
  rmSync(dir, { recursive: true, force: true });
});

/** A GET through the proxy as a client trusting its certificate; resolves with the answer's head. */
function get(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}${path}`, {
      ca: proxyCa,
      headers: { authorization: 'Bearer t0ken' },
    });
    req.on('response', resolve).on('error', reject).end();
  });
}

test(
  'a watch stream passes chunk by chunk, bookmarks and ERROR ' + 'events as sent, and a 410 answer as it came',
  async () => {
    const before = received.length;
    const answer = await get('/apis/x/v1/backups?watch=true&allowWatchBookmarks=true');
    expect(answer.statusCode).toBe(200);
    let body = '';
    answer.on('data', (c: Buffer) => (body += c.toString('utf8')));
    const watch = await waitFor('the watch upstream', () => watches.at(-1));
    // Each event on its own, the next only once the client has the one before: nothing waits for more.
    for (let i = 0; i < EVENTS.length; i++) {
      watch.write(EVENTS[i]);
      await waitFor(`event ${i} at the client`, () => body === EVENTS.slice(0, i + 1).join(''));
    }
    watch.end();
    await waitFor('the watch to end', () => answer.complete);
    expect(body).toBe(EVENTS.join(''));
    expect(proxy.seen.at(-1)?.watchError).toBe(EVENTS[2].trim());

    const gone = await get('/apis/x/v1/backups?limit=1&continue=old');
    expect(gone.statusCode).toBe(410);
    // One upstream request per client request, the client's credentials passed on.
    expect(received.slice(before).map((r) => `${r.method} ${r.url} ${r.auth}`)).toEqual([
      'GET /apis/x/v1/backups?watch=true&allowWatchBookmarks=true Bearer t0ken',
      'GET /apis/x/v1/backups?limit=1&continue=old Bearer t0ken',
    ]);
  },
);

test('a server error is passed once, never retried', async () => {
  const before = received.length;
  expect((await get('/api/v1/namespaces/a/pods')).statusCode).toBe(500);
  expect(received.length - before).toBe(1);
});

test(
  'the upstream connection dying mid-watch cuts the client off ' + 'too, instead of leaving its watch hanging',
  async () => {
    const answer = await get('/apis/x/v1/backups?watch=true');
    let body = '';
    answer.on('data', (c: Buffer) => (body += c.toString('utf8')));
    let cut = false;
    answer
      .on('aborted', () => (cut = true))
      .on('error', () => (cut = true))
      .on('close', () => (cut ||= !answer.complete));
    const watch = await waitFor('the watch upstream', () => watches.at(-1));
    watch.write(EVENTS[0]);
    await waitFor('the first event', () => body === EVENTS[0]);
    // The API server goes away (crash, restart): its socket is destroyed without ending the chunked answer.
    watch.socket!.destroy();
    await waitFor('the client to see its watch cut', () => cut, 5_000);
    expect(answer.complete).toBe(false);
  },
);
