/**
 * The README's "Apply (on an empty cluster, first time)" commands, as written there, through a shell with the
 * pinned kubectl on PATH, against a control plane of their own (the shared one is not empty: other suites
 * install the CRD). The last line waits for a backup to complete, which takes the operator and a kubelet:
 * the lifecycle suites own that line; this one checks it is the only line left out.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ControlPlane, start } from '../../scripts/control-plane/cluster';
import { eventually, kubectl, ROOT, Run } from './cluster';

jest.setTimeout(180_000);

/** The first `sh` block under the README's "## Apply" heading, one command per line, comments kept. */
function readmeApplyCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Apply'));
  const block = section?.match(/```sh\n([\s\S]*?)```/);
  if (!block) throw new Error('README.md: no ```sh block under "## Apply"');
  return block[1].split('\n').filter((line) => line.trim() !== '');
}

const commands = readmeApplyCommands();
const needsOperator = (line: string) => /--for=jsonpath=.*status\.phase.*Completed/.test(line);

/** Objects in the YAML files of `dir` (not its subfolders, like `kubectl apply -f dir/`). */
function objectsIn(file: string): { kind: string; metadata: { name: string; namespace?: string } }[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS()).filter(Boolean);
}

let cluster: ControlPlane;
const results = new Map<string, Run>();

function sh(line: string): Promise<Run> {
  return new Promise((done) => {
    execFile('bash', ['-c', line], {
      cwd: ROOT, timeout: 120_000,
      env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath, PATH: `${cluster.binDir}:${process.env.PATH}` },
    }, (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });
}

beforeAll(async () => {
  cluster = await start({ binDir: process.env.MALL_BACKUP_KUBE_BIN });
  // In order, as a reader would type them; each must succeed before the next.
  for (const line of commands.filter((l) => !needsOperator(l))) {
    const run = await sh(line);
    results.set(line, run);
    if (run.code !== 0) throw new Error(`README command failed (exit ${run.code}): ${line}\n${run.stderr}${run.stdout}`);
  }
});

afterAll(async () => {
  await cluster?.stop();
});

const result = (pattern: RegExp): Run => {
  const line = commands.find((l) => pattern.test(l));
  if (!line || !results.has(line)) throw new Error(`no README command matching ${pattern} was run`);
  return results.get(line)!;
};

describe('the README apply sequence on an empty cluster', () => {
  test('only the wait for a completed backup is left to the lifecycle suites', () => {
    expect(commands.filter(needsOperator)).toEqual([
      "kubectl -n mall-shops wait backup/bakery --for=jsonpath='{.status.phase}'=Completed --timeout=1h",
    ]);
    expect(commands.length).toBeGreaterThanOrEqual(6);
  });

  test('kubectl apply -f dist/ creates every object of the CRD and operator files', () => {
    const expected = ['dist/00-backup-crd.yaml', 'dist/01-operator.yaml'].flatMap(objectsIn)
      .map((o) => `${o.metadata.name} created`);
    const out = result(/^kubectl apply -f dist\/\s*$/).stdout;
    for (const line of expected) expect(out).toContain(line);
    expect(out.trim().split('\n')).toHaveLength(expected.length);
  });

  test('the CRD becomes established', () => {
    expect(result(/condition[= ]established/).stdout).toMatch(/customresourcedefinition.apiextensions.k8s.io\/backups.mall.example.com condition met/);
  });

  test('the samples are accepted by the real API server (schema, CEL rules)', () => {
    const samples = objectsIn('dist/samples/backups.yaml');
    const out = result(/apply -f dist\/samples\//).stdout;
    for (const o of samples) expect(out).toContain(`${o.kind.toLowerCase()}`);
    expect(out.trim().split('\n')).toHaveLength(samples.length);
    expect(out).not.toMatch(/unchanged|configured/);
  });

  test('kubectl get bks -A shows the printer columns and every sample', () => {
    const [header, ...rows] = result(/get bks -A/).stdout.trimEnd().split('\n');
    const names = ['NAMESPACE', 'NAME', 'SHOP', 'TIME', 'PHASE', 'LAST SUCCESS', 'NEXT', 'AGE'];
    expect(header.split(/\s{2,}/)).toEqual(names);
    // Cells may hold spaces (a cron expression): cut each row where the header's columns start.
    const starts: number[] = [];
    for (const n of names) starts.push(header.indexOf(n, starts.length ? starts[starts.length - 1] + 1 : 0));
    const cells = (row: string) => starts.map((at, i) => row.slice(at, starts[i + 1]).trim());
    const backups = objectsIn('dist/samples/backups.yaml').filter((o) => o.kind === 'Backup') as any[];
    expect(rows.map((r) => cells(r).slice(0, 4)).sort()).toEqual(
      backups.map((b) => [b.metadata.namespace, b.metadata.name, b.spec.shopName, b.spec.backupTime]).sort());
    // No operator runs here: no phase yet, and the age column is filled by the API server's creation time.
    for (const row of rows) expect(cells(row)[7]).toMatch(/^\d+s$/);
  });

  test('kubectl explain backup.spec documents the fields from the published schema', () => {
    const out = result(/explain backup\.spec/).stdout;
    expect(out).toMatch(/^GROUP:\s+mall\.example\.com$/m);
    expect(out).toMatch(/^KIND:\s+Backup$/m);
    expect(out).toMatch(/^VERSION:\s+v1alpha1$/m);
    for (const field of ['shopName', 'backupTime', 'timeZone', 'vaultLocation', 'vaultCredentialsSecret', 'retention']) {
      expect(out).toMatch(new RegExp(`^  ${field}\\s+<\\w+>`, 'm'));
    }
    expect(out).toMatch(/shopName\s+<string> -required-/);
  });

  test('the run-now annotation lands on the Backup', async () => {
    const run = result(/annotate backup\/bakery/);
    expect(run.stdout).toMatch(/backup.mall.example.com\/bakery annotated/);
    const value = (await kubectl(['-n', 'mall-shops', 'get', 'backup/bakery', '-o', 'jsonpath={.metadata.annotations.mall\\.example\\.com/run-now}'],
      { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir })).stdout;
    expect(Number(value)).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  test('Pod Security (restricted) admits the operator pod its Deployment asks for', async () => {
    const pods = await eventually('the operator pod', async () => {
      const run = await kubectl(['-n', 'mall-backup-system', 'get', 'pods', '-o', 'name'], { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir });
      return run.stdout.trim() ? run.stdout.trim().split('\n') : undefined;
    }, 60_000);
    expect(pods).toHaveLength(1);
    const events = await kubectl(['-n', 'mall-backup-system', 'get', 'events', '--field-selector=reason=FailedCreate', '-o', 'name'],
      { kubeconfig: cluster.kubeconfigPath, bin: cluster.binDir });
    expect(events.stdout.trim()).toBe('');
  });
});
