/**
 * Objects grouped under keys across every namespace (ObjectIndex groups within one): a vault is named by
 * Backups in any namespace, and its tenancy and deduplication are judged over all of them.
 */
import type { KubeObject } from './kube-object';

export class ClusterIndex {
  /** key → (`namespace/name` → object). */
  private readonly byKey = new Map<string, Map<string, KubeObject>>();
  /** `namespace/name` → the keys the object is filed under. */
  private readonly filedUnder = new Map<string, readonly string[]>();

  constructor(private readonly keysOf: (obj: KubeObject) => readonly (string | undefined)[]) {}

  public set(obj: KubeObject): void {
    this.remove(obj);
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const keys = [...new Set(this.keysOf(obj).filter((k): k is string => !!k))];
    for (const key of keys) {
      let bucket = this.byKey.get(key);
      if (!bucket) {
        bucket = new Map();
        this.byKey.set(key, bucket);
      }
      bucket.set(id, obj);
    }
    if (keys.length > 0) this.filedUnder.set(id, keys);
  }

  public remove(obj: KubeObject): void {
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    for (const key of this.filedUnder.get(id) ?? []) {
      const bucket = this.byKey.get(key)!;
      bucket.delete(id);
      if (bucket.size === 0) this.byKey.delete(key);
    }
    this.filedUnder.delete(id);
  }

  /** The keys `obj` is filed under now (before an update replaces it). */
  public keysFiled(obj: KubeObject): readonly string[] {
    return this.filedUnder.get(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`) ?? [];
  }

  /** The object filed now under `obj`'s namespace and name, if any. */
  public find(obj: KubeObject): KubeObject | undefined {
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const keys = this.filedUnder.get(id);
    return keys && this.byKey.get(keys[0])?.get(id);
  }

  public get(key: string): KubeObject[] {
    return [...(this.byKey.get(key)?.values() ?? [])];
  }
}
