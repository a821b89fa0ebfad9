import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BACKUP_PHASES } from '../lib/backup-api';
import type { BackupStatus } from './reconcile';

/** What the operator exposes on /metrics. */
export class OperatorMetrics {
  public readonly registry = new Registry();
  public readonly reconciles = new Counter({ name: 'mall_backup_reconcile_total', help: 'Reconciles, by result.', labelNames: ['result'], registers: [this.registry] });
  public readonly reconcileErrors = new Counter({ name: 'mall_backup_reconcile_errors_total', help: 'Reconciles that failed and were retried.', registers: [this.registry] });
  public readonly reconcileDuration = new Histogram({
    name: 'mall_backup_reconcile_duration_seconds', help: 'Time to reconcile one Backup.', registers: [this.registry],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  public readonly apiRequests = new Counter({ name: 'mall_backup_api_requests_total', help: 'Requests to the API server.', labelNames: ['method', 'code'], registers: [this.registry] });
  public readonly lastSuccess = new Gauge({ name: 'mall_backup_last_success_timestamp_seconds', help: 'When each Backup last succeeded (Unix time).', labelNames: ['namespace', 'name'], registers: [this.registry] });
  public readonly phase = new Gauge({ name: 'mall_backup_phase', help: '1 for the phase each Backup is in, 0 for the others.', labelNames: ['namespace', 'name', 'phase'], registers: [this.registry] });
  public readonly leader = new Gauge({ name: 'mall_backup_leader', help: '1 while this process holds the leader Lease.', registers: [this.registry] });
  public readonly queueDepth = new Gauge({ name: 'mall_backup_workqueue_depth', help: 'Backups waiting to be reconciled.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  public recordStatus(namespace: string, name: string, status: BackupStatus): void {
    if (status.lastSuccessfulTime) this.lastSuccess.set({ namespace, name }, Date.parse(status.lastSuccessfulTime) / 1000);
    for (const phase of BACKUP_PHASES) this.phase.set({ namespace, name, phase }, status.phase === phase ? 1 : 0);
  }

  public forget(namespace: string, name: string): void {
    this.lastSuccess.remove({ namespace, name });
    for (const phase of BACKUP_PHASES) this.phase.remove({ namespace, name, phase });
  }
}
