/**
 * The API client reads a LIST in pages, against a real HTTP server on 127.0.0.1 playing the API server's paging
 * (limit and continue), so thousands of objects never arrive as one answer; an expired continue token (410) falls
 * back to one unpaged LIST, as client-go's reflector does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIST_PAGE } from '../../operator/runtime/kube';
import { type LocalApiServer, startLocalApiServer } from '../../testing/local-api-server';

let server: LocalApiServer;
const asked: URLSearchParams[] = [];
let expireAfterFirstPage = false;
const TOTAL = 2 * LIST_PAGE + 7;

beforeAll(async () => {
  server = await startLocalApiServer((req: IncomingMessage, res: ServerResponse) => {
    const query = new URL(req.url!, 'http://x').searchParams;
    asked.push(query);
    const from = Number(query.get('continue') ?? 0);
    if (expireAfterFirstPage && from > 0) {
      res.statusCode = 410;
      res.end(JSON.stringify({ kind: 'Status', reason: 'Expired', message: 'continue token too old' }));
      return;
    }
    const limit = Number(query.get('limit') ?? TOTAL);
    const to = Math.min(TOTAL, from + limit);
    const items = Array.from({ length: to - from }, (_, i) => ({ metadata: { name: `b-${from + i}` } }));
    res.end(
      JSON.stringify({ metadata: { resourceVersion: '42', continue: to < TOTAL ? String(to) : undefined }, items }),
    );
  });
});
afterAll(() => server?.close());

const client = () => server.client();

test('a LIST comes in pages of LIST_PAGE, every object once, with the list resourceVersion', async () => {
  asked.length = 0;
  const list = await client().list('/apis/mall.example.com/v1alpha1/backups', 'app=x');
  expect(list.items.map((i: any) => i.metadata.name)).toEqual(Array.from({ length: TOTAL }, (_, i) => `b-${i}`));
  expect(list.metadata).toEqual({ resourceVersion: '42' });
  expect(asked.map((q) => [q.get('limit'), q.get('continue'), q.get('labelSelector')])).toEqual([
    [String(LIST_PAGE), null, 'app=x'],
    [String(LIST_PAGE), String(LIST_PAGE), 'app=x'],
    [String(LIST_PAGE), String(2 * LIST_PAGE), 'app=x'],
  ]);
});

test('an expired continue token: the whole LIST again, unpaged', async () => {
  asked.length = 0;
  expireAfterFirstPage = true;
  try {
    const list = await client().list('/api/v1/persistentvolumeclaims');
    expect(list.items).toHaveLength(TOTAL);
    expect(asked.map((q) => q.get('limit'))).toEqual([String(LIST_PAGE), String(LIST_PAGE), null]);
  } finally {
    expireAfterFirstPage = false;
  }
});
