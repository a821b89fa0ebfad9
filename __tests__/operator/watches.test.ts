/**
 * The watch table: each watched kind is listed and watched with the operator's own RBAC, and a change of
 * an object queues the Backups and Restores it concerns, read through the table's own indexes.
 */
import { SHOP_LABEL } from '../../lib/permits/backup-api';
import { BACKUP_LABEL } from '../../lib/run/backup-names';
import { RESTORE_LABEL } from '../../lib/run/restore-job';
import { type Caches, WATCHES, type WatchedKindName } from '../../operator/controller/watches';
import type { KubeObject } from '../../operator/controller/types';
import { resourcePath } from '../../operator/runtime/kube';
import { ObjectIndex } from '../../operator/runtime/object-index';
import { indexKey, indexKeysOf } from '../../operator/runtime/watch-table';
import { grantingRules, requestAttributes } from '../../testing/rbac';
import { allObjects, synthDefaultApp } from '../../testing/synth';

const NS = 'mall-shops';
const obj = (name: string, labels: Record<string, string> = {}, spec?: any): KubeObject => ({
  metadata: { name, namespace: NS, labels },
  spec,
});

/** Caches over fixed objects, indexed by the table's own index functions, as the controller loop files them. */
function caches(objects: Partial<Record<WatchedKindName, KubeObject[]>>): Caches {
  const indexes = new Map<WatchedKindName, ObjectIndex>();
  for (const [kind, list] of Object.entries(objects) as [WatchedKindName, KubeObject[]][]) {
    const ix = WATCHES[kind].indexes;
    if (!ix) continue;
    const index = new ObjectIndex((o) => indexKeysOf(ix, o));
    for (const o of list) index.set(o);
    indexes.set(kind, index);
  }
  return {
    get: (kind, ns, name) => objects[kind]?.find((o) => o.metadata.namespace === ns && o.metadata.name === name),
    list: (kind, ns) => (objects[kind] ?? []).filter((o) => ns === undefined || o.metadata.namespace === ns),
    indexed: (kind, ns, index, values) =>
      indexes.get(kind)?.getAny(
        ns,
        [...values].map((v) => indexKey(index, v)),
      ) ?? [],
  };
}

const keysFor = (kind: WatchedKindName, o: KubeObject, c: Caches) => [...(WATCHES[kind].enqueue?.(o, c) ?? [])].sort();

test('the operator may list and watch every kind in the watch table, in every namespace', () => {
  const roles = allObjects(synthDefaultApp()).filter(
    (o) => ['ClusterRole', 'Role'].includes(o.kind) && o.metadata.name.startsWith('mall-backup-operator'),
  );
  const missing = Object.values(WATCHES).flatMap((w) =>
    [false, true]
      .map((watch) => ({ watch, attributes: requestAttributes('GET', resourcePath(w.apiVersion, w.plural), watch)! }))
      .filter(({ attributes }) => grantingRules(roles, attributes).length === 0)
      .map(({ attributes }) => `${attributes.verb} ${w.apiVersion} ${w.plural}`),
  );
  expect(missing).toEqual([]);
});

describe('which Backups and Restores a change queues', () => {
  const bakery = obj('bakery', {}, { shopName: 'bakery', vaultLocation: 'pvc://vault-claim/bakery' });
  const named = obj('named', {}, { shopName: 'other', volumeClaims: ['extra'] });
  const pending = obj('restore-1');
  const done = { ...obj('restore-2'), status: { phase: 'Completed' } };
  const c = caches({
    backups: [bakery, named],
    claims: [obj('bakery-data', { [SHOP_LABEL]: 'bakery' }), obj('extra')],
    restores: [pending, done],
  });

  test('a claim of a shop queues that shop’s Backup and the unfinished Restores', () => {
    expect(keysFor('claims', obj('bakery-logs', { [SHOP_LABEL]: 'bakery' }), c)).toEqual([
      'mall-shops/bakery',
      'restore:mall-shops/restore-1',
    ]);
  });

  test('a claim a Backup names, or holds its vault, queues that Backup', () => {
    expect(keysFor('claims', obj('extra'), c)).toContain('mall-shops/named');
    expect(keysFor('claims', obj('vault-claim'), c)).toContain('mall-shops/bakery');
    expect(keysFor('claims', obj('unrelated'), c)).toEqual(['restore:mall-shops/restore-1']);
  });

  test('a pod mounting a shop’s claim queues the shop’s Backup; a run pod only its own Backup', () => {
    const app = obj('app', {}, { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'bakery-data' } }] });
    expect(keysFor('pods', app, c)).toEqual(['mall-shops/bakery', 'restore:mall-shops/restore-1']);
    const run = { ...app, metadata: { ...app.metadata, labels: { [BACKUP_LABEL]: 'named' } } };
    expect(keysFor('pods', run, c)).toEqual(['mall-shops/named', 'restore:mall-shops/restore-1']);
  });

  test('a restore pod concerns its Restore only', () => {
    expect(keysFor('pods', obj('restore-pod', { [RESTORE_LABEL]: 'restore-2' }), c)).toEqual([
      'restore:mall-shops/restore-2',
    ]);
  });

  test(
    'a Backup queues itself and the unfinished Restores; ' + 'vault work queues nothing here (the vault index does)',
    () => {
      expect(keysFor('backups', bakery, c)).toEqual(['mall-shops/bakery', 'restore:mall-shops/restore-1']);
      expect(keysFor('vaultjobs', obj('init'), c)).toEqual([]);
    },
  );
});
