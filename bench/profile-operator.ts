/**
 * One operator initial sync against the fake API server, for profiling rather than reporting:
 * `npx tsx bench/profile-operator.ts [backups]` prints wall time, peak RSS and the CPU of both sides.
 * PROF_NODE_ARGS passes node flags to the operator (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or a heap
 * ceiling), PROF_RSS=1 prints RSS samples, PROF_METRICS=1 the heap figures from /metrics.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { FakeApiServer } from '../__tests__/support/fake-apiserver';
import { operatorBundle, waitFor } from '../__tests__/support/operator-process';
import { fileShops, procMemoryMiB } from './fleet';
(async () => {
  const n = Number(process.argv[2] ?? 3000);
  const file = await operatorBundle();
  const server = new FakeApiServer();
  await server.start();
  fileShops(server, n);
  fs.writeFileSync('/tmp/kc', server.kubeconfig('p'));
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const child = spawn(
    process.execPath,
    [
      ...(process.env.PROF_NODE_ARGS ?? '').split(' ').filter(Boolean),
      file,
      '--kubeconfig=/tmp/kc',
      '--leader-elect=false',
      '--metrics-port=0',
      '--probe-port=0',
      '--workers=8',
      '--log-level=info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let metricsPort = 0;
  child.stdout!.on('data', (d) => {
    const m = /"metricsPort":(\d+)/.exec(String(d));
    if (m) metricsPort = Number(m[1]);
  });
  const rssSeries: string[] = [];
  const sampler = setInterval(() => {
    try {
      rssSeries.push(`${Date.now() - t0}:${procMemoryMiB(child.pid!, 'VmRSS').toFixed(0)}`);
    } catch {
      /* exited */
    }
  }, 500);
  await waitFor('sync', () => server.count('Backup', (b) => b.status?.phase === 'Scheduled') === n, 600000, 200);
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(' ');
  const cpu = process.cpuUsage(cpu0);
  const hwm = procMemoryMiB(child.pid!, 'VmHWM');
  console.log(
    'wall',
    Date.now() - t0,
    'hwm MiB',
    hwm.toFixed(0),
    'operator cpu ms',
    (Number(stat[13]) + Number(stat[14])) * 10,
    'server cpu ms',
    Math.round((cpu.user + cpu.system) / 1000),
  );
  if (process.env.PROF_METRICS)
    console.log(
      (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())
        .split('\n')
        .filter((l) => /^(nodejs_heap_size|nodejs_external|process_resident|nodejs_heap_space_size_used)/.test(l))
        .join('\n'),
    );
  clearInterval(sampler);
  if (process.env.PROF_RSS) console.log(rssSeries.join(' '));
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  await server.stop();
})();
