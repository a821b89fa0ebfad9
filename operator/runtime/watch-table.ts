/**
 * What a controller watches, as data: one entry per watched kind. The runtime turns each entry into
 * informers (one per watched namespace), trims and indexes what they deliver, and queues the keys an
 * entry names for every change. A controller adds a watched kind by adding an entry (and the RBAC to list
 * and watch it).
 */
import type { KubeObject } from './kube-object';

/** The values an object is filed under in one index (undefined and empty values are skipped). */
export type IndexValues = (obj: KubeObject) => readonly (string | undefined)[];

/** How a controller reads the caches: by name, by namespace, or through an entry's indexes. */
export interface CacheReader<Kind extends string> {
  get(kind: Kind, namespace: string, name: string): KubeObject | undefined;
  list(kind: Kind, namespace?: string): KubeObject[];
  /** Objects of `kind` in `namespace` filed in index `index` under any of `values`. */
  indexed(kind: Kind, namespace: string, index: string, values: Iterable<string>): KubeObject[];
}

export interface WatchedKind<Kind extends string> {
  /** Names the kind in logs and probes (with the API path). */
  readonly label: string;
  readonly apiVersion: string;
  readonly plural: string;
  /** Only objects with this label (a key, or `key=value`) are cached. */
  readonly labelSelector?: string;
  /** Drops, in place, what no reconcile reads, as each object arrives (runtime/trim.ts). */
  readonly trim: (obj: KubeObject) => void;
  /** Index name → the values an object is filed under. */
  readonly indexes?: Readonly<Record<string, IndexValues>>;
  /**
   * The work-queue keys a change of this object concerns; only asked while leading (taking the lead
   * queues everything). Reads the caches, which already hold the changed object trimmed and indexed.
   */
  readonly enqueue?: (obj: KubeObject, caches: CacheReader<Kind>) => Iterable<string>;
}

export type WatchTable<Kind extends string> = Readonly<Record<Kind, WatchedKind<Kind>>>;

/**
 * The single key an object is filed under in `index` for `value`; the index names keep keys of different indexes apart.
 */
export const indexKey = (index: string, value: string): string => `${index}:${value}`;

/** Every key an entry's indexes file an object under. */
export function indexKeysOf(indexes: Readonly<Record<string, IndexValues>>, obj: KubeObject): string[] {
  return Object.entries(indexes).flatMap(([index, valuesOf]) =>
    valuesOf(obj)
      .filter((v): v is string => typeof v === 'string' && v !== '')
      .map((v) => indexKey(index, v)),
  );
}
