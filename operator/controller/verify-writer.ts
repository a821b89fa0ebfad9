/**
 * Applies verify-plan.ts's answer: the vault's check CronJob (by the vault's steward) and the Backup's
 * test-restore CronJob, each by server-side apply, or their deletion once no one asks for verification.
 */
import { isNotFound, type KubeClient, resourcePath } from '../runtime/kube';
import type { KubeObject } from './types';
import type { VaultPlan } from './vault-plan';
import type { VerifyPlan } from './verify-plan';
import { REASON } from './vocabulary';
import type { RefusedWrite } from './write-outcome';

type Attempt = (write: () => Promise<unknown>, refused: Omit<RefusedWrite, 'statusCode' | 'message'>) => Promise<void>;

export async function writeVerifyWork(
  client: KubeClient,
  fieldManager: string,
  namespace: string,
  vault: VaultPlan | undefined,
  verify: VerifyPlan,
  attempt: Attempt,
): Promise<void> {
  const apply = (cron: KubeObject) => async () => {
    const path = resourcePath('batch/v1', 'cronjobs', cron.metadata.namespace, cron.metadata.name);
    await client.apply(path, cron, fieldManager);
  };
  const remove = (ns: string, name: string) => async () => {
    await client.delete(resourcePath('batch/v1', 'cronjobs', ns, name)).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  };
  if (vault?.applyCheck)
    await attempt(apply(vault.applyCheck), {
      what: `vault check CronJob ${vault.applyCheck.metadata.name}`,
      reason: REASON.VaultWorkRefused,
    });
  if (vault?.deleteCheck)
    await attempt(remove(vault.deleteCheck.namespace, vault.deleteCheck.name), {
      what: `vault check CronJob ${vault.deleteCheck.name} (to remove it)`,
      reason: REASON.VaultWorkRefused,
    });
  if (verify.applyCronJob)
    await attempt(apply(verify.applyCronJob), {
      what: `verification CronJob ${verify.applyCronJob.metadata.name}`,
      reason: REASON.CronJobRefused,
    });
  if (verify.deleteCronJob)
    await attempt(remove(namespace, verify.deleteCronJob), {
      what: `verification CronJob ${verify.deleteCronJob} (to remove it)`,
      reason: REASON.CronJobRefused,
    });
}
