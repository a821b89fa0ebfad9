/**
 * Objects of one informer grouped under keys computed from each object (a label value, a claim it
 * mounts), kept in step with the informer's events. A reconcile then reads the few objects related to
 * its Backup instead of scanning the namespace, which with thousands of Backups per namespace would
 * make the initial sync quadratic.
 */
import type { KubeObject } from './kube-object';

export type IndexKeys = (obj: KubeObject) => readonly string[];

/**
 * Most keys hold one object (a Backup's CronJob, a claim) and most objects one key: those are kept bare, without
 * a Map or an array of their own (a one-entry Map is ~150 bytes of heap, times every Backup).
 */
type Bucket = KubeObject | Map<string, KubeObject>;

export class ObjectIndex {
  /** `namespace/key` → the object, or (object name → object). */
  private readonly byKey = new Map<string, Bucket>();
  /**
   * namespace → name → the object as filed, whose keys are computed again to unfile it: keeping them per object
   * (an array and a `namespace/key` string each) cost more than computing them once more on an update.
   */
  private readonly filed = new Map<string, Map<string, KubeObject>>();
  private count = 0;

  constructor(private readonly keysOf: IndexKeys) {}

  private keys(obj: KubeObject): string[] {
    const namespace = obj.metadata.namespace ?? '';
    return [...new Set(this.keysOf(obj))].map((k) => `${namespace}/${k}`);
  }

  /** Files an added or updated object under its current keys, dropping the keys it no longer has. */
  public set(obj: KubeObject): void {
    this.remove(obj);
    const keys = this.keys(obj);
    if (keys.length === 0) return;
    const name = obj.metadata.name;
    for (const key of keys) {
      const bucket = this.byKey.get(key);
      if (bucket === undefined || (!(bucket instanceof Map) && bucket.metadata.name === name)) this.byKey.set(key, obj);
      else if (bucket instanceof Map) bucket.set(name, obj);
      else
        this.byKey.set(
          key,
          new Map([
            [bucket.metadata.name, bucket],
            [name, obj],
          ]),
        );
    }
    const namespace = obj.metadata.namespace ?? '';
    let names = this.filed.get(namespace);
    if (!names) {
      names = new Map();
      this.filed.set(namespace, names);
    }
    names.set(name, obj);
    this.count++;
  }

  public remove(obj: KubeObject): void {
    const namespace = obj.metadata.namespace ?? '';
    const names = this.filed.get(namespace);
    const was = names?.get(obj.metadata.name);
    if (!was) return;
    const name = obj.metadata.name;
    for (const key of this.keys(was)) {
      const bucket = this.byKey.get(key);
      if (bucket === undefined) continue;
      if (!(bucket instanceof Map)) {
        // Dropped only if it is this object: the keys are computed again here, so were they to differ from those it
        // was filed under (the filed object changed in place), a bare bucket under one of them holds another object.
        if (bucket.metadata.name === name && (bucket.metadata.namespace ?? '') === namespace) this.byKey.delete(key);
        continue;
      }
      bucket.delete(name);
      if (bucket.size === 1) this.byKey.set(key, bucket.values().next().value!);
    }
    names!.delete(obj.metadata.name);
    if (names!.size === 0) this.filed.delete(namespace);
    this.count--;
  }

  /** The objects of `namespace` filed under `key`, in no particular order. */
  public get(namespace: string, key: string): KubeObject[] {
    const bucket = this.byKey.get(`${namespace}/${key}`);
    if (bucket === undefined) return [];
    return bucket instanceof Map ? [...bucket.values()] : [bucket];
  }

  /** The objects of `namespace` filed under any of `keys`, each once. */
  public getAny(namespace: string, keys: Iterable<string>): KubeObject[] {
    const found = new Map<string, KubeObject>();
    for (const key of keys) for (const obj of this.get(namespace, key)) found.set(obj.metadata.name, obj);
    return [...found.values()];
  }

  /** How many objects are filed (each once, whatever its number of keys). */
  public get size(): number {
    return this.count;
  }
}
