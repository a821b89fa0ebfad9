/**
 * The test kubelet's own contract, on the real control plane: what it does for the pods the other suites
 * rely on, and how it fails. Its happy paths (claims, envFrom, termination messages, the operator's pod)
 * are exercised by the lifecycle and quickstart suites.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type Client, client, eventually, kubeconfigPath, namespaces } from '../../testing/cluster/cluster';
import { FaultProxy } from '../../testing/cluster/fault-proxy';
import { TestKubelet } from '../../testing/cluster/kubelet/kubelet';

jest.setTimeout(120_000);

const admin = client();
const spaces = namespaces('kubelet');
let ns: string;
let kubelet: TestKubelet;

beforeAll(async () => {
  ns = await spaces.create();
  kubelet = await new TestKubelet({ api: admin, namespaces: () => [ns] }).start();
  await admin.ok('POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: 'notes' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
});

afterAll(async () => {
  await kubelet?.stop();
  await spaces.cleanup();
});

const pod = (name: string, image: string, script: string, extra: Record<string, unknown> = {}) =>
  admin.ok('POST', `/api/v1/namespaces/${ns}/pods`, {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532 },
      containers: [
        {
          name: 'c',
          image,
          command: ['sh', '-c', script],
          volumeMounts: [{ name: 'notes', mountPath: '/notes' }],
          ...extra,
        },
      ],
      volumes: [{ name: 'notes', persistentVolumeClaim: { claimName: 'notes' } }],
    },
  });
const get = (name: string) => admin.ok('GET', `/api/v1/namespaces/${ns}/pods/${name}`);

test('deleting a running pod sends SIGTERM to its command, then the pod is gone', async () => {
  await pod(
    'graceful',
    'busybox:1.36.1',
    'trap \'echo "got TERM as $(id -u)" > /notes/term; exit 0\' ' +
      'TERM; echo started > /notes/started; while :; do sleep 0.1; done',
  );
  await eventually(
    'the pod to run',
    async () =>
      (await get('graceful')).status?.phase === 'Running' &&
      readFileSync(`${kubelet.claimFolder(ns, 'notes')}/started`, 'utf8'),
    30_000,
  );
  await admin.ok('DELETE', `/api/v1/namespaces/${ns}/pods/graceful`);
  await eventually(
    'the pod to be removed',
    async () => (await admin.request('GET', `/api/v1/namespaces/${ns}/pods/graceful`)).status === 404,
    30_000,
  );
  expect(readFileSync(`${kubelet.claimFolder(ns, 'notes')}/term`, 'utf8')).toBe('got TERM as 65532\n');
});

test('a failing command: Failed, its exit code, and the log tail as message under FallbackToLogsOnError', async () => {
  await pod('broken', 'busybox:1.36.1', 'echo "the vault is locked" >&2; exit 3', {
    terminationMessagePolicy: 'FallbackToLogsOnError',
  });
  const done = await eventually(
    'the pod to fail',
    async () => {
      const p = await get('broken');
      return p.status?.phase === 'Failed' && p;
    },
    30_000,
  );
  expect(done.status.containerStatuses[0].state.terminated).toEqual(
    expect.objectContaining({ exitCode: 3, message: 'the vault is locked\n' }),
  );
});

test('a termination message past 4 KiB keeps its last 4096 bytes, as the kubelet reads it', async () => {
  // 100 numbered lines of 50 bytes: 5000 bytes, of which the kubelet keeps the end, the first kept line cut.
  await pod(
    'long-report',
    'busybox:1.36.1',
    'for i in $(seq 100); do printf "line %03d %040d\\n" "$i" 0; done >/dev/termination-log',
  );
  const done = await eventually(
    'the pod to succeed',
    async () => {
      const p = await get('long-report');
      return p.status?.phase === 'Succeeded' && p;
    },
    30_000,
  );
  const message: string = done.status.containerStatuses[0].state.terminated.message;
  expect(message).toHaveLength(4096);
  expect(message.endsWith(`line 100 ${'0'.repeat(40)}\n`)).toBe(true);
  // 4096 = the last 46 bytes of line 19 and 81 whole lines (20 to 100): the kubelet's tail.ReadAtMost.
  expect(message.startsWith(` 019 ${'0'.repeat(40)}\nline 020 `)).toBe(true);
});

test('the root file system is read-only when the pod asks for it; volumes stay writable', async () => {
  await pod('readonly', 'busybox:1.36.1', 'touch /oops 2>/dev/null && exit 9; echo ok > /notes/ro', {
    securityContext: { readOnlyRootFilesystem: true },
  });
  await eventually('the pod to succeed', async () => (await get('readonly')).status?.phase === 'Succeeded', 30_000);
  expect(readFileSync(`${kubelet.claimFolder(ns, 'notes')}/ro`, 'utf8')).toBe('ok\n');
});

test('an image it does not have: ErrImagePull with the reason, never run', async () => {
  await pod('unknown', 'docker.io/library/postgres:16', 'exit 0');
  const waiting = await eventually(
    'ErrImagePull',
    async () => (await get('unknown')).status?.containerStatuses?.[0]?.state?.waiting,
    30_000,
  );
  expect(waiting).toEqual({
    reason: 'ErrImagePull',
    message: expect.stringContaining('not an image the test kubelet has'),
  });
  expect((await get('unknown')).status.phase).toBe('Pending');
});

test('a missing Secret: CreateContainerConfigError naming it', async () => {
  await pod('nosecret', 'busybox:1.36.1', 'exit 0', { envFrom: [{ secretRef: { name: 'absent' } }] });
  const waiting = await eventually(
    'CreateContainerConfigError',
    async () => (await get('nosecret')).status?.containerStatuses?.[0]?.state?.waiting,
    30_000,
  );
  expect(waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "absent" not found' });
});

test('a container that ends while the API server is away: its end is reported once it is back', async () => {
  // A kubelet of its own whose API server goes away on demand: every request fails as a refused connection would.
  let away = false;
  const gone = () => Promise.reject(new Error('connect ECONNREFUSED (the API server is away)'));
  const flaky: Client = {
    server: admin.server,
    request: (...args) => (away ? gone() : admin.request(...args)),
    ok: (...args) => (away ? gone() : admin.ok(...args)),
    watch: (path, onData, onEnd) => {
      if (!away) return admin.watch(path, onData, onEnd);
      setImmediate(onEnd);
      return { close: () => undefined };
    },
  };
  const own = await spaces.create();
  const alone = await new TestKubelet({ api: flaky, namespaces: () => [own] }).start();
  try {
    await admin.ok('POST', `/api/v1/namespaces/${own}/persistentvolumeclaims`, {
      metadata: { name: 'notes' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await admin.ok('POST', `/api/v1/namespaces/${own}/pods`, {
      metadata: { name: 'outage' },
      spec: {
        restartPolicy: 'Never',
        securityContext: { runAsUser: 65532, runAsGroup: 65532 },
        // Ends when the test says so (a file appears), so that it ends while the API server is away.
        containers: [
          {
            name: 'c',
            image: 'busybox:1.36.1',
            command: ['sh', '-c', 'until [ -e /notes/go ]; do sleep 0.1; done'],
            volumeMounts: [{ name: 'notes', mountPath: '/notes' }],
          },
        ],
        volumes: [{ name: 'notes', persistentVolumeClaim: { claimName: 'notes' } }],
      },
    });
    const path = `/api/v1/namespaces/${own}/pods/outage`;
    await eventually('the pod to run', async () => (await admin.ok('GET', path)).status?.phase === 'Running', 30_000);
    away = true;
    expect(alone.describe()).toMatch(/outage running/);
    writeFileSync(`${alone.claimFolder(own, 'notes')}/go`, '');
    await eventually(
      'the end reported in vain',
      async () => /reporting the end of outage/.test(alone.describe()),
      30_000,
    );
    away = false;
    const done = await eventually(
      'the pod to succeed once the API server is back',
      async () => {
        const p = await admin.ok('GET', path);
        return p.status?.phase === 'Succeeded' && p;
      },
      30_000,
      () => alone.describe(),
    );
    expect(done.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  } finally {
    await alone.stop();
  }
});

test('an answer cut off mid-body (the API server killed mid-answer): the kubelet goes on', async () => {
  // The kubelet's first list of pods goes through a proxy that cuts the API server's answer off after its headers.
  const proxy = await new FaultProxy(kubeconfigPath()).start();
  // Stopped whatever fails below: the proxy from here on, the kubelet once started.
  let alone: TestKubelet | undefined;
  try {
    const cut = proxy.rule({ name: 'cut the answer', verb: 'GET', path: /\/pods$/, cut: true, times: 1 });
    const through = client({ kubeconfig: proxy.kubeconfig('any-token') });
    // Bounded: a request that never settles is the failure, and says so.
    const outcome = await Promise.race([
      through.request('GET', '/api/v1/namespaces/default/pods').then(
        (r) => `answered ${r.status}`,
        (e: Error) => e.message,
      ),
      new Promise<string>((done) => setTimeout(done, 10_000, 'still pending after 10 s')),
    ]);
    expect(outcome).toMatch(/cut off/);
    const cutList = proxy.rule({ name: 'cut the list', verb: 'GET', path: /\/pods$/, cut: true, times: 1 });
    let first = true;
    const api: Client = {
      ...admin,
      request: (method, path, ...rest) => {
        if (first && method === 'GET' && path.endsWith('/pods')) {
          first = false;
          return through.request(method, path, ...rest);
        }
        return admin.request(method, path, ...rest);
      },
    };
    const own = await spaces.create();
    const kubelet = await new TestKubelet({ api, namespaces: () => [own] }).start();
    alone = kubelet;
    await eventually('the cut list to fail a pass', async () => /cut off/.test(kubelet.describe()), 30_000);
    await admin.ok('POST', `/api/v1/namespaces/${own}/pods`, {
      metadata: { name: 'after-cut' },
      spec: {
        restartPolicy: 'Never',
        securityContext: { runAsUser: 65532, runAsGroup: 65532 },
        containers: [{ name: 'c', image: 'busybox:1.36.1', command: ['sh', '-c', 'exit 0'] }],
      },
    });
    await eventually(
      'the pod after the cut to succeed',
      async () => (await admin.ok('GET', `/api/v1/namespaces/${own}/pods/after-cut`)).status?.phase === 'Succeeded',
      30_000,
      () => kubelet.describe(),
    );
    expect([cut.hits, cutList.hits]).toEqual([1, 1]);
  } finally {
    try {
      await alone?.stop();
    } finally {
      await proxy.stop();
    }
  }
});
