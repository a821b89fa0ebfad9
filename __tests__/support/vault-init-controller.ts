/**
 * Plays the Job controller for the operator's vault init Jobs on a fake API server: each new one completes,
 * as a Job whose repository was created would, unless the test holds them (to see the waiting) or makes
 * them fail.
 */
import type { FakeApiServer, Obj } from './fake-apiserver';

export const isVaultInit = (o: Obj) => o.metadata.labels?.['app.kubernetes.io/component'] === 'vault-init';

export class VaultInitController {
  /** While true, init Jobs stay running. */
  public hold = false;
  /** When set, init Jobs fail with this message. */
  public failWith?: string;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly server: FakeApiServer,
    intervalMs = 20,
  ) {
    this.timer = setInterval(() => this.step(), intervalMs);
  }

  private step(): void {
    if (this.hold) return;
    for (const job of this.server.list('Job').filter(isVaultInit)) {
      if (job.status?.conditions) continue;
      const at = '2026-11-25T00:00:05Z';
      this.server.patchStatus(
        'Job',
        job.metadata.namespace,
        job.metadata.name,
        this.failWith
          ? {
              failed: 5,
              conditions: [
                {
                  type: 'Failed',
                  status: 'True',
                  reason: 'BackoffLimitExceeded',
                  message: this.failWith,
                  lastTransitionTime: at,
                },
              ],
            }
          : {
              succeeded: 1,
              completionTime: at,
              conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at }],
            },
      );
    }
  }

  public stop(): void {
    clearInterval(this.timer);
  }
}
