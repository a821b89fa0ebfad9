/**
 * A controller's loop, with no knowledge of what it controls: informers built from a watch table keep a
 * trimmed, indexed cache; changes queue keys; workers hand each key to the controller's reconcile while
 * this process leads. Probes read whether the caches have synced and which informers are failing.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { ResilientInformer } from './informer';
import { isConflict, type KubeClient, resourcePath } from './kube';
import type { KubeObject } from './kube-object';
import { ObjectIndex } from './object-index';
import { runWorker, WorkQueue } from './queue';
import { type CacheReader, indexKey, indexKeysOf, type WatchTable } from './watch-table';

export interface LoopOptions {
  /** Namespaces to watch; empty for all. */
  readonly namespaces: readonly string[];
  /** How often every key is reconciled even without a change. */
  readonly resyncMs: number;
  readonly workers: number;
}

/** What the loop asks of the controller it runs. */
export interface LoopHandlers {
  /** Reconciles one key; resolves to whether anything was written, rejects to retry with backoff. */
  reconcile(key: string): Promise<boolean>;
  /** Every key to reconcile on taking the lead and on each resync. */
  everything(): Iterable<string>;
  /** After keys were queued (for a queue-depth gauge). */
  queued?(depth: number): void;
  /**
   * The key whose reconcile already accounts for this version of `obj`: its own write coming back through the
   * watch. That key is not queued for it (the others the change concerns still are).
   */
  echoOf?(kind: string, obj: KubeObject): string | undefined;
  /** Times each reconcile and counts its result. */
  measure?(): (result: 'changed' | 'unchanged' | 'error') => void;
}

type Events = Pick<ResilientInformer['cache'], 'on'>;

export class ControllerLoop<Kind extends string> implements CacheReader<Kind> {
  public readonly queue = new WorkQueue();
  private readonly informers = new Map<Kind, ResilientInformer[]>();
  private readonly indexes = new Map<Kind, ObjectIndex>();
  private leadingNow = false;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private resyncTimer?: NodeJS.Timeout;
  private workersRunning = 0;

  constructor(
    config: KubeConfig,
    client: KubeClient,
    private readonly table: WatchTable<Kind>,
    private readonly options: LoopOptions,
    private readonly handlers: LoopHandlers,
    private readonly log: Logger,
  ) {
    for (const kind of Object.keys(table) as Kind[]) {
      const watched = table[kind];
      const indexes = watched.indexes;
      const index = indexes && new ObjectIndex((obj) => indexKeysOf(indexes, obj));
      if (index) this.indexes.set(kind, index);
      const paths =
        options.namespaces.length === 0
          ? [resourcePath(watched.apiVersion, watched.plural)]
          : options.namespaces.map((ns) => resourcePath(watched.apiVersion, watched.plural, ns));
      this.informers.set(
        kind,
        paths.map((path) => {
          const informer = new ResilientInformer(
            `${watched.label} ${path}`,
            config,
            client,
            path,
            watched.labelSelector,
            log,
            // Trimmed page by page as listed: a first LIST of thousands of objects is never held whole.
            (obj: KubeObject) => watched.trim(obj),
          );
          // Registered before the change handler, so a reconcile it queues finds the object trimmed and indexed.
          const file = (obj: KubernetesObject) => {
            watched.trim(obj as KubeObject);
            index?.set(obj as KubeObject);
          };
          informer.cache.on('add', file);
          informer.cache.on('update', file);
          if (index) informer.cache.on('delete', (obj: KubernetesObject) => index.remove(obj as KubeObject));
          informer.cache.on('change', (obj: KubernetesObject) => this.onChange(kind, obj as KubeObject));
          return informer;
        }),
      );
    }
  }

  /** The event sources of `kind`'s informers, for a controller's own bookkeeping (registered after the loop's). */
  public eventsOf(kind: Kind): Events[] {
    return (this.informers.get(kind) ?? []).map((i) => i.cache);
  }

  public get leading(): boolean {
    return this.leadingNow && !this.stopping;
  }

  public get isStopping(): boolean {
    return this.stopping;
  }

  public get(kind: Kind, namespace: string, name: string): KubeObject | undefined {
    return (this.informers.get(kind) ?? []).map((i) => i.cache.get(name, namespace) as KubeObject).find(Boolean);
  }

  public list(kind: Kind, namespace?: string): KubeObject[] {
    return (this.informers.get(kind) ?? []).flatMap((i) => i.cache.list(namespace) as KubeObject[]);
  }

  public indexed(kind: Kind, namespace: string, index: string, values: Iterable<string>): KubeObject[] {
    const keys = [...values].map((v) => indexKey(index, v));
    return this.indexes.get(kind)?.getAny(namespace, keys) ?? [];
  }

  /** Queues `key` while leading. */
  public enqueue(key: string): void {
    if (!this.leadingNow) return;
    this.queue.add(key);
    this.handlers.queued?.(this.queue.length);
  }

  /** True once every informer has listed its objects and is watching, and none is failing now (/readyz). */
  public get synced(): boolean {
    return [...this.informers.values()].flat().every((i) => i.isSynced && !i.failing);
  }

  /**
   * False once an informer has been failing for longer than `unhealthyAfterMs` (/healthz): a cache that
   * cannot list or watch (e.g. a 403 on pods) leaves its keys unreconciled, and a restart may help.
   */
  public healthy(unhealthyAfterMs = 120_000, now = Date.now()): boolean {
    return !this.stopping && this.failingInformers().every((f) => now - f.since <= unhealthyAfterMs);
  }

  /** The informers failing now, and why. */
  public failingInformers(): { informer: string; since: number; error: string }[] {
    return [...this.informers.values()]
      .flat()
      .filter((i) => i.failing)
      .map((i) => ({ informer: i.label, ...i.failing! }));
  }

  /** Starts the informers and resolves once all have synced (failed ones are retried meanwhile). */
  public async start(): Promise<void> {
    await Promise.all([...this.informers.values()].flat().map((i) => i.start()));
    while (!this.synced && !this.stopping) await new Promise((r) => setTimeout(r, 100));
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  /** Begins reconciling (this process leads). */
  public startLeading(): void {
    this.leadingNow = true;
    this.enqueueAll();
    while (this.workersRunning < this.options.workers) {
      this.workersRunning++;
      void this.work();
    }
  }

  /** Stops reconciling at once (another process leads now); the caches stay warm for a takeover. */
  public stopLeading(): void {
    this.leadingNow = false;
  }

  /** Stops the informers for good and waits for in-flight reconciles. */
  public async stop(): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.allSettled([...this.inFlight]);
    this.leadingNow = false;
    await Promise.allSettled([...this.informers.values()].flat().map((i) => i.stop()));
  }

  private enqueueAll(): void {
    if (!this.leadingNow) return;
    for (const key of this.handlers.everything()) this.queue.add(key);
    this.handlers.queued?.(this.queue.length);
  }

  private onChange(kind: Kind, obj: KubeObject): void {
    // Taking the lead queues everything, so changes seen before then need no queueing of their own.
    if (!obj.metadata.namespace || !this.leadingNow) return;
    const keysOf = this.table[kind].enqueue;
    if (!keysOf) return;
    const echo = this.handlers.echoOf?.(kind, obj);
    for (const key of keysOf(obj, this)) if (key !== echo) this.queue.add(key);
    this.handlers.queued?.(this.queue.length);
  }

  private work(): Promise<void> {
    return runWorker(this.queue, (key) => {
      const run = this.process(key).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
      return run;
    });
  }

  private async process(key: string): Promise<void> {
    if (!this.leadingNow) return;
    const done = this.handlers.measure?.();
    try {
      const changed = await this.handlers.reconcile(key);
      this.queue.forget(key);
      done?.(changed ? 'changed' : 'unchanged');
    } catch (error) {
      const retryInMs = this.queue.addRateLimited(key);
      done?.('error');
      this.log[isConflict(error) ? 'debug' : 'warn'](
        { key, err: (error as Error).message, retryInMs },
        'reconcile failed',
      );
    }
  }
}
