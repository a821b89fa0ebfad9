/**
 * What the API client makes of answers that are not Status objects, against a real HTTP server on 127.0.0.1: the
 * API server answers a group it does not serve (e.g. snapshot.storage.k8s.io without the CSI snapshot CRDs) with
 * a plain-text "404 page not found", and a proxy in between may answer in HTML. The status code decides what the
 * operator does (a missing snapshot API means "no snapshots here", not a failure), and the words reach the status.
 */
import { ApiError, isNotFound } from '../../operator/runtime/kube';
import { type LocalApiServer, startLocalApiServer } from '../../testing/local-api-server';

let server: LocalApiServer;

beforeAll(async () => {
  server = await startLocalApiServer((req, res) => {
    if (req.url!.startsWith('/apis/snapshot.storage.k8s.io/')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    } else if (req.url!.startsWith('/busy')) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"error":"overloaded, try later"}');
    } else if (req.url!.startsWith('/gateway')) {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body>Bad Gateway</body></html>');
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>a login page</html>');
    }
  });
});
afterAll(() => server?.close());

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error) => error,
  );

test('a plain-text 404 from an unserved API group is a not-found, not a JSON parse error', async () => {
  const error = await failure(server.client().list('/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses'));
  expect(error).toBeInstanceOf(ApiError);
  expect(isNotFound(error)).toBe(true);
  expect(error.message).toBe('GET /apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses: 404 404 page not found');
});

test("an HTML refusal keeps its status code and the start of the proxy's words", async () => {
  const error = await failure(server.client().get('/gateway/apis'));
  expect(error).toBeInstanceOf(ApiError);
  expect(error.statusCode).toBe(502);
  expect(error.message).toContain('502 <html><body>Bad Gateway');
});

test('a 200 whose body is not JSON fails naming the path and the answer', async () => {
  const error = await failure(server.client().get('/api/v1/namespaces'));
  expect(error).not.toBeInstanceOf(ApiError);
  expect(error.message).toBe(
    'GET /api/v1/namespaces: answered 200 with a body that is not JSON: <html>a login page</html>',
  );
});

test('a JSON refusal that is not a Status object keeps its words', async () => {
  const error = await failure(server.client().get('/busy/apis'));
  expect(error.statusCode).toBe(503);
  expect(error.message).toBe('GET /busy/apis: 503 {"error":"overloaded, try later"}');
});
