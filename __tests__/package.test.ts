import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import typescript from 'typescript5';
import { parseAllDocuments } from 'yaml';

/**
 * The construct library as another cdk8s app gets it: `npm pack`, install the tarball into a new app outside
 * the repository, compile the README's example with the stock cdk8s app tsconfig, synthesize.
 */
const ROOT = path.join(__dirname, '..');
const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The TypeScript block of the README section, which is what a user copies. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Using the constructs in another cdk8s app\n')[1]?.split('\n## ')[0] ?? '';
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README: no ```ts block under "## Using the constructs in another cdk8s app"');
  return block[1];
}

describe('the construct library, packed and installed into another cdk8s app', () => {
  let tmp: string;
  let packed: { filename: string; files: { path: string }[] };
  let objects: any[];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-consumer-'));
    const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // prepare's own output (the library build) may precede the JSON on stdout.
    packed = JSON.parse(out.slice(out.indexOf('\n[') + 1))[0];

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'consumer-app',
          version: '1.0.0',
          private: true,
          dependencies: {
            cdk8s: own.devDependencies.cdk8s,
            constructs: own.devDependencies.constructs,
            'mall-backup': `file:../${packed.filename}`,
          },
          devDependencies: { typescript: '5.9.3', '@types/node': own.devDependencies['@types/node'] },
        },
        null,
        2,
      ),
    );
    fs.copyFileSync(
      path.join(ROOT, 'node_modules/cdk8s-cli/templates/typescript-app/tsconfig.json'),
      path.join(app, 'tsconfig.json'),
    );
    fs.writeFileSync(path.join(app, 'main.ts'), readmeExample());
    execFileSync(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'], {
      cwd: app,
      stdio: 'pipe',
    });
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc'], { cwd: app, stdio: 'pipe' });
    execFileSync(process.execPath, ['main.js'], { cwd: app, stdio: 'pipe' });
    const dist = path.join(app, 'dist');
    objects = fs
      .readdirSync(dist)
      .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dist, f), 'utf8')).map((d) => d.toJSON()));
  }, 240_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds compiled JavaScript and declarations only', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'build/package/lib/index.js',
        'build/package/lib/index.d.ts',
        'package.json',
        'README.md',
      ]),
    );
    const strays = files.filter(
      (f) => !/^build\/package\/.*\.(js|d\.ts|json)$/.test(f) && !['package.json', 'README.md'].includes(f),
    );
    expect(strays).toEqual([]);
    expect(files.filter((f) => /(^|\/)(__tests__|testing|operator|scripts|bench)\//.test(f))).toEqual([]);
  });

  test('every type an export names is exported too, so a consumer can write it down', () => {
    // Walks the shipped declarations from the entry point: a props interface naming a type the entry point
    // does not export can be filled in with a literal but never typed (e.g. a helper returning one).
    const ts = typescript;
    const entry = path.join(ROOT, 'build/package/lib/index.d.ts');
    const program = ts.createProgram([entry], { types: [] });
    const checker = program.getTypeChecker();
    const target = (s: typescript.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
    const entrySymbol = checker.getSymbolAtLocation(program.getSourceFile(entry) as typescript.SourceFile);
    const exported = new Set(checker.getExportsOfModule(entrySymbol as typescript.Symbol).map(target));
    // A namespace export (`export type * as json`) names its members too: `json.BackupSpec` can be written down.
    for (const symbol of [...exported])
      if (symbol.flags & ts.SymbolFlags.Module)
        for (const member of checker.getExportsOfModule(symbol)) exported.add(target(member));
    const unnamed = new Set<string>();
    const visit = (node: typescript.Node, from: string): void => {
      if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node)) {
        const at = ts.isTypeReferenceNode(node) ? node.typeName : node.expression;
        const s = checker.getSymbolAtLocation(at);
        const symbol = s && target(s);
        const file = symbol?.declarations?.[0]?.getSourceFile().fileName ?? '';
        if (
          symbol &&
          file.includes('/build/package/') &&
          !exported.has(symbol) &&
          !unnamed.has(`${symbol.name} (in ${from})`)
        ) {
          unnamed.add(`${symbol.name} (in ${from})`);
          for (const d of symbol.declarations ?? []) visit(d, symbol.name);
        }
      }
      const hidden =
        ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
      if (!hidden) ts.forEachChild(node, (c) => visit(c, from));
    };
    for (const symbol of exported) for (const d of symbol.declarations ?? []) visit(d, symbol.name);
    expect([...unnamed]).toEqual([]);
  });

  test('the README example synthesizes the CRD, the operator and a Backup', () => {
    const crd = objects.find((o) => o.kind === 'CustomResourceDefinition');
    expect(crd?.metadata.name).toBe('backups.mall.example.com');
    const deployment = objects.find((o) => o.kind === 'Deployment');
    // The default image follows this package's version, not the consuming app's (1.0.0).
    expect(deployment?.spec.template.spec.containers[0].image).toBe(
      `ghcr.io/mall-example/mall-backup-operator:v${own.version}`,
    );
    const backup = objects.find((o) => o.kind === 'Backup');
    expect(backup).toMatchObject({
      apiVersion: 'mall.example.com/v1alpha1',
      metadata: { name: 'bakery', namespace: 'shops', labels: { 'app.kubernetes.io/component': 'backup-permit' } },
      spec: { shopName: 'bakery', backupTime: '02:30', timeZone: 'Europe/Rome' },
    });
  });
});
