/** The operator's informer-cache helpers: the secondary index and what is trimmed from cached objects. */
import { ObjectIndex } from '../../operator/runtime/object-index';
import type { KubeObject } from '../../operator/controller/types';
import { trimMetadata, trimPod } from '../../operator/runtime/trim';

const claim = (name: string, shop?: string, namespace = 'mall-shops'): KubeObject => ({
  metadata: { name, namespace, labels: shop ? { 'mall.example.com/shop': shop } : {} },
});
const byShop = (c: KubeObject) =>
  c.metadata.labels?.['mall.example.com/shop'] ? [`shop:${c.metadata.labels['mall.example.com/shop']}`] : [];
const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();

describe('ObjectIndex', () => {
  test('files objects under their keys, per namespace', () => {
    const index = new ObjectIndex(byShop);
    index.set(claim('bakery-data', 'bakery'));
    index.set(claim('bakery-logs', 'bakery'));
    index.set(claim('florist-data', 'florist'));
    index.set(claim('bakery-data', 'bakery', 'other-ns'));
    index.set(claim('unlabelled'));
    expect(names(index.get('mall-shops', 'shop:bakery'))).toEqual(['bakery-data', 'bakery-logs']);
    expect(names(index.get('other-ns', 'shop:bakery'))).toEqual(['bakery-data']);
    expect(index.get('mall-shops', 'shop:grocer')).toEqual([]);
    // An object without keys is not kept at all.
    expect(index.size).toBe(4);
  });

  test('an update moves the object to its new keys; a delete removes it everywhere', () => {
    const index = new ObjectIndex(byShop);
    index.set(claim('shared', 'bakery'));
    index.set(claim('shared', 'florist'));
    expect(index.get('mall-shops', 'shop:bakery')).toEqual([]);
    expect(names(index.get('mall-shops', 'shop:florist'))).toEqual(['shared']);
    index.remove(claim('shared', 'florist'));
    expect(index.get('mall-shops', 'shop:florist')).toEqual([]);
    expect(index.size).toBe(0);
  });

  test('getAny returns each object once, however many of the keys it is under', () => {
    const index = new ObjectIndex((c) => [`name:${c.metadata.name}`, ...byShop(c)]);
    index.set(claim('bakery-data', 'bakery'));
    index.set(claim('extra'));
    expect(
      names(index.getAny('mall-shops', ['shop:bakery', 'name:bakery-data', 'name:extra', 'name:missing'])),
    ).toEqual(['bakery-data', 'extra']);
  });
});

describe('trimming cached objects', () => {
  test('managedFields and the client-side apply copy go; other annotations stay', () => {
    const obj: any = {
      metadata: {
        name: 'bakery',
        managedFields: [{ manager: 'kubectl' }],
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}',
          'mall.example.com/run-now': 'please',
        },
      },
    };
    trimMetadata(obj);
    expect(obj.metadata).toEqual({ name: 'bakery', annotations: { 'mall.example.com/run-now': 'please' } });
  });

  test('a pod keeps what volume planning and run reports read, and nothing else', () => {
    const pod: any = {
      metadata: { name: 'web-1', namespace: 'mall-shops', labels: { app: 'web' }, managedFields: [{}] },
      spec: {
        nodeName: 'node-a',
        containers: [{ name: 'web', image: 'nginx', env: [{ name: 'BIG', value: 'x'.repeat(1000) }] }],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'bakery-data' } },
          { name: 'cfg', configMap: { name: 'cfg' } },
        ],
      },
      status: {
        phase: 'Running',
        podIP: '10.0.0.1',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: [{ name: 'web', state: { running: {} } }],
      },
    };
    trimPod(pod);
    expect(pod).toEqual({
      metadata: { name: 'web-1', namespace: 'mall-shops', labels: { app: 'web' } },
      spec: { nodeName: 'node-a', volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'bakery-data' } }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        initContainerStatuses: undefined,
        containerStatuses: [{ name: 'web', state: { running: {} } }],
      },
    });
  });
});
