// `cdk8s-audit/sinks`: the sink constructs (they need the optional peer cdk8s-plus-28). Each name is listed on
// purpose: the constructs, their props and the option types those props use; the helpers they share are not.
export { AuditSink } from './audit-sink';
export type { AuditSinkProps, AuditSinkServiceMonitorProps } from './audit-sink';
export { FluentBitSink } from './fluent-bit-sink';
export type { FluentBitSinkProps } from './fluent-bit-sink';
export { VectorSink } from './vector-sink';
export type { VectorSinkProps } from './vector-sink';
export { FalcoSink } from './falco-sink';
export type { FalcoSinkProps } from './falco-sink';
export { WebhookSink } from './webhook-sink';
export type { IWebhookSink, SinkEgress, WebhookSinkBodyLimit, WebhookSinkSpec } from './webhook-sink';
export { CertManagerIssuerKind, DEFAULT_SERVICE_CIDR, SinkSigningKey, SinkTls } from './common';
export type { CertManagerTlsOptions, WebhookSinkProps } from './common';
export type { AlertWebhookAuth, AlertWebhookProps, BasicAuth, ElasticsearchOutputProps, LoggingAuth, LoggingTls, LokiOutputProps, SecretKeyRef } from './outputs';
export type { SinkDetections } from './detection-coverage';
