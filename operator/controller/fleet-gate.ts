/**
 * The I/O around operator/fleet-admission.ts: reads the held and running Jobs from the informer cache,
 * starts (patches `spec.suspend: false`) or gives up (deletes) what the pure decision says, and keeps
 * each Backup's place in the queue for its status. One pass at a time; a change during a pass asks for
 * another. Only the leader passes, and every write is idempotent: a Job started twice is one run.
 */
import { waitsForSnapshots } from '../../lib/run/snapshot-source';
import type { Logger } from 'pino';
import * as api from '../../lib/permits/backup-api';
import { BACKUP_LABEL, BACKUP_UID_LABEL, cronJobNameFor } from '../../lib/run/backup-names';
import { effectiveSchedule } from '../../lib/permits/schedule-window';
import { parseSchedule } from '../../lib/permits/cron';
import { isExtraRun, isSecondPass, nearTransition } from './dst';
import { decideFleet, FleetCaps, FleetRun, HeldRun, vaultKey } from './fleet-admission';
import { KubeClient, resourcePath } from '../runtime/kube';
import type { OperatorMetrics } from './metrics';
import type { BackupObject, KubeObject } from './types';
import { isFinished, scheduledTimeOf, SKIPPED_RUN_ANNOTATION } from './run-admission';

export interface QueuePlace {
  readonly position: number;
  readonly of: number;
}

export interface FleetGateSources {
  readonly jobs: () => KubeObject[];
  readonly backup: (namespace: string, name: string) => BackupObject | undefined;
  readonly leading: () => boolean;
  /** Asks for a reconcile of a Backup (`namespace/name`), to show a new place or a given-up run. */
  readonly reconcile: (key: string) => void;
}

/** A patch seen by the API server but not yet by the cache: counted as running for this long. */
const STARTED_GRACE_MS = 60_000;

export class FleetGate {
  private passing = false;
  private again = false;
  private readonly started = new Map<string, number>();
  private places = new Map<string, QueuePlace>();

  constructor(
    private readonly caps: FleetCaps,
    private readonly client: KubeClient,
    private readonly sources: FleetGateSources,
    private readonly metrics: OperatorMetrics,
    private readonly log: Logger,
  ) {}

  /** The place of a Backup's oldest held run in the queue, as of the last pass. */
  public placeOf(namespace: string, name: string): QueuePlace | undefined {
    return this.places.get(`${namespace}/${name}`);
  }

  /** Asks for a pass: now, or right after the one under way. */
  public poke(): void {
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    void (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          this.log.warn(
            { err: (error as Error).message },
            'run admission pass failed; retried at the next change or resync',
          );
        }
      } while (this.again && this.sources.leading());
      this.passing = false;
    })();
  }

  private isExtra(backup: BackupObject, at: number): boolean {
    const zone = backup.spec.timeZone ?? api.DEFAULT_TIME_ZONE;
    if (isSecondPass(zone, at)) return true;
    // Most of the year no change is near: the schedule is not even read.
    if (!nearTransition(zone, at)) return false;
    try {
      return isExtraRun(
        parseSchedule(
          effectiveSchedule(backup.spec.backupTime, {
            namespace: backup.metadata.namespace,
            name: backup.metadata.name,
          }),
        ),
        zone,
        at,
      );
    } catch {
      return false;
    }
  }

  private async pass(): Promise<void> {
    if (!this.sources.leading()) return;
    const now = Date.now();
    const running: FleetRun[] = [];
    const held: HeldRun[] = [];
    for (const job of this.sources.jobs()) {
      const namespace = job.metadata.namespace!;
      const key = `${namespace}/${job.metadata.name}`;
      const backup = this.sources.backup(namespace, job.metadata.labels?.[BACKUP_LABEL] ?? '');
      if (
        !backup ||
        backup.metadata.uid !== job.metadata.labels?.[BACKUP_UID_LABEL] ||
        job.metadata.deletionTimestamp ||
        isFinished(job)
      ) {
        this.started.delete(key);
        continue;
      }
      const run = {
        key,
        backup: `${namespace}/${backup.metadata.name}`,
        vault: vaultKey(namespace, backup.spec.vaultLocation),
      };
      const startedAt = this.started.get(key);
      if (job.spec?.suspend !== true || (startedAt !== undefined && now - startedAt < STARTED_GRACE_MS)) {
        if (job.spec?.suspend !== true) this.started.delete(key);
        running.push(run);
        continue;
      }
      // Not startable before its snapshots and temporary claims exist (operator/controller/snapshot-runs.ts).
      if (waitsForSnapshots(job)) continue;
      const scheduled = scheduledTimeOf(job, cronJobNameFor(backup.metadata.name));
      // A repeat, or a run robfig should not have made, is the reconcile's to drop, never to start.
      if (
        scheduled !== undefined &&
        job.metadata.annotations?.[SKIPPED_RUN_ANNOTATION] === undefined &&
        this.isExtra(backup, scheduled)
      )
        continue;
      const dueAt = scheduled ?? Date.parse(job.metadata.creationTimestamp ?? '') / 1000;
      if (Number.isNaN(dueAt)) continue;
      const deadline = backup.spec.startingDeadlineSeconds;
      held.push({
        ...run,
        dueAt,
        giveUpAt: deadline === undefined || scheduled === undefined ? undefined : dueAt + deadline,
      });
    }
    const decision = decideFleet(this.caps, running, held, now / 1000);
    for (const run of decision.start) {
      if (!this.sources.leading()) return;
      const [namespace, name] = run.key.split('/');
      await this.client.mergePatch(resourcePath('batch/v1', 'jobs', namespace, name), { spec: { suspend: false } });
      this.started.set(run.key, Date.now());
      this.metrics.runsStarted.inc();
      this.metrics.runWait.observe(Math.max(0, now / 1000 - run.dueAt));
      this.sources.reconcile(run.backup);
    }
    for (const run of decision.giveUp) {
      if (!this.sources.leading()) return;
      const [namespace, name] = run.key.split('/');
      await this.client.delete(resourcePath('batch/v1', 'jobs', namespace, name)).catch((e) => {
        if (e?.statusCode !== 404) throw e;
      });
      this.metrics.runsGivenUp.inc();
      this.sources.reconcile(run.backup);
    }
    const places = new Map<string, QueuePlace>();
    decision.queue.forEach((run, i) => {
      if (!places.has(run.backup)) places.set(run.backup, { position: i + 1, of: decision.queue.length });
    });
    // A Backup is told when it joins the queue and when its place in it moves (its status says where it stands).
    for (const [backup, place] of places) {
      const was = this.places.get(backup);
      if (was?.position !== place.position || was?.of !== place.of) this.sources.reconcile(backup);
    }
    for (const backup of this.places.keys()) if (!places.has(backup)) this.sources.reconcile(backup);
    this.places = places;
    this.metrics.runsRunning.set(running.length + decision.start.length);
    this.metrics.runsQueued.set(decision.queue.length);
  }
}
