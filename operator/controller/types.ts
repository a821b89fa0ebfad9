/**
 * The operator's picture of a Backup: what reconcile observes, the settings it is given, and what it
 * decides. Pure data; reconcile.ts and its steps fill it in, the writer applies it.
 */
import type { ResourceSpec } from '../../lib/common/resources';
import type * as json from '../../lib/permits/api-types';
import type { VaultRunSettings } from '../../lib/run/backup-job-spec';
import type { KubeObject } from '../runtime/kube-object';
import type { SnapshotClasses } from './snapshot-support';
import type { VerifyPlan } from './verify-plan';

export type { KubeObject };

/** A metav1.Condition, as the Backup's and the Restore's status schemas both declare it. */
export type Condition = json.BackupStatusConditions;

/** The Backup's status as the API stores it (generated from the schema: lib/permits/api-types.ts). */
export type BackupStatus = json.BackupStatus;

export interface BackupObject extends KubeObject {
  spec: json.BackupSpec;
  status?: BackupStatus;
}

export interface Observed {
  readonly backup: BackupObject;
  /** The CronJob the Backup owns, if it exists. */
  readonly cronJob?: KubeObject;
  /** Jobs labelled with the Backup's uid (scheduled and run-now). */
  readonly jobs: readonly KubeObject[];
  /** Pods of those Jobs. */
  readonly jobPods: readonly KubeObject[];
  /** PersistentVolumeClaims in the Backup's namespace (at least those it names or labelled with its shop). */
  readonly claims: readonly KubeObject[];
  /**
   * Other pods in the Backup's namespace (at least those mounting those claims), to find who holds a ReadWriteOnce
   * claim.
   */
  readonly namespacePods: readonly KubeObject[];
  readonly now: Date;
  /**
   * What this operator last applied to the CronJob: a digest of the inputs it rendered from, and the
   * resourceVersion the API server gave the result. When both still hold, nothing needs rendering.
   */
  readonly lastApplied?: { readonly inputs: string; readonly resourceVersion: string };
  /** Under a run cap: the place of this Backup's oldest held run in the queue (operator/fleet-gate.ts). */
  readonly queuePlace?: { readonly position: number; readonly of: number };
  /** Why the Backup's vault cannot take runs yet (vault-plan.ts); nothing is scheduled until it can. */
  readonly vaultProblem?: { readonly reason: string; readonly message: string };
  /** spec.verify's judgement (verify-plan.ts): the Verified condition to keep, if any, its fields and Events. */
  readonly verification?: Pick<
    VerifyPlan,
    'condition' | 'lastVerifiedTime' | 'lastVerifiedSnapshotID' | 'events' | 'staleAt'
  >;
  /** The cluster's storage and snapshot classes: claims whose class can be snapshotted are read from a snapshot. */
  readonly snapshotClasses?: SnapshotClasses;
  /** VaultMaintained from the vault's newest finished maintenance (vault-maintained.ts), shown on every user. */
  readonly vaultMaintained?: Omit<Condition, 'lastTransitionTime'>;
}

export interface Settings {
  /** The restic image for backup pods. */
  readonly resticImage?: string;
  /** Resources of backup pods whose Backup sets none. */
  readonly defaultResources?: ResourceSpec;
  /** A run cap is set: every run is created suspended and started by the operator (operator/fleet-admission.ts). */
  readonly holdRuns?: boolean;
  /** The cluster's retention floor and shrink threshold, passed to every run; no Backup field can change them. */
  readonly vaultRunSettings?: VaultRunSettings;
  /** How long a run waits for its VolumeSnapshots to be ready before it fails (snapshot-runs.ts). */
  readonly snapshotTimeoutSeconds?: number;
  /** The size of a test restore's scratch volume (a quantity). */
  readonly verifyScratchSize?: string;
}

export interface KubeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface Desired {
  /** The CronJob to converge to; undefined leaves whatever exists alone. */
  readonly cronJob?: KubeObject;
  /** Whether the observed CronJob differs from `cronJob` in a field the operator manages. */
  readonly cronJobChanged: boolean;
  /** A digest of the inputs the CronJob is rendered from (for `Observed.lastApplied`). */
  readonly cronJobInputs?: string;
  readonly createJobs: KubeObject[];
  /** Names of Jobs to delete (active runs replaced by a run-now request under Replace). */
  readonly deleteJobs: string[];
  /** Suspended Jobs of the CronJob to start (operator/run-admission.ts). */
  readonly admitJobs: string[];
  /** Suspended Jobs of the CronJob to delete unstarted: the second pass of a repeated hour. */
  readonly dropJobs: string[];
  /** When to reconcile again even if nothing changes in the cluster (a daylight-saving change). */
  readonly requeueAt?: Date;
  readonly status: BackupStatus;
  /** Whether `status` differs from the observed status: write it only then. */
  readonly statusChanged: boolean;
  readonly events: KubeEvent[];
  /** While Fresh: when it turns Stale unless a run succeeds first (the controller looks again then). */
  readonly staleAt?: Date;
  /** Runs whose snapshots to make (before they start) or remove (after they end), and the readiness timeout. */
  readonly snapshotRuns?: {
    readonly jobs: KubeObject[];
    readonly timeoutSeconds: number;
    /** The Backup's Jobs still going: a temporary claim of one of them is never taken from it. */
    readonly running: string[];
  };
}

/** A Restore as the operator reads it, what it observes about one, and what it decides. */
export type RestoreClaimStatus = json.RestoreStatusClaims;

export type RestoreStatus = json.RestoreStatus;

export interface RestoreObject extends KubeObject {
  spec: json.RestoreSpec;
  status?: RestoreStatus;
}

export interface RestoreObserved {
  readonly restore: RestoreObject;
  readonly backup?: BackupObject;
  /** The Job labelled with the Restore's uid, if any. */
  readonly job?: KubeObject;
  readonly jobPods: readonly KubeObject[];
  /** PersistentVolumeClaims in the Restore's namespace. */
  readonly claims: readonly KubeObject[];
  /** Pods in the Restore's namespace, to see who mounts a claim. */
  readonly namespacePods: readonly KubeObject[];
  readonly now: Date;
}

export interface RestoreDesired {
  readonly createClaims: KubeObject[];
  readonly createJob?: KubeObject;
  readonly status: RestoreStatus;
  readonly statusChanged: boolean;
  readonly events: KubeEvent[];
}
