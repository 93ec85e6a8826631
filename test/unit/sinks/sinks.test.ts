import { Chart, Size, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { WebhookBackend } from '../../../src/backends/backends';
import { AuditSink, AuditSinkProps, CertManagerIssuerKind, FalcoSink, FluentBitSink, IWebhookSink, SinkSigningKey, SinkTls, VectorSink, WebhookSink } from '../../../src/sinks';
import { VECTOR_SPLIT_VRL } from '../../../src/sinks/vector-sink';
import { FLUENT_BIT_SPLIT_LUA } from '../../../src/sinks/fluent-bit-sink';
import { clusterIpProblems } from '../../../src/sinks/network';
import { testApp } from '../support/temp-dir';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

const base = (): AuditSinkProps => ({
  image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
  clusterIP: '10.96.0.50',
  controlPlaneCidrs: ['192.168.1.10/32', '192.168.1.11/32'],
  tls: SinkTls.fromSecret('audit-sink-tls'),
  signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
});

function synth(build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
  build(chart);
  return Testing.synth(chart);
}
const ofKind = (m: Manifest[], kind: string): Manifest[] => m.filter((o) => o.kind === kind);
const one = (m: Manifest[], kind: string): Manifest => {
  const found = ofKind(m, kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};

describe('AuditSink', () => {
  const manifests = synth((c) => new AuditSink(c, 'audit-sink', base()));
  const deployment = one(manifests, 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs `sink serve` on the PVC with TLS from the Secret, the signing key, the apiserver client name and the body/retention limits', () => {
    expect(container.image).toBe('registry.example.com/cdk8s-audit-sink:0.1.0');
    // The kubelet keeps a pinned image it has: offline and air-gapped clusters load it, no registry answers.
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.args.join(' ')).toBe(
      'sink serve --store /var/lib/audit-sink/store --key /etc/audit-sink/signing/signing.key --tls-dir /etc/audit-sink/tls --client-name kube-apiserver-audit ' +
        `--listen 0.0.0.0:8443 --ops-listen 0.0.0.0:8081 --max-body-bytes 16777216 --retention-max-bytes ${Math.floor(20 * 1024 ** 3 * 0.85)}`,
    );
    const pvc = one(manifests, 'PersistentVolumeClaim');
    expect(pvc.spec.resources.requests.storage).toBe('20Gi');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });

  it('is locked down: no service-account token, non-root, read-only root, no privilege escalation, explicit resources, named volumes', () => {
    expect(one(manifests, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(pod.volumes.map((v: Manifest) => v.name)).toEqual(['store', 'tls', 'signing-key', 'tmp']);
    expect(container.volumeMounts.map((m: Manifest) => [m.name, m.mountPath, m.readOnly ?? false])).toEqual([
      ['store', '/var/lib/audit-sink', false],
      ['tls', '/etc/audit-sink/tls', true],
      ['signing-key', '/etc/audit-sink/signing', true],
      ['tmp', '/tmp', false],
    ]);
    expect(pod.volumes.find((v: Manifest) => v.name === 'signing-key').secret).toEqual({ secretName: 'audit-sink-signing-key', defaultMode: 0o440, items: [{ key: 'signing.key', path: 'signing.key' }] });
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8081 });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8081 });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(25);
  });

  it('a Service on the fixed ClusterIP, a NetworkPolicy admitting only the control plane (no egress), a PodDisruptionBudget on the same pods', () => {
    const service = one(manifests, 'Service');
    expect(service.spec).toMatchObject({ type: 'ClusterIP', clusterIP: '10.96.0.50', ports: [{ name: 'webhook', port: 8443, targetPort: 8443 }, { name: 'metrics', port: 8081, targetPort: 8081 }] });
    const labels = deployment.spec.template.metadata.labels;
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    const np = one(manifests, 'NetworkPolicy');
    expect(np.spec.podSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(np.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(np.spec.egress ?? []).toEqual([]);
    expect(np.spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: '192.168.1.10/32' } }], ports: [{ port: 8443, protocol: 'TCP' }] },
      { from: [{ ipBlock: { cidr: '192.168.1.11/32' } }], ports: [{ port: 8443, protocol: 'TCP' }] },
    ]);
    const pdb = one(manifests, 'PodDisruptionBudget');
    expect(pdb.spec.minAvailable).toBe(1);
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
  });

  it('renders the webhook kubeconfig at the ClusterIP URL; cert-manager issues a certificate for the ClusterIP', () => {
    const chart = new Chart(testApp(), 'cm');
    const sink = new AuditSink(chart, 'sink', { ...base(), tls: SinkTls.fromCertManager({ issuerName: 'audit-ca', issuerKind: CertManagerIssuerKind.CLUSTER_ISSUER }) });
    const kubeconfig = parse(sink.renderWebhookKubeconfig({ certificateAuthorityFile: '/etc/kubernetes/audit-webhook/ca.crt', clientCertificateFile: '/etc/kubernetes/audit-webhook/c.crt', clientKeyFile: '/etc/kubernetes/audit-webhook/c.key' }));
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://10.96.0.50:8443/audit');
    const m = Testing.synth(chart);
    const cert = one(m, 'Certificate');
    expect(cert.apiVersion).toBe('cert-manager.io/v1');
    expect(cert.spec).toMatchObject({ secretName: 'sink-tls', ipAddresses: ['10.96.0.50'], issuerRef: { name: 'audit-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' } });
    expect(one(m, 'Deployment').spec.template.spec.volumes.find((v: Manifest) => v.name === 'tls').secret.secretName).toBe('sink-tls');
  });

  it('volume names stay short however long the construct id is', () => {
    const m = synth((c) => new AuditSink(c, 'a-very-long-construct-id-that-would-break-generated-volume-names-in-kubernetes', base()));
    for (const v of one(m, 'Deployment').spec.template.spec.volumes) expect(v.name.length).toBeLessThanOrEqual(63);
  });

  it.each([
    [{ clusterIP: '10.200.0.5' }, /clusterIP: "10.200.0.5" is outside serviceCidr 10.96.0.0\/12.*e\.g\. 10\.96\.0\.50/],
    [{ clusterIP: '10.96.0.1' }, /clusterIP: "10.96.0.1" is the first address.*'kubernetes' Service/],
    [{ clusterIP: 'sink.audit.svc' }, /clusterIP: "sink.audit.svc" is not an IP address/],
    [{ clusterIP: '10.0.0.20', serviceCidr: '10.0.0.0/24' }, null],
    [{ serviceCidr: '10.96.0.0' }, /serviceCidr: "10.96.0.0" is not a CIDR/],
    [{ controlPlaneCidrs: [] }, /controlPlaneCidrs: empty; list the addresses the kube-apiserver connects from/],
    [{ controlPlaneCidrs: ['0.0.0.0/0'] }, /controlPlaneCidrs: "0.0.0.0\/0" admits every address/],
    [{ controlPlaneCidrs: ['192.168.1.300/32'] }, /controlPlaneCidrs: "192.168.1.300\/32" is not a CIDR/],
    [{ image: '' }, /image: "" is not an image reference/],
    [{ storageSize: Size.gibibytes(1), retentionMaxSize: Size.gibibytes(2) }, /retentionMaxSize: 2Gi \(2147483648 bytes\) exceeds storageSize \(1Gi \(1073741824 bytes\)\)/],
    [{ port: 70000 }, /port: 70000 is not a TCP port/],
  ] as [Partial<AuditSinkProps>, RegExp | null][])('props %o: %s', (over, expected) => {
    const make = () => new AuditSink(new Chart(testApp(), 'c'), 'sink', { ...base(), ...over });
    if (expected) expect(make).toThrow(expected);
    else expect(make).not.toThrow();
  });

  it('IPv6 service CIDRs', () => {
    expect(clusterIpProblems('fd00:10:96::50', 'fd00:10:96::/112')).toEqual([]);
    expect(clusterIpProblems('fd00:10:97::50', 'fd00:10:96::/112')[0]).toMatch(/outside serviceCidr/);
    expect(clusterIpProblems('fd00:10:96::1', 'fd00:10:96::/112')[0]).toMatch(/first address/);
  });

  it("synth refuses a webhook backend whose batches do not fit the sink's body limit (whole-tree validation)", () => {
    const check = (backend: WebhookBackend, maxBodyBytes?: number) => {
      const chart = new Chart(testApp(), 'c');
      const sink = new AuditSink(chart, 'sink', { ...base(), webhookBackend: backend, maxBodySize: maxBodyBytes === undefined ? undefined : Size.kibibytes(maxBodyBytes / 1024) });
      return sink.node.validate();
    };
    // A POST holds batch.maxSize events of up to truncate.maxEventSize (the batch byte limit does not split webhook batches).
    expect(check(new WebhookBackend({ truncate: { enabled: true, maxEventSize: Size.kibibytes(40) } }))).toEqual([]);
    expect(check(new WebhookBackend({}))[0]).toMatch(/webhookBackend vs AuditSink maxBodySize \(16777216 bytes\): truncate\.enabled.*false leaves request bodies unbounded/);
    expect(check(new WebhookBackend({ truncate: { enabled: true } }))[0]).toMatch(/truncate\.maxEventSize .*102400 bytes × batch\.maxSize 400 = 40960000 bytes .*exceeds sinkMaxBody 16777216 bytes/);
    expect(check(new WebhookBackend({ truncate: { enabled: true, maxEventSize: Size.kibibytes(40) } }), 4 * 1024 * 1024)[0]).toMatch(/set truncate\.maxEventSize to ≤ 10483 bytes, or batch\.maxSize to ≤ 102/);
  });
});

const common = { clusterIP: '10.96.0.51', controlPlaneCidrs: ['192.168.1.10/32'], tls: SinkTls.fromSecret('audit-fb-tls') };

describe('FluentBitSink', () => {
  const m = synth((c) => new FluentBitSink(c, 'fluent-bit', common));
  const cm = one(m, 'ConfigMap');
  const conf: string = cm.data['fluent-bit.conf'];

  it('http input with TLS, a buffer for the apiserver batch, filesystem buffering, and the Lua filter that splits EventLists', () => {
    expect(conf).toMatch(/\[INPUT\]\n\s+Name\s+http\n/);
    expect(conf).toMatch(/buffer_max_size\s+11264K/);
    expect(conf).toMatch(/tls\s+On\n\s+tls\.verify\s+On\n\s+tls\.ca_file\s+\/etc\/audit-sink\/tls\/ca\.crt/);
    expect(conf).toMatch(/storage\.type\s+filesystem/);
    expect(conf).toMatch(/\[FILTER\]\n\s+Name\s+lua\n\s+Match\s+kube\.audit\n\s+script\s+\/fluent-bit\/etc\/cdk8s-audit\/split-event-list\.lua\n\s+call\s+split_event_list/);
    expect(cm.data['split-event-list.lua']).toBe(FLUENT_BIT_SPLIT_LUA);
    expect(FLUENT_BIT_SPLIT_LUA).toMatch(/return 1, timestamp, record\["items"\]/);
    const pod = one(m, 'Deployment').spec.template.spec;
    expect(pod.containers[0].args).toEqual(['-c', '/fluent-bit/etc/cdk8s-audit/fluent-bit.conf']);
    expect(pod.volumes.map((v: Manifest) => v.name)).toEqual(['config', 'tls', 'buffer', 'tmp']);
    expect(one(m, 'Service').spec.clusterIP).toBe('10.96.0.51');
  });

  it('the webhook URL path is the Fluent Bit tag the filter matches', () => {
    const sink = new FluentBitSink(new Chart(testApp(), 'c'), 'fb', common);
    expect(sink.webhookUrl).toBe('https://10.96.0.51:9880/kube.audit');
  });

  it('synth refuses apiserver batches larger than buffer_max_size', () => {
    const sink = new FluentBitSink(new Chart(testApp(), 'c'), 'fb', { ...common, bufferMaxSize: Size.mebibytes(4), webhookBackend: new WebhookBackend({ truncate: { enabled: true, maxEventSize: Size.kibibytes(40) } }) });
    expect(sink.node.validate()[0]).toMatch(/FluentBitSink bufferMaxSize \(4194304 bytes\).*40960 bytes × batch\.maxSize 400 .*set truncate\.maxEventSize to ≤ 10483 bytes/);
    expect(() => new FluentBitSink(new Chart(testApp(), 'c'), 'fb', { ...common, bufferMaxSize: Size.kibibytes(1) })).toThrow(/bufferMaxSize: 1Ki \(1024 bytes\) is not a buffer for audit batches: it must be whole bytes and at least 512 KiB/);
  });
});

describe('VectorSink', () => {
  const m = synth((c) => new VectorSink(c, 'vector', { ...common, clusterIP: '10.96.0.52' }));
  const config = parse(one(m, 'ConfigMap').data['vector.yaml']);

  it('http_server with mTLS (verify_certificate), a strict /audit path, JSON decoding, and a remap that emits one event per item', () => {
    expect(config.sources.apiserver_audit).toMatchObject({
      type: 'http_server',
      path: '/audit',
      strict_path: true,
      method: 'POST',
      decoding: { codec: 'json' },
      tls: { enabled: true, verify_certificate: true, ca_file: '/etc/audit-sink/tls/ca.crt', crt_file: '/etc/audit-sink/tls/tls.crt', key_file: '/etc/audit-sink/tls/tls.key' },
    });
    expect(config.transforms.audit_events).toEqual({ type: 'remap', inputs: ['apiserver_audit'], drop_on_abort: true, source: VECTOR_SPLIT_VRL });
    expect(VECTOR_SPLIT_VRL).toMatch(/\. = array!\(\.items\)/);
    expect(config.acknowledgements).toEqual({ enabled: true });
    expect(config.sinks.audit_stdout.inputs).toEqual(['audit_events']);
  });

  it('refuses sinks that do not read the split events, and an untruncated webhook backend', () => {
    expect(() => new VectorSink(new Chart(testApp(), 'c'), 'v', { ...common, sinks: { s3: { type: 'aws_s3', inputs: ['apiserver_audit'] } } })).toThrow(/sinks\.s3\.inputs: \["apiserver_audit"\] does not include 'audit_events'/);
    const sink = new VectorSink(new Chart(testApp(), 'c'), 'v', { ...common, webhookBackend: new WebhookBackend({}) });
    expect(sink.node.validate()[0]).toMatch(/truncate\.enabled is false/);
  });
});

describe('FalcoSink', () => {
  const m = synth((c) => new FalcoSink(c, 'falco', { ...common, clusterIP: '10.96.0.53' }));
  const config = parse(one(m, 'ConfigMap').data['falco.yaml']);

  it('k8saudit over HTTPS with the PEM assembled from the TLS Secret, limits set, no syscall driver', () => {
    expect(config.plugins[0]).toEqual({
      name: 'k8saudit',
      library_path: 'libk8saudit.so',
      init_config: { sslCertificate: '/etc/falco/certs/server.pem', maxEventSize: 262144, webhookMaxBatchSize: 12582912 },
      open_params: 'https://:9765/k8s-audit',
    });
    expect(config.load_plugins).toEqual(['k8saudit', 'json']);
    expect(config.engine).toEqual({ kind: 'nodriver' });
    const pod = one(m, 'Deployment').spec.template.spec;
    expect(pod.initContainers[0].command.join(' ')).toMatch(/cat \/etc\/audit-sink\/tls\/tls\.crt \/etc\/audit-sink\/tls\/tls\.key > \/etc\/falco\/certs\/server\.pem/);
    expect(pod.initContainers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('synth refuses truncate limits larger than Falco accepts', () => {
    const sink = new FalcoSink(new Chart(testApp(), 'c'), 'f', { ...common, maxEventSize: Size.kibibytes(64), webhookBackend: new WebhookBackend({ truncate: { enabled: true }, batch: { maxSize: 100 } }) });
    expect(sink.node.validate()).toEqual([expect.stringMatching(/truncate\.maxEventSize 102400 exceeds FalcoSink maxEventSize 65536 bytes/)]);
    expect(() => new FalcoSink(new Chart(testApp(), 'c'), 'f', { ...common, maxBatchSize: Size.kibibytes(1) })).toThrow(/maxBatchSize: 1Ki \(1024 bytes\) cannot hold one event of maxEventSize \(262144 bytes\)/);
  });
});

describe('every sink is a WebhookSink', () => {
  const kc = { certificateAuthorityFile: '/etc/kubernetes/audit-webhook/ca.crt', clientCertificateFile: '/etc/kubernetes/audit-webhook/c.crt', clientKeyFile: '/etc/kubernetes/audit-webhook/c.key' };
  const certManager = SinkTls.fromCertManager({ issuerName: 'audit-ca', issuerKind: CertManagerIssuerKind.CLUSTER_ISSUER });
  const cases: Array<[string, (c: Chart, tls: SinkTls, bad?: boolean) => WebhookSink, string]> = [
    ['AuditSink', (c, tls, bad) => new AuditSink(c, 's', { ...base(), tls, maxBodySize: bad ? Size.kibibytes(10 / 1024) : undefined }), 'https://10.96.0.50:8443/audit'],
    ['FluentBitSink', (c, tls, bad) => new FluentBitSink(c, 's', { ...common, tls, bufferMaxSize: bad ? Size.kibibytes(10 / 1024) : undefined }), 'https://10.96.0.51:9880/kube.audit'],
    ['VectorSink', (c, tls, bad) => new VectorSink(c, 's', { ...common, tls, port: bad ? 0 : undefined }), 'https://10.96.0.51:8443/audit'],
    ['FalcoSink', (c, tls, bad) => new FalcoSink(c, 's', { ...common, tls, maxBatchSize: bad ? Size.kibibytes(10 / 1024) : undefined }), 'https://10.96.0.51:9765/k8s-audit'],
  ];

  it.each(cases)('%s: its URL, a kubeconfig naming it, the cert-manager Certificate', (_name, make, url) => {
    const sink: IWebhookSink = make(new Chart(testApp(), 'c', { namespace: 'audit' }), certManager);
    expect(sink.webhookUrl).toBe(url);
    expect(parse(sink.renderWebhookKubeconfig(kc)).clusters[0].cluster.server).toBe(url);
    expect((sink as WebhookSink).certificate?.kind).toBe('Certificate');
    expect(make(new Chart(testApp(), 'c'), SinkTls.fromSecret('t')).certificate).toBeUndefined();
  });

  it.each(cases)('%s: invalid props throw before anything is added to the tree', (_name, make) => {
    const chart = new Chart(testApp(), 'c');
    expect(() => make(chart, SinkTls.fromSecret('t'), true)).toThrow();
    expect(chart.node.children).toHaveLength(0);
  });
});
