/**
 * The constructs of a backup run: the CronJob that schedules a Backup's runs, and the Job one run-now request
 * starts. Both run the pod of backup-job-spec.ts and are named and labelled by backup-names.ts.
 */
import { ApiObject } from 'cdk8s';
import * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
import { Construct } from 'constructs';
import * as api from '../permits/backup-api';
import { effectiveSchedule } from '../permits/schedule-window';
import { type BackupPodProps, backupJobSpec, snapshotRun } from './backup-job-spec';
import { backupLabels, cronJobNameFor, ownerReferenceTo, runNowJobNameFor, runNowToken } from './backup-names';

/** The schedule of one Backup: a CronJob in the Backup's namespace, owned by the Backup. */
export class BackupCronJob extends Construct {
  /**
   * The CronJob as JSON, without a construct tree: what the construct renders, for the operator, which
   * renders one per Backup and needs no cdk8s token resolution for plain values.
   */
  public static manifest(props: BackupPodProps): any {
    const { backup, spec } = props;
    const run = snapshotRun(props);
    const job = backupJobSpec(props);
    return k8s.KubeCronJob.manifest({
      metadata: {
        name: cronJobNameFor(backup.name),
        namespace: backup.namespace,
        labels: backupLabels(backup),
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: {
        schedule: effectiveSchedule(spec.backupTime, backup),
        timeZone: spec.timeZone ?? api.DEFAULT_TIME_ZONE,
        concurrencyPolicy: spec.concurrencyPolicy ?? api.DEFAULT_CONCURRENCY_POLICY,
        suspend: spec.suspend ?? false,
        startingDeadlineSeconds: spec.startingDeadlineSeconds,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: backupLabels(backup), annotations: run.annotations },
          spec: run.suspend ? { ...job, suspend: true } : job,
        },
      },
    });
  }

  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: BackupPodProps) {
    super(scope, id);
    this.apiObject = new ApiObject(this, 'Resource', BackupCronJob.manifest(props));
  }
}

export interface RunNowJobProps extends BackupPodProps {
  /** The value of the run-now annotation this Job answers. */
  readonly request: string;
}

/** One immediate run asked for with the run-now annotation; cleaned up a day after it finishes. */
export class BackupRunNowJob extends Construct {
  public readonly apiObject: ApiObject;

  constructor(scope: Construct, id: string, props: RunNowJobProps) {
    super(scope, id);
    const { backup, request } = props;
    const labels = backupLabels(backup, { [api.RUN_NOW_DIGEST_LABEL]: runNowToken(request) });
    const job = backupJobSpec(props);
    const run = snapshotRun(props);
    this.apiObject = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: runNowJobNameFor(backup.name, request),
        namespace: backup.namespace,
        labels,
        annotations: { [api.RUN_NOW_ANNOTATION]: request, ...run.annotations },
        ownerReferences: [ownerReferenceTo(backup)],
      },
      spec: {
        ...job,
        ...(run.suspend ? { suspend: true } : {}),
        ttlSecondsAfterFinished: 86400,
        template: { ...job.template, metadata: { labels } },
      },
    });
  }
}
