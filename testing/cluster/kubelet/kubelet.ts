/**
 * A small kubelet (and scheduler) for the cluster suites: registers a Node, binds the pending pods of the
 * namespaces it is given to that Node (honouring a node affinity that names another node by leaving the pod
 * pending, as the scheduler would; `scheduling.ts`), runs each container in a sandbox (`sandbox.ts`, set up by
 * `pod-setup.ts`), reports the pod's phase, readiness, and each container's termination (exit code, termination
 * message, or the log tail under FallbackToLogsOnError; `running.ts`, `node-status.ts`) so the real Job and
 * ReplicaSet controllers act on it; a deleted pod gets SIGTERM, SIGKILL after its grace period, and is then removed.
 * It serves the container logs the API server proxies (`kubectl logs`, `container-io.ts`). Pods share the host's
 * network (pod IP 127.0.0.1).
 *
 * It lists its namespaces' pods when a watch of them says something changed, and every second regardless: the
 * watches make it as quick as a kubelet without listing five times a second per namespace; the periodic pass
 * rides out an API server restart and sees pods a test stops holding back (`hold`).
 *
 * Not a kubelet's whole job: one container per pod, no init containers, no restarts (a container that exits
 * ends the pod, Succeeded or Failed, whatever its restartPolicy), readiness by httpGet probes only, no
 * liveness probes, no resource limits enforced, no network namespace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client } from '../cluster';
import { probeReady, serveContainerLogs } from './container-io';
import { ImageSources, imageFor } from './images';
import { now, registerNode, startedStatus, waitingStatus } from './node-status';
import { ConfigError, environment, mountsOf, Node, sandboxSpecOf, volumes } from './pod-setup';
import { containerState, describeRunning, kill, type Running, reported, terminate } from './running';
import { checkSandboxHost, startSandbox } from './sandbox';
import { bind, fits } from './scheduling';

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
  /** For `describe()`: when the last pass over the pods ended, and the last thing that went wrong. */
  private lastPass?: number;
  private lastError?: string;

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
    checkSandboxHost();
    const port = await this.serveLogs();
    await registerNode(this.api, this.nodeName, port);
    this.timer = setInterval(() => void this.tick(), 1000);
    void this.tick();
    return this;
  }

  /** What it is doing, for a failed wait's message: alive or not, its containers, the last thing that failed. */
  public describe(): string {
    const containers = [...this.running.values()].map((r) => `${r.name} ${describeRunning(r)}`).join(', ');
    const pass = this.lastPass === undefined ? 'no pass yet' : `last pass ${Date.now() - this.lastPass} ms ago`;
    return (
      `test kubelet ${this.nodeName}: ${this.stopped ? 'stopped' : pass}; containers: ${containers || 'none'}` +
      `${this.lastError ? `; last error: ${this.lastError}` : ''}`
    );
  }

  /** Stops every container (SIGKILL, by PID group), the Node and the log server; removes its folders. */
  public async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const w of this.watches.values()) w.close();
    await Promise.all([...this.running.values()].map((r) => kill(r, 'SIGKILL')));
    this.server?.close();
    await this.api.request('DELETE', `/api/v1/nodes/${this.nodeName}`).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
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
          await this.sync(pod).catch((e) => {
            this.lastError = `${new Date().toISOString()} ${ns}/${pod.metadata.name}: ${e.message}`;
            process.stderr.write(`test kubelet: ${this.lastError}\n`);
          });
      }
    } catch (e) {
      // The API server is away (a fault test restarts it): try again on the next tick.
      this.lastError = `${new Date().toISOString()} a pass failed: ${(e as Error).message}`;
    } finally {
      this.busy = false;
      this.lastPass = Date.now();
    }
    if (this.again) void this.tick();
  }

  private async sync(pod: any): Promise<void> {
    const key = pod.metadata.uid;
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    if (!pod.spec.nodeName) {
      if (pod.metadata.deletionTimestamp || !fits(pod, this.nodeName) || this.options.hold?.(pod)) return;
      return bind(this.api, pod, path, this.nodeName);
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    const r = this.running.get(key);
    if (pod.metadata.deletionTimestamp) {
      if (r && !r.exited) return terminate(r, pod.metadata.deletionGracePeriodSeconds ?? 30);
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
    } else if (r && !r.ready && !r.exited && (await probeReady(pod))) {
      r.ready = true;
      await this.report(pod, path, r);
    } else if (r && !reported(pod, r)) {
      // A report that did not land (the API server was away when the container started or ended): sent again,
      // as a kubelet's status manager does until the API server has the container's state.
      await this.report(pod, path, r);
    }
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
    const dir = join(podDir, 'containers', container.name);
    const sandbox = startSandbox(sandboxSpecOf(pod, container, image.entrypoint, env, mounts, dir));
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const r: Running = { ...sandbox, name, startedAt: now(), ready: !container.readinessProbe };
    this.running.set(pod.metadata.uid, r);
    sandbox.child.once('exit', (code, signal) => {
      r.exited = { code, signal, at: now() };
      if (!this.stopped)
        void this.report(pod, path, r).catch((e) => {
          this.lastError = `${r.exited!.at} reporting the end of ${pod.metadata.name}: ${e.message}`;
        });
    });
    await this.report(pod, path, r);
  }

  private async waiting(pod: any, path: string, reason: string, message: string): Promise<void> {
    const status = waitingStatus(pod, reason, message);
    await this.api.request('PATCH', `${path}/status`, status, 'application/merge-patch+json');
  }

  /** The pod's status as the kubelet reports it (running.ts reads the container's end). */
  private async report(pod: any, path: string, r: Running): Promise<void> {
    const { phase, state } = containerState(pod.spec.containers[0], r);
    const started = { startedAt: r.startedAt, pid: r.child.pid, ended: Boolean(r.exited), ready: r.ready };
    const status = startedStatus(pod, started, phase, state);
    await this.api.ok('PATCH', `${path}/status`, status, 'application/merge-patch+json');
  }

  /** The log server `kubectl logs` reaches through the API server (container-io.ts). */
  private async serveLogs(): Promise<number> {
    const logFile = (ns: string, name: string) =>
      [...this.running.values()].find((r) => r.name === `${ns}/${name}`)?.logFile;
    const logs = await serveContainerLogs(this.dir, this.nodeName, logFile);
    this.server = logs.server;
    return logs.port;
  }
}
