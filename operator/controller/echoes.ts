/**
 * A Backup's own writes coming back through the watch: its status patch and its CronJob's apply, at the
 * resourceVersion each produced. The reconcile that wrote them decided on everything else as it stood, and any
 * other change brings an event of its own, so reconciling again for them would write nothing; at a cold start of
 * N Backups they were 2N of 3N reconciles. Objects of other versions are news as before.
 */
import { BACKUP_LABEL, BACKUP_UID_LABEL } from '../../lib/run/backup-names';
import { dropJobTemplate } from '../runtime/trim';
import type { KubeObject } from './types';
import { backupKey } from './watches';
import type { LastApplied } from './writer';

interface Seen {
  readonly kind: 'backups' | 'cronjobs';
  readonly uid: string;
  readonly resourceVersion?: string;
}

export class Echoes {
  /** Per Backup uid: the resourceVersion its last status write produced, until that version comes back. */
  private readonly statusWritten = new Map<string, string>();
  /** Per Backup key whose reconcile runs now: its objects' versions seen meanwhile, judged when it ends. */
  private readonly during = new Map<string, Seen[]>();

  constructor(private readonly lastApplied: LastApplied) {}

  /**
   * The Backup key `obj` (a Backup or its CronJob) would queue, when that is not to be done now: it is the Backup's
   * own write, or it came while the Backup's reconcile runs (whose write may be answered after its watch event:
   * judged when the reconcile ends).
   */
  public of(kind: string, obj: KubeObject): string | undefined {
    const { namespace, name, uid, resourceVersion } = obj.metadata;
    const seen: Seen | undefined =
      kind === 'backups' && uid
        ? { kind, uid, resourceVersion }
        : kind === 'cronjobs' && obj.metadata.labels?.[BACKUP_UID_LABEL] && obj.metadata.labels[BACKUP_LABEL]
          ? { kind, uid: obj.metadata.labels[BACKUP_UID_LABEL], resourceVersion }
          : undefined;
    if (!seen) return undefined;
    const key = backupKey(namespace!, kind === 'backups' ? name : obj.metadata.labels![BACKUP_LABEL]);
    if (this.isEcho(seen)) {
      if (kind === 'backups') this.statusWritten.delete(seen.uid);
      return key;
    }
    const during = this.during.get(key);
    if (!during) return undefined;
    during.push(seen);
    return key;
  }

  /** The reconcile of `key` starts. */
  public begin(key: string): void {
    this.during.set(key, []);
  }

  /**
   * The reconcile of `key` ended, its status write (if any) having produced `statusVersion`; true when something
   * seen meanwhile was not its own write (the key is then to be queued again).
   */
  public end(key: string, uid: string | undefined, statusVersion: string | undefined): boolean {
    const seen = this.during.get(key) ?? [];
    this.during.delete(key);
    if (uid && statusVersion) this.statusWritten.set(uid, statusVersion);
    let news = false;
    for (const s of seen) {
      if (!this.isEcho(s)) news = true;
      else if (s.kind === 'backups') this.statusWritten.delete(s.uid);
    }
    return news;
  }

  /**
   * Drops the job template of a CronJob cached as this process last applied it: checked when applied, it is the
   * largest part of the cache, and no echo reconcile comes any more to drop it (runtime/trim.ts).
   */
  public trimApplied(cronJob: KubeObject | undefined): void {
    const uid = cronJob?.metadata.labels?.[BACKUP_UID_LABEL];
    if (cronJob && uid && this.lastApplied.get(uid)?.resourceVersion === cronJob.metadata.resourceVersion)
      dropJobTemplate(cronJob);
  }

  /** The Backup is gone. */
  public forget(uid: string): void {
    this.statusWritten.delete(uid);
  }

  private isEcho(seen: Seen): boolean {
    if (!seen.resourceVersion) return false;
    return seen.kind === 'backups'
      ? this.statusWritten.get(seen.uid) === seen.resourceVersion
      : this.lastApplied.get(seen.uid)?.resourceVersion === seen.resourceVersion;
  }
}
