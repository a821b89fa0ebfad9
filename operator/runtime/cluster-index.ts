/**
 * Objects grouped under keys across every namespace (ObjectIndex groups within one): a vault is named by
 * Backups in any namespace, and its tenancy and deduplication are judged over all of them.
 */
import type { KubeObject } from './kube-object';

interface Bucket {
  readonly key: string;
  /** `namespace/name` → object. */
  readonly members: Map<string, KubeObject>;
}

export class ClusterIndex {
  private readonly byKey = new Map<string, Bucket>();
  /**
   * `namespace/name` → the bucket(s) the object is filed under. Thousands of Backups name one vault: each points at
   * the shared bucket (and its key) instead of holding an array and a key string of its own.
   */
  private readonly filedUnder = new Map<string, Bucket | readonly Bucket[]>();

  constructor(private readonly keysOf: (obj: KubeObject) => readonly (string | undefined)[]) {}

  public set(obj: KubeObject): void {
    this.remove(obj);
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const keys = [...new Set(this.keysOf(obj).filter((k): k is string => !!k))];
    const buckets = keys.map((key) => {
      let bucket = this.byKey.get(key);
      if (!bucket) {
        bucket = { key, members: new Map() };
        this.byKey.set(key, bucket);
      }
      bucket.members.set(id, obj);
      return bucket;
    });
    if (buckets.length > 0) this.filedUnder.set(id, buckets.length === 1 ? buckets[0] : buckets);
  }

  public remove(obj: KubeObject): void {
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    for (const bucket of this.bucketsOf(id)) {
      bucket.members.delete(id);
      if (bucket.members.size === 0) this.byKey.delete(bucket.key);
    }
    this.filedUnder.delete(id);
  }

  /** The keys `obj` is filed under now (before an update replaces it). */
  public keysFiled(obj: KubeObject): readonly string[] {
    return this.bucketsOf(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`).map((b) => b.key);
  }

  /** The object filed now under `obj`'s namespace and name, if any. */
  public find(obj: KubeObject): KubeObject | undefined {
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    return this.bucketsOf(id)[0]?.members.get(id);
  }

  public get(key: string): KubeObject[] {
    return [...(this.byKey.get(key)?.members.values() ?? [])];
  }

  private bucketsOf(id: string): readonly Bucket[] {
    const filed = this.filedUnder.get(id);
    return filed === undefined ? [] : Array.isArray(filed) ? filed : [filed as Bucket];
  }
}
