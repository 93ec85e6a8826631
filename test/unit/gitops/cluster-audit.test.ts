import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Chart, Duration, Size } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AuditPolicy, AuditRule, ClusterAudit, Level, parsePolicy, validatePolicy, writeNodeFiles } from '../../../src';
import { testApp } from '../support/temp-dir';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

// The sink is not part of these apps (webhook-receivers.test.ts covers the agreement with one).
const webhook = { kubeconfig: { server: 'https://10.96.0.50:8443/audit', certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'client.crt', clientKeyFile: 'client.key' }, externalSink: true };

describe('ClusterAudit + writeNodeFiles (GitOps layout)', () => {
  it('writes manifests and node files apart, with a manifest of where each file goes', () => {
    const a = testApp();
    new ClusterAudit(new Chart(a, 'c'), 'audit', { presets: [Preset.CIS], webhook, kubernetesVersion: KubernetesVersion.V1_35 });
    a.synth();
    // kind runs from the synth output here, so the secrets directory is given outside it.
    const written = writeNodeFiles(a, { cwd: a.outdir, secretsDir: '../.cdk8s-audit/secrets' });
    const node = join(a.outdir, 'node');
    expect(written).toContain(join(node, 'rootfs/etc/kubernetes/audit/policy.yaml'));
    const policy = parsePolicy(readFileSync(join(node, 'rootfs/etc/kubernetes/audit/policy.yaml'), 'utf8'));
    expect(validatePolicy(policy, { kubernetesVersion: '1.35' })).toEqual([]);
    const kubeconfigPath = join(node, 'rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml');
    expect(statSync(kubeconfigPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(kubeconfigPath, 'utf8')).not.toMatch(/client-key-data/);
    const files = parse(readFileSync(join(node, 'files.yaml'), 'utf8'));
    expect(files.provisionSeparately.map((f: { nodePath: string; secretsFile: string }) => [f.nodePath, f.secretsFile])).toEqual([
      ['/etc/kubernetes/audit-webhook/ca.crt', '../.cdk8s-audit/secrets/ca.crt'],
      ['/etc/kubernetes/audit-webhook/client.crt', '../.cdk8s-audit/secrets/client.crt'],
      ['/etc/kubernetes/audit-webhook/client.key', '../.cdk8s-audit/secrets/client.key'],
    ]);
    expect(files.secretsDir).toBe('../.cdk8s-audit/secrets');
    // kind run from inside the synth output would find the default secrets directory in it: refused.
    expect(() => writeNodeFiles(a, { cwd: a.outdir })).toThrow(/secretsDir: "\.cdk8s-audit\/secrets" is inside the synth output "."/);
    // kubeadm for 1.35 is v1beta4 with list extraArgs; the CIS flags are there.
    const kubeadm = parse(readFileSync(join(node, 'kubeadm-config.yaml'), 'utf8'));
    expect(kubeadm.apiServer.extraArgs).toContainEqual({ name: 'audit-log-maxage', value: '30' });
    // kind for 1.35 patches with v1beta3; host paths are relative to where kind runs.
    const kind = parse(readFileSync(join(node, 'kind-cluster.yaml'), 'utf8'));
    expect(kind.nodes[0].extraMounts).toContainEqual({ hostPath: 'node/rootfs/etc/kubernetes/audit', containerPath: '/etc/kubernetes/audit', readOnly: true });
    // The webhook directory of the node: the kubeconfig from the synth output, the TLS files from the gitignored
    // secrets directory, file by file — nothing secret is read from or written to the synth output.
    expect(kind.nodes[0].extraMounts.filter((m: { containerPath: string }) => m.containerPath.startsWith('/etc/kubernetes/audit-webhook'))).toEqual([
      { hostPath: 'node/rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml', containerPath: '/etc/kubernetes/audit-webhook/kubeconfig.yaml', readOnly: true },
      { hostPath: '../.cdk8s-audit/secrets/ca.crt', containerPath: '/etc/kubernetes/audit-webhook/ca.crt', readOnly: true },
      { hostPath: '../.cdk8s-audit/secrets/client.crt', containerPath: '/etc/kubernetes/audit-webhook/client.crt', readOnly: true },
      { hostPath: '../.cdk8s-audit/secrets/client.key', containerPath: '/etc/kubernetes/audit-webhook/client.key', readOnly: true },
    ]);
    expect(readdirSync(join(node, 'rootfs/etc/kubernetes/audit-webhook'))).toEqual(['kubeconfig.yaml']);
    expect(kind.nodes[0].kubeadmConfigPatches[0]).toContain('apiVersion: kubeadm.k8s.io/v1beta3');
    // The kustomization lists only cluster manifests.
    const k = parse(readFileSync(join(a.outdir, 'kustomization.yaml'), 'utf8'));
    expect(k.resources).toEqual(['c.k8s.yaml']);
    expect(existsSync(join(a.outdir, 'node', 'c.k8s.yaml'))).toBe(false);
  });

  it('the secrets directory is configurable and never inside the synth output', () => {
    const a = testApp();
    new ClusterAudit(new Chart(a, 'c'), 'audit', { presets: [Preset.CIS], webhook, kubernetesVersion: KubernetesVersion.V1_35 });
    a.synth();
    writeNodeFiles(a, { cwd: join(a.outdir, '..'), secretsDir: 'keys/webhook' });
    const kind = parse(readFileSync(join(a.outdir, 'node', 'kind-cluster.yaml'), 'utf8'));
    expect(kind.nodes[0].extraMounts).toContainEqual({ hostPath: 'keys/webhook/ca.crt', containerPath: '/etc/kubernetes/audit-webhook/ca.crt', readOnly: true });
    const out = relative(join(a.outdir, '..'), a.outdir);
    expect(() => writeNodeFiles(a, { cwd: join(a.outdir, '..'), secretsDir: `${out}/secrets` })).toThrow(/secretsDir: ".*\/secrets" is inside the synth output .*synth empties and git commits; keep keys outside it, e\.g\. \.cdk8s-audit\/secrets/);
  });

  it('accepts a policy of its own and no webhook', () => {
    const a = testApp();
    const chart = new Chart(a, 'c');
    const policy = new AuditPolicy(chart, 'p', { rules: [AuditRule.secretsAtMetadata(), AuditRule.catchAll(Level.METADATA)] });
    const audit = new ClusterAudit(chart, 'audit', { policy, log: { maxAge: Duration.days(30), maxBackups: 10, maxSize: Size.mebibytes(100) } });
    expect(audit.nodeFiles().map((f) => f.path)).not.toContain('rootfs/etc/kubernetes/audit-webhook/kubeconfig.yaml');
    expect(audit.apiserver.commandLine()).toContain('--audit-log-maxage=30');
    expect(audit.provisionedFiles).toEqual([]);
  });

  it('errors name the prop', () => {
    const chart = new Chart(testApp(), 'c');
    expect(() => new ClusterAudit(chart, 'x', { kubernetesVersion: KubernetesVersion.of('2.0') })).toThrow(/ClusterAudit x: props.kubernetesVersion "2.0"/);
    expect(() => new ClusterAudit(chart, 'y', { presets: ['nope' as Preset] })).toThrow(/unknown preset "nope"/);
    expect(() => new ClusterAudit(chart, 'z', { webhook: { kubeconfig: { server: 'https://sink.audit.svc:8443' } } })).toThrow(/ClusterAudit z: props.webhook.kubeconfig:[\s\S]*sink\.audit\.svc/);
  });

  it('one cluster, one ClusterAudit', () => {
    const a = testApp();
    const c = new Chart(a, 'c');
    new ClusterAudit(c, 'a1');
    new ClusterAudit(c, 'a2');
    a.synth();
    expect(() => writeNodeFiles(a)).toThrow(/2 ClusterAudit constructs/);
  });
});
