/**
 * What the test kubelet tells the API server: its Node (registered Ready, with the port of its log server) and each
 * pod's status as a kubelet reports it (waiting with a reason, running, ready, or ended), as merge patches.
 */
import type { Client } from '../cluster';

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Registers the Node `name`, Ready, its kubelet endpoint (for `kubectl logs`) on `logPort`. */
export async function registerNode(api: Client, name: string, logPort: number): Promise<void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
  };
  await api.ok('POST', '/api/v1/nodes', node);
  const capacity = { cpu: '16', memory: '64Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  await api.ok(
    'PATCH',
    `/api/v1/nodes/${name}/status`,
    {
      status: {
        capacity,
        // No Hostname address: the API server would prefer it for `kubectl logs`, and the name resolves nowhere.
        allocatable: capacity,
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: logPort } },
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
}

/** A pod whose container could not start: Pending, the container waiting with `reason`. */
export function waitingStatus(pod: any, reason: string, message: string): object {
  const [container] = pod.spec.containers;
  return {
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
  };
}

/** A pod whose container started: its phase, readiness and the container's `state` (running or terminated). */
export function startedStatus(
  pod: any,
  started: { startedAt: string; pid?: number; ended: boolean; ready: boolean },
  phase: string,
  state: object,
): object {
  const [container] = pod.spec.containers;
  const ready = !started.ended && started.ready;
  const condition = (type: string, status: boolean) => ({
    type,
    status: status ? 'True' : 'False',
    lastTransitionTime: now(),
  });
  return {
    status: {
      phase,
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: started.startedAt,
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
          containerID: `test://${started.pid}`,
          ready,
          started: !started.ended,
          restartCount: 0,
          state,
        },
      ],
    },
  };
}
