/**
 * Edges of the run cap and of daylight saving found by attacking them: runs that could be left
 * suspended for good, and one vault written two ways counted as two.
 */
import { RUN_NOW_DIGEST_LABEL_UNTIL_0_1 } from '../../lib/permits/backup-api';
import { runNowJobNameFor, runNowToken } from '../../lib/run/backup-names';
import { decideFleet, HeldRun, vaultKey } from '../../operator/controller/fleet-admission';
import { reconcile } from '../../operator/controller/reconcile';
import { SCHEDULED_TIMESTAMP_ANNOTATION } from '../../operator/controller/run-admission';
import { asStored, backupObject, job, observed } from '../../testing/reconcile-fixtures';

const cronJob = asStored(reconcile(observed()).cronJob!);

function heldRunNow(request: string, created: string, runNowLabel?: string) {
  const shape = { start: created, runNowToken: runNowToken(request), runNowLabel };
  const j = job(runNowJobNameFor('bakery', request), shape);
  j.spec = { suspend: true };
  delete j.status.startTime;
  return j;
}

describe('a cap switched off leaves no run suspended for good', () => {
  test('a run-now Job held under the cap is started once the operator runs without one', () => {
    const waiting = heldRunNow('2026-11-25T09:00', '2026-11-25T09:00:00Z');
    const d = reconcile(observed({ cronJob, jobs: [waiting] }), {});
    expect(d.admitJobs).toEqual([waiting.metadata.name]);
    expect(d.dropJobs).toEqual([]);
  });

  test('so is one held before an upgrade, labelled under the key of 0.1.0', () => {
    const waiting = heldRunNow('2026-11-25T09:00', '2026-11-25T09:00:00Z', RUN_NOW_DIGEST_LABEL_UNTIL_0_1);
    expect(reconcile(observed({ cronJob, jobs: [waiting] }), {}).admitJobs).toEqual([waiting.metadata.name]);
  });

  test("with the cap still on it stays the gate's to start", () => {
    const waiting = heldRunNow('2026-11-25T09:00', '2026-11-25T09:00:00Z');
    expect(reconcile(observed({ cronJob, jobs: [waiting] }), { holdRuns: true }).admitJobs).toEqual([]);
  });
});

describe('one vault is one vault, however it is written', () => {
  test.each([
    ['s3:https://s3.amazonaws.com/vault/shops', 's3:https://S3.AmazonAWS.com/vault/shops/'],
    ['s3:https://s3.amazonaws.com/vault/shops', 's3:https://s3.amazonaws.com:443/vault//shops'],
    ['rest:https://backup.example.com/shops', 'rest:https://user:secret@Backup.Example.com:443/shops/'],
    ['sftp:backup@Vault.example.com:/srv/shops', 'sftp:backup@vault.example.com:/srv/shops/'],
    ['b2:vault-bucket:shops', 'b2:vault-bucket:shops/'],
    ['azure:vault:/shops', 'azure:vault:/shops//'],
  ])('%s and %s share one per-vault cap', (a, b) => {
    expect(vaultKey('mall-shops', b)).toBe(vaultKey('mall-shops', a));
  });

  test('paths differing in case, hosts, ports and buckets stay different vaults', () => {
    const keys = [
      's3:https://s3.amazonaws.com/vault/shops',
      's3:https://s3.amazonaws.com/vault/Shops',
      's3:https://minio.local/vault/shops',
      's3:https://s3.amazonaws.com:9000/vault/shops',
      's3:https://s3.amazonaws.com/other/shops',
    ].map((v) => vaultKey('ns', v));
    expect(new Set(keys).size).toBe(keys.length);
  });

  test("pvc:// names a claim in the Backup's own namespace: the same text in two namespaces is two vaults", () => {
    expect(vaultKey('shop-a', 'pvc://vault')).not.toBe(vaultKey('shop-b', 'pvc://vault'));
    expect(vaultKey('shop-a', 'pvc://vault/')).toBe(vaultKey('shop-a', 'pvc://vault'));
    expect(vaultKey('shop-a', 'pvc://vault/x')).not.toBe(vaultKey('shop-a', 'pvc://vault'));
  });

  test('two Backups writing one vault two ways do not both start under a per-vault cap of 1', () => {
    const run = (name: string, vault: string, dueAt: number): HeldRun => ({
      key: `ns/${name}`,
      backup: `ns/${name}`,
      vault: vaultKey('ns', vault),
      dueAt,
    });
    const d = decideFleet(
      { maxConcurrentRuns: 0, maxConcurrentRunsPerVault: 1 },
      [],
      [
        run('a', 's3:https://s3.amazonaws.com/vault/shops', 100),
        run('b', 's3:https://S3.amazonaws.com/vault/shops/', 200),
      ],
      1000,
    );
    expect(d.start.map((r) => r.key)).toEqual(['ns/a']);
  });
});

describe('a held run is not started after its starting deadline', () => {
  const rome = backupObject({ backupTime: '02:30', timeZone: 'Europe/Rome', startingDeadlineSeconds: 600 });
  const romeCron = asStored(reconcile(observed({ backup: rome })).cronJob!);
  const first = '2026-10-25T00:30:00Z';
  const held = () => {
    const j = job(`backup-bakery-${Date.parse(first) / 60000}`, { start: first });
    j.spec = { suspend: true };
    j.metadata.annotations = { [SCHEDULED_TIMESTAMP_ANNOTATION]: first };
    delete j.status.startTime;
    return j;
  };

  test(
    'the first 02:30 of an autumn day, held while the operator ' +
      'was down for three hours, is dropped, not started at 05:30',
    () => {
      const d = reconcile(
        observed({ backup: rome, cronJob: romeCron, now: new Date('2026-10-25T03:30:00Z'), jobs: [held()] }),
      );
      expect(d.admitJobs).toEqual([]);
      expect(d.dropJobs).toEqual([held().metadata.name]);
    },
  );

  test('within its deadline it starts', () => {
    const d = reconcile(
      observed({ backup: rome, cronJob: romeCron, now: new Date('2026-10-25T00:39:00Z'), jobs: [held()] }),
    );
    expect(d.admitJobs).toEqual([held().metadata.name]);
  });
});
