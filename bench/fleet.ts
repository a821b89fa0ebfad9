/** What the operator benchmarks share: a mall of N shops on the fake API server, and a process's memory. */
import * as fs from 'node:fs';
import type { FakeApiServer } from '../__tests__/support/fake-apiserver';

/** Files N shops, 50 namespaces, each with one labelled claim and a Backup at a spread of hours. */
export function fileShops(server: FakeApiServer, n: number): void {
  for (let i = 0; i < n; i++) {
    const ns = `mall-${i % 50}`;
    server.put({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `shop-${i}-data`, namespace: ns, labels: { 'mall.example.com/shop': `shop-${i}` } },
      spec: { accessModes: ['ReadWriteOnce'] },
    });
    server.put({
      apiVersion: 'mall.example.com/v1alpha1',
      kind: 'Backup',
      metadata: { name: `shop-${i}`, namespace: ns },
      spec: {
        shopName: `shop-${i}`,
        backupTime: `${String(i % 24).padStart(2, '0')}:30`,
        timeZone: 'UTC',
        vaultLocation: `s3:https://s3.amazonaws.com/vault/shop-${i}`,
        vaultCredentialsSecret: 'vault',
        retention: { keepLast: 7 },
        suspend: false,
        concurrencyPolicy: 'Forbid',
        backoffLimit: 2,
      },
    });
  }
}

/** A field of /proc/<pid>/status in MiB: VmHWM is the peak resident set, VmRSS the current one. */
export function procMemoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}
