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

test('each object is handed to `each` (the trim) as its page arrives, before the next page is asked for', async () => {
  asked.length = 0;
  const pagesAskedWhenSeen = new Map<string, number>();
  const list = await client().list('/apis/mall.example.com/v1alpha1/backups', undefined, (item: any) => {
    pagesAskedWhenSeen.set(item.metadata.name, asked.length);
    item.spec = { trimmed: true };
  });
  expect(pagesAskedWhenSeen.get('b-0')).toBe(1);
  expect(pagesAskedWhenSeen.get(`b-${LIST_PAGE - 1}`)).toBe(1);
  expect(pagesAskedWhenSeen.get(`b-${LIST_PAGE}`)).toBe(2);
  expect(pagesAskedWhenSeen.get(`b-${TOTAL - 1}`)).toBe(3);
  expect(list.items.every((i: any) => i.spec?.trimmed)).toBe(true);
});

test('after an expired continue token, the unpaged LIST is handed to `each` too', async () => {
  expireAfterFirstPage = true;
  try {
    const seen: string[] = [];
    const list = await client().list('/api/v1/persistentvolumeclaims', undefined, (i: any) =>
      seen.push(i.metadata.name),
    );
    expect(list.items).toHaveLength(TOTAL);
    // The first page's objects, then the whole unpaged answer's.
    expect(seen).toHaveLength(LIST_PAGE + TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
  } finally {
    expireAfterFirstPage = false;
  }
});
