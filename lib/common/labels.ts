/** Labels every object of the project carries, so `kubectl get -l app.kubernetes.io/part-of=mall-backup` finds them. */
export const PART_OF = 'mall-backup';

export function standardLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'mall-backup',
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': 'cdk8s',
    ...extra,
  };
}
