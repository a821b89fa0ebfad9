/**
 * A small kubelet (and scheduler) for the cluster suites: registers a Node, binds the pending pods of the
 * namespaces it is given to that Node (honouring a node affinity that names another node by leaving the pod
 * pending, as the scheduler would), runs each container in a sandbox (`sandbox.ts`), reports the pod's
 * phase, readiness, and each container's termination (exit code, termination message, or the log tail
 * under FallbackToLogsOnError) so the real Job and ReplicaSet controllers act on it; a deleted pod gets
 * SIGTERM, SIGKILL after its grace period, and is then removed. It serves the container logs the API
 * server proxies (`kubectl logs`). Pods share the host's network (pod IP 127.0.0.1).
 *
 * It lists its namespaces' pods when a watch of them says something changed, and every second regardless: the
 * watches make it as quick as a kubelet without listing five times a second per namespace; the periodic pass
 * rides out an API server restart and sees pods a test stops holding back (`hold`).
 *
 * Not a kubelet's whole job: one container per pod, no init containers, no restarts (a container that exits
 * ends the pod, Succeeded or Failed, whatever its restartPolicy), readiness by httpGet probes only, no
 * liveness probes, no resource limits enforced, no network namespace.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer as createHttpsServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client } from '../cluster';
import { selfSignedCertificate } from '../../tls';
import { ImageSources, imageFor } from './images';
import { ConfigError, environment, mountsOf, Node, volumes } from './pod-setup';
import { startSandbox } from './sandbox';

interface Running {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly terminationFile: string;
  readonly startedAt: string;
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  ready: boolean;
  killTimer?: NodeJS.Timeout;
}

export interface KubeletOptions extends ImageSources {
  readonly api: Client;
  /** Only pods in these namespaces are bound and run (suites share the cluster). */
  readonly namespaces: () => readonly string[];
  readonly nodeName?: string;
  /** Pods left pending for now, as if no node had room (a test starts them when it chooses). */
  readonly hold?: (pod: any) => boolean;
  /** Called as a container is about to start, with its environment and host folders (e.g. `seedInitVaults`). */
  readonly beforeStart?: (pod: any, env: Record<string, string>, mounts: ReturnType<typeof mountsOf>) => void;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class TestKubelet {
  public readonly nodeName: string;
  private readonly dir = mkdtempSync(join(tmpdir(), 'mall-backup-kubelet-'));
  private readonly running = new Map<string, Running>();
  private readonly starting = new Set<string>();
  private timer?: NodeJS.Timeout;
  private server?: Server;
  private busy = false;
  /** A change came in while a pass was under way: another pass follows. */
  private again = false;
  private readonly watches = new Map<string, { close(): void }>();
  private stopped = false;

  constructor(private readonly options: KubeletOptions) {
    this.nodeName = options.nodeName ?? `test-node-${Math.random().toString(36).slice(2, 7)}`;
  }

  private get api(): Client {
    return this.options.api;
  }

  private get node(): Node {
    const url = new URL(this.api.server);
    return { claimsDir: join(this.dir, 'claims'), apiHost: url.hostname, apiPort: url.port || '443' };
  }

  /** Where a claim's data lives on this node (a test may seed or inspect it). */
  public claimFolder(namespace: string, claim: string): string {
    return join(this.node.claimsDir, namespace, claim);
  }

  public async start(): Promise<this> {
    // Mount namespaces need root, as a container runtime does; say so instead of failing on the first pod.
    if (process.getuid?.() !== 0)
      throw new Error(
        'the test kubelet runs containers in mount namespaces, ' +
          'which needs root: run the cluster suites as root (CI does)',
      );
    for (const tool of ['/usr/bin/unshare', '/usr/bin/setpriv', '/usr/bin/mount', '/usr/sbin/chroot']) {
      if (!existsSync(tool))
        throw new Error(`the test kubelet needs ${tool}: apt-get install util-linux mount coreutils`);
    }
    const port = await this.serveLogs();
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux' },
      },
    };
    await this.api.ok('POST', '/api/v1/nodes', node);
    const capacity = { cpu: '16', memory: '64Gi', pods: '250', 'ephemeral-storage': '100Gi' };
    await this.api.ok(
      'PATCH',
      `/api/v1/nodes/${this.nodeName}/status`,
      {
        status: {
          capacity,
          // No Hostname address: the API server would prefer it for `kubectl logs`, and the name resolves nowhere.
          allocatable: capacity,
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'test kubelet is ready',
              lastHeartbeatTime: now(),
              lastTransitionTime: now(),
            },
          ],
          nodeInfo: {
            kubeletVersion: 'v1.37.2-test',
            operatingSystem: 'linux',
            architecture: process.arch === 'x64' ? 'amd64' : process.arch,
            containerRuntimeVersion: 'test://sandbox',
            kernelVersion: '',
            osImage: 'test',
            machineID: '',
            systemUUID: '',
            bootID: '',
            kubeProxyVersion: '',
          },
        },
      },
      'application/merge-patch+json',
    );
    this.timer = setInterval(() => void this.tick(), 1000);
    void this.tick();
    return this;
  }

  /** Stops every container (SIGKILL, by PID group), the Node and the log server; removes its folders. */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of this.watches.values()) w.close();
    await Promise.all([...this.running.values()].map((r) => this.kill(r, 'SIGKILL')));
    this.server?.close();
    await this.api.request('DELETE', `/api/v1/nodes/${this.nodeName}`).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async kill(r: Running, signal: NodeJS.Signals): Promise<void> {
    if (r.exited) return;
    try {
      process.kill(-r.child.pid!, signal);
    } catch {
      // already gone
    }
    if (signal === 'SIGKILL') await new Promise((done) => (r.exited ? done(undefined) : r.child.once('exit', done)));
  }

  /** Watches the pods of each namespace it serves (again after a watch ends): any event starts a pass. */
  private watchPods(namespaces: readonly string[]): void {
    for (const ns of namespaces) {
      if (this.watches.has(ns)) continue;
      const watch = this.api.watch(
        `/api/v1/namespaces/${ns}/pods?watch=1&timeoutSeconds=300`,
        () => void this.tick(),
        () => {
          if (this.watches.get(ns) === watch) this.watches.delete(ns);
        },
      );
      this.watches.set(ns, watch);
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.again = false;
    try {
      const namespaces = this.options.namespaces();
      this.watchPods(namespaces);
      for (const ns of namespaces) {
        const list = await this.api.request('GET', `/api/v1/namespaces/${ns}/pods`);
        if (list.status !== 200) continue;
        for (const pod of list.body.items)
          await this.sync(pod).catch((e) =>
            process.stderr.write(`test kubelet: ${ns}/${pod.metadata.name}: ${e.message}\n`),
          );
      }
    } catch {
      // The API server is away (a fault test restarts it): try again on the next tick.
    } finally {
      this.busy = false;
    }
    if (this.again) void this.tick();
  }

  private async sync(pod: any): Promise<void> {
    const key = pod.metadata.uid;
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    if (!pod.spec.nodeName) {
      if (pod.metadata.deletionTimestamp || !this.fits(pod) || this.options.hold?.(pod)) return;
      await this.api.request('POST', `${path}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata.name },
        target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
      });
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    const r = this.running.get(key);
    if (pod.metadata.deletionTimestamp) {
      if (r && !r.exited) {
        if (!r.killTimer) {
          await this.kill(r, 'SIGTERM');
          r.killTimer = setTimeout(
            () => void this.kill(r, 'SIGKILL'),
            1000 * (pod.metadata.deletionGracePeriodSeconds ?? 30),
          );
        }
        return;
      }
      if (r) clearTimeout(r.killTimer);
      this.running.delete(key);
      // What the kubelet does once the containers are gone: remove the pod for good.
      await this.api.request('DELETE', `${path}?gracePeriodSeconds=0`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: key },
      });
      return;
    }
    if (['Succeeded', 'Failed'].includes(pod.status?.phase)) return;
    if (!r && !this.starting.has(key)) {
      this.starting.add(key);
      try {
        await this.run(pod, path);
      } finally {
        this.starting.delete(key);
      }
    } else if (r && !r.ready && !r.exited && (await this.probe(pod))) {
      r.ready = true;
      await this.report(pod, path, r);
    }
  }

  /** The scheduler's part: a required node affinity by name that names another node keeps the pod pending. */
  private fits(pod: any): boolean {
    const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (!terms) return true;
    return terms.some(
      (t: any) =>
        (t.matchFields ?? []).every(
          (f: any) => f.key === 'metadata.name' && f.operator === 'In' && f.values.includes(this.nodeName),
        ) && (t.matchExpressions ?? []).length === 0,
    );
  }

  private async run(pod: any, path: string): Promise<void> {
    const [container, ...more] = pod.spec.containers;
    if (more.length || pod.spec.initContainers?.length)
      return this.waiting(
        pod,
        path,
        'CreateContainerConfigError',
        'the test kubelet runs pods with one container and no init containers',
      );
    const image = imageFor(container.image, this.options);
    if ('error' in image) return this.waiting(pod, path, 'ErrImagePull', image.error);
    const podDir = join(this.dir, 'pods', pod.metadata.uid);
    let env: Record<string, string>;
    let mounts: ReturnType<typeof mountsOf>;
    try {
      const folders = await volumes(this.api, this.node, pod, podDir);
      mounts = mountsOf(container, folders, image.mounts);
      env = await environment(this.api, this.node, pod, container, image.env);
      this.options.beforeStart?.(pod, env, mounts);
    } catch (e) {
      if (e instanceof ConfigError) return this.waiting(pod, path, 'CreateContainerConfigError', e.message);
      throw e;
    }
    const security = { ...pod.spec.securityContext, ...container.securityContext };
    const argv = [...(container.command ?? image.entrypoint), ...(container.args ?? [])].map((a: string) =>
      a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name) => (m === '$$' ? '$' : (env[name] ?? m))),
    );
    const sandbox = startSandbox({
      dir: join(podDir, 'containers', container.name),
      argv,
      env,
      mounts,
      uid: security.runAsUser ?? 0,
      gid: security.runAsGroup ?? 0,
      groups: [
        security.runAsGroup ?? 0,
        ...(pod.spec.securityContext?.fsGroup !== undefined ? [pod.spec.securityContext.fsGroup] : []),
        ...(pod.spec.securityContext?.supplementalGroups ?? []),
      ],
      readOnlyRoot: Boolean(security.readOnlyRootFilesystem),
      terminationMessagePath: container.terminationMessagePath ?? '/dev/termination-log',
      workingDir: container.workingDir,
    });
    const r: Running = { ...sandbox, startedAt: now(), ready: !container.readinessProbe };
    this.running.set(pod.metadata.uid, r);
    this.names.set(pod.metadata.uid, `${pod.metadata.namespace}/${pod.metadata.name}`);
    sandbox.child.once('exit', (code, signal) => {
      r.exited = { code, signal };
      if (!this.stopped) void this.report(pod, path, r).catch(() => undefined);
    });
    await this.report(pod, path, r);
  }

  private async probe(pod: any): Promise<boolean> {
    const [container] = pod.spec.containers;
    const http = container.readinessProbe?.httpGet;
    if (!http) return true;
    const port =
      typeof http.port === 'number'
        ? http.port
        : container.ports?.find((p: any) => p.name === http.port)?.containerPort;
    return new Promise((done) => {
      const req = httpGet({ host: '127.0.0.1', port, path: http.path ?? '/', timeout: 1000 }, (res) => {
        res.resume();
        done((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on('error', () => done(false));
      req.on('timeout', () => req.destroy());
    });
  }

  private async waiting(pod: any, path: string, reason: string, message: string): Promise<void> {
    const [container] = pod.spec.containers;
    await this.api.request(
      'PATCH',
      `${path}/status`,
      {
        status: {
          phase: 'Pending',
          hostIP: '127.0.0.1',
          startTime: pod.status?.startTime ?? now(),
          containerStatuses: [
            {
              name: container.name,
              image: container.image,
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason, message } },
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
  }

  /** The pod's status as the kubelet reports it; the termination message as the kubelet reads it. */
  private async report(pod: any, path: string, r: Running): Promise<void> {
    const [container] = pod.spec.containers;
    let state: any = { running: { startedAt: r.startedAt } };
    let phase = 'Running';
    if (r.exited) {
      const signals: Record<string, number> = { SIGTERM: 15, SIGINT: 2 };
      const exitCode = r.exited.code ?? 128 + (signals[r.exited.signal ?? ''] ?? 9);
      let message = readFileSync(r.terminationFile, 'utf8').slice(0, 4096);
      if (!message && exitCode !== 0 && container.terminationMessagePolicy === 'FallbackToLogsOnError') {
        message = readFileSync(r.logFile, 'utf8').split('\n').slice(-80).join('\n').slice(-2048);
      }
      state = {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? 'Completed' : 'Error',
          message: message || undefined,
          startedAt: r.startedAt,
          finishedAt: now(),
        },
      };
      phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    }
    const ready = !r.exited && r.ready;
    const condition = (type: string, status: boolean) => ({
      type,
      status: status ? 'True' : 'False',
      lastTransitionTime: now(),
    });
    await this.api.ok(
      'PATCH',
      `${path}/status`,
      {
        status: {
          phase,
          hostIP: '127.0.0.1',
          podIP: '127.0.0.1',
          podIPs: [{ ip: '127.0.0.1' }],
          startTime: r.startedAt,
          conditions: [
            condition('PodScheduled', true),
            condition('Initialized', true),
            condition('ContainersReady', ready),
            condition('Ready', ready),
          ],
          containerStatuses: [
            {
              name: container.name,
              image: container.image,
              imageID: `test://${container.image}`,
              containerID: `test://${r.child.pid}`,
              ready,
              started: !r.exited,
              restartCount: 0,
              state,
            },
          ],
        },
      },
      'application/merge-patch+json',
    );
  }

  /**
   * GET /containerLogs/<ns>/<pod>/<container>, which the API server proxies for `kubectl logs` (HTTPS, self-signed).
   */
  private async serveLogs(): Promise<number> {
    this.server = createHttpsServer(selfSignedCertificate(this.dir, this.nodeName), (req, res) => {
      const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(req.url ?? '');
      const r = m && this.findRunning(m[1], m[2]);
      if (!r || !existsSync(r.logFile)) {
        res.writeHead(404).end('no such container on this node');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(readFileSync(r.logFile));
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return (this.server.address() as AddressInfo).port;
  }

  private readonly names = new Map<string, string>();

  private findRunning(namespace: string, name: string): Running | undefined {
    for (const [uid, r] of this.running) if (this.names.get(uid) === `${namespace}/${name}`) return r;
    return undefined;
  }
}
