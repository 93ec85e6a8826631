import { Duration, JsonPatch, Size } from 'cdk8s';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { AuditConfigError } from '../../../src/backends/errors';
import { KubeadmApiVersion, kubeadmClusterConfiguration, renderKubeadmClusterConfiguration } from '../../../src/control-plane/kubeadm';
import { kindCluster, renderKindCluster } from '../../../src/control-plane/kind';
import { JsonPatchOperation, staticPodPatch } from '../../../src/control-plane/static-pod';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

const audit = (kubernetesVersion: string, webhook = true) =>
  new ApiserverAudit({ kubernetesVersion: KubernetesVersion.of(kubernetesVersion), log: { maxAge: Duration.days(30), maxBackups: 10, maxSize: Size.mebibytes(100) }, ...(webhook ? { webhook: {} } : {}) });

const VOLUMES = [
  { name: 'audit-policy', hostPath: '/etc/kubernetes/audit', mountPath: '/etc/kubernetes/audit', readOnly: true, pathType: 'Directory' },
  { name: 'audit-log', hostPath: '/var/log/kubernetes/audit', mountPath: '/var/log/kubernetes/audit', readOnly: false, pathType: 'DirectoryOrCreate' },
  { name: 'audit-webhook', hostPath: '/etc/kubernetes/audit-webhook', mountPath: '/etc/kubernetes/audit-webhook', readOnly: true, pathType: 'Directory' },
];

function expectProblem(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AuditConfigError);
    expect((e as AuditConfigError).problems.some((p) => message.test(p)), (e as AuditConfigError).problems.join('\n')).toBe(true);
    return;
  }
  throw new Error('expected an AuditConfigError');
}

describe('kubeadm ClusterConfiguration', () => {
  it('v1beta4 (default from 1.31): extraArgs is a list of {name, value}; volumes are directories', () => {
    const doc = parse(renderKubeadmClusterConfiguration(audit('1.37.2')));
    expect(doc).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      kubernetesVersion: 'v1.37.2',
      apiServer: {
        extraArgs: [
          { name: 'audit-policy-file', value: '/etc/kubernetes/audit/policy.yaml' },
          { name: 'audit-log-path', value: '/var/log/kubernetes/audit/audit.log' },
          { name: 'audit-log-maxage', value: '30' },
          { name: 'audit-log-maxbackup', value: '10' },
          { name: 'audit-log-maxsize', value: '100' },
          { name: 'audit-webhook-config-file', value: '/etc/kubernetes/audit-webhook/kubeconfig.yaml' },
        ],
        extraVolumes: VOLUMES,
      },
    });
    for (const v of doc.apiServer.extraVolumes) expect(v.hostPath).not.toMatch(/\.(ya?ml|log)$/);
  });

  it('v1beta3: extraArgs is a map of strings', () => {
    const doc = kubeadmClusterConfiguration(audit('1.35'), { apiVersion: KubeadmApiVersion.V1BETA3 });
    expect(doc.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(doc).not.toHaveProperty('kubernetesVersion');
    expect((doc.apiServer as Record<string, unknown>).extraArgs).toEqual({
      'audit-policy-file': '/etc/kubernetes/audit/policy.yaml',
      'audit-log-path': '/var/log/kubernetes/audit/audit.log',
      'audit-log-maxage': '30',
      'audit-log-maxbackup': '10',
      'audit-log-maxsize': '100',
      'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml',
    });
    // YAML keeps numbers as strings, as kubeadm's map[string]string needs.
    expect(renderKubeadmClusterConfiguration(audit('1.35'), { apiVersion: 'kubeadm.k8s.io/v1beta3' })).toMatch(/audit-log-maxage: "30"/);
  });

  it.each<[string, string, string]>([
    ['1.30', 'kubeadm.k8s.io/v1beta3', 'default for 1.30'],
    ['1.31', 'kubeadm.k8s.io/v1beta4', 'default from 1.31'],
  ])('%s defaults to %s', (version, apiVersion) => {
    expect(kubeadmClusterConfiguration(audit(version)).apiVersion).toBe(apiVersion);
  });

  it.each<[string, string, RegExp]>([
    ['1.37', 'kubeadm.k8s.io/v1beta3', /"kubeadm.k8s.io\/v1beta3" is not read by kubeadm 1.37 \(kubeadm reads it from 1.22 to 1.36\); use kubeadm.k8s.io\/v1beta4/],
    ['1.30', 'kubeadm.k8s.io/v1beta4', /"kubeadm.k8s.io\/v1beta4" is not read by kubeadm 1.30 \(kubeadm reads it from 1.31 on\); use kubeadm.k8s.io\/v1beta3/],
    ['1.35', 'kubeadm.k8s.io/v1', /is not a kubeadm API version cdk8s-audit renders/],
  ])('refuses %s with %s', (version, apiVersion, message) => {
    expectProblem(() => kubeadmClusterConfiguration(audit(version), { apiVersion }), message);
  });
});

describe('kind Cluster', () => {
  const dirs = { hostPolicyDir: '/home/me/audit/policy', hostWebhookDir: '/home/me/audit/webhook', hostLogDir: '/home/me/audit/logs' };

  it('1.36 on: a v1beta4 patch on the control-plane node, extraMounts of directories', () => {
    const doc = parse(renderKindCluster(audit('1.36.1'), { ...dirs, nodeImage: 'kindest/node:v1.36.1', workers: 1 }));
    expect(doc.kind).toBe('Cluster');
    expect(doc.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(doc.nodes).toHaveLength(2);
    const [cp, worker] = doc.nodes;
    expect(worker).toEqual({ role: 'worker', image: 'kindest/node:v1.36.1' });
    expect(cp.role).toBe('control-plane');
    expect(cp.image).toBe('kindest/node:v1.36.1');
    expect(cp.extraMounts).toEqual([
      { hostPath: '/home/me/audit/policy', containerPath: '/etc/kubernetes/audit', readOnly: true },
      { hostPath: '/home/me/audit/logs', containerPath: '/var/log/kubernetes/audit' },
      { hostPath: '/home/me/audit/webhook', containerPath: '/etc/kubernetes/audit-webhook', readOnly: true },
    ]);
    expect(cp.kubeadmConfigPatches).toHaveLength(1);
    const patch = parse(cp.kubeadmConfigPatches[0]);
    expect(patch.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
    expect(patch.kind).toBe('ClusterConfiguration');
    expect(patch.apiServer.extraArgs).toContainEqual({ name: 'audit-log-maxage', value: '30' });
    expect(patch.apiServer.extraVolumes).toEqual(VOLUMES);
  });

  it('before 1.36: a v1beta3 patch with an extraArgs map; logs may stay in the node', () => {
    const cp = (kindCluster(audit('1.35', false), { hostPolicyDir: '/abs/policy' }).nodes as Record<string, unknown>[])[0];
    expect(cp.extraMounts).toEqual([{ hostPath: '/abs/policy', containerPath: '/etc/kubernetes/audit', readOnly: true }]);
    const patch = parse((cp.kubeadmConfigPatches as string[])[0]);
    expect(patch.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(patch.apiServer.extraArgs['audit-log-path']).toBe('/var/log/kubernetes/audit/audit.log');
  });

  it.each<[string, () => unknown, RegExp]>([
    ['working directory as host dir', () => kindCluster(audit('1.36'), { ...dirs, hostPolicyDir: '.' }), /^hostPolicyDir: "\." would mount the whole working directory/],
    ['webhook without host dir', () => kindCluster(audit('1.36'), { hostPolicyDir: '/p' }), /^hostWebhookDir: \(unset\) while a webhook backend is configured/],
    ['host webhook dir without webhook', () => kindCluster(audit('1.36', false), { ...dirs }), /^hostWebhookDir: set but no webhook backend/],
    ['bad worker count', () => kindCluster(audit('1.36'), { ...dirs, workers: -1 }), /^workers: -1 is not a count/],
    ['webhook files and dir both', () => kindCluster(audit('1.36'), { ...dirs, webhookFiles: [] }), /^hostWebhookDir\/webhookFiles: both set/],
    ['a webhook file outside the webhook directory', () => kindCluster(audit('1.36'), { hostPolicyDir: '/p', webhookFiles: [{ hostPath: 'secrets/ca.crt', nodePath: '/etc/kubernetes/pki/ca.crt' }] }),
      /^webhookFiles\[0\]\.nodePath: "\/etc\/kubernetes\/pki\/ca\.crt" is not in the webhook directory \/etc\/kubernetes\/audit-webhook/],
    ['webhook files without webhook', () => kindCluster(audit('1.36', false), { hostPolicyDir: '/p', webhookFiles: [] }), /^webhookFiles: set but no webhook backend/],
  ])('refuses %s', (_n, fn, message) => expectProblem(fn, message));

  it('webhookFiles: the webhook directory of the node from single host files (kubeconfig from dist/, keys from the secrets directory)', () => {
    const webhookFiles = [
      { hostPath: 'dist/node/rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml', nodePath: '/etc/kubernetes/audit-webhook/kubeconfig.yaml' },
      { hostPath: '.cdk8s-audit/secrets/ca.crt', nodePath: '/etc/kubernetes/audit-webhook/ca.crt' },
    ];
    const cp = (kindCluster(audit('1.36'), { hostPolicyDir: 'dist/node/rootfs/etc/kubernetes/audit', hostLogDir: '/logs', webhookFiles }).nodes as Record<string, unknown>[])[0];
    expect((cp.extraMounts as { containerPath: string }[]).filter((m) => m.containerPath.startsWith('/etc/kubernetes/audit-webhook'))).toEqual(
      webhookFiles.map((f) => ({ hostPath: f.hostPath, containerPath: f.nodePath, readOnly: true })),
    );
    // The apiserver pod still mounts the directory (read-only), which now holds those files.
    expect(parse((cp.kubeadmConfigPatches as string[])[0]).apiServer.extraVolumes).toEqual(VOLUMES);
  });
});

describe('static pod JSON patch', () => {
  const manifest = () => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kube-apiserver', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'kube-apiserver',
          command: ['kube-apiserver', '--advertise-address=10.0.0.1', '--audit-log-maxage=7', '--secure-port=6443'],
          volumeMounts: [{ name: 'k8s-certs', mountPath: '/etc/kubernetes/pki', readOnly: true }],
        },
      ],
      volumes: [
        { name: 'k8s-certs', hostPath: { path: '/etc/kubernetes/pki', type: 'DirectoryOrCreate' } },
        { name: 'audit-log', hostPath: { path: '/old/place', type: 'DirectoryOrCreate' } },
      ],
    },
  });

  function apply(doc: unknown, ops: JsonPatchOperation[]): any {
    return JsonPatch.apply(doc, ...ops.map((o) => (o.op === 'remove' ? JsonPatch.remove(o.path) : o.op === 'test' ? JsonPatch.test(o.path, o.value) : o.op === 'add' ? JsonPatch.add(o.path, o.value) : JsonPatch.replace(o.path, o.value))));
  }

  it('append-only without the manifest, guarded by a test of the container name', () => {
    const ops = staticPodPatch(audit('1.36', false));
    expect(ops[0]).toEqual({ op: 'test', path: '/spec/containers/0/name', value: 'kube-apiserver' });
    expect(ops.filter((o) => o.path === '/spec/containers/0/command/-').map((o) => (o as { value: string }).value)).toEqual(audit('1.36', false).commandLine());
    const pod = apply({ spec: { containers: [{ name: 'kube-apiserver', command: ['kube-apiserver'], volumeMounts: [] }], volumes: [] } }, ops);
    expect(pod.spec.containers[0].volumeMounts).toEqual([
      { name: 'audit-policy', mountPath: '/etc/kubernetes/audit', readOnly: true },
      { name: 'audit-log', mountPath: '/var/log/kubernetes/audit', readOnly: false },
    ]);
    expect(pod.spec.volumes).toEqual([
      { name: 'audit-policy', hostPath: { path: '/etc/kubernetes/audit', type: 'Directory' } },
      { name: 'audit-log', hostPath: { path: '/var/log/kubernetes/audit', type: 'DirectoryOrCreate' } },
    ]);
    expect(() => apply({ spec: { containers: [{ name: 'etcd', command: [], volumeMounts: [] }], volumes: [] } }, ops)).toThrow();
  });

  it('with the manifest: replaces existing flags and volumes, appends the rest, and is idempotent', () => {
    const a = audit('1.36');
    const once = apply(manifest(), staticPodPatch(a, { manifest: manifest() }));
    const command: string[] = once.spec.containers[0].command;
    expect(command.slice(0, 4)).toEqual(['kube-apiserver', '--advertise-address=10.0.0.1', '--audit-log-maxage=30', '--secure-port=6443']);
    expect(command.filter((c) => c.startsWith('--audit-'))).toHaveLength(a.commandLine().length);
    expect(once.spec.volumes.map((v: { name: string }) => v.name)).toEqual(['k8s-certs', 'audit-log', 'audit-policy', 'audit-webhook']);
    expect(once.spec.volumes[1]).toEqual({ name: 'audit-log', hostPath: { path: '/var/log/kubernetes/audit', type: 'DirectoryOrCreate' } });
    const twice = apply(once, staticPodPatch(a, { manifest: once }));
    expect(twice).toEqual(once);
  });

  it('refuses a manifest without a kube-apiserver container', () => {
    expectProblem(() => staticPodPatch(audit('1.36'), { manifest: { spec: { containers: [{ name: 'etcd' }] } } }), /^manifest: has no container named "kube-apiserver"/);
  });
});
