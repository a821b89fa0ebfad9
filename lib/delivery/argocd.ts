import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { standardLabels } from '../common/labels';
import { PropErrors, show } from '../common/prop-errors';
import { SAMPLES_NAMESPACE } from './charts';

export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
export const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

/** The order Argo CD applies things in: the CRD, then the operator, then Backups. */
export const SYNC_WAVES = { crd: '-1', operator: '0', samples: '1' } as const;

/** What an Application gets when the props leave a field out; the app's config file starts from these too. */
export const ARGOCD_DEFAULTS = {
  targetRevision: 'main',
  path: 'dist',
  namespace: 'argocd',
  project: 'default',
  destinationServer: 'https://kubernetes.default.svc',
  automated: false,
} as const;

export interface ArgoCdApplicationsProps {
  /** Git repository holding the synthesized manifests. */
  readonly repoURL: string;
  /**
   * Branch, tag or commit to follow.
   * @default 'main'
   */
  readonly targetRevision?: string;
  /**
   * Folder of the CRD and operator manifests in the repository.
   * @default 'dist'
   */
  readonly path?: string;
  /**
   * Folder of the sample Backups, or undefined for no samples Application.
   * @default - no samples Application
   */
  readonly samplesPath?: string;
  /**
   * Namespace Argo CD runs in (and keeps its Applications in).
   * @default 'argocd'
   */
  readonly namespace?: string;
  /**
   * Argo CD project.
   * @default 'default'
   */
  readonly project?: string;
  /**
   * Cluster to deploy to.
   * @default 'https://kubernetes.default.svc'
   */
  readonly destinationServer?: string;
  /** Namespace of the operator. */
  readonly operatorNamespace: string;
  /**
   * Namespace of the sample Backups.
   * @default 'mall-shops'
   */
  readonly samplesNamespace?: string;
  /**
   * Sync automatically, pruning removed objects and undoing drift (the CRD is never pruned).
   * @default false
   */
  readonly automated?: boolean;
}

const REPO_URL = /^(https:\/\/[^\s]+|ssh:\/\/[^\s]+|git@[^\s:]+:[^\s]+)$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A branch, tag or commit as `git check-ref-format` would take it (or HEAD). */
function isGitRevision(ref: string): boolean {
  return (
    ref.length > 0 &&
    ref.length <= 255 &&
    !/[\s~^:?*[\\\x00-\x1f\x7f]|\.\.|@\{|\/\/|^[-/.]|[/.]$|\.lock$|\/\./.test(ref)
  );
}

function isHttpsServer(url: string): boolean {
  try {
    const u = new URL(url);
    return (
      u.protocol === 'https:' &&
      u.hostname !== '' &&
      u.pathname.replace(/\/$/, '') === '' &&
      !u.search &&
      !u.hash &&
      !u.username
    );
  } catch {
    return false;
  }
}

/**
 * Argo CD Applications for GitOps: one syncs the CRD and the operator, one the sample Backups, in sync
 * waves so the CRD is established before anything uses it.
 */
export class ArgoCdApplications extends Construct {
  public readonly applications: ApiObject[] = [];

  constructor(scope: Construct, id: string, props: ArgoCdApplicationsProps) {
    super(scope, id);
    const errors = new PropErrors(`ArgoCdApplications ${this.node.path}`);
    errors.check(
      REPO_URL.test(props.repoURL),
      `repoURL ${show(props.repoURL)} is not valid: use an https://, ssh:// or git@host:path Git URL`,
    );
    const { targetRevision, namespace, project, destinationServer } = props;
    errors.check(
      targetRevision === undefined || isGitRevision(targetRevision),
      `targetRevision ${show(targetRevision)} is not valid: use a branch, tag or commit ` +
        `such as "main", "v1.2.0" or a commit hash (no spaces, "..", "~^:?*[" or trailing "/")`,
    );
    errors.check(
      namespace === undefined || DNS_LABEL.test(namespace),
      `namespace ${show(namespace)} is not valid: use the namespace Argo CD runs in, a DNS-1123 label such as "argocd"`,
    );
    errors.check(
      project === undefined || DNS_SUBDOMAIN.test(project),
      `project ${show(project)} is not valid: use an Argo CD project ` +
        `name (lower-case letters, digits, "-" and "."), such as "default"`,
    );
    errors.check(
      destinationServer === undefined || isHttpsServer(destinationServer),
      `destinationServer ${show(destinationServer)} is not valid: use the cluster's API ` +
        `server as an https:// URL with no path, such as "https://kubernetes.default.svc"`,
    );
    for (const [name, value] of [
      ['path', props.path],
      ['samplesPath', props.samplesPath],
    ] as const) {
      errors.check(
        value === undefined ||
          (/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(value) && !value.split('/').includes('..')),
        `${name} ${show(value)} is not valid: use a relative folder such as "dist"`,
      );
    }
    errors.throwIfAny();

    const syncPolicy = (options: string[]) => ({
      ...((props.automated ?? ARGOCD_DEFAULTS.automated) ? { automated: { prune: true, selfHeal: true } } : {}),
      syncOptions: options,
      retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
    });
    const application = (id: string, name: string, wave: string, path: string, namespace: string, options: string[]) =>
      this.applications.push(
        new ApiObject(this, id, {
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'Application',
          metadata: {
            name,
            namespace: props.namespace ?? ARGOCD_DEFAULTS.namespace,
            labels: standardLabels('gitops'),
            annotations: { [SYNC_WAVE]: wave },
          },
          spec: {
            project: props.project ?? ARGOCD_DEFAULTS.project,
            source: {
              repoURL: props.repoURL,
              targetRevision: props.targetRevision ?? ARGOCD_DEFAULTS.targetRevision,
              path,
              directory: { recurse: false },
            },
            destination: { server: props.destinationServer ?? ARGOCD_DEFAULTS.destinationServer, namespace },
            syncPolicy: syncPolicy(options),
          },
        }),
      );

    // Server-side apply: the CRD's schema is too large for the last-applied annotation of client-side apply.
    application(
      'Api',
      'mall-backup',
      SYNC_WAVES.operator,
      props.path ?? ARGOCD_DEFAULTS.path,
      props.operatorNamespace,
      ['ServerSideApply=true'],
    );
    if (props.samplesPath) {
      application(
        'Samples',
        'mall-backup-samples',
        SYNC_WAVES.samples,
        props.samplesPath,
        props.samplesNamespace ?? SAMPLES_NAMESPACE,
        ['ServerSideApply=true', 'SkipDryRunOnMissingResource=true'],
      );
    }
  }
}
