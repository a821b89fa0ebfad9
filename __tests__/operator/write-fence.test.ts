/**
 * The write fence of the operator's API client, against a real HTTP server on 127.0.0.1 that holds writes:
 * a write in flight when leadership ends is aborted (the server sees the connection go and never answers it),
 * no write starts while fenced, reads and Lease calls still go out, and unfencing lets writes through again.
 * The fence on the real API server, with a standby taking over, is in __tests__/cluster/leader-fencing.test.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino from 'pino';
import { ApiError, WritesFencedError } from '../../operator/runtime/kube';
import { LeaderElector, LeaseClient } from '../../operator/runtime/leader';
import { type LocalApiServer, startLocalApiServer } from '../../testing/local-api-server';
import { waitFor } from '../../testing/operator-process';

// Within the bounded waits below even on a loaded machine (jest's default of 5 s is not).
jest.setTimeout(60_000);

let server: LocalApiServer;
const arrived: { method: string; path: string; closedEarly: boolean }[] = [];
const held: ServerResponse[] = [];

beforeAll(async () => {
  server = await startLocalApiServer((req: IncomingMessage, res: ServerResponse) => {
    const seen = { method: req.method!, path: req.url!, closedEarly: false };
    arrived.push(seen);
    res.on('close', () => {
      if (!res.writableFinished) seen.closedEarly = true;
    });
    req.resume();
    // Writes hang (a slow API server); reads answer at once.
    if (req.method === 'GET' || req.url!.includes('/leases/')) res.end('{"kind":"Status"}');
    else held.push(res);
  });
});
afterAll(async () => {
  for (const res of held) res.destroy();
  await server?.close();
});

const client = () => server.client();

test('fencing aborts the write in flight, refuses new ones, and lets reads and Lease calls through', async () => {
  const kube = client();
  const inFlight = kube.create('/api/v1/namespaces/a/events', { reason: 'x' }).catch((e) => e);
  await waitFor('the write to reach the server', () => arrived.some((a) => a.path.endsWith('/events')));

  kube.fenceWrites('the lease was not renewed within the renew deadline');
  const error = await inFlight;
  expect(error).toBeInstanceOf(WritesFencedError);
  expect(error.message).toBe(
    'POST /api/v1/namespaces/a/events: not sent, this replica is ' +
      'not leading (the lease was not renewed within the renew deadline)',
  );
  await waitFor(
    'the server to see the connection go',
    () => arrived.find((a) => a.path.endsWith('/events'))?.closedEarly,
  );

  const before = arrived.length;
  await expect(kube.mergePatch('/apis/batch/v1/namespaces/a/cronjobs/c', {})).rejects.toBeInstanceOf(WritesFencedError);
  await expect(kube.delete('/apis/batch/v1/namespaces/a/jobs/j')).rejects.toBeInstanceOf(WritesFencedError);
  expect(arrived.length).toBe(before);

  await kube.get('/api/v1/namespaces/a/pods');
  await kube.replace('/apis/coordination.k8s.io/v1/namespaces/a/leases/l', {}, { unfenced: true });
  expect(arrived.slice(before).map((a) => `${a.method} ${a.path}`)).toEqual([
    'GET /api/v1/namespaces/a/pods',
    'PUT /apis/coordination.k8s.io/v1/namespaces/a/leases/l',
  ]);

  kube.unfenceWrites();
  const again = kube.create('/api/v1/namespaces/a/events', { reason: 'y' }).catch((e) => e);
  await waitFor('the write after unfencing to arrive', () => arrived.length === before + 3);
  // A fence after that aborts this one too, whatever fences came before.
  kube.fenceWrites('lost again');
  expect(await again).toBeInstanceOf(WritesFencedError);
});

test(
  'a write asked for after the renew deadline passed never ' + 'leaves, even before the deadline timer could fire',
  async () => {
    const kube = client();
    let hang = false;
    const leases: LeaseClient = {
      get: () => (hang ? new Promise(() => undefined) : Promise.reject(new ApiError(404, 'NotFound', 'not found'))),
      create: async () => ({}),
      replace: async () => ({}),
    };
    const renewDeadlineMs = 300;
    const elector = new LeaderElector(
      leases,
      {
        namespace: 'ns',
        name: 'l',
        identity: 'me',
        leaseDurationMs: 500,
        renewDeadlineMs,
        retryPeriodMs: 100,
        fence: kube,
      },
      { onStartedLeading: () => undefined, onStoppedLeading: () => undefined },
      pino({ level: 'silent' }),
    );
    elector.start();
    try {
      await waitFor('leading', () => elector.isLeader);
      // A connection kept alive, as the operator's are: a write goes out on it at once.
      await kube.get('/api/v1/namespaces/a/pods');
      hang = true;
      // The event loop is busy (a large list parsed, a GC pause) from the last renewal until past the deadline: the
      // deadline's timer has not run when the next write is asked for.
      const busyUntil = performance.now() + renewDeadlineMs + 100;
      while (performance.now() < busyUntil);
      const late = await kube.create('/api/v1/namespaces/a/configmaps', { reason: 'late' }).catch((e) => e);
      expect(late).toBeInstanceOf(WritesFencedError);
      expect(late.message).toMatch(/not leading \(the lease was not renewed within 300 ms\)$/);
      await kube.get('/api/v1/namespaces/a/marker');
      await waitFor('the marker read', () => arrived.some((a) => a.path.endsWith('/marker')));
      expect(arrived.filter((a) => a.path.endsWith('/configmaps'))).toEqual([]);
    } finally {
      await elector.release();
    }
  },
);
