/**
 * The workers must not starve the event loop: a reconcile that writes nothing settles in microtasks only,
 * and a queue full of them (every Backup at a resync, the echoes of a sync's writes) would otherwise hold up
 * every API reply, watch event, probe and signal until the queue is empty.
 */
import { runWorker, WorkQueue } from '../../operator/runtime/queue';

test('between keys a worker lets timers and I/O run, so a full queue of no-op work does not block them', async () => {
  const queue = new WorkQueue();
  for (let i = 0; i < 2000; i++) queue.add(`ns/b${i}`);
  let done = 0;
  const doneWhenTimerFired = new Promise<number>((resolve) => setTimeout(() => resolve(done), 0));
  const workers = Array.from({ length: 4 }, () =>
    runWorker(queue, async () => {
      done++;
      if (queue.pending === 4 && queue.length === 0) queue.shutDown();
    }),
  );
  const firedAt = await doneWhenTimerFired;
  // The timer fired while keys were still waiting: the workers had yielded to the event loop.
  expect(firedAt).toBeLessThan(2000);
  queue.shutDown();
  await Promise.all(workers);
});

test('every key is worked on once and marked done', async () => {
  const queue = new WorkQueue();
  const keys = Array.from({ length: 50 }, (_, i) => `ns/b${i}`);
  for (const key of keys) queue.add(key);
  const seen: string[] = [];
  const workers = Array.from({ length: 3 }, () => runWorker(queue, async (key) => void seen.push(key)));
  while (queue.pending > 0) await new Promise((resolve) => setImmediate(resolve));
  expect([...seen].sort()).toEqual([...keys].sort());
  queue.shutDown();
  await Promise.all(workers);
});

test('work that throws still marks its key done (the worker stops with the error)', async () => {
  const queue = new WorkQueue();
  queue.add('ns/b7');
  await expect(
    runWorker(queue, async () => {
      throw new Error('refused');
    }),
  ).rejects.toThrow('refused');
  // Not parked as "being worked on": added again, it waits to be handed out.
  queue.add('ns/b7');
  expect(queue.length).toBe(1);
  queue.shutDown();
});
