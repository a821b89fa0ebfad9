/**
 * Reconcile's first steps: is the permit valid, are its claims there and mountable together, can its
 * vault take runs; if so, what a run pod is rendered from.
 */
import { validateBackupName } from '../../lib/permits/backup-validation';
import type { BackupPodProps } from '../../lib/run/backup-job-spec';
import type { BackupRef } from '../../lib/run/backup-names';
import type { BackupObject, Observed, Settings } from './types';
import { ACKNOWLEDGE_SHRINK_ANNOTATION } from '../../lib/permits/backup-api';
import { REASON } from './vocabulary';
import { fromSnapshots, planSources, type SourcePlan } from './snapshot-support';
import { planVolumes, type VolumePlan } from './volumes';
import { specProblems } from './spec-problems';

export interface Admission {
  /** What is wrong with the spec, in words; empty when valid. */
  readonly problems: readonly string[];
  /** Undefined when the spec is invalid. */
  readonly plan?: VolumePlan;
  /** Why no run can be scheduled now; the Ready condition says so. */
  readonly readyProblem?: { readonly reason: string; readonly message: string };
  /** What run pods are rendered from; undefined while there is a problem. */
  readonly podProps?: BackupPodProps;
  /** Which claims are read from a VolumeSnapshot and which live (snapshot-support.ts); undefined without classes. */
  readonly sources?: SourcePlan;
}

/** The spec checked as admission would, so a Backup admitted by an older CRD still gets a clear answer. */
export const validate = (backup: BackupObject): string[] => [
  ...validateBackupName(backup.metadata.name),
  ...specProblems(backup),
];

/** The snapshot a person acknowledged after a drastic shrink; anything that is not a snapshot ID is ignored. */
function acknowledgedShrink(backup: BackupObject): string | undefined {
  const value = backup.metadata.annotations?.[ACKNOWLEDGE_SHRINK_ANNOTATION]?.trim();
  return value && /^[0-9a-f]{8,64}$/.test(value) ? value : undefined;
}

export function admit(observed: Observed, ref: BackupRef, settings: Settings): Admission {
  const { backup } = observed;
  const spec = backup.spec;
  const problems = validate(backup);
  const jobPodNames = new Set(observed.jobPods.map((p) => p.metadata.name));
  const planned =
    problems.length > 0 ? undefined : planVolumes(spec, observed.claims, observed.namespacePods, jobPodNames);
  const sources =
    planned && observed.snapshotClasses
      ? planSources(ref, planned.claims, observed.claims, observed.snapshotClasses)
      : undefined;
  const plan = planned && sources ? fromSnapshots(planned, sources) : planned;
  const readyProblem =
    problems.length > 0
      ? { reason: REASON.InvalidSpec, message: problems.join('; ') }
      : (plan!.problem ?? observed.vaultProblem);
  const podProps: BackupPodProps | undefined = readyProblem
    ? undefined
    : {
        backup: ref,
        spec,
        claims: plan!.claims,
        nodeName: plan!.nodeName,
        image: settings.resticImage,
        defaultResources: settings.defaultResources,
        vaultSettings: settings.vaultRunSettings,
        shrinkAcknowledged: acknowledgedShrink(backup),
        snapshots: sources?.snapshots.length ? sources.snapshots : undefined,
      };
  return { problems, plan, readyProblem, podProps, sources };
}
