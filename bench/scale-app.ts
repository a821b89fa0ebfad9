/**
 * The app with N generated Backups (validated like any ShopBackup), rendered and written like
 * `npm run synth`. Prints {"backups", "ms", "maxRssMiB", "bytes"} as JSON. Usage: scale-app <N> <outdir>.
 */
import { App, Chart } from 'cdk8s';
import { buildApp } from '../lib/delivery/app';
import { ShopBackup } from '../lib/permits/shop-backup';
import { renderManifests, writeManifestsAtomically } from '../lib/delivery/manifest-writer';

const started = process.hrtime.bigint();
const count = Number(process.argv[2]);
const outdir = process.argv[3];
const app = new App();
const files = buildApp(app);
const chart = new Chart(app, 'scale');
const zones = ['UTC', 'Europe/Rome', 'America/New_York', 'Asia/Tokyo'];
for (let i = 0; i < count; i++) {
  new ShopBackup(chart, `shop-${i}`, {
    namespace: `mall-${i % 50}`,
    shopName: `shop-${i}`,
    backupTime: `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`,
    timeZone: zones[i % zones.length],
    vaultLocation: i % 2 ? `s3:https://s3.amazonaws.com/mall-vault/shop-${i}` : `pvc://vault/shop-${i}`,
    vaultCredentialsSecret: `shop-${i}-vault`,
    retention: { keepLast: 7, keepDaily: 14 },
  });
}
const rendered = renderManifests([...files, { path: 'scale/backups.yaml', chart }]);
writeManifestsAtomically(rendered, outdir);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const bytes = [...rendered.values()].reduce((n, t) => n + t.length, 0);
process.stdout.write(
  `${JSON.stringify({ backups: count, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024, bytes })}\n`,
);
