/**
 * An informer that does not give up: client-node's ListWatch, asking for bookmarks, restarted after a
 * backoff whenever it stops, and reporting to the probes whether it has synced and since when it fails.
 */
import {
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  ListWatch,
  type ObjectCache,
  Watch,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from './kube';
import { Backoff } from './queue';

export type Cache = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/**
 * client-node's Watch, asking for bookmarks: a restarted watch resumes from a recent resourceVersion instead of
 * relisting.
 */
class BookmarkWatch extends Watch {
  public override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, done);
  }
}

/**
 * Restarts a stopped informer after a backoff (client-node's informer gives up on non-410 errors), and
 * keeps what the probes report: whether it has synced and since when it has been failing.
 */
export class ResilientInformer {
  public readonly cache: Cache;
  private readonly backoff = new Backoff();
  private synced = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  /** Since when the informer has been failing, and why; undefined while it is well. */
  public failing?: { since: number; error: string };

  constructor(
    public readonly label: string,
    config: KubeConfig,
    client: KubeClient,
    path: string,
    labelSelector: string | undefined,
    private readonly log: Logger,
    /** Applied to each listed object as its page arrives, before the informer files it. */
    trim?: (obj: any) => void,
  ) {
    this.cache = new ListWatch(
      path,
      new BookmarkWatch(config),
      () => client.list(path, labelSelector, trim) as never,
      false,
      labelSelector,
    ) as Cache;
    this.cache.on('error', (err: unknown) => this.restart(err));
  }

  public get isSynced(): boolean {
    return this.synced;
  }

  public async start(): Promise<void> {
    let failed = false;
    const onError = () => {
      failed = true;
    };
    this.cache.on('error', onError);
    await this.cache.start();
    this.cache.off('error', onError);
    if (!failed) {
      // Listed and watching again: a later failure is a new one. A list that keeps failing never gets here.
      this.synced = true;
      this.failing = undefined;
      this.backoff.reset();
    }
  }

  private restart(err: unknown): void {
    if (this.stopping) return;
    const error = (err as Error)?.message ?? String(err);
    this.failing = { since: this.failing?.since ?? Date.now(), error };
    const delay = this.backoff.next();
    this.log.warn({ informer: this.label, err: error, retryInMs: delay }, 'informer stopped; restarting');
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.start(), delay);
  }

  public async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.cache.stop();
  }
}
