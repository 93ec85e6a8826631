/**
 * Alert rules and central-logging outputs in the sink constructs: AuditSink renders the rules into a
 * read-only ConfigMap and `sink serve` flags (which the real CLI accepts, with the Secrets' files laid out
 * as the pod would see them), opens the NetworkPolicy only to the destinations; FluentBitSink and
 * VectorSink render `es`/`loki` outputs with TLS and credentials from Secrets. Fluent Bit and Vector are
 * not run here (neither is installable offline): their configurations are checked for shape.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { presetAlertRules } from '../../../src/presets/alert-rules';
import { parseAlertRules } from '../../../src/sink-contract/alert-rules';
import { AuditSink, AuditSinkProps, FluentBitSink, SinkTls, VectorSink } from '../../../src/sinks';
import { createWebhookTlsBundle, issueClientCertificate } from '../../../src/tls/certs';
import { ROOT } from '../../support/cli';
import { baseAuditSinkProps } from '../support/audit-sink-props';
import { tempDir, testApp } from '../support/temp-dir';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

const base = baseAuditSinkProps;
const webhook = { alertRules: presetAlertRules('pci-dss', { approvedSourceCidrs: ['192.168.0.0/16'] }) };
const outputs: Partial<AuditSinkProps> = {
  ...webhook,
  alertWebhook: { url: 'https://alerts.example.com/hooks/audit', auth: { bearerTokenSecret: { secretName: 'alert-token', key: 'token' } } },
  forwardElasticsearch: {
    url: 'https://elasticsearch.logging.svc:9200',
    index: 'audit-%Y.%m',
    tls: { caSecret: { secretName: 'logging-ca', key: 'ca.crt' }, clientCertSecretName: 'audit-sink-es-client' },
    auth: { basic: { user: 'audit-writer', passwordSecret: { secretName: 'es-writer', key: 'password' } } },
  },
  forwardLoki: { url: 'https://10.20.0.5:3100', tenant: 'platform', labelFields: ['level', 'verb', 'stage'], staticLabels: { cluster: 'prod' }, tls: { caSecret: { secretName: 'logging-ca', key: 'ca.crt' } } },
  egressCidrs: ['10.20.0.0/16', '203.0.113.0/24'],
};

function synth(build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
  build(chart);
  return Testing.synth(chart);
}
const one = (m: Manifest[], kind: string) => m.filter((o) => o.kind === kind);

describe('AuditSink alert rules and forwarding', () => {
  const manifests = synth((c) => new AuditSink(c, 'audit-sink', { ...base(), ...outputs }));
  const deployment = one(manifests, 'Deployment')[0];
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('renders the rules into a ConfigMap mounted read-only, passes --rules, and rolls the pod when the rules change', () => {
    const cm = one(manifests, 'ConfigMap')[0];
    expect(parseAlertRules(cm.data['rules.yaml'])).toEqual(webhook.alertRules);
    const volume = pod.volumes.find((v: Manifest) => v.name === 'alert-rules');
    expect(volume.configMap.name).toBe(cm.metadata.name);
    expect(container.volumeMounts.find((m: Manifest) => m.name === 'alert-rules')).toEqual({ name: 'alert-rules', mountPath: '/etc/audit-sink/rules', readOnly: true });
    expect(container.args.join(' ')).toContain('--rules /etc/audit-sink/rules/rules.yaml');
    const sha = deployment.spec.template.metadata.annotations['cdk8s-audit.io/alert-rules-sha256'];
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    const other = synth((c) => new AuditSink(c, 'audit-sink', { ...base(), alertRules: presetAlertRules('baseline') }));
    expect(one(other, 'Deployment')[0].spec.template.metadata.annotations['cdk8s-audit.io/alert-rules-sha256']).not.toBe(sha);
  });

  it('mounts each Secret read-only under its own named volume, and renders flags naming those files (no key material in any manifest)', () => {
    expect(pod.volumes.map((v: Manifest) => v.name)).toEqual(['store', 'tls', 'signing-key', 'tmp', 'alert-rules', 'alert-webhook-auth', 'es-ca', 'es-client', 'es-auth', 'loki-ca']);
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Manifest) => [m.name, [m.mountPath, m.readOnly]]));
    expect(mounts['es-auth']).toEqual(['/etc/audit-sink/outputs/es/auth', true]);
    expect(pod.volumes.find((v: Manifest) => v.name === 'es-auth').secret).toEqual({ secretName: 'es-writer', defaultMode: 0o440, items: [{ key: 'password', path: 'credential' }] });
    expect(container.args.slice(container.args.indexOf('--rules'))).toEqual([
      '--rules', '/etc/audit-sink/rules/rules.yaml',
      '--alerts-webhook', 'https://alerts.example.com/hooks/audit', '--alerts-webhook-bearer-token-file', '/etc/audit-sink/outputs/alert-webhook/auth/credential',
      '--forward-elasticsearch', 'https://elasticsearch.logging.svc:9200',
      '--forward-elasticsearch-ca', '/etc/audit-sink/outputs/es/ca/ca.crt',
      '--forward-elasticsearch-cert', '/etc/audit-sink/outputs/es/client/tls.crt', '--forward-elasticsearch-key', '/etc/audit-sink/outputs/es/client/tls.key',
      '--forward-elasticsearch-basic-auth-file', '/etc/audit-sink/outputs/es/auth/credential', '--forward-elasticsearch-user', 'audit-writer',
      '--forward-elasticsearch-index', 'audit-%Y.%m',
      '--forward-loki', 'https://10.20.0.5:3100', '--forward-loki-ca', '/etc/audit-sink/outputs/loki/ca/ca.crt',
      '--forward-loki-labels', 'level,verb,stage', '--forward-loki-label', 'cluster=prod', '--forward-loki-tenant', 'platform',
    ]);
  });

  it('the NetworkPolicy admits egress only to egressCidrs on the destinations\' ports, and to cluster DNS for host names', () => {
    const np = one(manifests, 'NetworkPolicy')[0];
    expect(np.spec.policyTypes).toEqual(['Egress', 'Ingress']);
    const ports = [{ port: 9200, protocol: 'TCP' }, { port: 3100, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }];
    expect(np.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports },
      { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports },
      { to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
    ]);
    // Without outputs the sink still talks to nobody.
    const plain = synth((c) => new AuditSink(c, 'audit-sink', { ...base(), ...webhook }));
    expect(one(plain, 'NetworkPolicy')[0].spec.egress ?? []).toEqual([]);
  });

  it('the real `sink serve` accepts the rendered flags, with the Secrets\' files where the pod mounts them', async () => {
    const dir = tempDir('construct-args');
    const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'] });
    const client = await issueClientCertificate(tls.ca, { user: 'audit-writer' });
    const remap = (p: string) => (p.startsWith('/etc/audit-sink/') || p.startsWith('/var/lib/audit-sink/') ? join(dir, p) : p);
    const put = (p: string, data: string | Buffer) => {
      mkdirSync(dirname(remap(p)), { recursive: true });
      writeFileSync(remap(p), data, { mode: 0o600 });
    };
    put('/etc/audit-sink/tls/tls.crt', tls.sink.certPem);
    put('/etc/audit-sink/tls/tls.key', tls.sink.keyPem);
    put('/etc/audit-sink/tls/ca.crt', tls.ca.certPem);
    put('/etc/audit-sink/signing/signing.key', randomBytes(32));
    put('/etc/audit-sink/rules/rules.yaml', one(manifests, 'ConfigMap')[0].data['rules.yaml']);
    put('/etc/audit-sink/outputs/alert-webhook/auth/credential', 'token\n');
    put('/etc/audit-sink/outputs/es/ca/ca.crt', tls.ca.certPem);
    put('/etc/audit-sink/outputs/es/client/tls.crt', client.certPem);
    put('/etc/audit-sink/outputs/es/client/tls.key', client.keyPem);
    put('/etc/audit-sink/outputs/es/auth/credential', 'password\n');
    put('/etc/audit-sink/outputs/loki/ca/ca.crt', tls.ca.certPem);
    // Loopback only: the destinations become a closed port on 127.0.0.1 (nothing is sent: the store is empty).
    const args = (container.args as string[])
      .map(remap)
      .map((a) => (a.startsWith('0.0.0.0:') ? '127.0.0.1:0' : /^https:\/\//.test(a) ? 'https://127.0.0.1:1' : a));
    const child = spawn(process.execPath, [join(ROOT, 'lib', 'cli', 'main.js'), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 400 && !err.includes('"msg":"listening"') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
    expect(err, err).toContain('"msg":"listening"');
    expect(err).toContain('"msg":"alert rules loaded"');
    expect(err).toMatch(/"msg":"forwarding","output":"elasticsearch","url":"https:\/\/127\.0\.0\.1:1\/"/);
    expect(err).toMatch(/"msg":"forwarding","output":"loki"/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).not.toContain('password');
  });

  it('refuses, naming the prop, the value and the fix: invalid rules, plain HTTP, missing egressCidrs, a webhook without rules, bad labels', () => {
    const build = (p: Partial<AuditSinkProps>) => () => synth((c) => new AuditSink(c, 'audit-sink', { ...base(), ...p }));
    expect(build({ alertRules: { ...webhook.alertRules, rules: [{ name: 'x', type: 'match', match: { verbs: ['GET'] } }] } })).toThrow(
      /alertRules\.rules\[0\] \(x\)\.match\.verbs\[0\]: "GET" is not a verb any request has .*; fix: did you mean "get"\?/,
    );
    expect(build({ forwardLoki: { url: 'http://loki:3100' }, egressCidrs: ['10.0.0.0/8'] })).toThrow(/forwardLoki\.url: "http:\/\/loki:3100" is not https/);
    expect(build({ forwardElasticsearch: { url: 'https://es:9200' } })).toThrow(/egressCidrs: empty, but the sink must reach https:\/\/es:9200; list the CIDRs/);
    expect(build({ alertWebhook: { url: 'https://a/b' }, egressCidrs: ['10.0.0.0/8'] })).toThrow(/alertWebhook: given without alertRules/);
    expect(build({ forwardLoki: { url: 'https://l:3100', labelFields: ['namespace' as never] }, egressCidrs: ['10.0.0.0/8'] })).toThrow(/forwardLoki\.labelFields: "namespace" cannot be a label/);
    expect(build({ forwardElasticsearch: { url: 'https://es:9200', auth: { basic: { user: 'u', passwordSecret: { secretName: 'p', key: 'k' } }, bearerTokenSecret: { secretName: 't', key: 'k' } } }, egressCidrs: ['0.0.0.0/0'] })).toThrow(
      /forwardElasticsearch\.auth: basic and bearerTokenSecret both given[\s\S]*egressCidrs: "0\.0\.0\.0\/0" admits every address/,
    );
  });
});

describe('FluentBitSink and VectorSink outputs', () => {
  const es = {
    url: 'https://elasticsearch.logging.svc:9200',
    tls: { caSecret: { secretName: 'logging-ca', key: 'ca.crt' }, clientCertSecretName: 'fb-client' },
    auth: { basic: { user: 'audit-writer', passwordSecret: { secretName: 'es-writer', key: 'password' } } },
  };
  const loki = { url: 'https://loki.logging.svc:3100/prefix', tenant: 'platform', tls: { caSecret: { secretName: 'logging-ca', key: 'ca.crt' } }, auth: { bearerTokenSecret: { secretName: 'loki-token', key: 'token' } } };
  const sinkBase = { clusterIP: '10.96.0.51', controlPlaneCidrs: ['192.168.1.10/32'], tls: SinkTls.fromSecret('fb-tls') };

  it('Fluent Bit: es output with Generate_ID, logstash date index, verified TLS and a password from an env var; loki output with low-cardinality labels', () => {
    let fb!: FluentBitSink;
    const m = synth((c) => (fb = new FluentBitSink(c, 'fb', { ...sinkBase, elasticsearch: { ...es, index: 'k8s-audit-%Y.%m.%d' }, loki })));
    const conf = fb.config;
    expect(conf).not.toContain('Name    stdout');
    const esSection = conf.slice(conf.indexOf('Name                es') - 13).split('\n\n')[0];
    expect(esSection).toBe([
      '[OUTPUT]',
      '    Name                es',
      '    Match               kube.audit',
      '    Host                elasticsearch.logging.svc',
      '    Port                9200',
      '    Logstash_Format     On',
      '    Logstash_Prefix     k8s-audit',
      '    Logstash_DateFormat %Y.%m.%d',
      '    Time_Key            @timestamp',
      '    # _id from a hash of the record: a retried chunk does not index an event twice',
      '    Generate_ID         On',
      '    Suppress_Type_Name  On',
      '    Retry_Limit         no_limits',
      '    HTTP_User           audit-writer',
      '    HTTP_Passwd         ${CDK8S_AUDIT_ES_PASSWORD}',
      '    tls                 On',
      '    tls.verify          On',
      '    tls.ca_file         /etc/audit-sink/outputs/es/ca/ca.crt',
      '    tls.crt_file        /etc/audit-sink/outputs/es/client/tls.crt',
      '    tls.key_file        /etc/audit-sink/outputs/es/client/tls.key',
    ].join('\n'));
    expect(conf).toContain('    Uri                 /prefix/loki/api/v1/push\n    Tenant_ID           platform\n    Labels              job=kube-apiserver-audit, level=$level, verb=$verb\n    Line_Format         json');
    expect(conf).toContain('    Bearer_Token        ${CDK8S_AUDIT_LOKI_TOKEN}');
    const container = one(m, 'Deployment')[0].spec.template.spec.containers[0];
    expect(container.env).toEqual([
      { name: 'CDK8S_AUDIT_ES_PASSWORD', valueFrom: { secretKeyRef: { name: 'es-writer', key: 'password' } } },
      { name: 'CDK8S_AUDIT_LOKI_TOKEN', valueFrom: { secretKeyRef: { name: 'loki-token', key: 'token' } } },
    ]);
    expect(container.volumeMounts.filter((v: Manifest) => /^(es|loki)-/.test(v.name)).map((v: Manifest) => [v.name, v.mountPath, v.readOnly])).toEqual([
      ['es-ca', '/etc/audit-sink/outputs/es/ca', true],
      ['es-client', '/etc/audit-sink/outputs/es/client', true],
      ['loki-ca', '/etc/audit-sink/outputs/loki/ca', true],
    ]);
    expect(() => synth((c) => new FluentBitSink(c, 'fb', { ...sinkBase, elasticsearch: { ...es, index: '%Y-audit' } }))).toThrow(/elasticsearch\.index: "%Y-audit": Fluent Bit names indices PREFIX-<date format>/);
    expect(() => synth((c) => new FluentBitSink(c, 'fb', { ...sinkBase, elasticsearch: { url: 'https://es:9200', auth: { apiKeySecret: { secretName: 'k', key: 'k' } } } }))).toThrow(/Fluent Bit's es output takes basic credentials/);
  });

  it('Vector: elasticsearch sink with bulk create and id_key = auditID-stage, loki sink with entry time from stageTimestamp; credentials from env vars', () => {
    let v!: VectorSink;
    const m = synth((c) => (v = new VectorSink(c, 'vector', { ...sinkBase, clusterIP: '10.96.0.52', elasticsearch: { ...es, auth: { apiKeySecret: { secretName: 'es-key', key: 'api-key' } } }, loki })));
    const cfg = parse(one(m, 'ConfigMap')[0].data['vector.yaml']);
    expect(cfg).toEqual(v.config);
    expect(Object.keys(cfg.sinks)).toEqual(['elasticsearch', 'loki']);
    expect(cfg.transforms.audit_events_es).toEqual({ type: 'remap', inputs: ['audit_events'], source: '.timestamp = parse_timestamp(.stageTimestamp, "%+") ?? now()\n.audit_doc_id = (to_string(.auditID) ?? "") + "-" + (to_string(.stage) ?? "")\n' });
    expect(cfg.sinks.elasticsearch).toEqual({
      type: 'elasticsearch', inputs: ['audit_events_es'], endpoints: ['https://elasticsearch.logging.svc:9200'], mode: 'bulk', api_version: 'auto',
      bulk: { action: 'create', index: 'k8s-audit-%Y.%m.%d' }, id_key: 'audit_doc_id',
      request: { headers: { Authorization: 'ApiKey ${CDK8S_AUDIT_ES_API_KEY}' } },
      tls: { ca_file: '/etc/audit-sink/outputs/es/ca/ca.crt', crt_file: '/etc/audit-sink/outputs/es/client/tls.crt', key_file: '/etc/audit-sink/outputs/es/client/tls.key', verify_certificate: true, verify_hostname: true },
      acknowledgements: { enabled: true },
    });
    expect(cfg.sinks.loki).toMatchObject({
      type: 'loki', inputs: ['audit_events_loki'], endpoint: 'https://loki.logging.svc:3100/prefix', encoding: { codec: 'json' },
      labels: { job: 'kube-apiserver-audit', level: '{{ level }}', verb: '{{ verb }}' }, tenant_id: 'platform', auth: { strategy: 'bearer', token: '${CDK8S_AUDIT_LOKI_TOKEN}' },
    });
    expect(one(m, 'Deployment')[0].spec.template.spec.containers[0].env.map((e: Manifest) => e.name)).toEqual(['CDK8S_AUDIT_ES_API_KEY', 'CDK8S_AUDIT_LOKI_TOKEN']);
    expect(() => synth((c) => new VectorSink(c, 'v', { ...sinkBase, loki, sinks: { loki: { type: 'console', inputs: ['audit_events'] } } }))).toThrow(/sinks\.loki: the name is used by the loki prop's sink/);
  });
});
