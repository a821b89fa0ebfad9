/**
 * The contractor's judgement, without I/O: from what is observed (a Backup, its CronJob, its Jobs and
 * their pods, the shop's claims) to what should be (the CronJob, run-now Jobs, the status, Events).
 * Level-based: the same observation always gives the same answer, so it can be re-run at any time.
 * Named steps, in order: sort the runs, admit (validate, claims, vault), plan the CronJob, plan run-now
 * and catch-up Jobs, judge the runs, readiness and freshness, compose the status.
 */
import type { BackupRef } from '../../lib/run/backup-names';
import { admit } from './reconcile-admit';
import { judgeFresh, judgeReady, judgeRuns } from './reconcile-judge';
import { planCatchUp, planCronJob, planRunNow } from './reconcile-plan';
import { composeStatus } from './reconcile-status';
import { liveJobs, sortRuns } from './runs';
import { dstRuns } from './schedule';
import type { BackupObject, Desired, Observed, Settings } from './types';
import { canonicalJson } from './values';
import { DEFAULT_SNAPSHOT_TIMEOUT_SECONDS, snapshotWork } from './snapshot-runs';
import { isFinished } from './run-admission';
import { waitsForSnapshots } from '../../lib/run/snapshot-source';

const refOf = (backup: BackupObject): BackupRef => ({
  name: backup.metadata.name,
  namespace: backup.metadata.namespace!,
  uid: backup.metadata.uid!,
});

export function reconcile(observed: Observed, settings: Settings = {}): Desired {
  const { backup } = observed;
  const ref = refOf(backup);
  const allJobs = liveJobs(observed);
  const dst = dstRuns(backup.spec, ref, allJobs, observed);
  // A repeat about to be dropped never ran and is not reported.
  const runs = sortRuns(observed, allJobs, dst?.drop ?? []);

  const admission = admit(observed, ref, settings);
  const cron = planCronJob(observed, admission.podProps, settings, dst);
  const runNow = planRunNow(observed, admission.podProps, runs, settings);
  const catchUp = planCatchUp(observed, admission.podProps, runs, dst, settings);

  const lastBackup = judgeRuns(observed, ref, runs);
  const ready = judgeReady(observed, ref, admission, dst);
  const fresh = judgeFresh(observed, admission, runs, lastBackup);
  const { status, events } = composeStatus(
    observed,
    ref,
    admission,
    runs,
    { ready, lastBackup, fresh },
    runNow.lastRunNowRequest,
    settings,
  );

  const snapshotJobs = snapshotWork(allJobs, dst?.drop ?? []);
  return {
    ...cron,
    createJobs: [...runNow.createJobs, ...catchUp.createJobs],
    deleteJobs: [...runNow.deleteJobs, ...catchUp.deleteJobs],
    // A run from snapshots starts only once they exist (snapshot-runs.ts marks it ready).
    admitJobs: settings.holdRuns
      ? []
      : (dst?.admit ?? []).filter((name) => !allJobs.some((j) => j.metadata.name === name && waitsForSnapshots(j))),
    dropJobs: dst?.drop ?? [],
    requeueAt: dst?.recheckAt,
    staleAt: fresh.status === 'True' ? fresh.staleAt : undefined,
    status,
    statusChanged: canonicalJson(backup.status ?? {}) !== canonicalJson(status),
    events: [...runNow.events, ...events],
    ...(snapshotJobs.length > 0 && {
      snapshotRuns: {
        jobs: snapshotJobs,
        timeoutSeconds: settings.snapshotTimeoutSeconds ?? DEFAULT_SNAPSHOT_TIMEOUT_SECONDS,
        running: allJobs.filter((j) => !isFinished(j)).map((j) => j.metadata.name),
      },
    }),
  };
}
