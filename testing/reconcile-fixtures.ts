import type { BackupSpec } from '../lib/permits/api-types';
import { RUN_NOW_DIGEST_LABEL, SHOP_LABEL } from '../lib/permits/backup-api';
import { BACKUP_UID_LABEL, cronJobNameFor } from '../lib/run/backup-names';
import type { BackupObject, KubeObject, Observed } from '../operator/controller/types';

export const UID = '0b1c2d3e-0000-4000-8000-000000000001';

export function backupObject(
  spec: Partial<BackupSpec> = {},
  extra: Partial<BackupObject['metadata']> = {},
  status?: BackupObject['status'],
): BackupObject {
  return {
    apiVersion: 'mall.example.com/v1alpha1',
    kind: 'Backup',
    metadata: {
      name: 'bakery',
      namespace: 'mall-shops',
      uid: UID,
      generation: 1,
      creationTimestamp: '2026-11-01T00:00:00Z',
      ...extra,
    },
    spec: {
      shopName: 'bakery',
      backupTime: '02:30',
      timeZone: 'UTC',
      vaultLocation: 's3:https://s3.amazonaws.com/vault/bakery',
      vaultCredentialsSecret: 'bakery-vault',
      retention: { keepLast: 7 },
      suspend: false,
      concurrencyPolicy: 'Forbid' as never,
      backoffLimit: 2,
      ...spec,
    },
    status,
  };
}

export function claim(name: string, opts: { shop?: string; modes?: string[] } = {}): KubeObject {
  return {
    metadata: { name, namespace: 'mall-shops', labels: opts.shop ? { [SHOP_LABEL]: opts.shop } : {} },
    spec: { accessModes: opts.modes ?? ['ReadWriteOnce'] },
  };
}

export interface JobShape {
  start: string;
  outcome?: 'Complete' | 'Failed';
  finish?: string;
  reason?: string;
  runNowToken?: string;
  /** The key the digest is labelled under (the key of 0.1.0 for a Job from before an upgrade). */
  runNowLabel?: string;
}

export function job(name: string, shape: JobShape): KubeObject {
  const conditions = shape.outcome
    ? [
        {
          type: shape.outcome,
          status: 'True',
          reason: shape.reason ?? (shape.outcome === 'Failed' ? 'BackoffLimitExceeded' : undefined),
          message: shape.outcome === 'Failed' ? 'Job has reached the specified backoff limit' : undefined,
          lastTransitionTime: shape.finish,
        },
      ]
    : [];
  return {
    metadata: {
      name,
      namespace: 'mall-shops',
      creationTimestamp: shape.start,
      labels: {
        [BACKUP_UID_LABEL]: UID,
        ...(shape.runNowToken ? { [shape.runNowLabel ?? RUN_NOW_DIGEST_LABEL]: shape.runNowToken } : {}),
      },
      ownerReferences: [{ kind: 'CronJob', name: cronJobNameFor('bakery'), uid: 'cron-uid', controller: true }],
    },
    status: {
      startTime: shape.start,
      ...(shape.outcome === 'Complete' ? { completionTime: shape.finish, succeeded: 1 } : {}),
      ...(shape.outcome ? {} : { active: 1 }),
      conditions,
    },
  };
}

export function jobPod(jobName: string, containerState: any, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    metadata: {
      name: `${jobName}-x1`,
      namespace: 'mall-shops',
      labels: { 'job-name': jobName, [BACKUP_UID_LABEL]: UID },
      ...extra,
    },
    spec: { nodeName: 'node-a', volumes: [] },
    status: { phase: 'Pending', containerStatuses: [{ name: 'restic', state: containerState }] },
  };
}

export function workloadPod(name: string, nodeName: string, claimName: string): KubeObject {
  return {
    metadata: { name, namespace: 'mall-shops' },
    spec: { nodeName, volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
    status: { phase: 'Running' },
  };
}

export function observed(parts: Partial<Observed> = {}): Observed {
  return {
    backup: backupObject(),
    jobs: [],
    jobPods: [],
    claims: [claim('bakery-data', { shop: 'bakery' })],
    namespacePods: [],
    now: new Date('2026-11-25T10:00:00Z'),
    ...parts,
  };
}

/** What the API server hands back for a CronJob we applied: our fields plus its defaults and metadata. */
export function asStored(cronJob: KubeObject, created = '2026-11-01T00:00:00Z'): KubeObject {
  const stored = structuredClone(cronJob);
  stored.metadata = { ...stored.metadata, uid: 'cron-uid', resourceVersion: '7', creationTimestamp: created };
  const pod = stored.spec.jobTemplate.spec.template.spec;
  pod.dnsPolicy = 'ClusterFirst';
  pod.schedulerName = 'default-scheduler';
  pod.terminationGracePeriodSeconds ??= 30;
  pod.containers[0].terminationMessagePath = '/dev/termination-log';
  stored.status = {};
  return stored;
}
