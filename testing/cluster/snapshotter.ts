/**
 * The CSI snapshot side of a cluster, played by the test: minimal CustomResourceDefinitions for
 * VolumeSnapshot and VolumeSnapshotClass (snapshot.storage.k8s.io/v1, only the fields the operator uses,
 * written here), and a snapshotter for the test kubelet's claims (one folder per claim). A snapshot is a copy
 * of the claim's folder taken while the claim's writers are stopped (SIGSTOP, copy, SIGCONT: what fsfreeze
 * does for a file system), so it holds the files as they were at one instant; a claim whose dataSource is a
 * VolumeSnapshot gets a copy of that copy and is marked Bound, which is when the test kubelet lets a pod use it.
 * Each VolumeSnapshotClass's driver picks the behaviour: `<prefix>/ok`, `<prefix>/never` (never ready),
 * `<prefix>/error` (reports an error).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from './cluster';
import { kubectlOk } from './cluster';
import type { TestKubelet } from './kubelet/kubelet';

const GROUP = 'snapshot.storage.k8s.io';
const str = { type: 'string' };
/** *.k8s.io groups are protected: the API server wants a link to the API's approval, as the upstream CRDs carry. */
const APPROVED = { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/419' };

export const SNAPSHOT_CRDS = [
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `volumesnapshotclasses.${GROUP}`, annotations: APPROVED },
    spec: {
      group: GROUP,
      scope: 'Cluster',
      names: { plural: 'volumesnapshotclasses', singular: 'volumesnapshotclass', kind: 'VolumeSnapshotClass' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['driver', 'deletionPolicy'],
              properties: {
                apiVersion: str,
                kind: str,
                metadata: { type: 'object' },
                driver: str,
                deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] },
                parameters: { type: 'object', additionalProperties: str },
              },
            },
          },
        },
      ],
    },
  },
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `volumesnapshots.${GROUP}`, annotations: APPROVED },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: 'volumesnapshots', singular: 'volumesnapshot', kind: 'VolumeSnapshot' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: str,
                kind: str,
                metadata: { type: 'object' },
                spec: {
                  type: 'object',
                  required: ['source'],
                  properties: {
                    volumeSnapshotClassName: str,
                    source: {
                      type: 'object',
                      properties: { persistentVolumeClaimName: str, volumeSnapshotContentName: str },
                    },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    readyToUse: { type: 'boolean' },
                    creationTime: str,
                    restoreSize: str,
                    boundVolumeSnapshotContentName: str,
                    error: { type: 'object', properties: { message: str, time: str } },
                  },
                },
              },
            },
          },
        },
      ],
    },
  },
];

export async function installSnapshotCrds(): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--field-manager=cluster-tests', '-f', '-'], {
    input: SNAPSHOT_CRDS.map((c) => JSON.stringify(c)).join('\n'),
  });
  await kubectlOk([
    'wait',
    '--for=condition=established',
    '--timeout=60s',
    ...SNAPSHOT_CRDS.map((c) => `crd/${c.metadata.name}`),
  ]);
}

/** What a snapshot of a claim holds, taken while its writers were stopped. */
export interface TakenSnapshot {
  readonly namespace: string;
  readonly name: string;
  readonly claim: string;
  readonly folder: string;
  /** When the writers were stopped and started again (ms since 1970). */
  readonly frozenAt: number;
  readonly thawedAt: number;
}

export class TestSnapshotter {
  private readonly dir = mkdtempSync(join(tmpdir(), 'mall-backup-snapshots-'));
  public readonly taken: TakenSnapshot[] = [];
  /** Claims made from a snapshot, as `<namespace>/<claim>` → the snapshot's name. */
  public readonly provisioned = new Map<string, string>();
  private readonly writers = new Map<string, number[]>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  /** Called with each snapshot as soon as it is taken, before the run can use it (the test inspects it). */
  public onTaken?: (snapshot: TakenSnapshot) => void;

  constructor(
    private readonly api: Client,
    private readonly kubelet: TestKubelet,
    private readonly namespace: string,
    /** The drivers this snapshotter answers for: `<prefix>/ok`, `/never`, `/error`. */
    private readonly driverPrefix: string,
  ) {}

  /** Processes writing to a claim: stopped while it is copied. */
  public freezeWhileCopying(claim: string, pid: number): void {
    this.writers.set(claim, [...(this.writers.get(claim) ?? []), pid]);
  }

  public start(): this {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = true;
      void this.pass()
        .catch(() => undefined)
        .finally(() => {
          this.busy = false;
        });
    }, 100);
    return this;
  }

  public stop(): void {
    if (this.timer) clearInterval(this.timer);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pass(): Promise<void> {
    const ns = this.namespace;
    const classes = (await this.api.ok('GET', `/apis/${GROUP}/v1/volumesnapshotclasses`)).items;
    const driverOf = new Map<string, string>(classes.map((c: any) => [c.metadata.name, c.driver]));
    const snapshots = (await this.api.ok('GET', `/apis/${GROUP}/v1/namespaces/${ns}/volumesnapshots`)).items;
    for (const vs of snapshots) {
      if (vs.status?.readyToUse || vs.status?.error) continue;
      const driver = driverOf.get(vs.spec.volumeSnapshotClassName) ?? '';
      if (driver === `${this.driverPrefix}/error`) {
        await this.setStatus(vs, { readyToUse: false, error: { message: 'the test volume is offline' } });
      } else if (driver === `${this.driverPrefix}/ok`) {
        await this.setStatus(vs, this.take(vs));
      }
    }
    // A deleted snapshot's copy goes with it.
    for (const t of this.taken)
      if (!snapshots.some((vs: any) => vs.metadata.name === t.name)) rmSync(t.folder, { recursive: true, force: true });
    const claims = (await this.api.ok('GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims`)).items;
    for (const claim of claims) {
      const source = claim.spec.dataSource;
      if (source?.kind !== 'VolumeSnapshot' || claim.status?.phase === 'Bound' || claim.metadata.deletionTimestamp)
        continue;
      const snapshot = this.taken.find((t) => t.name === source.name);
      if (!snapshot || !existsSync(snapshot.folder)) continue;
      const target = this.kubelet.claimFolder(ns, claim.metadata.name);
      rmSync(target, { recursive: true, force: true });
      mkdirSync(join(target, '..'), { recursive: true });
      execFileSync('cp', ['-a', snapshot.folder, target]);
      this.provisioned.set(`${ns}/${claim.metadata.name}`, snapshot.name);
      await this.api.ok(
        'PATCH',
        `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim.metadata.name}/status`,
        { status: { phase: 'Bound', capacity: claim.spec.resources.requests } },
        'application/merge-patch+json',
      );
    }
  }

  /** The copy: writers stopped, the folder copied and renamed into place, writers started again. */
  private take(vs: any): Record<string, unknown> {
    const claim = vs.spec.source.persistentVolumeClaimName;
    const folder = join(this.dir, vs.metadata.name);
    const pids = this.writers.get(claim) ?? [];
    const frozenAt = Date.now();
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      execFileSync('cp', ['-a', this.kubelet.claimFolder(this.namespace, claim), `${folder}.partial`]);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    const thawedAt = Date.now();
    renameSync(`${folder}.partial`, folder);
    const taken = { namespace: this.namespace, name: vs.metadata.name, claim, folder, frozenAt, thawedAt };
    this.taken.push(taken);
    this.onTaken?.(taken);
    return { readyToUse: true, creationTime: new Date(frozenAt).toISOString(), restoreSize: '1Gi' };
  }

  private async setStatus(vs: any, status: Record<string, unknown>): Promise<void> {
    await this.api.ok(
      'PATCH',
      `/apis/${GROUP}/v1/namespaces/${this.namespace}/volumesnapshots/${vs.metadata.name}/status`,
      { status },
      'application/merge-patch+json',
    );
  }
}
