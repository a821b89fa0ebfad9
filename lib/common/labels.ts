/** The project's name, its objects' part-of and name labels: `kubectl get -l app.kubernetes.io/part-of=mall-backup`. */
export const PART_OF = 'mall-backup';

/** The recommended Kubernetes label keys the project sets. */
export const NAME_LABEL = 'app.kubernetes.io/name';
/** What an object is in the project: `operator`, `backup-run`, `vault-maintenance`, … */
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export function standardLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [NAME_LABEL]: PART_OF,
    'app.kubernetes.io/part-of': PART_OF,
    [COMPONENT_LABEL]: component,
    'app.kubernetes.io/managed-by': 'cdk8s',
    ...extra,
  };
}

/** The component an object is labelled as, if any. */
export function componentOf(o: { metadata: { labels?: Record<string, string> } }): string | undefined {
  return o.metadata.labels?.[COMPONENT_LABEL];
}
