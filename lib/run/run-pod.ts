/** What every restic pod of the project shares (backup, restore, vault init, maintenance and verification runs). */
import type * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { RESTRICTED_CONTAINER_SECURITY_CONTEXT } from '../common/pod-security';

export interface ResticContainerProps {
  /** The pinned restic (RESTIC_IMAGE) unless the operator was told another. */
  readonly image: string;
  readonly command: string[];
  readonly env: k8s.EnvVar[];
  /** The Backup's vaultCredentialsSecret: the password and the vault's credentials, as environment. */
  readonly credentialsSecret: string;
  readonly resources?: k8s.ResourceRequirements;
  readonly volumeMounts: k8s.VolumeMount[];
}

/** The restic container: restricted, and a pod that dies before writing its result still says why (its log's tail). */
export function resticContainer(props: ResticContainerProps): k8s.Container {
  return {
    name: 'restic',
    image: props.image,
    imagePullPolicy: 'IfNotPresent',
    command: props.command,
    env: props.env,
    envFrom: [{ secretRef: { name: props.credentialsSecret } }],
    resources: props.resources,
    securityContext: RESTRICTED_CONTAINER_SECURITY_CONTEXT,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: props.volumeMounts,
  };
}

/**
 * Runs a pod on `nodeName`, where a ReadWriteOnce claim it mounts is in use (a claim attaches to one node at a
 * time); none when the claims are free to attach anywhere.
 */
export function pinnedToNode(nodeName: string | undefined): k8s.Affinity | undefined {
  if (nodeName === undefined) return undefined;
  const onNode = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [onNode] } } };
}
