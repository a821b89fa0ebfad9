import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { standardLabels } from './labels';
import { PropErrors, show } from './prop-errors';

export const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
export const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';

/** The order Argo CD applies things in: the CRD, then the operator, then Backups. */
export const SYNC_WAVES = { crd: '-1', operator: '0', samples: '1' } as const;

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

/**
 * Argo CD Applications for GitOps: one syncs the CRD and the operator, one the sample Backups, in sync
 * waves so the CRD is established before anything uses it.
 */
export class ArgoCdApplications extends Construct {
  public readonly applications: ApiObject[] = [];

  constructor(scope: Construct, id: string, props: ArgoCdApplicationsProps) {
    super(scope, id);
    const errors = new PropErrors(`ArgoCdApplications ${this.node.path}`);
    errors.check(REPO_URL.test(props.repoURL), `repoURL ${show(props.repoURL)} is not valid: use an https://, ssh:// or git@host:path Git URL`);
    for (const [name, value] of [['path', props.path], ['samplesPath', props.samplesPath]] as const) {
      errors.check(value === undefined || /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(value) && !value.split('/').includes('..'),
        `${name} ${show(value)} is not valid: use a relative folder such as "dist"`);
    }
    errors.throwIfAny();

    const syncPolicy = (options: string[]) => ({
      ...(props.automated ? { automated: { prune: true, selfHeal: true } } : {}),
      syncOptions: options,
      retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
    });
    const application = (id: string, name: string, wave: string, path: string, namespace: string, options: string[]) =>
      this.applications.push(new ApiObject(this, id, {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name, namespace: props.namespace ?? 'argocd', labels: standardLabels('gitops'), annotations: { [SYNC_WAVE]: wave } },
        spec: {
          project: props.project ?? 'default',
          source: { repoURL: props.repoURL, targetRevision: props.targetRevision ?? 'main', path, directory: { recurse: false } },
          destination: { server: props.destinationServer ?? 'https://kubernetes.default.svc', namespace },
          syncPolicy: syncPolicy(options),
        },
      }));

    // Server-side apply: the CRD's schema is too large for the last-applied annotation of client-side apply.
    application('Api', 'mall-backup', SYNC_WAVES.operator, props.path ?? 'dist', props.operatorNamespace, ['ServerSideApply=true']);
    if (props.samplesPath) {
      application('Samples', 'mall-backup-samples', SYNC_WAVES.samples, props.samplesPath, props.samplesNamespace ?? 'mall-shops',
        ['ServerSideApply=true', 'SkipDryRunOnMissingResource=true']);
    }
  }
}
