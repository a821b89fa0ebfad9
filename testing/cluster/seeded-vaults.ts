/**
 * For cluster suites that do not test how a vault is created: each vault-init Job finds its pvc:// vault already
 * made, as after an earlier init, by a copy of the run's template repository (../vault-template.ts) keyed with the
 * Job's own password (from its Secret) and owned by the Job's user. The operator still creates its init Job, the
 * kubelet still runs the Job's script with real restic (which opens the vault and exits 0), and every later run
 * opens the vault at the template's cheap key cost (~3 ms) instead of restic's calibrated ~0.5 s; `restic init`
 * (~2 s of CPU) runs only where creation is under test (lifecycle.test.ts, vaults.test.ts, the unit suites).
 */
import { join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import { COMPONENT_LABEL } from '../../lib/common/labels';
import { REPOSITORY_LABEL } from '../../lib/run/vault-jobs';
import { seedVault } from '../vault-template';
import type { KubeletOptions } from './kubelet/kubelet';

export const seedInitVaults: NonNullable<KubeletOptions['beforeStart']> = (pod, env, mounts) => {
  const labels = pod.metadata.labels ?? {};
  if (labels[COMPONENT_LABEL] !== 'vault-init' || !labels[REPOSITORY_LABEL]) return;
  const repository = env.RESTIC_REPOSITORY ?? '';
  // Only local vaults (an S3 vault's creation is its suite's subject); the deepest mount holding the repository.
  const mount = mounts
    .filter((m) => !m.readOnly && (repository === m.path || repository.startsWith(`${m.path}/`)))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!mount || !env.RESTIC_PASSWORD) return;
  const host = join(mount.hostPath, relative(mount.path, repository));
  if (existsSync(join(host, 'config'))) return;
  const security = { ...pod.spec.securityContext, ...pod.spec.containers[0].securityContext };
  seedVault(host, env.RESTIC_PASSWORD, { uid: security.runAsUser ?? 0, gid: security.runAsGroup ?? 0 });
};
