/**
 * ClusterAudit's webhook and the app's sinks agree at synth: address, port, path, server name and body
 * limit, or synth fails naming both sides. Real constructs, real App.synth().
 */
import { Chart, Size } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterAudit, ClusterAuditWebhookProps } from '../../../src';
import { webhookReceiversOf } from '../../../src/backends';
import { AuditSink, AuditSinkProps, FluentBitSink, SinkSigningKey, SinkTls } from '../../../src/sinks';
import { testApp } from '../support/temp-dir';
import { Preset } from '../../../src/presets/preset-names';

const files = { certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'apiserver-client.crt', clientKeyFile: 'apiserver-client.key' };
const sinkProps = (over: Partial<AuditSinkProps> = {}): AuditSinkProps => ({
  image: 'cdk8s-audit-sink:0.1.0', clusterIP: '10.96.0.50', port: 8443, controlPlaneCidrs: ['172.18.0.0/16'],
  tls: SinkTls.fromSecret('audit-sink-tls'), signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'), ...over,
});

/** Synthesises an app with one ClusterAudit and the given sinks; returns the validation message or ''. */
function synth(webhook: ClusterAuditWebhookProps, sinks: ((chart: Chart) => void)[]): string {
  const app = testApp();
  const chart = new Chart(app, 'audit');
  new ClusterAudit(chart, 'cluster-audit', { presets: [Preset.BASELINE], webhook });
  for (const s of sinks) s(chart);
  try {
    app.synth();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

const auditSink = (over: Partial<AuditSinkProps> = {}) => (chart: Chart) => new AuditSink(chart, 'audit-sink', sinkProps(over));

describe('ClusterAudit webhook ↔ sinks in the app', () => {
  const cases: { name: string; server: string; tlsServerName?: string; sinks: ((c: Chart) => void)[]; externalSink?: boolean; error: RegExp | null }[] = [
    { name: 'the scaffold: webhook and AuditSink at the same address', server: 'https://10.96.0.50:8443/audit', sinks: [auditSink()], error: null },
    {
      name: 'another address and port (the issue: 10.96.0.51:9443 beside a sink on 10.96.0.50:8443)',
      server: 'https://10.96.0.51:9443/audit', sinks: [auditSink()],
      error: /ClusterAudit cluster-audit: props\.webhook\.kubeconfig\.server https:\/\/10\.96\.0\.51:9443\/audit matches no sink in this app \(address 10\.96\.0\.51, port 9443\); AuditSink audit\/audit-sink serves https:\/\/10\.96\.0\.50:8443\/audit/,
    },
    { name: 'the right address, another port', server: 'https://10.96.0.50:9443/audit', sinks: [auditSink()], error: /matches no sink in this app \(address 10\.96\.0\.50, port 9443\); AuditSink audit\/audit-sink serves https:\/\/10\.96\.0\.50:8443\/audit/ },
    { name: 'the right endpoint, another path', server: 'https://10.96.0.50:8443/events', sinks: [auditSink()], error: /posts to path \/events, but AuditSink audit\/audit-sink receives on \/audit/ },
    { name: 'no sink at all', server: 'https://10.96.0.50:8443/audit', sinks: [], error: /matches no sink in this app: it has no AuditSink/ },
    { name: 'no sink, but the sink is declared external', server: 'https://10.96.0.50:8443/audit', sinks: [], externalSink: true, error: null },
    {
      name: "a server name the sink's cert-manager certificate does not hold",
      server: 'https://10.96.0.50:8443/audit', tlsServerName: 'audit.example.com',
      sinks: [auditSink({ tls: SinkTls.fromCertManager({ issuerName: 'ca' }) })],
      error: /verifies the sink's certificate for "audit\.example\.com" \(props\.webhook\.kubeconfig\.tlsServerName\), but AuditSink audit\/audit-sink's certificate names 10\.96\.0\.50/,
    },
    { name: 'the cert-manager certificate holds the address', server: 'https://10.96.0.50:8443/audit', sinks: [auditSink({ tls: SinkTls.fromCertManager({ issuerName: 'ca' }) })], error: null },
    {
      name: "a sink whose body limit refuses the backend's largest batch",
      server: 'https://10.96.0.50:8443/audit', sinks: [auditSink({ maxBodySize: Size.mebibytes(1) })],
      error: /AuditSink audit\/audit-sink would refuse the apiserver's batches \(AuditSink maxBodySize 1048576 bytes\): props\.webhook\.backend /,
    },
    {
      name: 'two sinks: the webhook matches the second',
      server: 'https://10.96.0.60:9880/kube.audit',
      sinks: [auditSink(), (c) => new FluentBitSink(c, 'fluent-bit', { clusterIP: '10.96.0.60', controlPlaneCidrs: ['172.18.0.0/16'], tls: SinkTls.fromSecret('fb-tls'), bufferMaxSize: Size.mebibytes(16) })],
      error: null,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const message = synth({ kubeconfig: { server: c.server, tlsServerName: c.tlsServerName, ...files }, externalSink: c.externalSink }, c.sinks);
      if (c.error) expect(message).toMatch(c.error);
      else expect(message).toBe('');
    });
  }

  it('sinks are found through a mark, not their class (the policy API never loads cdk8s-plus)', () => {
    const app = testApp();
    const chart = new Chart(app, 'audit');
    auditSink()(chart);
    expect(webhookReceiversOf(app)).toEqual([{ path: 'audit/audit-sink', info: { kind: 'AuditSink', url: 'https://10.96.0.50:8443/audit', serverNames: undefined, maxBodyBytes: 16 * 1024 * 1024, maxBodyName: 'AuditSink maxBodySize' } }]);
  });
});
