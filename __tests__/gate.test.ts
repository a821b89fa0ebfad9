import { gateProblems, K8sObject, rbacProblems, restrictedProblems, schemaProblems } from '../testing/k8s-rules';
import { allObjects, synthDefaultApp } from '../testing/synth';

/** The gate must catch what it claims to catch: each case breaks one rule in a known-good object. */
const objects = allObjects(synthDefaultApp());
const deployment = objects.find((o) => o.kind === 'Deployment')!;
const clusterRole = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'mall-backup-operator')!;

function mutated(obj: K8sObject, change: (copy: any) => void): K8sObject {
  const copy = structuredClone(obj);
  change(copy);
  return copy;
}
const podOf = (d: any) => d.spec.template.spec;
const containerOf = (d: any) => d.spec.template.spec.containers[0];

describe('the validation gate', () => {
  test('passes the known-good deployment', () => {
    expect(gateProblems([deployment])).toEqual([]);
  });

  test.each<[string, (d: any) => void, RegExp]>([
    [
      'an unknown field',
      (d) => {
        containerOf(d).imagePullPolicyy = 'Always';
      },
      /imagePullPolicyy: unknown field/,
    ],
    [
      'a wrong type',
      (d) => {
        d.spec.replicas = 'one';
      },
      /replicas/,
    ],
    [
      'a missing required field',
      (d) => {
        delete containerOf(d).name;
      },
      /name/,
    ],
    [
      'an unknown kind',
      (d) => {
        d.kind = 'Deploymnet';
      },
      /not a known Kubernetes 1\.28 kind/,
    ],
  ])('reports %s', (_, change, expected) => {
    expect(schemaProblems(mutated(deployment, change)).join('\n')).toMatch(expected);
  });

  test.each<[string, (d: any) => void, RegExp]>([
    [
      'privilege escalation',
      (d) => {
        containerOf(d).securityContext.allowPrivilegeEscalation = true;
      },
      /allowPrivilegeEscalation/,
    ],
    [
      'a privileged container',
      (d) => {
        containerOf(d).securityContext.privileged = true;
      },
      /privileged/,
    ],
    [
      'kept capabilities',
      (d) => {
        containerOf(d).securityContext.capabilities = { add: ['SYS_ADMIN'] };
      },
      /drop ALL[\s\S]*SYS_ADMIN/,
    ],
    [
      'root',
      (d) => {
        containerOf(d).securityContext.runAsNonRoot = false;
        podOf(d).securityContext.runAsNonRoot = false;
      },
      /runAsNonRoot/,
    ],
    [
      'user 0',
      (d) => {
        podOf(d).securityContext.runAsUser = 0;
      },
      /runAsUser is 0/,
    ],
    [
      'no seccomp profile',
      (d) => {
        delete podOf(d).securityContext.seccompProfile;
      },
      /seccompProfile is unset/,
    ],
    [
      'Unconfined seccomp',
      (d) => {
        podOf(d).securityContext.seccompProfile = { type: 'Unconfined' };
      },
      /seccompProfile is Unconfined/,
    ],
    [
      'host networking',
      (d) => {
        podOf(d).hostNetwork = true;
      },
      /hostNetwork/,
    ],
    [
      'a hostPath volume',
      (d) => {
        podOf(d).volumes.push({ name: 'h', hostPath: { path: '/' } });
      },
      /hostPath is not allowed/,
    ],
    [
      'a writable root file system',
      (d) => {
        containerOf(d).securityContext.readOnlyRootFilesystem = false;
      },
      /root file system is writable/,
    ],
    [
      'a missing memory limit',
      (d) => {
        delete containerOf(d).resources.limits.memory;
      },
      /no memory limit/,
    ],
    [
      'a hostPort',
      (d) => {
        containerOf(d).ports[0].hostPort = 80;
      },
      /hostPort/,
    ],
  ])('reports %s as a Pod Security restricted violation', (_, change, expected) => {
    const broken = mutated(deployment, change);
    expect(restrictedProblems(podOf(broken), 'Deployment').join('\n')).toMatch(expected);
  });

  test.each<[string, (r: any) => void, RegExp]>([
    [
      'a wildcard verb',
      (r) => {
        r.rules[0].verbs = ['*'];
      },
      /wildcard in verbs/,
    ],
    [
      'a wildcard resource',
      (r) => {
        r.rules[0].resources = ['*'];
      },
      /wildcard in resources/,
    ],
    [
      'Secret access',
      (r) => {
        r.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
      },
      /secrets/,
    ],
    [
      'the escalate verb',
      (r) => {
        r.rules[0].verbs.push('escalate');
      },
      /escalate/,
    ],
  ])('reports %s in RBAC', (_, change, expected) => {
    expect(rbacProblems(mutated(clusterRole, change)).join('\n')).toMatch(expected);
  });

  test('reports a namespace on a cluster-scoped object and a missing one on a namespaced object', () => {
    expect(
      gateProblems([
        mutated(clusterRole, (r) => {
          r.metadata.namespace = 'x';
        }),
      ]).join(),
    ).toMatch(/cluster-scoped object carries a namespace/);
    expect(
      gateProblems([
        mutated(deployment, (d) => {
          delete d.metadata.namespace;
        }),
      ]).join(),
    ).toMatch(/namespaced object has no namespace/);
  });
});
