/**
 * What a failed wait on a Backup reports, so a failure explains itself: the Backup's phase, conditions and message,
 * its Jobs and their pods as the API server has them, and, when given, whether the processes that move them on
 * (kube-controller-manager, the test kubelet, the operators) are alive and what they said last.
 */
import type { Component } from '../../scripts/control-plane/process';
import type { Client } from './cluster';
import type { TestKubelet } from './kubelet/kubelet';
import type { RealOperator } from './operator';

export interface Scene {
  readonly api: Client;
  readonly kubelet?: TestKubelet;
  readonly controllerManager?: Component;
  readonly operators?: readonly RealOperator[];
}

const conditions = (cs: any[] | undefined) =>
  (cs ?? []).map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ') || 'none';

/** The Backup, its Jobs and their pods, one line each. */
export async function describeBackup(api: Client, ns: string, name: string): Promise<string> {
  const lines: string[] = [];
  const b = await api.request('GET', `/apis/mall.example.com/v1alpha1/namespaces/${ns}/backups/${name}`);
  if (b.status !== 200) return `Backup ${ns}/${name}: HTTP ${b.status}`;
  const s = b.body.status ?? {};
  lines.push(
    `Backup ${ns}/${name}: phase ${s.phase ?? '(none)'}, conditions ${conditions(s.conditions)}, ` +
      `message ${JSON.stringify(s.message ?? '')}, lastRunNowRequest ${s.lastRunNowRequest ?? '(none)'}`,
  );
  const selector = `labelSelector=${encodeURIComponent(`mall.example.com/backup=${name}`)}`;
  const jobs = (await api.ok('GET', `/apis/batch/v1/namespaces/${ns}/jobs?${selector}`)).items as any[];
  const pods = (await api.ok('GET', `/api/v1/namespaces/${ns}/pods`)).items as any[];
  for (const j of jobs) {
    const st = j.status ?? {};
    lines.push(
      `  Job ${j.metadata.name}: active ${st.active ?? 0}, succeeded ${st.succeeded ?? 0}, failed ${st.failed ?? 0}, ` +
        `conditions ${conditions(st.conditions)}`,
    );
    for (const p of pods.filter((p) => p.metadata.labels?.['job-name'] === j.metadata.name)) {
      const state = p.status?.containerStatuses?.[0]?.state;
      lines.push(
        `    pod ${p.metadata.name}: ${p.status?.phase ?? '(no phase)'} on ${p.spec.nodeName ?? '(unbound)'}, ` +
          `container ${state ? JSON.stringify(state) : '(no status)'}`,
      );
    }
  }
  if (jobs.length === 0) lines.push('  no Jobs');
  return lines.join('\n');
}

/** What the processes around a Backup are doing: alive or not, and their last words. */
export function describeProcesses(scene: Omit<Scene, 'api'>): string {
  const lines: string[] = [];
  const kcm = scene.controllerManager;
  if (kcm) {
    const dead = kcm.failure();
    lines.push(dead ?? `kube-controller-manager running (pid ${kcm.pid}); its last lines:\n${kcm.logTail(8)}`);
  }
  if (scene.kubelet) lines.push(scene.kubelet.describe());
  for (const op of scene.operators ?? []) lines.push(op.describe());
  return lines.join('\n');
}

/** Both, for `eventually`'s `explain`. */
export const explainBackup = (scene: Scene, ns: string, name: string) => async () =>
  `${await describeBackup(scene.api, ns, name)}\n${describeProcesses(scene)}`;
