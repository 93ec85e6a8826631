import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { renderFlagReference } from '../../../src/backends/flag-docs';
import { ROOT, runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

// Not in beforeAll: tempDir's removal would never run if registered there.
const dir = tempDir('backend-cli');

const LOG = ['--log-path', '/var/log/kubernetes/audit/audit.log'];
const HOOK = ['--webhook-config-file', '/etc/kubernetes/audit-webhook/kubeconfig.yaml'];

describe.each(['flags', 'kubeconfig', 'certs', 'kind-config', 'kubeadm-config'])('%s', (verb) => {
  it('--help exits 0 with usage', async () => {
    const r = await runCli([verb, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: cdk8s-audit ${verb}`));
  });
  it('an unknown option exits 2', async () => {
    expect((await runCli([verb, '--no-such-option'])).code).toBe(2);
  });
});

describe('flags', () => {
  it('issue 4 done-criterion: prints {"args": [...]}', async () => {
    const r = await runCli(['flags', '--format', 'json', ...LOG, '--log-maxage', '30', '--log-maxbackup', '10', '--log-maxsize', '100']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      args: [
        '--audit-policy-file=/etc/kubernetes/audit/policy.yaml',
        '--audit-log-path=/var/log/kubernetes/audit/audit.log',
        '--audit-log-maxage=30',
        '--audit-log-maxbackup=10',
        '--audit-log-maxsize=100',
      ],
    });
  });

  it.each<[string, string[], RegExp]>([
    ['maxage -1 (space-separated)', [...LOG, '--log-maxage', '-1'], /--log-maxage \(--audit-log-maxage\): -1 breaks the kube-apiserver rule "≥ 0"/],
    ['maxage -1', [...LOG, '--log-maxage=-1'], /--log-maxage \(--audit-log-maxage\): -1 breaks the kube-apiserver rule "≥ 0" \(it refuses to start: --audit-log-maxage -1 can't be a negative number\)/],
    ['webhook mode "fast"', [...HOOK, '--webhook-mode', 'fast'], /--webhook-mode \(--audit-webhook-mode\): "fast" breaks the kube-apiserver rule "one of `batch`, `blocking`, `blocking-strict`"/],
    ['unparsable number', [...LOG, '--log-maxsize', 'big'], /--log-maxsize \(--audit-log-maxsize\): "big" is not an integer/],
    ['retention goal', [...LOG, '--log-maxage', '30', '--retention-days', '90'], /--log-maxage \(--audit-log-maxage\): 30 days deletes rotated files after 30 days, short of --retention-days 90 days .*set --log-maxage to ≥ 90, or 0 for no age limit/],
    ['throttle', [...HOOK, '--expected-events-per-second', '9000'], /raise --webhook-batch-throttle-qps to ≥ 22.5 or --webhook-batch-max-size to ≥ 900/],
    ['sink limit', [...HOOK, '--sink-max-body-bytes', '100000'], /set --webhook-truncate-enabled to true and --webhook-truncate-max-event-size to ≤ 247 bytes \(a POST holds --webhook-batch-max-size events/],
    ['sink limit with truncation', [...HOOK, '--webhook-truncate-enabled=true', '--sink-max-body-bytes', '16777216'], /--webhook-truncate-max-event-size \(--audit-webhook-truncate-max-event-size\): 102400 bytes × --webhook-batch-max-size 400 = 40960000 bytes .* set --webhook-truncate-max-event-size to ≤ 41940 bytes, or --webhook-batch-max-size to ≤ 163/],
    ['truncate sizes checked with truncation off', [...HOOK, '--webhook-truncate-max-batch-size', '10'], /invalid audit truncate webhook max batch size 10, must be greater than max event size \(102400\)/],
    ['policy in /etc/kubernetes', [...LOG, '--policy-file', '/etc/kubernetes/policy.yaml'], /exposes admin.conf/],
  ])('exits 1 for %s, naming the flag, the value, the rule and the fix', async (_n, args, message) => {
    const r = await runCli(['flags', ...args]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  it.each<[string, string[]]>([
    ['no backend', []],
    ['bad format', [...LOG, '--format', 'toml']],
    ['bad version', [...LOG, '--kubernetes-version', '1.2']],
    ['unknown preset', ['--preset', 'nope']],
    ['unknown --retention-precedence', ['--preset', 'gdpr', '--retention-precedence', 'most']],
    ['--webhook without preset', ['--webhook']],
  ])('exits 2 for %s', async (_n, args) => {
    expect((await runCli(['flags', ...args])).code).toBe(2);
  });

  it('presets that conflict exit 1 naming the choice; --retention-precedence makes it', async () => {
    const r = await runCli(['flags', '--preset', 'gdpr,pci-dss']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdk8s-audit: --preset: the customisations conflict with the presets:\n  - gdpr .*--retention-precedence minimum/);
    expect((await runCli(['flags', '--preset', 'gdpr,pci-dss', '--retention-precedence', 'minimum'])).code).toBe(0);
    expect((await runCli(['flags', '--preset', 'gdpr', '--retention-precedence', 'most'])).stderr).toBe('cdk8s-audit: --retention-precedence "most" is not one of: minimum, maximum\n');
  });

  it('renders version defaults: rotation trio is 0 for 1.35 and 366/100/100 for 1.36', async () => {
    expect((await runCli(['flags', ...LOG, '--kubernetes-version', '1.35'])).stdout.trim().split('\n').slice(2)).toEqual(['--audit-log-maxage=0', '--audit-log-maxbackup=0', '--audit-log-maxsize=0']);
    expect((await runCli(['flags', ...LOG, '--kubernetes-version', '1.36'])).stdout.trim().split('\n').slice(2)).toEqual(['--audit-log-maxage=366', '--audit-log-maxbackup=100', '--audit-log-maxsize=100']);
  });

  it('--preset supplies flags and retention, options override them', async () => {
    const r = await runCli(['flags', '--preset', 'cis', '--format', 'json']);
    expect(r.code).toBe(0);
    const args: string[] = JSON.parse(r.stdout).args;
    expect(args).toContain('--audit-log-maxage=30');
    expect(args.some((a) => a.startsWith('--audit-webhook-'))).toBe(false);
    const withHook: string[] = JSON.parse((await runCli(['flags', '--preset', 'cis', '--webhook', '--format', 'json', '--log-maxage', '45'])).stdout).args;
    expect(withHook).toContain('--audit-log-maxage=45');
    expect(withHook).toContain('--audit-webhook-config-file=/etc/kubernetes/audit-webhook/kubeconfig.yaml');
    // The preset's retention goal is checked against overrides.
    const r2 = await runCli(['flags', '--preset', 'pci-dss', '--log-maxage', '30']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/--log-maxage \(--audit-log-maxage\): 30 days deletes rotated files after 30 days, short of --retention-days 90 days/);
  });

  it('--format patch with --manifest replaces existing flags in a static pod', async () => {
    const manifest = join(dir, 'kube-apiserver.yaml');
    writeFileSync(manifest, 'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-apiserver\n    command: [kube-apiserver, --audit-log-maxage=7]\n    volumeMounts: []\n  volumes: []\n');
    const r = await runCli(['flags', ...LOG, '--log-maxage', '30', '--format', 'patch', '--manifest', manifest]);
    expect(r.code).toBe(0);
    const ops = JSON.parse(r.stdout);
    expect(ops).toContainEqual({ op: 'replace', path: '/spec/containers/0/command/1', value: '--audit-log-maxage=30' });
    expect(ops).toContainEqual({ op: 'add', path: '/spec/volumes/-', value: { name: 'audit-log', hostPath: { path: '/var/log/kubernetes/audit', type: 'DirectoryOrCreate' } } });
    expect((await runCli(['flags', ...LOG, '--format', 'patch', '--manifest', join(dir, 'missing.yaml')])).code).toBe(1);
  });
});

describe('flags --docs', () => {
  it('docs/flags.md is the current output of the flag table (regenerate: cdk8s-audit flags --docs --out docs/flags.md)', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'flags.md'), 'utf8');
    expect(committed).toBe(renderFlagReference());
  });

  it('the reference lists every flag with both default eras', () => {
    const doc = renderFlagReference();
    expect(doc).toMatch(/\| `--audit-log-maxage` \| int \(days\) \| `0` \| `366` \| ≥ 0 \| `maxAge` \(Duration, whole days\) \|/);
    expect(doc).toMatch(/\| `--audit-webhook-batch-throttle-qps` \| float \(batches\/s\) \| `10` \| `10` \| > 0 when --audit-webhook-mode=batch and --audit-webhook-batch-throttle-enable=true \|/);
    expect(doc).toContain('(alias of `--audit-webhook-initial-backoff`)');
  });

  it('--out writes the reference', async () => {
    const out = join(dir, 'flags.md');
    expect((await runCli(['flags', '--docs', '--out', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(renderFlagReference());
  });
});

describe('certs and kubeconfig', () => {
  it('writes the six PEM files, keys 0600, then refuses to overwrite without --force', async () => {
    const out = join(dir, 'tls');
    const r = await runCli(['certs', '--out', out, '--sans', '127.0.0.1,localhost', '--client-user', 'kube-apiserver', '--client-groups', 'audit', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).files).toHaveLength(6);
    for (const f of ['ca.key', 'tls.key', 'apiserver-client.key']) expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    const sink = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    expect(sink.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(sink.checkIssued(new X509Certificate(readFileSync(join(out, 'ca.crt'))))).toBe(true);
    expect(new X509Certificate(readFileSync(join(out, 'apiserver-client.crt'))).subject).toContain('CN=kube-apiserver');
    const before = readFileSync(join(out, 'ca.key'), 'utf8');
    const again = await runCli(['certs', '--out', out, '--sans', '127.0.0.1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exist.*pass --force/);
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).toBe(before);
    expect((await runCli(['certs', '--out', out, '--sans', '127.0.0.1', '--force'])).code).toBe(0);
    expect(readFileSync(join(out, 'ca.key'), 'utf8')).not.toBe(before);
  });

  it('kubeconfig --certs-dir embeds the files certs wrote', async () => {
    const out = join(dir, 'tls2');
    expect((await runCli(['certs', '--out', out, '--sans', '127.0.0.1'])).code).toBe(0);
    const r = await runCli(['kubeconfig', '--server', 'https://127.0.0.1:9443/audit', '--certs-dir', out]);
    expect(r.code).toBe(0);
    const doc = parse(r.stdout);
    expect(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(readFileSync(join(out, 'ca.crt'), 'utf8'));
    expect(Buffer.from(doc.users[0].user['client-key-data'], 'base64').toString()).toBe(readFileSync(join(out, 'apiserver-client.key'), 'utf8'));
    const file = join(dir, 'webhook', 'kubeconfig.yaml');
    expect((await runCli(['kubeconfig', '--server', 'https://127.0.0.1:9443/audit', '--certs-dir', out, '--out', file])).code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it.each<[string, string[], number, RegExp]>([
    ['Service DNS name', ['--server', 'https://audit-sink.audit.svc.cluster.local:8443'], 1, /is a Kubernetes Service DNS name.*fixed ClusterIP/],
    ['http without opt-in', ['--server', 'http://127.0.0.1:8080'], 1, /uses http/],
    ['missing certs dir', ['--server', 'https://127.0.0.1', '--certs-dir', '/nonexistent'], 1, /--certs-dir: \/nonexistent\/ca.crt is missing/],
    ['no server', [], 2, /needs --server/],
  ])('kubeconfig refuses %s', async (_n, args, code, message) => {
    const r = await runCli(['kubeconfig', ...args]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
  });

  it('certs --cert-manager prints Issuers and Certificates', async () => {
    const r = await runCli(['certs', '--cert-manager', '--namespace', 'audit', '--sans', '10.96.0.50,sink.example.com', '--client-groups', 'g1', '--format', 'json']);
    expect(r.code).toBe(0);
    const items = JSON.parse(r.stdout).items;
    expect(items.map((i: { kind: string }) => i.kind)).toEqual(['Issuer', 'Certificate', 'Issuer', 'Certificate', 'Certificate']);
    expect(items[3].spec).toMatchObject({ ipAddresses: ['10.96.0.50'], dnsNames: ['sink.example.com'], usages: ['server auth', 'digital signature'] });
    expect(items[4].spec).toMatchObject({ commonName: 'kube-apiserver-audit', subject: { organizations: ['g1'] }, usages: ['client auth', 'digital signature'] });
    expect((await runCli(['certs', '--cert-manager', '--sans', 'x'])).code).toBe(2);
    expect((await runCli(['certs', '--cert-manager', '--namespace', 'Bad_NS', '--sans', 'x'])).code).toBe(1);
    expect(existsSync(join(dir, 'Bad_NS'))).toBe(false);
  });
});

describe('kubeadm-config and kind-config', () => {
  it('kubeadm-config renders v1beta4 by default and v1beta3 on request', async () => {
    const v4 = parse((await runCli(['kubeadm-config', ...LOG, '--kubernetes-version', '1.35'])).stdout);
    expect(v4.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
    expect(v4.apiServer.extraArgs[1]).toEqual({ name: 'audit-log-path', value: '/var/log/kubernetes/audit/audit.log' });
    const v3 = parse((await runCli(['kubeadm-config', ...LOG, '--kubernetes-version', '1.35', '--api-version', 'v1beta3'])).stdout);
    expect(v3.apiServer.extraArgs['audit-log-path']).toBe('/var/log/kubernetes/audit/audit.log');
    const refused = await runCli(['kubeadm-config', ...LOG, '--kubernetes-version', '1.37', '--api-version', 'v1beta3']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--api-version: "kubeadm.k8s.io\/v1beta3" is not read by kubeadm 1.37/);
  });

  it('kind-config resolves host directories and picks the kubeadm API by version', async () => {
    const cwd = join(dir, 'kind');
    mkdirSync(cwd, { recursive: true });
    const r = await runCli(['kind-config', '--host-policy-dir', 'audit', '--host-webhook-dir', 'webhook', ...LOG, ...HOOK, '--kubernetes-version', '1.35', '--format', 'json'], { cwd });
    expect(r.code).toBe(0);
    const cp = JSON.parse(r.stdout).nodes[0];
    expect(cp.extraMounts).toEqual([
      { hostPath: join(cwd, 'audit'), containerPath: '/etc/kubernetes/audit', readOnly: true },
      { hostPath: join(cwd, 'webhook'), containerPath: '/etc/kubernetes/audit-webhook', readOnly: true },
    ]);
    expect(parse(cp.kubeadmConfigPatches[0]).apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    const missing = await runCli(['kind-config', '--host-policy-dir', 'audit', ...HOOK], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--host-webhook-dir: \(unset\) while a webhook backend is configured/);
    expect((await runCli(['kind-config', ...LOG])).code).toBe(2);
  });
});
