import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { FakeApiServer } from './support/fake-apiserver';
import { operatorBundle, waitFor } from './support/operator-process';
(async () => {
  const n = Number(process.argv[2] ?? 3000);
  const file = await operatorBundle();
  const server = new FakeApiServer(); await server.start();
  for (let i = 0; i < n; i++) {
    const ns = `mall-${i % 50}`;
    server.put({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `shop-${i}-data`, namespace: ns, labels: { 'mall.example.com/shop': `shop-${i}` } }, spec: { accessModes: ['ReadWriteOnce'] } });
    server.put({ apiVersion: 'mall.example.com/v1alpha1', kind: 'Backup', metadata: { name: `shop-${i}`, namespace: ns }, spec: { shopName: `shop-${i}`, backupTime: '02:30', timeZone: 'UTC', vaultLocation: `s3:https://s3.amazonaws.com/vault/shop-${i}`, vaultCredentialsSecret: 'vault', retention: { keepLast: 7 }, suspend: false, concurrencyPolicy: 'Forbid', backoffLimit: 2 } });
  }
  fs.writeFileSync('/tmp/kc', server.kubeconfig('p'));
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/opprof', file, '--kubeconfig=/tmp/kc', '--leader-elect=false', '--metrics-port=0', '--probe-port=0', '--workers=8', '--log-level=warn'], { stdio: 'inherit' });
  await waitFor('sync', () => server.count('Backup', (b) => b.status?.phase === 'Scheduled') === n, 600000, 200);
  const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(' ');
  const cpu = process.cpuUsage(cpu0);
  console.log('wall', Date.now() - t0, 'operator cpu ms', (Number(stat[13]) + Number(stat[14])) * 10, 'server cpu ms', Math.round((cpu.user + cpu.system) / 1000));
  child.kill('SIGTERM');
  await new Promise((r) => child.on('exit', r));
  await server.stop();
})();
