/** The operator without a cluster: says what it tried, backs off, and gives up in bounded time outside a cluster. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { waitForApiServer } from '../../operator/runtime/connect';
import { operatorBundle } from '../../testing/operator-process';
import { closedPort } from '../../testing/ports';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mall-backup-nocluster-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function kubeconfigFor(port: number, user = '{ token: t }'): string {
  const file = path.join(work, 'kubeconfig');
  fs.writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: local',
      `clusters: [{ name: local, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
      `users: [{ name: me, user: ${user} }]`,
      'contexts: [{ name: local, context: { cluster: local, user: me } }]',
      '',
    ].join('\n'),
  );
  return file;
}

function runOperator(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return operatorBundle().then(
    (bundle) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const child = spawn(
          process.execPath,
          [bundle, '--metrics-port=0', '--probe-port=0', '--bind-address=127.0.0.1', '--leader-elect=false', ...args],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { PATH: process.env.PATH, HOME: work },
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c) => {
          stdout += c;
        });
        child.stderr.on('data', (c) => {
          stderr += c;
        });
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`operator still running after ${timeoutMs} ms:\n${stdout}${stderr}`));
        }, timeoutMs);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr, ms: Date.now() - started });
        });
      }),
  );
}

test('with no kubeconfig anywhere and no pod around it, it says so and exits 1 at once', async () => {
  const run = await runOperator([], 15_000);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(
    `no kubeconfig found: --kubeconfig not given, KUBECONFIG not ` +
      `set, ${work}/.kube/config does not exist, and not in a pod`,
  );
}, 30_000);

test('a --kubeconfig that does not exist is named', async () => {
  const run = await runOperator([`--kubeconfig=${work}/missing`], 15_000);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain(`kubeconfig ${work}/missing (--kubeconfig) does not exist`);
}, 30_000);

test('an API server that never answers: retries with growing ' +
  'delays naming the kubeconfig, then exits 1 after the timeout', async () => {
  const port = await closedPort();
  const file = kubeconfigFor(port);
  const run = await runOperator(['--kubeconfig', file, '--connect-timeout-seconds', '3'], 20_000);
  expect(run.code).toBe(1);
  expect(run.ms).toBeLessThan(10_000);
  const retries = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'API server not reachable; retrying');
  expect(retries.map((r) => r.retryInMs)).toEqual([500, 1000]);
  expect(retries[0]).toMatchObject({
    server: `https://127.0.0.1:${port}`,
    kubeconfig: `kubeconfig ${file} (--kubeconfig), context local`,
  });
  expect(run.stderr).toContain(
    `could not reach the Kubernetes API server https://127.0.0.1:${port} ` +
      `(kubeconfig ${file} (--kubeconfig), context local)`,
  );
  expect(run.stderr).toContain('raise --connect-timeout-seconds');
}, 30_000);

test('a server that takes the connection and never answers: it ' +
  "still gives up after the timeout, not after a request's 30 s", async () => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const file = kubeconfigFor((silent.address() as net.AddressInfo).port);
    const run = await runOperator(['--kubeconfig', file, '--connect-timeout-seconds', '2'], 20_000);
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(8_000);
    expect(run.stderr).toMatch(
      /could not reach the Kubernetes API server .* in 2 s and 1 attempt: GET \/version: no answer within 2000 ms/,
    );
  } finally {
    silent.close();
  }
}, 30_000);

test('a plain http:// server, which the client refuses without ' +
  'insecure-skip-tls-verify, is reported at once, not retried', async () => {
  const file = path.join(work, 'kubeconfig');
  fs.writeFileSync(
    file,
    fs
      .readFileSync(kubeconfigFor(await closedPort()), 'utf8')
      .replace('https://', 'http://')
      .replace(', insecure-skip-tls-verify: true', ''),
  );
  const run = await runOperator(['--kubeconfig', file, '--connect-timeout-seconds', '30'], 20_000);
  expect(run.code).toBe(1);
  expect(run.ms).toBeLessThan(8_000);
  expect(run.stderr).toMatch(
    new RegExp(
      `kubeconfig ${file} \\(--kubeconfig\\) names the server http://127\\.0\\.0\\.1:\\d+ ` +
        `of cluster local: plain HTTP is refused unless the cluster ` +
        `sets insecure-skip-tls-verify: true; use the server's https:// address`,
    ),
  );
}, 30_000);

describe('a kubeconfig whose user is an exec credential plugin', () => {
  /** A plugin script that records its PID (so the test can end it) and then does what `body` says. */
  const plugin = (body: string) => {
    const script = path.join(work, 'plugin.sh');
    fs.writeFileSync(script, `#!/bin/sh\necho $$ > ${work}/plugin.pid\n${body}\n`, { mode: 0o755 });
    return `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ${script}, interactiveMode: Never } }`;
  };
  const endPlugin = () => {
    const pidFile = path.join(work, 'plugin.pid');
    if (!fs.existsSync(pidFile)) return;
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  afterEach(endPlugin);

  test('that never returns (say, waiting for a login): the ' +
    'operator gives up after the timeout, naming the plugin', async () => {
    const file = kubeconfigFor(await closedPort(), plugin('exec sleep 600'));
    const run = await runOperator(['--kubeconfig', file, '--connect-timeout-seconds', '2'], 20_000);
    expect(run.code).toBe(1);
    expect(run.ms).toBeLessThan(8_000);
    expect(run.stderr).toContain(
      `no answer within 2000 ms (the kubeconfig's exec credential plugin ${work}/plugin.sh may be waiting)`,
    );
  }, 30_000);

  test('that fails without a word: the reason says so instead of being empty', async () => {
    const file = kubeconfigFor(await closedPort(), plugin('exit 3'));
    const run = await runOperator(['--kubeconfig', file, '--connect-timeout-seconds', '1'], 20_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `: the kubeconfig's exec credential plugin ${work}/plugin.sh failed without a message. Check that`,
    );
  }, 30_000);
});

describe('waiting for the API server', () => {
  const lines: any[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  beforeEach(() => {
    lines.length = 0;
  });

  /** A client that really asks 127.0.0.1:port, answering like KubeClient: HTTP errors carry a statusCode. */
  const clientFor = (port: number) => ({
    get: async (p: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${p}`);
      if (!res.ok) throw Object.assign(new Error(`GET ${p}: ${res.status}`), { statusCode: res.status });
      return res.json();
    },
  });

  test('in a cluster it never gives up: the backoff doubles up to its cap and continues past the timeout', async () => {
    const port = await closedPort();
    let checks = 0;
    const reached = await waitForApiServer(
      clientFor(port),
      `http://127.0.0.1:${port}`,
      { source: 'in-cluster service account', inCluster: true },
      log,
      { timeoutMs: 1, initialDelayMs: 5, maxDelayMs: 40, keepGoing: () => ++checks <= 8 },
    );
    expect(reached).toBe(false);
    expect(lines.filter((l) => l.msg === 'API server not reachable; retrying').map((l) => l.retryInMs)).toEqual([
      5, 10, 20, 40, 40, 40, 40, 40,
    ]);
  });

  test('a server that comes up while it waits is reached, and any HTTP answer counts', async () => {
    const port = await closedPort();
    const server = http.createServer((_req, res) =>
      res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"reason":"Unauthorized"}'),
    );
    let checks = 0;
    try {
      const reached = await waitForApiServer(
        clientFor(port),
        `http://127.0.0.1:${port}`,
        { source: 'test', inCluster: false },
        log,
        {
          timeoutMs: 10_000,
          initialDelayMs: 20,
          keepGoing: () => {
            if (++checks === 3) server.listen(port, '127.0.0.1');
            return true;
          },
        },
      );
      expect(reached).toBe(true);
      expect(lines.at(-1)).toMatchObject({ msg: 'API server reached', status: 401 });
      expect(lines.filter((l) => l.msg === 'API server not reachable; retrying').length).toBeGreaterThanOrEqual(2);
    } finally {
      server.close();
    }
  });
});

test.each([
  [
    '$KUBECONFIG (first of a list)',
    (file: string, _home: string) => ({ KUBECONFIG: `${file}${path.delimiter}/other` }),
    (file: string) => `kubeconfig ${file} ($KUBECONFIG), context local`,
  ],
  // kubectl skips files of the list that do not exist.
  [
    '$KUBECONFIG (first that exists)',
    (file: string, _home: string) => ({ KUBECONFIG: `${work}/missing${path.delimiter}${file}` }),
    (file: string) => `kubeconfig ${file} ($KUBECONFIG), context local`,
  ],
  [
    '~/.kube/config',
    (file: string, home: string) => {
      fs.mkdirSync(path.join(home, '.kube'));
      fs.copyFileSync(file, path.join(home, '.kube', 'config'));
      return {};
    },
    (_file: string) => `kubeconfig ${work}/.kube/config (the default), context local`,
  ],
])(
  'the kubeconfig from %s is named when the server cannot be reached',
  async (_what, setup, source) => {
    const file = kubeconfigFor(await closedPort());
    const env = setup(file, work);
    const bundle = await operatorBundle();
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          bundle,
          '--metrics-port=0',
          '--probe-port=0',
          '--bind-address=127.0.0.1',
          '--leader-elect=false',
          '--connect-timeout-seconds=1',
        ],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
          env: { PATH: process.env.PATH, HOME: work, ...env },
        },
      );
      let stderr = '';
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`(${source(file)})`);
  },
  30_000,
);
