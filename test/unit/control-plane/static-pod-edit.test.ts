/**
 * `editStaticPodManifest` / `cdk8s-audit static-pod apply`: applying twice yields the same manifest,
 * earlier audit settings are replaced (and reported), duplicates from the old append-only patch are
 * cleaned up, a manifest without the kube-apiserver container is refused.
 *
 * The fixture has the shape kubeadm writes (cmd/kubeadm/app/phases/controlplane/manifests.go, v1.37:
 * flags in `command`, sequences at the key's indentation); the kind suite runs the verb on a real node's
 * manifest (test/kind/static-pod.test.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonPatch } from 'cdk8s';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { AuditConfigError } from '../../../src/backends/errors';
import { KubeadmApiVersion, kubeadmClusterConfiguration } from '../../../src/control-plane/kubeadm';
import { JsonPatchOperation, staticPodPatch } from '../../../src/control-plane/static-pod';
import { editStaticPodManifest, staticPodAuditSpec, staticPodSpecFromKubeadm } from '../../../src/control-plane/static-pod-edit';
import { runCli } from '../../support/cli';

const FIXTURE = readFileSync(join(__dirname, 'fixtures', 'kube-apiserver.yaml'), 'utf8');
// Built from flag names (stable) rather than props, so a change of prop types elsewhere does not change these tests' meaning.
const audit = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxbackup': 10, 'audit-log-maxsize': 100, 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml' }, { kubernetesVersion: KubernetesVersion.V1_37 });
const spec = staticPodAuditSpec(audit);

interface Pod {
  spec: { containers: { name: string; command: string[]; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; hostPath: { path: string } }[] };
}
const pod = (text: string) => parse(text) as Pod;
const auditFlags = (text: string) => pod(text).spec.containers[0].command.filter((c) => c.startsWith('--audit-'));
const names = (items: { name: string }[]) => items.map((i) => i.name);

/** The manifest with extra items in `command` (after the first, `kube-apiserver`), volumes and mounts. */
function withExtra(command: string[], volumes: object[] = [], mounts: object[] = []): string {
  const p = parse(FIXTURE);
  p.spec.containers[0].command.splice(1, 0, ...command);
  p.spec.volumes.push(...volumes);
  p.spec.containers[0].volumeMounts.push(...mounts);
  return stringify(p, { indentSeq: false });
}

function applyJsonPatch(doc: unknown, ops: JsonPatchOperation[]): unknown {
  return JsonPatch.apply(doc, ...ops.map((o) => (o.op === 'remove' ? JsonPatch.remove(o.path) : o.op === 'test' ? JsonPatch.test(o.path, o.value) : o.op === 'add' ? JsonPatch.add(o.path, o.value) : JsonPatch.replace(o.path, o.value))));
}

describe('editStaticPodManifest', () => {
  it('first apply on a kubeadm manifest: adds the flags, volumes and mounts; everything else stays byte for byte', () => {
    const r = editStaticPodManifest(FIXTURE, spec);
    expect(r.changed).toBe(true);
    expect(r.changes.every((c) => c.action === 'added')).toBe(true);
    expect(auditFlags(r.text)).toEqual(audit.commandLine());
    const p = pod(r.text);
    expect(names(p.spec.volumes)).toEqual(['ca-certs', 'k8s-certs', 'audit-policy', 'audit-log', 'audit-webhook']);
    expect(names(p.spec.containers[0].volumeMounts)).toEqual(['ca-certs', 'k8s-certs', 'audit-policy', 'audit-log', 'audit-webhook']);
    // Only lines were added: every original line is still there, in order.
    const lines = r.text.split('\n');
    let at = 0;
    for (const l of FIXTURE.split('\n')) {
      at = lines.indexOf(l, at);
      expect(at, l).toBeGreaterThanOrEqual(0);
    }
  });

  it('applied twice: the same manifest, byte for byte, and nothing reported', () => {
    const once = editStaticPodManifest(FIXTURE, spec).text;
    const twice = editStaticPodManifest(once, spec);
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once);
    expect(twice.changes).toEqual([]);
  });

  it.each([
    {
      title: 'an older log path and a flag the new set lacks',
      command: ['--audit-log-path=/var/log/old.log', '--audit-log-maxsize=50', '--audit-log-compress'],
      expected: [
        'replaced flag --audit-log-path: --audit-log-path=/var/log/old.log -> --audit-log-path=/var/log/kubernetes/audit/audit.log',
        'replaced flag --audit-log-maxsize: --audit-log-maxsize=50 -> --audit-log-maxsize=100',
        'removed flag --audit-log-compress: --audit-log-compress (not in the new audit settings)',
      ],
    },
    {
      title: 'a flag and its value as two items, and a duplicate',
      command: ['--audit-policy-file', '/etc/old/policy.yaml', '--audit-policy-file=/etc/kubernetes/audit/policy.yaml'],
      expected: [
        'replaced flag --audit-policy-file: --audit-policy-file=/etc/old/policy.yaml -> --audit-policy-file=/etc/kubernetes/audit/policy.yaml',
        'removed flag --audit-policy-file: --audit-policy-file=/etc/kubernetes/audit/policy.yaml (duplicate)',
      ],
    },
  ])('conflicting earlier flags ($title): replaced in place and reported', ({ command, expected }) => {
    const r = editStaticPodManifest(withExtra(command), spec);
    const reported = r.changes.filter((c) => c.action !== 'added' && c.kind === 'flag');
    expect(reported.map((c) => (c.action === 'replaced' ? `replaced flag ${c.name}: ${c.from} -> ${c.to}` : `removed flag ${c.name}: ${c.from} (${c.reason})`))).toEqual(expected);
    const cmd = pod(r.text).spec.containers[0].command;
    expect(cmd.filter((c) => c.startsWith('--audit-'))).toEqual(audit.commandLine());
    expect(cmd).not.toContain('/etc/old/policy.yaml');
    // The new flags sit where the first old audit flag was (right after `kube-apiserver`).
    expect(cmd[1]).toBe(audit.commandLine()[0]);
    expect(editStaticPodManifest(r.text, spec).changed).toBe(false);
  });

  it('duplicates left by the append-only JSON patch applied twice are cleaned up to one of each', () => {
    let doc: unknown = parse(FIXTURE);
    doc = applyJsonPatch(applyJsonPatch(doc, staticPodPatch(audit)), staticPodPatch(audit));
    const broken = stringify(doc, { indentSeq: false });
    expect(auditFlags(broken)).toHaveLength(2 * audit.commandLine().length);
    const r = editStaticPodManifest(broken, spec);
    const p = pod(r.text);
    expect(auditFlags(r.text)).toEqual(audit.commandLine());
    expect(names(p.spec.volumes)).toEqual(['ca-certs', 'k8s-certs', 'audit-policy', 'audit-log', 'audit-webhook']);
    expect(names(p.spec.containers[0].volumeMounts)).toEqual(['ca-certs', 'k8s-certs', 'audit-policy', 'audit-log', 'audit-webhook']);
    expect(r.changes.filter((c) => c.reason === 'duplicate').map((c) => `${c.kind} ${c.name}`).sort()).toEqual(
      [...audit.commandLine().map((a) => `flag ${a.slice(0, a.indexOf('='))}`), ...['audit-policy', 'audit-log', 'audit-webhook'].flatMap((n) => [`volume ${n}`, `volumeMount ${n}`])].sort(),
    );
    expect(editStaticPodManifest(r.text, spec).changed).toBe(false);
  });

  it('a mount of another name at an audit directory: the mount and its volume are replaced, and reported', () => {
    const text = withExtra([], [{ name: 'my-audit', hostPath: { path: '/etc/kubernetes/audit', type: 'DirectoryOrCreate' } }], [{ name: 'my-audit', mountPath: '/etc/kubernetes/audit', readOnly: true }]);
    const r = editStaticPodManifest(text, spec);
    expect(names(pod(r.text).spec.volumes)).not.toContain('my-audit');
    expect(r.changes.filter((c) => c.action !== 'added').map((c) => `${c.action} ${c.kind} ${c.from}`)).toEqual([
      'replaced volumeMount {"name":"my-audit","mountPath":"/etc/kubernetes/audit","readOnly":true}',
      'removed volume {"name":"my-audit","hostPath":{"path":"/etc/kubernetes/audit","type":"DirectoryOrCreate"}}',
    ]);
    expect(editStaticPodManifest(r.text, spec).changed).toBe(false);
  });

  it.each([
    ['no kube-apiserver container', 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: [etcd]\n'],
    ['no containers', 'apiVersion: v1\nkind: Pod\nspec: {}\n'],
    ['not a pod', '- a\n- b\n'],
  ])('refuses a manifest with %s', (_, text) => {
    expect(() => editStaticPodManifest(text, spec)).toThrow(AuditConfigError);
    expect(() => editStaticPodManifest(text, spec)).toThrow(/has no container named "kube-apiserver"/);
  });

  it('refuses an empty manifest saying so, not that a container is missing', () => {
    expect(() => editStaticPodManifest(' \n', spec)).toThrow(/^manifest: is empty; restore the kube-apiserver static pod manifest .* or pass its path with --manifest$/);
  });

  it.each([KubeadmApiVersion.V1BETA3, KubeadmApiVersion.V1BETA4])('the spec read back from the kubeadm fragment (%s) is the audit\'s own', (apiVersion) => {
    const a = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxbackup': 10, 'audit-log-maxsize': 100, 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml' }, { kubernetesVersion: KubernetesVersion.V1_35 });
    expect(staticPodSpecFromKubeadm(kubeadmClusterConfiguration(a, { apiVersion }))).toEqual(staticPodAuditSpec(a));
  });
});

describe('cdk8s-audit static-pod apply', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A node-like tree: etc/kubernetes/manifests/kube-apiserver.yaml and dist/node/kubeadm-config.yaml. */
  function tree(): { root: string; manifest: string } {
    const root = mkdtempSync(join(tmpdir(), 'static-pod-apply-'));
    dirs.push(root);
    mkdirSync(join(root, 'etc', 'kubernetes', 'manifests'), { recursive: true });
    mkdirSync(join(root, 'dist', 'node'), { recursive: true });
    writeFileSync(join(root, 'etc', 'kubernetes', 'manifests', 'kube-apiserver.yaml'), FIXTURE, { mode: 0o600 });
    writeFileSync(join(root, 'dist', 'node', 'kubeadm-config.yaml'), stringify(kubeadmClusterConfiguration(audit)));
    return { root, manifest: 'etc/kubernetes/manifests/kube-apiserver.yaml' };
  }

  it('--dry-run --diff writes nothing and shows the added lines', async () => {
    const { root, manifest } = tree();
    const r = await runCli(['static-pod', 'apply', '--manifest', manifest, '--dry-run', '--diff'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+    - ${audit.commandLine()[0]}`);
    expect(r.stdout).toContain('dry run: etc/kubernetes/manifests/kube-apiserver.yaml not written');
    expect(readFileSync(join(root, manifest), 'utf8')).toBe(FIXTURE);
    expect(readdirSync(join(root, 'etc', 'kubernetes'))).toEqual(['manifests']);
  });

  it('applies with a backup outside the manifests directory; the second run changes nothing and writes no backup', async () => {
    const { root, manifest } = tree();
    const first = await runCli(['static-pod', 'apply', '--root', '.'], { cwd: root });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^added flag --audit-policy-file/m);
    expect(first.stderr).toBe(`warning: /etc/kubernetes/audit does not exist on this node (under ${root}); copy it from dist/node/rootfs/etc/kubernetes/audit before the kubelet restarts the apiserver\nwarning: /etc/kubernetes/audit-webhook does not exist on this node (under ${root}); copy it from dist/node/rootfs/etc/kubernetes/audit-webhook before the kubelet restarts the apiserver\n`);
    const after = readFileSync(join(root, manifest), 'utf8');
    expect(after).toBe(editStaticPodManifest(FIXTURE, spec).text);
    expect(readdirSync(join(root, 'etc', 'kubernetes', 'manifests'))).toEqual(['kube-apiserver.yaml']);
    const backups = readdirSync(join(root, 'etc', 'kubernetes')).filter((f) => f.endsWith('.cdk8s-audit.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(root, 'etc', 'kubernetes', backups[0]), 'utf8')).toBe(FIXTURE);

    const second = await runCli(['static-pod', 'apply', '--manifest', manifest, '--format', 'json'], { cwd: root });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ changed: false, changes: [] });
    expect(readFileSync(join(root, manifest), 'utf8')).toBe(after);
    expect(readdirSync(join(root, 'etc', 'kubernetes')).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
  });

  it.each([
    [['--manifest', 'etc/kubernetes/manifests/none.yaml'], 1, /cannot read etc\/kubernetes\/manifests\/none.yaml: no such file/],
    [['--from', 'elsewhere'], 1, /--from elsewhere: has no kubeadm-config.yaml/],
    [['--backup', 'etc/kubernetes/manifests/copy.yaml'], 2, /is in the manifests directory; the kubelet would run it as a second kube-apiserver pod/],
    [['extra'], 2, /takes no arguments/],
  ])('%j exits %i with a message naming the input', async (extra, code, message) => {
    const { root, manifest } = tree();
    const r = await runCli(['static-pod', 'apply', '--manifest', manifest, ...extra], { cwd: root });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(root, 'etc', 'kubernetes', 'manifests', 'copy.yaml'))).toBe(false);
  });

  it('a manifest without the kube-apiserver container exits 1 and is left alone', async () => {
    const { root, manifest } = tree();
    writeFileSync(join(root, manifest), 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: etcd\n');
    const r = await runCli(['static-pod', 'apply', '--manifest', manifest], { cwd: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/etc\/kubernetes\/manifests\/kube-apiserver.yaml: has no container named "kube-apiserver"/);
  });
});
