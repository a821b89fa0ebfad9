/**
 * The one place a Backup's decision reaches the API server: every write is tried, the status is written
 * last whatever failed before and says why (write-outcome.ts), Events follow. Also the status and Event
 * writes the Restore writer shares.
 */
import type { Logger } from 'pino';
import * as api from '../../lib/permits/backup-api';
import { Attempts } from '../runtime/attempts';
import { type ApiError, isConflict, isNotFound, type KubeClient, resourcePath } from '../runtime/kube';
import { dropJobTemplate } from '../runtime/trim';
import { SKIPPED_RUN_ANNOTATION } from './run-admission';
import type { BackupObject, BackupStatus, Desired, KubeEvent, KubeObject } from './types';
import { canonicalJson, timestamp } from './values';
import type { VaultPlan } from './vault-plan';
import type { VerifyPlan } from './verify-plan';
import { writeVerifyWork } from './verify-writer';
import { EVENT_MESSAGE_LIMIT, REASON } from './vocabulary';
import { OPERATOR_NAME } from '../../lib/contractor/operator-props';
import { describeRefusal, type RefusedWrite, withRefusals } from './write-outcome';
import { stepSnapshotRuns } from './snapshot-runs';

export const FIELD_MANAGER = OPERATOR_NAME;

/** Per Backup uid: the inputs of the CronJob last applied or verified, and its resourceVersion then. */
export type LastApplied = Map<string, { inputs: string; resourceVersion: string }>;

/**
 * A merge patch of the status subresource, guarded by the resourceVersion the decision was made on; resolves to the
 * resourceVersion it produced (the version whose watch event is this write coming back).
 */
export async function writeStatus(
  client: KubeClient,
  obj: KubeObject,
  status: object,
  plural: string = api.BACKUP_PLURAL,
): Promise<string | undefined> {
  const patch: Record<string, unknown> = { ...status };
  for (const key of Object.keys(obj.status ?? {})) if (!(key in status)) patch[key] = null;
  const written = await client.mergePatch(
    resourcePath(api.BACKUP_API_VERSION, plural, obj.metadata.namespace, obj.metadata.name, 'status'),
    { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: patch },
  );
  return written?.metadata?.resourceVersion;
}

export async function recordEvent(
  client: KubeClient,
  log: Logger,
  obj: KubeObject,
  event: KubeEvent,
  kind: string = api.BACKUP_KIND,
): Promise<void> {
  const now = new Date().toISOString();
  const namespace = obj.metadata.namespace!;
  try {
    await client.create(resourcePath('v1', 'events', namespace), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${obj.metadata.name}.`, namespace },
      involvedObject: {
        apiVersion: api.BACKUP_API_VERSION,
        kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason: event.reason,
      message: event.message.slice(0, EVENT_MESSAGE_LIMIT),
      type: event.type,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      source: { component: FIELD_MANAGER },
      reportingComponent: FIELD_MANAGER,
    });
  } catch (error) {
    // Events are best effort: a lost one must not hold up the Backup or Restore.
    log.debug({ err: (error as ApiError).message }, 'event not recorded');
  }
}

const ignoring = (expected: (e: unknown) => boolean) => (e: unknown) => {
  if (!expected(e)) throw e;
};

export interface Written {
  /** Whether anything was written. */
  readonly wrote: boolean;
  /** The status as written (or as it stands when unchanged). */
  readonly status: BackupStatus;
  /** Why to retry: the first transient failure, else the refusals in words; undefined when all went through. */
  readonly error?: unknown;
  /** Look again after this long: a run waits for its snapshots, whose readiness no watch announces. */
  readonly recheckMs?: number;
  /** The Backup's resourceVersion after the status write, when there was one. */
  readonly statusVersion?: string;
}

/** Applies `desired` (and the vault's work) for `backup`, whose observed CronJob was `cronJob`. */
export async function applyDesired(
  client: KubeClient,
  log: Logger,
  backup: BackupObject,
  desired: Desired,
  vault: VaultPlan | undefined,
  cronJob: KubeObject | undefined,
  lastApplied: LastApplied,
  verify?: VerifyPlan,
): Promise<Written> {
  const namespace = backup.metadata.namespace!;
  const uid = backup.metadata.uid!;
  const attempts = new Attempts<Omit<RefusedWrite, 'statusCode' | 'message'>>();
  const attempt = attempts.run.bind(attempts);
  const jobPath = (ns: string | undefined, name?: string) => resourcePath('batch/v1', 'jobs', ns, name);
  const cronPath = (ns: string | undefined, name: string) => resourcePath('batch/v1', 'cronjobs', ns, name);

  const init = vault?.createInitJob;
  if (init)
    await attempt(() => client.create(jobPath(init.metadata.namespace), init).catch(ignoring(isConflict)), {
      what: `vault init Job ${init.metadata.name}`,
      reason: REASON.VaultWorkRefused,
    });
  const maintenance = vault?.applyMaintenance;
  if (maintenance)
    await attempt(
      () =>
        client.apply(cronPath(maintenance.metadata.namespace, maintenance.metadata.name), maintenance, FIELD_MANAGER),
      { what: `vault maintenance CronJob ${maintenance.metadata.name}`, reason: REASON.VaultWorkRefused },
    );
  if (verify) await writeVerifyWork(client, FIELD_MANAGER, namespace, vault, verify, attempt);
  const cron = desired.cronJob;
  if (cron && desired.cronJobChanged) {
    await attempt(
      async () => {
        const applied = await client.apply(cronPath(namespace, cron.metadata.name), cron, FIELD_MANAGER);
        // An answer without a version (none seen from a real API server) leaves the template cached, as if edited.
        const resourceVersion = applied?.metadata?.resourceVersion ?? '';
        lastApplied.set(uid, { inputs: desired.cronJobInputs!, resourceVersion });
      },
      { what: `CronJob ${cron.metadata.name}`, reason: REASON.CronJobRefused },
    );
  } else if (cron && cronJob?.metadata.resourceVersion) {
    lastApplied.set(uid, { inputs: desired.cronJobInputs!, resourceVersion: cronJob.metadata.resourceVersion });
  }
  // Checked and remembered: until its resourceVersion moves, this version of the CronJob needs no template.
  if (cronJob && lastApplied.get(uid)?.resourceVersion === cronJob.metadata.resourceVersion) dropJobTemplate(cronJob);
  for (const jobName of desired.deleteJobs)
    await attempt(() => client.delete(jobPath(namespace, jobName)).catch(ignoring(isNotFound)), {
      what: `Job ${jobName} (to replace it with a run-now Job)`,
      reason: REASON.RunNowRefused,
    });
  // Daylight saving (run-admission.ts): both writes are idempotent, so a second leader repeating them is harmless.
  for (const jobName of desired.dropJobs)
    await attempt(() => client.delete(jobPath(namespace, jobName)).catch(ignoring(isNotFound)), {
      what: `Job ${jobName} (a repeat of a time the autumn change runs twice)`,
      reason: REASON.RunAdmissionRefused,
    });
  // Snapshots and temporary claims before a run starts, their removal after it ends (snapshot-runs.ts).
  let recheckMs: number | undefined;
  const snapshots = desired.snapshotRuns;
  if (snapshots)
    await attempt(
      async () => {
        const step = await stepSnapshotRuns(
          client,
          namespace,
          snapshots.jobs,
          desired.dropJobs,
          snapshots.timeoutSeconds,
          new Date(),
          snapshots.running,
        );
        recheckMs = step.recheckMs;
      },
      { what: 'a VolumeSnapshot or temporary claim of a run', reason: REASON.SnapshotWorkRefused },
    );
  for (const jobName of desired.admitJobs)
    await attempt(() => client.mergePatch(jobPath(namespace, jobName), { spec: { suspend: false } }), {
      what: `Job ${jobName} (to start it)`,
      reason: REASON.RunAdmissionRefused,
    });
  for (const job of desired.createJobs)
    await attempt(
      () => client.create(jobPath(namespace), job).catch(ignoring(isConflict)),
      job.metadata.annotations?.[SKIPPED_RUN_ANNOTATION] !== undefined
        ? {
            what: `Job ${job.metadata.name} (the run a spring daylight-saving change skipped)`,
            reason: REASON.RunAdmissionRefused,
          }
        : { what: `run-now Job ${job.metadata.name}`, reason: REASON.RunNowRefused },
    );

  const { refusals } = attempts;
  let { wrote } = attempts;
  let statusVersion: string | undefined;
  const outcome = withRefusals(desired.status, backup.status, refusals, timestamp(new Date()));
  if (
    refusals.length > 0 ? canonicalJson(outcome.status) !== canonicalJson(backup.status ?? {}) : desired.statusChanged
  ) {
    statusVersion = await writeStatus(client, backup, outcome.status);
    wrote = true;
  }
  await Promise.all([...desired.events, ...outcome.events].map((e) => recordEvent(client, log, backup, e)));
  const error =
    attempts.transient ?? (refusals.length > 0 ? new Error(refusals.map(describeRefusal).join('; ')) : undefined);
  return { wrote, status: outcome.status, error, recheckMs, statusVersion };
}
