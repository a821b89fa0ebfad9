import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';

/** The user and group of distroless "nonroot" images; any non-zero ID satisfies Pod Security "restricted". */
export const NONROOT_ID = 65532;

/** Container settings required by Pod Security "restricted", plus a read-only root file system. */
export const RESTRICTED_CONTAINER_SECURITY_CONTEXT: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
};

export interface PodIdentity {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly fsGroup?: number;
}

/** Pod settings required by Pod Security "restricted". */
export function restrictedPodSecurityContext(identity: PodIdentity = {}): k8s.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: identity.runAsUser,
    runAsGroup: identity.runAsGroup,
    fsGroup: identity.fsGroup,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Pod Security "restricted" for a pod running as `identity`, with the nonroot ID for whatever it leaves out. */
export function restrictedPodAs(identity: PodIdentity = {}): k8s.PodSecurityContext {
  return restrictedPodSecurityContext({
    runAsUser: identity.runAsUser ?? NONROOT_ID,
    runAsGroup: identity.runAsGroup ?? NONROOT_ID,
    fsGroup: identity.fsGroup ?? NONROOT_ID,
  });
}

/** Namespace labels that make the API server enforce (and audit and warn about) Pod Security "restricted". */
export const RESTRICTED_NAMESPACE_LABELS = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
} as const;
