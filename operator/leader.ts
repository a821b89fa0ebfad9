/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-node has no helper). The holder renews the
 * Lease every `retryPeriod`; others take it over only once it has expired; every write carries the
 * resourceVersion read, so two candidates cannot both win. Losing the Lease, or failing to renew it
 * for `renewDeadline`, ends leadership.
 */
import type { Logger } from 'pino';
import { isConflict, isNotFound, KubeClient, resourcePath } from './kube';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  /** @default 15 s */
  readonly leaseDurationMs?: number;
  /** @default 10 s */
  readonly renewDeadlineMs?: number;
  /** @default 2 s */
  readonly retryPeriodMs?: number;
}

/** A Lease time: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly path: string;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
    private readonly log: Logger,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.path = resourcePath('coordination.k8s.io/v1', 'leases', options.namespace);
  }

  public get isLeader(): boolean {
    return this.leading;
  }

  public start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      const held = await this.tryAcquireOrRenew();
      if (held) {
        this.lastRenew = Date.now();
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.log.info({ lease: this.options.name }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading) {
        this.lose('another candidate holds the lease');
      }
    } catch (error) {
      this.log.warn({ err: error }, 'lease update failed');
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) this.lose('could not renew the lease in time');
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.log.warn({ lease: this.options.name, why }, 'stopped leading');
    this.callbacks.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { name, namespace, identity } = this.options;
    let lease: any;
    try {
      lease = await this.client.get(`${this.path}/${name}`);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.client.create(this.path, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000), acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder: string | undefined = spec.holderIdentity || undefined;
    const renewed = Date.parse(spec.renewTime ?? '') || 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
    if (holder !== identity && holder !== undefined && !expired) return false;
    const takeover = holder !== identity;
    try {
      await this.client.replace(`${this.path}/${name}`, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
          renewTime: microTime(now),
          ...(takeover ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
        },
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /** Stops campaigning and, when leading, hands the Lease back so a standby takes over at once. */
  public async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.get(`${this.path}/${this.options.name}`);
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.client.replace(`${this.path}/${this.options.name}`, {
        ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date(0)) },
      });
      this.log.info({ lease: this.options.name }, 'released the lease');
    } catch (error) {
      this.log.warn({ err: error }, 'could not release the lease');
    }
  }
}
