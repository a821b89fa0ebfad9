/** Which of a shop's claims a Backup mounts, and on which node a ReadWriteOnce claim in use pins the run. */
import type { BackupSpec } from '../../lib/permits/api-types';
import * as api from '../../lib/permits/backup-api';
import { pvcVaultClaim } from '../../lib/permits/backup-validation';
import type { KubeObject } from './types';
import { REASON } from './vocabulary';

export interface VolumePlan {
  claims: string[];
  nodeName?: string;
  problem?: { reason: string; message: string };
}

/** Which claims to mount, and on which node when a ReadWriteOnce claim is in use by a pod. */
export function planVolumes(
  spec: BackupSpec,
  claims: readonly KubeObject[],
  pods: readonly KubeObject[],
  jobPodNames: Set<string>,
): VolumePlan {
  const vaultClaim = pvcVaultClaim(spec.vaultLocation);
  const byName = new Map(claims.filter((c) => !c.metadata.deletionTimestamp).map((c) => [c.metadata.name, c]));
  let chosen: KubeObject[];
  if (spec.volumeClaims?.length) {
    const missing = spec.volumeClaims.filter((n) => !byName.has(n));
    if (missing.length > 0) {
      return {
        claims: [],
        problem: { reason: REASON.NoVolumes, message: `volume claims not found: ${missing.join(', ')}` },
      };
    }
    chosen = spec.volumeClaims.map((n) => byName.get(n)!);
  } else {
    chosen = [...byName.values()].filter(
      (c) => c.metadata.labels?.[api.SHOP_LABEL] === spec.shopName && c.metadata.name !== vaultClaim,
    );
    if (chosen.length === 0) {
      return {
        claims: [],
        problem: {
          reason: REASON.NoVolumes,
          message: `no PersistentVolumeClaim labelled ${api.SHOP_LABEL}=${spec.shopName} in this namespace`,
        },
      };
    }
  }
  const names = chosen.map((c) => c.metadata.name).sort();
  const nodes = new Set<string>();
  for (const claim of chosen) {
    const modes: string[] = claim.spec?.accessModes ?? [];
    if (!modes.includes('ReadWriteOnce') && !modes.includes('ReadWriteOncePod')) continue;
    for (const pod of pods) {
      if (
        jobPodNames.has(pod.metadata.name) ||
        !pod.spec?.nodeName ||
        ['Succeeded', 'Failed'].includes(pod.status?.phase)
      )
        continue;
      if ((pod.spec.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === claim.metadata.name)) {
        if (modes.includes('ReadWriteOncePod')) {
          return {
            claims: names,
            problem: {
              reason: REASON.VolumeInUse,
              message: `claim ${claim.metadata.name} is ReadWriteOncePod and in use by pod ${pod.metadata.name}`,
            },
          };
        }
        nodes.add(pod.spec.nodeName);
      }
    }
  }
  if (nodes.size > 1) {
    return {
      claims: names,
      problem: {
        reason: REASON.VolumesOnDifferentNodes,
        message: `ReadWriteOnce claims are in use on several nodes: ${[...nodes].sort().join(', ')}`,
      },
    };
  }
  return { claims: names, nodeName: [...nodes][0] };
}
