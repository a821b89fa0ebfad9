/**
 * The Backup and Restore controller: the generic loop (runtime/controller-loop.ts) runs the watch table
 * (watches.ts); for each queued key this reads the caches into an observation, asks the pure `reconcile`
 * (or the Restore's), and hands the answer to the writer. Run caps, vault work and stale checks live here.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import * as rapi from '../../lib/permits/restore-api';
import { cronJobNameFor } from '../../lib/run/backup-names';
import { Echoes } from './echoes';
import { ControllerLoop } from '../runtime/controller-loop';
import type { KubeClient } from '../runtime/kube';
import { WakeUps } from '../runtime/wake-ups';
import { capsEnabled, type FleetCaps } from './fleet-admission';
import { FleetGate } from './fleet-gate';
import type { OperatorMetrics } from './metrics';
import { observeBackup } from './observe';
import { reconcile } from './reconcile';
import type { RestoreObject } from './types';
import { carryOutRestore, RESTORE_KEY_PREFIX, type RestoreContext } from './restore-writer';
import type { BackupObject, KubeObject, Settings } from './types';
import { VaultIndex } from './vault-index';
import { isVerifyRun } from './verify-plan';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import type { VaultSettings } from './vault-plan';
import { INDEX } from './vocabulary';
import { backupKey, unfinishedRestores, WATCHES, type WatchedKindName } from './watches';
import { applyDesired, type LastApplied, recordEvent, writeStatus } from './writer';
import { SnapshotClassWatch } from './snapshot-support';

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

export class Controller {
  private readonly loop: ControllerLoop<WatchedKindName>;
  /** Per Backup key: a reconcile when it turns Stale, which no watch event announces. */
  private readonly staleChecks = new WakeUps((key) => this.loop.queue.add(key));
  private readonly lastApplied: LastApplied = new Map();
  /** A Backup's own writes coming back through the watch: no news, not reconciled again. */
  private readonly echoes = new Echoes(this.lastApplied);
  /** Starts held runs under the run cap; absent without a cap. */
  private readonly gate?: FleetGate;
  /** Who uses each vault and its per-vault work, across namespaces; a change queues the vault's Backups. */
  private readonly vaults = new VaultIndex(
    (b) => this.loop.enqueue(backupKey(b.metadata.namespace!, b.metadata.name)),
    () => this.loop.leading,
  );
  /** Which claims can be snapshotted (listed, not watched: the snapshot API may be absent); a change re-plans all. */
  private readonly snapshotClasses: SnapshotClassWatch;

  constructor(
    config: KubeConfig,
    private readonly client: KubeClient,
    private readonly options: ControllerOptions,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {
    this.snapshotClasses = new SnapshotClassWatch(
      client,
      30_000,
      () => {
        for (const b of this.loop.list('backups')) this.loop.enqueue(backupKey(b.metadata.namespace!, b.metadata.name));
      },
      log,
    );
    this.loop = new ControllerLoop(
      config,
      client,
      WATCHES,
      options,
      {
        reconcile: (key) => this.reconcileKey(key),
        everything: () => {
          const keys = [
            ...this.loop.list('backups').map((b) => backupKey(b.metadata.namespace!, b.metadata.name)),
            ...unfinishedRestores(this.loop),
          ];
          this.gate?.poke();
          return keys;
        },
        queued: (depth) => this.metrics.queueDepth.set(depth),
        echoOf: (kind, obj) => this.echoes.of(kind, obj),
        measure: () => {
          const stopTimer = metrics.reconcileDuration.startTimer();
          return (result) => {
            metrics.reconciles.inc({ result });
            if (result === 'error') metrics.reconcileErrors.inc();
            stopTimer();
          };
        },
      },
      log,
    );
    if (options.caps && capsEnabled(options.caps)) {
      this.gate = new FleetGate(
        options.caps,
        client,
        {
          jobs: () => this.loop.list('jobs').filter((j) => !isVerifyRun(j)),
          backup: (namespace, name) => this.loop.get('backups', namespace, name) as BackupObject | undefined,
          leading: () => this.loop.leading,
          reconcile: (key) => this.loop.queue.add(key),
        },
        metrics,
        log,
      );
    }
    // A Job finishing may free a run slot.
    for (const jobs of this.loop.eventsOf('jobs')) jobs.on('change', () => this.loop.leading && this.gate?.poke());
    for (const cronJobs of this.loop.eventsOf('cronjobs'))
      for (const event of ['add', 'update'] as const)
        cronJobs.on(event, (c) => this.echoes.trimApplied(c as KubeObject));
    for (const backups of this.loop.eventsOf('backups')) {
      backups.on('delete', (b) => {
        this.lastApplied.delete(b.metadata?.uid ?? '');
        this.echoes.forget(b.metadata?.uid ?? '');
      });
      this.vaults.watch('users', backups);
    }
    for (const work of [...this.loop.eventsOf('vaultjobs'), ...this.loop.eventsOf('vaultcrons')])
      this.vaults.watch('work', work);
    // A vault check's pod reporting concerns every Backup on the vault (its Job may be seen finished first).
    for (const pods of this.loop.eventsOf('pods'))
      pods.on('change', (p) => {
        const hash = p.metadata?.labels?.[REPOSITORY_LABEL];
        if (hash && this.loop.leading) this.vaults.requeue(hash);
      });
  }

  /** True once every informer has listed its objects and is watching, and none is failing now (/readyz). */
  public get synced(): boolean {
    return this.loop.synced;
  }

  /** False once an informer has been failing for longer than `unhealthyAfterMs` (/healthz). */
  public healthy(unhealthyAfterMs?: number, now?: number): boolean {
    return this.loop.healthy(unhealthyAfterMs, now);
  }

  /** The informers failing now, and why. */
  public failingInformers(): { informer: string; since: number; error: string }[] {
    return this.loop.failingInformers();
  }

  /** Starts the informers and resolves once all have synced (failed ones are retried meanwhile). */
  public async start(): Promise<void> {
    await this.loop.start();
    await this.snapshotClasses.start();
  }

  /** Begins reconciling (this process leads). */
  public startLeading(): void {
    this.loop.startLeading();
  }

  /** Stops writing at once (another process leads now); the caches stay warm for a takeover. */
  public stopLeading(): void {
    this.loop.stopLeading();
    this.staleChecks.clear();
    this.metrics.forgetAll();
  }

  /** Stops the informers for good and waits for in-flight reconciles. */
  public async stop(): Promise<void> {
    this.staleChecks.clear();
    this.snapshotClasses.stop();
    await this.loop.stop();
  }

  public get isStopping(): boolean {
    return this.loop.isStopping;
  }

  private get restoreContext(): RestoreContext {
    const caches = this.loop;
    return {
      client: this.client,
      settings: this.options.settings,
      restore: (namespace, name) => caches.get('restores', namespace, name) as RestoreObject | undefined,
      backup: (namespace, name) => caches.get('backups', namespace, name) as BackupObject | undefined,
      restoreJob: (namespace, uid) => caches.indexed('restoreJobs', namespace, INDEX.uid, [uid])[0],
      podsOfJob: (namespace, jobName) => caches.indexed('pods', namespace, INDEX.job, [jobName]),
      claims: (namespace) => caches.list('claims', namespace),
      podsMounting: (namespace, claims) => caches.indexed('pods', namespace, INDEX.claim, claims),
      writeStatus: async (restore, status) => {
        await writeStatus(this.client, restore, status, rapi.RESTORE_PLURAL);
      },
      recordEvent: (restore, event) => recordEvent(this.client, this.log, restore, event, rapi.RESTORE_KIND),
    };
  }

  /** Reconciles one Backup or Restore; returns whether anything was written. */
  private async reconcileKey(key: string): Promise<boolean> {
    if (key.startsWith(RESTORE_KEY_PREFIX)) {
      const [namespace, name] = key.slice(RESTORE_KEY_PREFIX.length).split('/');
      return carryOutRestore(this.restoreContext, namespace, name);
    }
    this.echoes.begin(key);
    let uid: string | undefined;
    let statusVersion: string | undefined;
    try {
      const written = await this.reconcileBackup(key);
      uid = written?.uid;
      statusVersion = written?.statusVersion;
      return written?.wrote ?? false;
    } finally {
      // Changes seen while it ran that were not its own writes: again (the key is marked to run once more).
      if (this.echoes.end(key, uid, statusVersion)) this.loop.enqueue(key);
      // Its CronJob as applied may have been cached before the apply answered.
      const [namespace, name] = key.split('/');
      this.echoes.trimApplied(this.loop.get('cronjobs', namespace, cronJobNameFor(name)));
    }
  }

  private async reconcileBackup(
    key: string,
  ): Promise<{ wrote: boolean; uid: string; statusVersion?: string } | undefined> {
    const [namespace, name] = key.split('/');
    const backup = this.loop.get('backups', namespace, name) as BackupObject | undefined;
    if (!backup || backup.metadata.deletionTimestamp) {
      // Owner references remove its CronJob and Jobs; vault data is never touched.
      this.metrics.forget(namespace, name);
      this.staleChecks.set(key, undefined);
      return undefined;
    }
    const { observed, cronJob, vault, verify } = observeBackup(this.loop, backup, {
      vaults: this.vaults,
      vault: this.options.vault,
      settings: this.options.settings,
      lastApplied: this.lastApplied,
      queuePlace: this.gate?.placeOf(namespace, name),
      snapshotClasses: this.snapshotClasses.classes,
    });
    const desired = reconcile(observed, this.options.settings);
    // Fresh is True up to and including staleAt: look again just after it.
    this.staleChecks.set(key, desired.staleAt && new Date(desired.staleAt.getTime() + 1000));
    if (desired.requeueAt) {
      const delay = desired.requeueAt.getTime() - Date.now();
      // Timers beyond a day are left to the periodic resync.
      if (delay > 0 && delay < 86_400_000) this.loop.queue.addAfter(key, delay + 1000);
    }
    const written = await applyDesired(
      this.client,
      this.log,
      backup,
      desired,
      vault,
      cronJob,
      this.lastApplied,
      verify,
    );
    if (written.recheckMs) this.loop.queue.addAfter(key, written.recheckMs);
    // A round still in flight when leadership ended must not bring back the series stopLeading dropped.
    if (this.loop.leading) this.metrics.recordStatus(namespace, name, written.status);
    if (written.error !== undefined) throw written.error;
    return { wrote: written.wrote, uid: backup.metadata.uid!, statusVersion: written.statusVersion };
  }
}
