/**
 * Where a Restore writes: which claims go where (new claims to create, or existing ones), on which node,
 * and whether the target is in a state to be written now.
 */
import {
  newClaimManifest,
  newClaimNameFor,
  RESTORE_UID_LABEL,
  type RestoreClaimPlan,
  type RestoreRef,
} from '../../lib/run/restore-job';
import type { KubeObject, RestoreObserved } from './types';
import { planVolumes } from './volumes';
import { REASON, RESTORE_REASON } from './vocabulary';

export interface Plan {
  claims?: RestoreClaimPlan[];
  createClaims?: KubeObject[];
  nodeName?: string;
  /** Why it cannot run now: Pending waits, Failed gives up. */
  problem?: { phase: 'Pending' | 'Failed'; reason: string; message: string };
}

/** A live pod other than the Restore's own that mounts `claim`. */
export function mountedBy(o: RestoreObserved, ref: RestoreRef, claim: string): KubeObject | undefined {
  return o.namespacePods.find(
    (p) =>
      !['Succeeded', 'Failed'].includes(p.status?.phase) &&
      p.metadata.labels?.[RESTORE_UID_LABEL] !== ref.uid &&
      (p.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim),
  );
}

/** Which claims go where, and whether the target is in a state to be written. */
export function planRestore(o: RestoreObserved, ref: RestoreRef): Plan {
  const spec = o.restore.spec;
  const backup = o.backup!;
  const live = new Map(o.claims.filter((c) => !c.metadata.deletionTimestamp).map((c) => [c.metadata.name, c]));
  let sources: string[] | undefined = spec.claims;
  if (!sources) {
    const volumes = planVolumes(backup.spec, o.claims, [], new Set());
    if (volumes.problem?.reason === REASON.NoVolumes && !backup.spec.volumeClaims?.length) {
      return {
        problem: {
          phase: 'Pending',
          reason: RESTORE_REASON.NoClaims,
          message: `${volumes.problem.message}: name the claims to restore in spec.claims`,
        },
      };
    }
    sources = backup.spec.volumeClaims?.length ? [...backup.spec.volumeClaims] : volumes.claims;
  }
  const target = spec.target;
  if (target.newClaims) {
    const createClaims: KubeObject[] = [];
    for (const claim of sources) {
      const name = newClaimNameFor(ref.name, claim);
      const existing = live.get(name);
      if (existing && existing.metadata.labels?.[RESTORE_UID_LABEL] !== ref.uid) {
        return {
          problem: {
            phase: 'Failed',
            reason: RESTORE_REASON.TargetExists,
            message:
              `claim ${name} already exists and was not created by this Restore: a restore never writes into ` +
              `it; delete it or file the Restore under another name`,
          },
        };
      }
      if (!existing)
        createClaims.push(newClaimManifest(ref, name, target.newClaims.size, target.newClaims.storageClassName));
    }
    return {
      claims: sources.map((claim) => ({ claim, targetClaim: newClaimNameFor(ref.name, claim), path: '' })),
      createClaims,
    };
  }
  if (target.existingClaim) {
    const name: string = target.existingClaim;
    if (sources.includes(name)) {
      return {
        problem: {
          phase: 'Failed',
          reason: RESTORE_REASON.InvalidTarget,
          message:
            `target.existingClaim ${name} is one of the claims restored: use inPlace: true to restore a claim ` +
            `into itself`,
        },
      };
    }
    if (!live.has(name))
      return {
        problem: {
          phase: 'Pending',
          reason: RESTORE_REASON.ClaimNotFound,
          message: `waiting for claim ${name} (target.existingClaim) to exist`,
        },
      };
    const user = mountedBy(o, ref, name);
    const rwo = (live.get(name)!.spec?.accessModes ?? []).some(
      (m: string) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod',
    );
    return {
      claims: sources.map((claim) => ({ claim, targetClaim: name, path: claim })),
      nodeName: rwo ? user?.spec?.nodeName : undefined,
    };
  }
  for (const claim of sources) {
    if (!live.has(claim))
      return {
        problem: {
          phase: 'Failed',
          reason: RESTORE_REASON.ClaimNotFound,
          message: `claim ${claim} does not exist: restore it into new claims instead of in place`,
        },
      };
    const user = mountedBy(o, ref, claim);
    if (user)
      return {
        problem: {
          phase: 'Pending',
          reason: RESTORE_REASON.ClaimInUse,
          message:
            `waiting: claim ${claim} is mounted by pod ${user.metadata.name}; an in-place restore starts once ` +
            `no pod mounts it`,
        },
      };
  }
  return { claims: sources.map((claim) => ({ claim, targetClaim: claim, path: '' })) };
}
