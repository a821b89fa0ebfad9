/**
 * The scheduler's part of the test kubelet: a pending pod is bound to its Node unless a required node affinity
 * by name names another node, which keeps the pod pending as the scheduler would.
 */
import type { Client } from '../cluster';

/** Whether `pod` may run on `nodeName` (only `metadata.name In [...]` fields are understood). */
export function fits(pod: any, nodeName: string): boolean {
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms) return true;
  return terms.some(
    (t: any) =>
      (t.matchFields ?? []).every(
        (f: any) => f.key === 'metadata.name' && f.operator === 'In' && f.values.includes(nodeName),
      ) && (t.matchExpressions ?? []).length === 0,
  );
}

/** Binds the pod at `path` to `nodeName`, as the scheduler does. */
export async function bind(api: Client, pod: any, path: string, nodeName: string): Promise<void> {
  await api.request('POST', `${path}/binding`, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod.metadata.name },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  });
}
