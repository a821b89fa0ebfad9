import type { KubeObject } from '../../operator/runtime/kube-object';
import { ObjectIndex } from '../../operator/runtime/object-index';

const obj = (name: string, labels: Record<string, string>, namespace = 'ns'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: { name, namespace, labels },
});
const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();

describe('ObjectIndex', () => {
  const index = () =>
    new ObjectIndex((o) => [o.metadata.labels?.a, o.metadata.labels?.b].filter((k): k is string => !!k));

  test('a key goes from one object to several and back to one and none, each read right', () => {
    const i = index();
    i.set(obj('x', { a: 'k' }));
    expect(names(i.get('ns', 'k'))).toEqual(['x']);
    i.set(obj('y', { a: 'k' }));
    i.set(obj('z', { a: 'k', b: 'other' }));
    expect(names(i.get('ns', 'k'))).toEqual(['x', 'y', 'z']);
    i.remove(obj('y', {}));
    i.remove(obj('x', {}));
    expect(names(i.get('ns', 'k'))).toEqual(['z']);
    expect(names(i.get('ns', 'other'))).toEqual(['z']);
    i.remove(obj('z', {}));
    expect(i.get('ns', 'k')).toEqual([]);
    expect(i.get('ns', 'other')).toEqual([]);
    expect(i.size).toBe(0);
  });

  test('an update replaces the object under the same key and moves it when its keys change', () => {
    const i = index();
    i.set(obj('x', { a: 'k' }));
    const updated = obj('x', { a: 'k', b: 'v2' });
    i.set(updated);
    expect(i.get('ns', 'k')).toEqual([updated]);
    i.set(obj('x', { a: 'moved' }));
    expect(i.get('ns', 'k')).toEqual([]);
    expect(i.get('ns', 'v2')).toEqual([]);
    expect(names(i.get('ns', 'moved'))).toEqual(['x']);
    expect(i.size).toBe(1);
  });

  test('removing an object leaves another filed under a key the removed one now computes (it changed in place)', () => {
    const i = index();
    const x = obj('x', { a: 'k' });
    const y = obj('y', { a: 'l' });
    i.set(x);
    i.set(y);
    // A caller changes the filed object itself (not a copy): its keys, computed again on removal, now name y's key.
    x.metadata.labels!.a = 'l';
    i.remove(x);
    expect(i.get('ns', 'l')).toEqual([y]);
    expect(i.size).toBe(1);
  });

  test('namespaces are apart; getAny returns each object once', () => {
    const i = index();
    i.set(obj('x', { a: 'k', b: 'l' }));
    i.set(obj('x', { a: 'k' }, 'other'));
    expect(i.get('ns', 'k')).toHaveLength(1);
    expect(i.get('other', 'k')).toHaveLength(1);
    expect(names(i.getAny('ns', ['k', 'l']))).toEqual(['x']);
  });
});
