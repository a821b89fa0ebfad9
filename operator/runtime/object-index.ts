/**
 * Objects of one informer grouped under keys computed from each object (a label value, a claim it
 * mounts), kept in step with the informer's events. A reconcile then reads the few objects related to
 * its Backup instead of scanning the namespace, which with thousands of Backups per namespace would
 * make the initial sync quadratic.
 */
import type { KubeObject } from './kube-object';

export type IndexKeys = (obj: KubeObject) => readonly string[];

export class ObjectIndex {
  /** `namespace/key` → (object name → object). */
  private readonly byKey = new Map<string, Map<string, KubeObject>>();
  /** `namespace/name` → the `namespace/key`s the object is filed under. */
  private readonly filedUnder = new Map<string, readonly string[]>();

  constructor(private readonly keysOf: IndexKeys) {}

  /** Files an added or updated object under its current keys, dropping the keys it no longer has. */
  public set(obj: KubeObject): void {
    this.remove(obj);
    const namespace = obj.metadata.namespace ?? '';
    const keys = [...new Set(this.keysOf(obj))].map((k) => `${namespace}/${k}`);
    if (keys.length === 0) return;
    for (const key of keys) {
      let bucket = this.byKey.get(key);
      if (!bucket) {
        bucket = new Map();
        this.byKey.set(key, bucket);
      }
      bucket.set(obj.metadata.name, obj);
    }
    this.filedUnder.set(`${namespace}/${obj.metadata.name}`, keys);
  }

  public remove(obj: KubeObject): void {
    const id = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    for (const key of this.filedUnder.get(id) ?? []) {
      const bucket = this.byKey.get(key)!;
      bucket.delete(obj.metadata.name);
      if (bucket.size === 0) this.byKey.delete(key);
    }
    this.filedUnder.delete(id);
  }

  /** The objects of `namespace` filed under `key`, in no particular order. */
  public get(namespace: string, key: string): KubeObject[] {
    const bucket = this.byKey.get(`${namespace}/${key}`);
    return bucket ? [...bucket.values()] : [];
  }

  /** The objects of `namespace` filed under any of `keys`, each once. */
  public getAny(namespace: string, keys: Iterable<string>): KubeObject[] {
    const found = new Map<string, KubeObject>();
    for (const key of keys) for (const obj of this.get(namespace, key)) found.set(obj.metadata.name, obj);
    return [...found.values()];
  }

  /** How many objects are filed (each once, whatever its number of keys). */
  public get size(): number {
    return this.filedUnder.size;
  }
}
