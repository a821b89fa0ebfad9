import type * as k8s from 'cdk8s-plus-28/lib/imports/k8s';

/**
 * Runs a pod on `nodeName`, where a ReadWriteOnce claim it mounts is in use (a claim attaches to one node at a
 * time); none when the claims are free to attach anywhere.
 */
export function pinnedToNode(nodeName: string | undefined): k8s.Affinity | undefined {
  if (nodeName === undefined) return undefined;
  const onNode = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [onNode] } } };
}
