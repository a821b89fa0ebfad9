/**
 * Which of a Backup's claims can be backed up from a CSI VolumeSnapshot: a claim whose StorageClass's
 * provisioner has a VolumeSnapshotClass (driver = provisioner). The classes are read by listing both kinds
 * now and then rather than watching: they change rarely, and a cluster without the snapshot API (no CRDs)
 * must not leave an informer failing for ever; a 404 simply means "no snapshots here".
 */
import type { Logger } from 'pino';
import type { BackupRef } from '../../lib/run/backup-names';
import { SNAPSHOT_API_VERSION, SnapshotSource, temporaryClaimName } from '../../lib/run/snapshot-source';
import { isNotFound, KubeClient, resourcePath } from '../runtime/kube';
import type { KubeObject } from './types';
import type { VolumePlan } from './volumes';
import { REASON } from './vocabulary';

const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

export interface SnapshotClasses {
  /** StorageClass name → its provisioner. */
  readonly provisioners: ReadonlyMap<string, string>;
  /** CSI driver → the VolumeSnapshotClass to use (the one marked default when there are several). */
  readonly snapshotClasses: ReadonlyMap<string, string>;
  /**
   * CSI driver → a class it has with `deletionPolicy: Retain`, when it has no other: deleting a run's
   * VolumeSnapshot would leave its content and the storage's snapshot behind, one per run, so none is used.
   */
  readonly retainOnly?: ReadonlyMap<string, string>;
  /** The cluster serves no snapshot.storage.k8s.io/v1 API. */
  readonly noSnapshotApi: boolean;
  /** Why the classes are not known (they could not be listed yet): every claim is read live meanwhile. */
  readonly problem?: string;
}

export const NO_SNAPSHOT_CLASSES: SnapshotClasses = {
  provisioners: new Map(),
  snapshotClasses: new Map(),
  noSnapshotApi: true,
};

/** The classes as listed: pure, for tests. */
export function snapshotClassesOf(
  storageClasses: readonly KubeObject[],
  volumeSnapshotClasses: readonly KubeObject[] | undefined,
): SnapshotClasses {
  const snapshotClasses = new Map<string, string>();
  const ordered = [...(volumeSnapshotClasses ?? [])].sort(
    (a, b) =>
      Number(b.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') -
        Number(a.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  const retainOnly = new Map<string, string>();
  for (const c of ordered) {
    const driver = (c as any).driver;
    if (typeof driver !== 'string') continue;
    if ((c as any).deletionPolicy === 'Retain') {
      if (!retainOnly.has(driver)) retainOnly.set(driver, c.metadata.name);
    } else if (!snapshotClasses.has(driver)) snapshotClasses.set(driver, c.metadata.name);
  }
  for (const driver of snapshotClasses.keys()) retainOnly.delete(driver);
  return {
    provisioners: new Map(storageClasses.map((c) => [c.metadata.name, String((c as any).provisioner ?? '')])),
    snapshotClasses,
    retainOnly,
    noSnapshotApi: volumeSnapshotClasses === undefined,
  };
}

export interface SourcePlan {
  readonly snapshots: SnapshotSource[];
  /** Claims backed up from live files, each with why. */
  readonly live: { readonly claim: string; readonly why: string }[];
}

/** Per claim: a snapshot when its class allows one, live files otherwise. */
export function planSources(
  backup: BackupRef,
  claimNames: readonly string[],
  claims: readonly KubeObject[],
  classes: SnapshotClasses,
): SourcePlan {
  const byName = new Map(claims.map((c) => [c.metadata.name, c]));
  const plan: SourcePlan = { snapshots: [], live: [] };
  for (const name of claimNames) {
    const claim = byName.get(name);
    const storageClass: string | undefined = claim?.spec?.storageClassName || undefined;
    const provisioner = storageClass === undefined ? undefined : classes.provisioners.get(storageClass);
    const snapshotClass = provisioner === undefined ? undefined : classes.snapshotClasses.get(provisioner);
    const size = claim?.status?.capacity?.storage ?? claim?.spec?.resources?.requests?.storage;
    if (classes.problem) plan.live.push({ claim: name, why: classes.problem });
    else if (classes.noSnapshotApi) plan.live.push({ claim: name, why: 'the cluster has no VolumeSnapshot API' });
    else if (storageClass === undefined) plan.live.push({ claim: name, why: 'the claim names no storage class' });
    else if (provisioner === undefined) plan.live.push({ claim: name, why: `storage class ${storageClass} not found` });
    else if (snapshotClass === undefined && classes.retainOnly?.has(provisioner))
      plan.live.push({
        claim: name,
        why:
          `VolumeSnapshotClass ${classes.retainOnly.get(provisioner)} has deletionPolicy Retain (each run would ` +
          `leave a snapshot behind); add one with Delete`,
      });
    else if (snapshotClass === undefined)
      plan.live.push({ claim: name, why: `no VolumeSnapshotClass for ${provisioner}` });
    else if (size === undefined) plan.live.push({ claim: name, why: 'the claim has no size' });
    else
      plan.snapshots.push({
        claim: name,
        temporaryClaim: temporaryClaimName(backup.name, backup.uid, name),
        volumeSnapshotClass: snapshotClass,
        storageClass,
        size: String(size),
      });
  }
  return plan;
}

/**
 * The volume plan when every claim comes from a snapshot: the pod mounts new claims only, so a pod using a
 * shop claim neither pins it to a node nor, for ReadWriteOncePod, keeps it from running. A snapshot needs no mount.
 */
export function fromSnapshots(plan: VolumePlan, sources: SourcePlan): VolumePlan {
  if (sources.live.length > 0 || sources.snapshots.length === 0) return plan;
  const placement = [REASON.VolumeInUse, REASON.VolumesOnDifferentNodes] as string[];
  if (plan.problem && !placement.includes(plan.problem.reason)) return plan;
  return { claims: plan.claims };
}

/** The plan in words, for the Ready condition: where each claim is read from. */
export function describeSources(plan: SourcePlan): string {
  const parts: string[] = [];
  if (plan.snapshots.length) parts.push(`from VolumeSnapshots: ${plan.snapshots.map((s) => s.claim).join(', ')}`);
  if (plan.live.length)
    parts.push(`from live files (not a point in time): ${plan.live.map((l) => `${l.claim} (${l.why})`).join(', ')}`);
  return parts.join('; ');
}

/** Keeps the cluster's StorageClasses and VolumeSnapshotClasses, listed every `intervalMs`. */
export class SnapshotClassWatch {
  private current: SnapshotClasses = NO_SNAPSHOT_CLASSES;
  private fingerprint = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly intervalMs: number,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  public get classes(): SnapshotClasses {
    return this.current;
  }

  /** Lists once (so the first reconciles see the classes), then keeps listing. */
  public async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  public stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const storage = await this.client.list(resourcePath('storage.k8s.io/v1', 'storageclasses'));
      const snapshots = await this.client
        .list(resourcePath(SNAPSHOT_API_VERSION, 'volumesnapshotclasses'))
        .then((l) => l.items as KubeObject[])
        .catch((e) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
      const next = snapshotClassesOf(storage.items as KubeObject[], snapshots);
      const fingerprint = JSON.stringify([
        [...next.provisioners],
        [...next.snapshotClasses],
        [...(next.retainOnly ?? [])],
        next.noSnapshotApi,
      ]);
      if (fingerprint === this.fingerprint) return;
      this.current = next;
      this.fingerprint = fingerprint;
      this.onChange();
    } catch (error) {
      const message = (error as Error).message;
      this.log.warn({ err: message }, 'storage and snapshot classes not listed');
      // A later failure keeps the last answer: one failed list must not switch every Backup back to live files.
      if (this.fingerprint !== '') return;
      this.current = {
        ...NO_SNAPSHOT_CLASSES,
        problem: `storage and snapshot classes could not be listed: ${message}`,
      };
      this.fingerprint = 'failed';
      this.onChange();
    }
  }
}
