import { AuditSinkProps, SinkSigningKey, SinkTls } from '../../../src/sinks';

/** The smallest valid AuditSink props the construct tests start from (a Secret for TLS and for the key). */
export const baseAuditSinkProps = (): AuditSinkProps => ({
  image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
  clusterIP: '10.96.0.50',
  controlPlaneCidrs: ['192.168.1.10/32'],
  tls: SinkTls.fromSecret('audit-sink-tls'),
  signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
});
