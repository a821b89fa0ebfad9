/**
 * The operator's loop: informers keep a cache of Backups and of what they touch, a work queue hands
 * Backups to the pure `reconcile`, and a thin layer applies its answer to the API server.
 */
import { KubeConfig, Informer, KubernetesObject, ListWatch, ObjectCache, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import * as api from '../../lib/permits/backup-api';
import { BACKUP_LABEL, BACKUP_UID_LABEL, cronJobNameFor } from '../../lib/run/backup-job';
import { pvcVaultClaim } from '../../lib/permits/backup-validation';
import { ApiError, isConflict, isNotFound, isRefusal, KubeClient, resourcePath } from '../runtime/kube';
import { OperatorMetrics } from './metrics';
import { ObjectIndex } from '../runtime/object-index';
import { Backoff, WorkQueue } from '../runtime/queue';
import { WakeUps } from '../runtime/wake-ups';
import { dropJobTemplate, trimMetadata, trimPod } from '../runtime/trim';
import { BackupObject, canonicalJson, KubeEvent, KubeObject, reconcile, Settings, timestamp } from './reconcile';
import { SKIPPED_RUN_ANNOTATION } from './run-admission';
import { capsEnabled, FleetCaps } from './fleet-admission';
import { FleetGate } from './fleet-gate';
import { REASON } from './vocabulary';
import { describeRefusal, RefusedWrite, withRefusals } from './write-outcome';
import * as rapi from '../../lib/permits/restore-api';
import { RESTORE_LABEL, RESTORE_UID_LABEL } from '../../lib/run/restore-job';
import type { RestoreObject } from './restore-reconcile';
import { carryOutRestore, isFinal, RESTORE_KEY_PREFIX, RestoreContext } from './restore-writer';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import type { VaultSettings } from './vault-plan';
import { VaultIndex } from './vault-index';
import { SnapshotClassWatch } from './snapshot-support';
import { DEFAULT_SNAPSHOT_TIMEOUT_SECONDS, stepSnapshotRuns } from './snapshot-runs';

export const FIELD_MANAGER = 'mall-backup-operator';

export interface ControllerOptions {
  /** Namespaces to watch; empty for all. */
  readonly namespaces: readonly string[];
  /** How often every Backup is reconciled even without a change. */
  readonly resyncMs: number;
  readonly workers: number;
  readonly settings: Settings;
  /** The run cap; absent or zero for none. */
  readonly caps?: FleetCaps;
  readonly vault: VaultSettings;
}

interface Source {
  readonly name: string;
  readonly apiVersion: string;
  readonly plural: string;
  readonly labelSelector?: string;
}

const SOURCES = {
  backups: { name: 'backups', apiVersion: api.BACKUP_API_VERSION, plural: api.BACKUP_PLURAL },
  cronjobs: { name: 'cronjobs', apiVersion: 'batch/v1', plural: 'cronjobs', labelSelector: BACKUP_UID_LABEL },
  jobs: { name: 'jobs', apiVersion: 'batch/v1', plural: 'jobs', labelSelector: BACKUP_UID_LABEL },
  pods: { name: 'pods', apiVersion: 'v1', plural: 'pods' },
  claims: { name: 'claims', apiVersion: 'v1', plural: 'persistentvolumeclaims' },
  restores: { name: 'restores', apiVersion: api.BACKUP_API_VERSION, plural: rapi.RESTORE_PLURAL },
  restoreJobs: { name: 'restore jobs', apiVersion: 'batch/v1', plural: 'jobs', labelSelector: RESTORE_UID_LABEL },
  // Per-vault work (init Jobs, maintenance CronJobs), in whichever namespace holds the vault.
  vaultjobs: { name: 'vault jobs', apiVersion: 'batch/v1', plural: 'jobs', labelSelector: REPOSITORY_LABEL },
  vaultcrons: { name: 'vault cronjobs', apiVersion: 'batch/v1', plural: 'cronjobs', labelSelector: REPOSITORY_LABEL },
} satisfies Record<string, Source>;
type SourceName = keyof typeof SOURCES;

const claimNamesMountedBy = (pod: KubeObject): string[] =>
  (pod.spec?.volumes ?? [])
    .map((v: any) => v.persistentVolumeClaim?.claimName)
    .filter((n: unknown): n is string => typeof n === 'string');

/**
 * What each source is indexed by: `shop:` the shop a claim belongs to or a Backup backs up, `claim:` a
 * claim a Backup names or a pod mounts, `uid:` the Backup a Job or pod belongs to, `job:` a pod's Job.
 */
const INDEX_KEYS: Partial<Record<SourceName, (obj: KubeObject) => string[]>> = {
  backups: (b) => {
    const spec = (b as BackupObject).spec ?? {};
    const vault = typeof spec.vaultLocation === 'string' ? pvcVaultClaim(spec.vaultLocation) : undefined;
    return [
      `shop:${spec.shopName}`,
      ...(Array.isArray(spec.volumeClaims) ? spec.volumeClaims : []).map((c) => `claim:${c}`),
      ...(vault ? [`claim:${vault}`] : []),
    ];
  },
  claims: (c) => [
    `name:${c.metadata.name}`,
    ...(c.metadata.labels?.[api.SHOP_LABEL] ? [`shop:${c.metadata.labels[api.SHOP_LABEL]}`] : []),
  ],
  jobs: (j) => (j.metadata.labels?.[BACKUP_UID_LABEL] ? [`uid:${j.metadata.labels[BACKUP_UID_LABEL]}`] : []),
  restoreJobs: (j) => (j.metadata.labels?.[RESTORE_UID_LABEL] ? [`uid:${j.metadata.labels[RESTORE_UID_LABEL]}`] : []),
  pods: (p) => [
    ...(p.metadata.labels?.[BACKUP_UID_LABEL] ? [`uid:${p.metadata.labels[BACKUP_UID_LABEL]}`] : []),
    ...(p.metadata.labels?.['job-name'] ? [`job:${p.metadata.labels['job-name']}`] : []),
    ...claimNamesMountedBy(p).map((c) => `claim:${c}`),
  ],
};

type Cache = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

/** client-node's Watch, asking for bookmarks: a restarted watch resumes from a recent resourceVersion instead of relisting. */
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
class ResilientInformer {
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
  ) {
    this.cache = new ListWatch(
      path,
      new BookmarkWatch(config),
      () => client.list(path, labelSelector) as never,
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

export class Controller {
  public readonly queue = new WorkQueue();
  private readonly informers = new Map<SourceName, ResilientInformer[]>();
  private readonly indexes = new Map<SourceName, ObjectIndex>();
  private leading = false;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  private resyncTimer?: NodeJS.Timeout;
  private workersRunning = 0;
  /** Per Backup key: a reconcile when it turns Stale, which no watch event announces. */
  private readonly staleChecks = new WakeUps((key) => this.queue.add(key));
  /** Per Backup uid: the inputs of the CronJob last applied or verified, and its resourceVersion then. */
  private readonly lastApplied = new Map<string, { inputs: string; resourceVersion: string }>();
  /** Starts held runs under the run cap; absent without a cap. */
  private readonly gate?: FleetGate;
  /** Who uses each vault and its per-vault work, across namespaces; a change queues the vault's Backups. */
  private readonly vaults = new VaultIndex((b) => {
    if (this.leading) this.queue.add(`${b.metadata.namespace}/${b.metadata.name}`);
  });
  /** Which claims can be snapshotted; a change re-plans every Backup. */
  private readonly snapshotClasses: SnapshotClassWatch;

  constructor(
    config: KubeConfig,
    private readonly client: KubeClient,
    private readonly options: ControllerOptions,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {
    this.snapshotClasses = new SnapshotClassWatch(client, 30_000, () => this.enqueueAll(), log);
    if (options.caps && capsEnabled(options.caps)) {
      this.gate = new FleetGate(
        options.caps,
        client,
        {
          jobs: () => this.list('jobs'),
          backup: (namespace, name) =>
            this.informers
              .get('backups')!
              .map((i) => i.cache.get(name, namespace) as BackupObject | undefined)
              .find(Boolean),
          leading: () => this.leading && !this.stopping,
          reconcile: (key) => this.queue.add(key),
        },
        metrics,
        log,
      );
    }
    for (const [key, source] of Object.entries(SOURCES) as [SourceName, Source][]) {
      const keysOf = INDEX_KEYS[key];
      const index = keysOf && new ObjectIndex(keysOf);
      if (index) this.indexes.set(key, index);
      const paths =
        options.namespaces.length === 0
          ? [resourcePath(source.apiVersion, source.plural)]
          : options.namespaces.map((ns) => resourcePath(source.apiVersion, source.plural, ns));
      this.informers.set(
        key,
        paths.map((path) => {
          const informer = new ResilientInformer(
            `${source.name} ${path}`,
            config,
            client,
            path,
            source.labelSelector,
            log,
          );
          // Registered before the change handler, so a reconcile it queues finds the object trimmed and indexed.
          const trim = key === 'pods' ? trimPod : trimMetadata;
          const file = (obj: KubernetesObject) => {
            trim(obj as KubeObject);
            index?.set(obj as KubeObject);
          };
          informer.cache.on('add', file);
          informer.cache.on('update', file);
          if (index) informer.cache.on('delete', (obj: KubernetesObject) => index.remove(obj as KubeObject));
          informer.cache.on('change', (obj: KubernetesObject) => this.onChange(key, obj as KubeObject));
          if (key === 'backups')
            informer.cache.on('delete', (obj: KubernetesObject) => this.lastApplied.delete(obj.metadata?.uid ?? ''));
          if (key === 'backups' || key === 'vaultjobs' || key === 'vaultcrons')
            this.vaults.watch(key === 'backups' ? 'users' : 'work', informer.cache);
          return informer;
        }),
      );
    }
  }

  /** True once every informer has listed its objects and is watching, and none is failing now (/readyz). */
  public get synced(): boolean {
    return [...this.informers.values()].flat().every((i) => i.isSynced && !i.failing);
  }

  /**
   * False once an informer has been failing for longer than `unhealthyAfterMs` (/healthz): a cache that
   * cannot list or watch (e.g. a 403 on pods) leaves every Backup unreconciled, and a restart may help.
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
    await this.snapshotClasses.start();
    while (!this.synced && !this.stopping) await new Promise((r) => setTimeout(r, 100));
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  /** Begins reconciling (this process leads). */
  public startLeading(): void {
    this.leading = true;
    this.enqueueAll();
    while (this.workersRunning < this.options.workers) {
      this.workersRunning++;
      void this.work();
    }
  }

  /** Stops writing at once (another process leads now); the caches stay warm for a takeover. */
  public stopLeading(): void {
    this.leading = false;
    this.staleChecks.clear();
  }

  private list(source: SourceName, namespace?: string): KubeObject[] {
    return (this.informers.get(source) ?? []).flatMap((i) => i.cache.list(namespace) as KubeObject[]);
  }

  /** Objects of `source` in `namespace` filed under any of `keys`. */
  private indexed(source: SourceName, namespace: string, keys: Iterable<string>): KubeObject[] {
    return this.indexes.get(source)!.getAny(namespace, keys);
  }

  private enqueueBackups(namespace: string, keys: Iterable<string>): void {
    for (const b of this.indexed('backups', namespace, keys)) this.queue.add(`${namespace}/${b.metadata.name}`);
  }

  private enqueueAll(): void {
    if (!this.leading) return;
    for (const b of this.list('backups')) this.queue.add(`${b.metadata.namespace}/${b.metadata.name}`);
    this.enqueueRestores();
    this.gate?.poke();
    this.metrics.queueDepth.set(this.queue.length);
  }

  private onChange(source: SourceName, obj: KubeObject): void {
    const ns = obj.metadata.namespace;
    // Taking the lead queues every Backup, so changes seen before then need no queueing of their own.
    if (!ns || !this.leading) return;
    if (this.onRestoreChange(source, obj, ns)) return;
    switch (source) {
      case 'backups':
        this.queue.add(`${ns}/${obj.metadata.name}`);
        break;
      case 'cronjobs':
      case 'jobs':
        if (obj.metadata.labels?.[BACKUP_LABEL]) this.queue.add(`${ns}/${obj.metadata.labels[BACKUP_LABEL]}`);
        if (source === 'jobs') this.gate?.poke();
        break;
      case 'pods':
      case 'claims':
        if (obj.metadata.labels?.[BACKUP_LABEL]) {
          this.queue.add(`${ns}/${obj.metadata.labels[BACKUP_LABEL]}`);
          break;
        }
        // A claim coming or going, or a pod taking one, concerns the Backups that name the claim or its shop.
        if (source === 'claims') {
          this.enqueueBackups(ns, [`claim:${obj.metadata.name}`, `shop:${obj.metadata.labels?.[api.SHOP_LABEL]}`]);
        } else {
          const claims = claimNamesMountedBy(obj);
          const shops = this.indexed(
            'claims',
            ns,
            claims.map((c) => `name:${c}`),
          ).map((c) => `shop:${c.metadata.labels?.[api.SHOP_LABEL]}`);
          this.enqueueBackups(ns, [...claims.map((c) => `claim:${c}`), ...shops]);
        }
        break;
    }
    this.metrics.queueDepth.set(this.queue.length);
  }

  /** Restores not yet finished in `namespace` (all namespaces when undefined): few, so listed, not indexed. */
  private enqueueRestores(namespace?: string): void {
    for (const r of this.list('restores', namespace) as RestoreObject[]) {
      if (!isFinal(r)) this.queue.add(`${RESTORE_KEY_PREFIX}${r.metadata.namespace}/${r.metadata.name}`);
    }
  }

  /**
   * Queues the Restores a change concerns; true when the change concerns Restores only. A Restore
   * waiting for its Backup, a claim, or a pod to let go of a claim is looked at again on any such change.
   */
  private onRestoreChange(source: SourceName, obj: KubeObject, ns: string): boolean {
    const owner = obj.metadata.labels?.[RESTORE_LABEL];
    if (source === 'restores' || source === 'restoreJobs' || (source === 'pods' && owner)) {
      this.queue.add(`${RESTORE_KEY_PREFIX}${ns}/${owner ?? obj.metadata.name}`);
      this.metrics.queueDepth.set(this.queue.length);
      return true;
    }
    if (source === 'backups' || source === 'claims' || source === 'pods') this.enqueueRestores(ns);
    return false;
  }

  private get restoreContext(): RestoreContext {
    const one = <T>(source: SourceName, namespace: string, name: string) =>
      this.informers
        .get(source)!
        .map((i) => i.cache.get(name, namespace))
        .find(Boolean) as T | undefined;
    return {
      client: this.client,
      settings: this.options.settings,
      restore: (namespace, name) => one<RestoreObject>('restores', namespace, name),
      backup: (namespace, name) => one<BackupObject>('backups', namespace, name),
      restoreJob: (namespace, uid) => this.indexed('restoreJobs', namespace, [`uid:${uid}`])[0],
      podsOfJob: (namespace, jobName) => this.indexed('pods', namespace, [`job:${jobName}`]),
      claims: (namespace) => this.list('claims', namespace),
      podsMounting: (namespace, claims) =>
        this.indexed(
          'pods',
          namespace,
          claims.map((c) => `claim:${c}`),
        ),
      writeStatus: (restore, status) => this.writeStatus(restore, status, rapi.RESTORE_PLURAL),
      recordEvent: (restore, event) => this.recordEvent(restore, event, rapi.RESTORE_KIND),
    };
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const run = this.process(key).finally(() => {
        this.inFlight.delete(run);
        this.queue.done(key);
      });
      this.inFlight.add(run);
      await run;
    }
  }

  private async process(key: string): Promise<void> {
    if (!this.leading) return;
    const stopTimer = this.metrics.reconcileDuration.startTimer();
    try {
      const changed = await this.reconcileKey(key);
      this.queue.forget(key);
      this.metrics.reconciles.inc({ result: changed ? 'changed' : 'unchanged' });
    } catch (error) {
      const retryInMs = this.queue.addRateLimited(key);
      this.metrics.reconciles.inc({ result: 'error' });
      this.metrics.reconcileErrors.inc();
      this.log[isConflict(error) ? 'debug' : 'warn'](
        { backup: key, err: (error as Error).message, retryInMs },
        'reconcile failed',
      );
    } finally {
      stopTimer();
    }
  }

  /** Reconciles one Backup; returns whether anything was written. */
  private async reconcileKey(key: string): Promise<boolean> {
    if (key.startsWith(RESTORE_KEY_PREFIX)) {
      const [namespace, name] = key.slice(RESTORE_KEY_PREFIX.length).split('/');
      return carryOutRestore(this.restoreContext, namespace, name);
    }
    const [namespace, name] = key.split('/');
    const backup = this.informers
      .get('backups')!
      .map((i) => i.cache.get(name, namespace))
      .find(Boolean) as BackupObject | undefined;
    if (!backup || backup.metadata.deletionTimestamp) {
      // Owner references remove its CronJob and Jobs; vault data is never touched.
      this.metrics.forget(namespace, name);
      this.staleChecks.set(key, undefined);
      return false;
    }
    const uid = backup.metadata.uid!;
    const owned = (o: KubeObject) => o.metadata.labels?.[BACKUP_UID_LABEL] === uid;
    const jobs = this.indexed('jobs', namespace, [`uid:${uid}`]);
    const jobPods = this.indexed('pods', namespace, [`uid:${uid}`, ...jobs.map((j) => `job:${j.metadata.name}`)]);
    // Only the claims this Backup can select, and only the pods that mount them: all that planning reads.
    const volumeClaims = Array.isArray(backup.spec.volumeClaims) ? backup.spec.volumeClaims : [];
    const claims = this.indexed('claims', namespace, [
      `shop:${backup.spec.shopName}`,
      ...volumeClaims.map((c) => `name:${c}`),
    ]);
    const cronJob = this.informers
      .get('cronjobs')!
      .map((i) => i.cache.get(cronJobNameFor(name), namespace) as KubeObject | undefined)
      .find((c) => c && owned(c));
    const vault = this.vaults.planFor(
      backup,
      (ns, job) => this.indexed('pods', ns, [`job:${job}`]),
      this.options.vault,
    );
    const desired = reconcile(
      {
        vaultProblem: vault?.problem,
        backup,
        cronJob,
        lastApplied: this.lastApplied.get(uid),
        jobs,
        jobPods,
        claims,
        namespacePods: this.indexed(
          'pods',
          namespace,
          claims.map((c) => `claim:${c.metadata.name}`),
        ).filter((p) => !owned(p)),
        now: new Date(),
        queuePlace: this.gate?.placeOf(namespace, name),
        snapshotClasses: this.snapshotClasses.classes,
      },
      this.options.settings,
    );
    // Fresh is True up to and including staleAt: look again just after it.
    this.staleChecks.set(key, desired.staleAt && new Date(desired.staleAt.getTime() + 1000));

    // Every write is tried; whatever fails, the status is written last and says why.
    let wrote = false;
    const refusals: RefusedWrite[] = [];
    let transient: unknown;
    const attempt = async (write: () => Promise<void>, refused: Omit<RefusedWrite, 'statusCode' | 'message'>) => {
      try {
        await write();
        wrote = true;
      } catch (error) {
        if (isRefusal(error)) refusals.push({ ...refused, statusCode: error.statusCode, message: error.serverMessage });
        else transient ??= error;
      }
    };
    if (vault?.createInitJob) {
      const job = vault.createInitJob;
      await attempt(
        () =>
          this.client.create(resourcePath('batch/v1', 'jobs', job.metadata.namespace), job).then(
            () => undefined,
            (e) => {
              if (!isConflict(e)) throw e;
            },
          ),
        { what: `vault init Job ${job.metadata.name}`, reason: REASON.VaultWorkRefused },
      );
    }
    if (vault?.applyMaintenance) {
      const cron = vault.applyMaintenance;
      await attempt(
        () =>
          this.client
            .apply(
              resourcePath('batch/v1', 'cronjobs', cron.metadata.namespace, cron.metadata.name),
              cron,
              FIELD_MANAGER,
            )
            .then(() => undefined),
        { what: `vault maintenance CronJob ${cron.metadata.name}`, reason: REASON.VaultWorkRefused },
      );
    }
    if (desired.cronJob && desired.cronJobChanged) {
      const cron = desired.cronJob;
      await attempt(
        async () => {
          const applied = await this.client.apply(
            resourcePath('batch/v1', 'cronjobs', namespace, cron.metadata.name),
            cron,
            FIELD_MANAGER,
          );
          this.lastApplied.set(uid, {
            inputs: desired.cronJobInputs!,
            resourceVersion: applied.metadata.resourceVersion,
          });
        },
        { what: `CronJob ${cron.metadata.name}`, reason: REASON.CronJobRefused },
      );
    } else if (desired.cronJob && cronJob?.metadata.resourceVersion) {
      this.lastApplied.set(uid, { inputs: desired.cronJobInputs!, resourceVersion: cronJob.metadata.resourceVersion });
    }
    // Checked and remembered: until its resourceVersion moves, this version of the CronJob needs no template.
    if (cronJob && this.lastApplied.get(uid)?.resourceVersion === cronJob.metadata.resourceVersion)
      dropJobTemplate(cronJob);
    for (const jobName of desired.deleteJobs) {
      await attempt(
        () =>
          this.client.delete(resourcePath('batch/v1', 'jobs', namespace, jobName)).then(
            () => undefined,
            (e) => {
              if (!isNotFound(e)) throw e;
            },
          ),
        { what: `Job ${jobName} (to replace it with a run-now Job)`, reason: REASON.RunNowRefused },
      );
    }
    // Snapshots and temporary claims before a run starts, their removal after it ends (operator/snapshot-runs.ts).
    await attempt(
      async () => {
        const timeout = this.options.settings.snapshotTimeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_SECONDS;
        const step = await stepSnapshotRuns(this.client, namespace, jobs, desired.dropJobs, timeout, new Date());
        if (step.recheckMs) this.queue.addAfter(key, step.recheckMs);
      },
      { what: 'a VolumeSnapshot or temporary claim of a run', reason: REASON.SnapshotWorkRefused },
    );
    // Daylight saving (operator/run-admission.ts): both writes are idempotent, so a second leader repeating them is harmless.
    for (const jobName of desired.dropJobs) {
      await attempt(
        () =>
          this.client.delete(resourcePath('batch/v1', 'jobs', namespace, jobName)).then(
            () => undefined,
            (e) => {
              if (!isNotFound(e)) throw e;
            },
          ),
        {
          what: `Job ${jobName} (a repeat of a time the autumn change runs twice)`,
          reason: REASON.RunAdmissionRefused,
        },
      );
    }
    for (const jobName of desired.admitJobs) {
      await attempt(
        () =>
          this.client
            .mergePatch(resourcePath('batch/v1', 'jobs', namespace, jobName), { spec: { suspend: false } })
            .then(() => undefined),
        { what: `Job ${jobName} (to start it)`, reason: REASON.RunAdmissionRefused },
      );
    }
    if (desired.requeueAt) {
      const delay = desired.requeueAt.getTime() - Date.now();
      // Timers beyond a day are left to the periodic resync.
      if (delay > 0 && delay < 86_400_000) this.queue.addAfter(key, delay + 1000);
    }
    for (const job of desired.createJobs) {
      await attempt(
        () =>
          this.client.create(resourcePath('batch/v1', 'jobs', namespace), job).then(
            () => undefined,
            (e) => {
              if (!isConflict(e)) throw e;
            },
          ),
        job.metadata.annotations?.[SKIPPED_RUN_ANNOTATION] !== undefined
          ? {
              what: `Job ${job.metadata.name} (the run a spring daylight-saving change skipped)`,
              reason: REASON.RunAdmissionRefused,
            }
          : { what: `run-now Job ${job.metadata.name}`, reason: REASON.RunNowRefused },
      );
    }
    const outcome = withRefusals(desired.status, backup.status, refusals, timestamp(new Date()));
    if (
      refusals.length > 0 ? canonicalJson(outcome.status) !== canonicalJson(backup.status ?? {}) : desired.statusChanged
    ) {
      await this.writeStatus(backup, outcome.status);
      wrote = true;
    }
    await Promise.all([...desired.events, ...outcome.events].map((e) => this.recordEvent(backup, e)));
    this.metrics.recordStatus(namespace, name, outcome.status);
    if (transient !== undefined) throw transient;
    if (refusals.length > 0) throw new Error(refusals.map(describeRefusal).join('; '));
    return wrote;
  }

  /** A merge patch of the status subresource, guarded by the resourceVersion the decision was made on. */
  private async writeStatus(backup: KubeObject, status: object, plural: string = api.BACKUP_PLURAL): Promise<void> {
    const patch: Record<string, unknown> = { ...status };
    for (const key of Object.keys(backup.status ?? {})) if (!(key in status)) patch[key] = null;
    await this.client.mergePatch(
      resourcePath(api.BACKUP_API_VERSION, plural, backup.metadata.namespace, backup.metadata.name, 'status'),
      { metadata: { resourceVersion: backup.metadata.resourceVersion }, status: patch },
    );
  }

  private async recordEvent(backup: KubeObject, event: KubeEvent, kind: string = api.BACKUP_KIND): Promise<void> {
    const now = new Date().toISOString();
    const namespace = backup.metadata.namespace!;
    try {
      await this.client.create(resourcePath('v1', 'events', namespace), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${backup.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: api.BACKUP_API_VERSION,
          kind,
          name: backup.metadata.name,
          namespace,
          uid: backup.metadata.uid,
          resourceVersion: backup.metadata.resourceVersion,
        },
        reason: event.reason,
        message: event.message.slice(0, 1024),
        type: event.type,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
      });
    } catch (error) {
      // Events are best effort: a lost one must not hold up the Backup or Restore.
      this.log.debug({ err: (error as ApiError).message }, 'event not recorded');
    }
  }

  /** Stops the informers for good and waits for in-flight reconciles. */
  public async stop(): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.staleChecks.clear();
    this.snapshotClasses.stop();
    this.queue.shutDown();
    await Promise.allSettled([...this.inFlight]);
    this.leading = false;
    await Promise.allSettled([...this.informers.values()].flat().map((i) => i.stop()));
  }

  public get isStopping(): boolean {
    return this.stopping;
  }
}
