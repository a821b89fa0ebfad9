/**
 * Writes that are each tried whatever happened to the ones before: a refusal (4xx the API server will
 * give again) is kept in the API server's words for the status, passing trouble only for the retry.
 * The caller writes its status last, from what was refused.
 */
import { isRefusal } from './kube';

export class Attempts<Refused extends object> {
  /** Whether any write went through. */
  public wrote = false;
  /** The first failure that is not a refusal (a 500, a timeout): retried with backoff. */
  public transient: unknown;
  public readonly refusals: (Refused & { readonly statusCode: number; readonly message: string })[] = [];

  /** Tries `write`; it resolves false when there was nothing to write (the object already existed). */
  public async run(write: () => Promise<unknown>, refused: Refused): Promise<void> {
    try {
      if ((await write()) !== false) this.wrote = true;
    } catch (error) {
      if (isRefusal(error))
        this.refusals.push({ ...refused, statusCode: error.statusCode, message: error.serverMessage });
      else this.transient ??= error;
    }
  }

  public get failed(): boolean {
    return this.refusals.length > 0 || this.transient !== undefined;
  }
}
