/**
 * The control planes that cannot run here (k3s, RKE2, Talos, kops, EKS Anywhere, OpenShift), pinned to
 * their upstream definitions. Each table names the upstream file and version its field names and types
 * were read from; a renamed or retyped field upstream means updating both the table and the renderer.
 * Cluster API is proven on a real apiserver (test/e2e/cluster-api.test.ts); here only its pure parts.
 */
import { App, Chart } from 'cdk8s';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { AuditConfigError } from '../../../src/backends/errors';
import { ClusterApiVersion, kubeadmControlPlaneAudit } from '../../../src/control-plane/cluster-api';
import { eksAnywhereAudit } from '../../../src/control-plane/eks-anywhere';
import { k3sAuditConfig, rke2AuditConfig } from '../../../src/control-plane/k3s-rke2';
import { KOPS_AUDIT_FIELDS, kopsAuditSpec } from '../../../src/control-plane/kops';
import { OpenShiftAuditProfile, openShiftAudit } from '../../../src/control-plane/openshift';
import { talosAuditPolicyDocument, talosMachineConfigPatch } from '../../../src/control-plane/talos';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { allControlPlanes, ClusterAudit, ClusterAuditControlPlanes } from '../../../src/gitops';
import { Preset } from '../../../src/presets/preset-names';
import { PolicyDocument } from '../../../src/policy/model';
import { validatePolicy } from '../../../src/policy/validate';

const audit = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxbackup': 10, 'audit-log-maxsize': 100, 'audit-log-compress': true, 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml' }, { kubernetesVersion: KubernetesVersion.V1_37 });
const args = () => audit.args();
const policy: PolicyDocument = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata' }] } as PolicyDocument;
const KUBECONFIG = { nodePath: '/etc/kubernetes/audit-webhook/kubeconfig.yaml', content: 'apiVersion: v1\nkind: Config\n', mode: 0o600 };
const POLICY_FILE = { nodePath: '/etc/kubernetes/audit/policy.yaml', content: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n' };

describe('k3s and RKE2 config drop-ins', () => {
  // k3s-io/k3s pkg/configfilearg/parser.go @ f646604: files of `<config>.d/*.yaml` are read after the
  // config file; a key ending in `+` appends to the list; each list item becomes `--key=item`.
  it('k3s: every audit flag under kube-apiserver-arg+ as name=value, nothing else', () => {
    expect(k3sAuditConfig(audit)).toEqual({ 'kube-apiserver-arg+': args().map((a) => `${a.name}=${a.value}`) });
  });

  // rancher/rke2 pkg/cli/cmds/root.go @ 6ce1a80 (v1.35.0+rke2r1-388): `audit-policy-file` is a string flag;
  // pkg/podtemplate/podtemplate.go addExtraMounts: `src:dst[:ro|rw]`; pkg/executor/staticpod/staticpod.go
  // mounts the directory of --audit-log-path itself.
  it('RKE2: audit-policy-file as its own key, the other flags appended, the webhook directory mounted read-only', () => {
    const c = rke2AuditConfig(audit) as Record<string, string[] | string>;
    expect(Object.keys(c)).toEqual(['audit-policy-file', 'kube-apiserver-arg+', 'kube-apiserver-extra-mount+']);
    expect(c['audit-policy-file']).toBe(audit.policyFile);
    expect(c['kube-apiserver-arg+']).toEqual(args().filter((a) => a.name !== 'audit-policy-file').map((a) => `${a.name}=${a.value}`));
    expect(c['kube-apiserver-extra-mount+']).toEqual(['/etc/kubernetes/audit-webhook:/etc/kubernetes/audit-webhook:ro']);
    for (const m of c['kube-apiserver-extra-mount+']) {
      const parts = m.split(':');
      expect(parts).toHaveLength(3);
      expect(['ro', 'rw']).toContain(parts[2]);
    }
    const logOnly = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxbackup': 10, 'audit-log-maxsize': 100 }, { kubernetesVersion: KubernetesVersion.V1_37 });
    expect(rke2AuditConfig(logOnly)).not.toHaveProperty('kube-apiserver-extra-mount+');
  });
});

describe('Talos', () => {
  // siderolabs/talos pkg/machinery/config/types/k8s/audit_policy.go @ 11a7fbe and its testdata/auditpolicyconfig.yaml.
  it('KubeAuditPolicyConfig: apiVersion v1alpha1, configuration is the policy the apiserver loads', () => {
    const doc = talosAuditPolicyDocument(policy);
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'configuration']);
    expect(doc).toMatchObject({ apiVersion: 'v1alpha1', kind: 'KubeAuditPolicyConfig' });
    expect(validatePolicy(doc.configuration)).toEqual([]);
  });

  // pkg/machinery/config/types/v1alpha1/v1alpha1_types.go: APIServerConfig.extraArgs map[string]string,
  // extraVolumes []VolumeMountConfig{hostPath, mountPath, readonly}; MachineFile{content, permissions (integer), path, op}.
  const VOLUME_KEYS = ['hostPath', 'mountPath', 'readonly'];
  const FILE_KEYS = ['content', 'permissions', 'path', 'op'];
  it('machine-config patch: extraArgs strings without the policy file, volumes and files under /var, fields as upstream spells them', () => {
    const patch = talosMachineConfigPatch(audit, [POLICY_FILE, KUBECONFIG]) as any;
    const extraArgs = patch.cluster.apiServer.extraArgs as Record<string, unknown>;
    expect(extraArgs).toEqual(Object.fromEntries(args().filter((a) => a.name !== 'audit-policy-file').map((a) => [a.name, a.value])));
    for (const v of Object.values(extraArgs)) expect(typeof v).toBe('string');
    for (const v of patch.cluster.apiServer.extraVolumes) {
      for (const k of Object.keys(v)) expect(VOLUME_KEYS).toContain(k);
      expect(v.hostPath).toMatch(/^\/var\//);
    }
    expect(patch.cluster.apiServer.extraVolumes).toEqual([
      { hostPath: '/var/log/kubernetes/audit', mountPath: '/var/log/kubernetes/audit' },
      { hostPath: '/var/etc/kubernetes/audit-webhook', mountPath: '/etc/kubernetes/audit-webhook', readonly: true },
    ]);
    expect(patch.machine.files).toEqual([{ content: KUBECONFIG.content, permissions: 0o600, path: '/var/etc/kubernetes/audit-webhook/kubeconfig.yaml', op: 'create' }]);
    for (const f of patch.machine.files) for (const k of Object.keys(f)) expect(FILE_KEYS).toContain(k);
  });
});

describe('kops', () => {
  // kubernetes/kops pkg/apis/kops/v1alpha2/componentconfig.go @ 268927e (v1.37.0-alpha.1-280), KubeAPIServerConfig:
  // every audit field with its flag tag, and its Go type.
  const UPSTREAM: Record<string, [string, 'string' | 'number' | 'boolean']> = {
    'audit-log-format': ['auditLogFormat', 'string'],
    'audit-log-path': ['auditLogPath', 'string'],
    'audit-log-maxage': ['auditLogMaxAge', 'number'],
    'audit-log-maxbackup': ['auditLogMaxBackups', 'number'],
    'audit-log-maxsize': ['auditLogMaxSize', 'number'],
    'audit-policy-file': ['auditPolicyFile', 'string'],
    'audit-webhook-batch-buffer-size': ['auditWebhookBatchBufferSize', 'number'],
    'audit-webhook-batch-max-size': ['auditWebhookBatchMaxSize', 'number'],
    'audit-webhook-batch-max-wait': ['auditWebhookBatchMaxWait', 'string'],
    'audit-webhook-batch-throttle-burst': ['auditWebhookBatchThrottleBurst', 'number'],
    'audit-webhook-batch-throttle-enable': ['auditWebhookBatchThrottleEnable', 'boolean'],
    'audit-webhook-batch-throttle-qps': ['auditWebhookBatchThrottleQps', 'string'],
    'audit-webhook-config-file': ['auditWebhookConfigFile', 'string'],
    'audit-webhook-initial-backoff': ['auditWebhookInitialBackoff', 'string'],
    'audit-webhook-mode': ['auditWebhookMode', 'string'],
  };
  // cluster.go FileAssetSpec{name, path, roles, content, isBase64, mode}; instancegroup.go InstanceGroupRoleControlPlane = "ControlPlane".
  const FILE_ASSET_KEYS = ['name', 'path', 'roles', 'content', 'isBase64', 'mode'];

  it('the field table is upstream\'s', () => {
    expect(KOPS_AUDIT_FIELDS).toEqual(Object.fromEntries(Object.entries(UPSTREAM).map(([f, [field]]) => [f, field])));
  });

  it('kubeAPIServer fields with upstream types; flags without a field are listed; files in the policy directory', () => {
    const busy = ApiserverAudit.fromFlags(
      { 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxbackup': 10, 'audit-log-maxsize': 100, 'audit-log-compress': true, 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml', 'audit-webhook-mode': 'batch', 'audit-webhook-batch-throttle-enable': true, 'audit-webhook-batch-throttle-qps': 0.5, 'audit-webhook-batch-throttle-burst': 3 },
      { kubernetesVersion: KubernetesVersion.V1_37 },
    );
    const k = kopsAuditSpec(busy, [POLICY_FILE, KUBECONFIG], ['/etc/kubernetes/audit-webhook/ca.crt']);
    const api = k.spec.kubeAPIServer as Record<string, unknown>;
    const fieldToFlag = Object.fromEntries(Object.entries(UPSTREAM).map(([f, [field, type]]) => [field, { f, type }]));
    for (const [field, value] of Object.entries(api)) {
      expect(fieldToFlag[field], field).toBeDefined();
      expect(typeof value, field).toBe(fieldToFlag[field].type);
    }
    expect(api.auditWebhookConfigFile).toBe('/etc/kubernetes/audit/webhook/kubeconfig.yaml');
    expect(k.movedFiles).toEqual({ '/etc/kubernetes/audit-webhook/ca.crt': '/etc/kubernetes/audit/webhook/ca.crt' });
    const mapped = new Set(Object.keys(UPSTREAM));
    expect(k.notExpressible).toEqual(busy.args().filter((a) => !mapped.has(a.name)).map((a) => `--${a.name}=${a.value}`));
    expect(k.notExpressible).toContain('--audit-log-compress=true');
    const assets = k.spec.fileAssets as Record<string, unknown>[];
    for (const a of assets) {
      for (const key of Object.keys(a)) expect(FILE_ASSET_KEYS).toContain(key);
      expect(a.roles).toEqual(['ControlPlane']);
      expect(String(a.path).startsWith('/etc/kubernetes/audit/')).toBe(true);
    }
    expect(assets.map((a) => a.mode)).toEqual([undefined, '0600']);
  });
});

describe('EKS Anywhere', () => {
  // aws/eks-anywhere pkg/api/v1alpha1/cluster_types.go @ aebd9a0: ControlPlaneConfiguration.auditPolicyContent
  // (string), apiServerExtraArgs (map[string]string); no field for files or volumes.
  it('auditPolicyContent is the policy text; log flags as string extra args; webhook flags listed as not expressible', () => {
    const e = eksAnywhereAudit(audit, POLICY_FILE.content);
    const cp = (e.cluster as any).spec.controlPlaneConfiguration;
    expect(Object.keys(cp)).toEqual(['auditPolicyContent', 'apiServerExtraArgs']);
    expect(cp.auditPolicyContent).toBe(POLICY_FILE.content);
    expect(cp.apiServerExtraArgs).not.toHaveProperty('audit-policy-file');
    for (const v of Object.values(cp.apiServerExtraArgs)) expect(typeof v).toBe('string');
    expect(Object.keys(cp.apiServerExtraArgs).every((n) => n.startsWith('audit-log-'))).toBe(true);
    expect(e.notExpressible.length).toBe(args().filter((a) => a.name.startsWith('audit-webhook-')).length);
    const elsewhere = ApiserverAudit.fromFlags({ 'audit-log-path': '/srv/audit/audit.log' }, { kubernetesVersion: KubernetesVersion.V1_37 });
    expect(eksAnywhereAudit(elsewhere, '').notExpressible).toEqual(['--audit-log-path=/srv/audit/audit.log (only /var/log/kubernetes is mounted; EKS Anywhere\'s own path is kept)']);
  });
});

describe('OpenShift', () => {
  // openshift/api config/v1/types_apiserver.go @ 738bd79: spec.audit.profile enum and customRules[{group, profile}].
  const ENUM = ['Default', 'WriteRequestBodies', 'AllRequestBodies', 'None'];
  const rules = (...r: object[]) => ({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: r }) as PolicyDocument;
  it.each([
    ['RequestResponse for everything', OpenShiftAuditProfile.ALL_REQUEST_BODIES, rules({ level: 'RequestResponse' })],
    ['bodies of writes only', OpenShiftAuditProfile.WRITE_REQUEST_BODIES, rules({ level: 'RequestResponse', verbs: ['create', 'update', 'patch', 'delete'] }, { level: 'Metadata' })],
    ['metadata only', OpenShiftAuditProfile.DEFAULT, rules({ level: 'Metadata' })],
    ['nothing', OpenShiftAuditProfile.NONE, rules({ level: 'None' })],
  ])('%s → %s, with what it cannot express', (_, profile, p) => {
    const o = openShiftAudit(audit, p);
    expect(ENUM).toContain(o.profile);
    expect(o.profile).toBe(profile);
    expect(o.apiServer).toEqual({ apiVersion: 'config.openshift.io/v1', kind: 'APIServer', metadata: { name: 'cluster' }, spec: { audit: { profile } } });
    expect(o.notExpressible[0]).toMatch(/^the policy's \d+ rules: one profile applies to every resource/);
    expect(o.notExpressible.some((n) => n.startsWith('--audit-webhook-config-file='))).toBe(true);
  });
});

describe('Cluster API (pure parts)', () => {
  const opts = { name: 'demo', files: [POLICY_FILE, KUBECONFIG] };
  it('the Secret name follows the content: a changed policy is a new name (and so a rollout), the same policy the same name', () => {
    const a = kubeadmControlPlaneAudit(audit, opts).secrets[0] as any;
    const b = kubeadmControlPlaneAudit(audit, opts).secrets[0] as any;
    const c = kubeadmControlPlaneAudit(audit, { ...opts, files: [{ ...POLICY_FILE, content: POLICY_FILE.content + '- level: None\n' }, KUBECONFIG] }).secrets[0] as any;
    expect(a.metadata.name).toBe(b.metadata.name);
    expect(c.metadata.name).not.toBe(a.metadata.name);
  });
  it.each([
    [ClusterApiVersion.V1BETA2, { rollout: { after: '2026-01-01T00:00:00Z' } }],
    [ClusterApiVersion.V1BETA1, { rolloutAfter: '2026-01-01T00:00:00Z' }],
  ])('%s: rolloutAfter goes where that version has it', (apiVersion, expected) => {
    const kcp = kubeadmControlPlaneAudit(audit, { ...opts, apiVersion, rolloutAfter: '2026-01-01T00:00:00Z' }).kubeadmControlPlane as any;
    expect(kcp.spec).toMatchObject(expected);
  });
  it.each([
    ['an invalid name', { ...opts, name: 'Demo_CP' }, /^name: "Demo_CP" is not a Kubernetes object name/],
    ['a rolloutAfter that is no time', { ...opts, rolloutAfter: 'next tuesday' }, /^rolloutAfter: "next tuesday" is not an RFC 3339 time/],
    ['two files of the same name', { ...opts, files: [POLICY_FILE, { ...POLICY_FILE, nodePath: '/etc/other/policy.yaml' }] }, /have the same file name policy.yaml/],
  ])('refuses %s', (_, o, message) => {
    expect(() => kubeadmControlPlaneAudit(audit, o)).toThrow(AuditConfigError);
    try {
      kubeadmControlPlaneAudit(audit, o);
    } catch (e) {
      expect((e as AuditConfigError).problems.some((p) => message.test(p)), (e as AuditConfigError).problems.join('\n')).toBe(true);
    }
  });
});

describe('ClusterAudit controlPlanes', () => {
  const synth = (controlPlanes?: ClusterAuditControlPlanes) => {
    const app = new App();
    const a = new ClusterAudit(new Chart(app, 'c'), 'audit', {
      kubernetesVersion: KubernetesVersion.V1_37,
      presets: [Preset.CIS],
      webhook: { kubeconfig: { server: 'https://10.96.0.50:8443/audit', certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'apiserver-client.crt', clientKeyFile: 'apiserver-client.key' }, externalSink: true },
      controlPlanes,
    });
    return a;
  };
  const EXTRA = [
    'cluster-api/kubeadm-control-plane.v1beta2.yaml',
    'cluster-api/secrets.yaml',
    'cluster-api/kubeadm-control-plane.v1beta1.yaml',
    'k3s/config.yaml.d/50-cdk8s-audit.yaml',
    'rke2/config.yaml.d/50-cdk8s-audit.yaml',
    'talos/audit-policy.yaml',
    'talos/machine-patch.yaml',
    'kops/cluster-spec.yaml',
    'eks-anywhere/cluster.yaml',
    'openshift/apiserver.yaml',
  ];
  it('without the prop: the node files are the kubeadm, kind and static-pod ones only', () => {
    const paths = synth().nodeFiles().map((f) => f.path);
    for (const p of EXTRA) expect(paths).not.toContain(p);
  });
  it('with every target: one file each, listed with its purpose in files.yaml, each parses as YAML', () => {
    const a = synth(allControlPlanes({ name: 'demo-control-plane' }));
    const files = a.nodeFiles();
    expect(files.map((f) => f.path).filter((p) => EXTRA.includes(p)).sort()).toEqual([...EXTRA].sort());
    const manifest = parse(a.manifest('dist/node'));
    for (const p of EXTRA) expect(manifest.files.find((f: { file: string }) => f.file === `dist/node/${p}`)?.description?.length, p).toBeGreaterThan(40);
    for (const f of files.filter((x) => EXTRA.includes(x.path))) {
      const docs = parseAllDocuments(f.content as string);
      for (const d of docs) expect(d.errors, f.path).toEqual([]);
    }
  });
});
