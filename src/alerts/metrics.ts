/**
 * The metrics the audit alerts use, with where they come from. The PromQL check refuses any other
 * metric name, and the end-to-end tests read the real kube-apiserver's and the real sink's /metrics to
 * prove each of these exists there.
 */
import { REJECT_REASONS } from '../sink-contract/event-list';

export type MetricSource = 'kube-apiserver' | 'audit-sink' | 'prometheus';
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface KnownMetric {
  readonly name: string;
  readonly source: MetricSource;
  readonly type: MetricType;
  /** The metric's own labels (target labels such as job and instance are added by Prometheus). */
  readonly labels: readonly string[];
  /** Label values that mean something to the rules, e.g. the `plugin` values. */
  readonly values?: Readonly<Record<string, readonly string[]>>;
  /** Where it is defined. */
  readonly definedIn: string;
  readonly help: string;
}

/**
 * Values of `apiserver_audit_error_total{plugin}` (k8s.io/apiserver: `audit.HandlePluginError(name, …)`):
 * `buffered` (plugin/pkg/audit/buffered: buffer full, both backends in batch mode), `webhook` (POST failed
 * after the retries), `truncate` (event too large even without bodies), `log` (writing the log file failed).
 */
export const AUDIT_ERROR_PLUGINS = ['buffered', 'webhook', 'truncate', 'log'] as const;

export const KNOWN_METRICS: readonly KnownMetric[] = [
  {
    name: 'apiserver_audit_event_total',
    source: 'kube-apiserver',
    type: 'counter',
    labels: [],
    definedIn: 'k8s.io/apiserver pkg/audit/metrics.go eventCounter (one per event handed to the backends, after the policy and omitStages)',
    help: 'Counter of audit events generated and sent to the audit backend.',
  },
  {
    name: 'apiserver_audit_error_total',
    source: 'kube-apiserver',
    type: 'counter',
    labels: ['plugin'],
    values: { plugin: AUDIT_ERROR_PLUGINS },
    definedIn: 'k8s.io/apiserver pkg/audit/metrics.go errorCounter (HandlePluginError: events lost, by plugin)',
    help: 'Counter of audit events that failed to be audited properly.',
  },
  {
    name: 'apiserver_audit_requests_rejected_total',
    source: 'kube-apiserver',
    type: 'counter',
    labels: [],
    definedIn: 'k8s.io/apiserver pkg/audit/metrics.go ApiserverAuditDroppedCounter (blocking-strict: the request failed with HTTP 500)',
    help: 'Counter of apiserver requests rejected due to an error in audit logging backend.',
  },
  {
    name: 'apiserver_audit_level_total',
    source: 'kube-apiserver',
    type: 'counter',
    labels: ['level'],
    values: { level: ['None', 'Metadata', 'Request', 'RequestResponse'] },
    definedIn: 'k8s.io/apiserver pkg/audit/metrics.go levelCounter (one per request, by policy level)',
    help: 'Counter of policy levels for audit events (1 per request).',
  },
  {
    name: 'rest_client_requests_total',
    source: 'kube-apiserver',
    type: 'counter',
    labels: ['code', 'host', 'method'],
    definedIn: 'k8s.io/component-base metrics/prometheus/restclient (client-go requests; the audit webhook is one, host = the sink)',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
  },
  {
    name: 'rest_client_request_duration_seconds',
    source: 'kube-apiserver',
    type: 'histogram',
    labels: ['host', 'verb'],
    definedIn: 'k8s.io/component-base metrics/prometheus/restclient (client-go request latency; host = the sink for the audit webhook)',
    help: 'Request latency in seconds. Broken down by verb, and host.',
  },
  {
    name: 'audit_sink_requests_total',
    source: 'audit-sink',
    type: 'counter',
    labels: ['code'],
    definedIn: 'src/sink-server/server.ts',
    help: 'Requests to the audit endpoint by HTTP status.',
  },
  {
    name: 'audit_sink_rejects_total',
    source: 'audit-sink',
    type: 'counter',
    labels: ['reason'],
    values: { reason: REJECT_REASONS },
    definedIn: 'src/sink-server/server.ts (reasons: src/sink-contract/event-list.ts REJECT_REASONS)',
    help: 'Refused requests by reason.',
  },
  {
    name: 'audit_sink_events_total',
    source: 'audit-sink',
    type: 'counter',
    labels: [],
    definedIn: 'src/sink-server/server.ts',
    help: 'Audit events stored (fsynced).',
  },
  {
    name: 'audit_sink_tls_handshake_failures_total',
    source: 'audit-sink',
    type: 'counter',
    labels: [],
    definedIn: 'src/sink-server/server.ts',
    help: 'TLS handshakes refused (no or untrusted client certificate).',
  },
  {
    name: 'audit_sink_fsync_seconds',
    source: 'audit-sink',
    type: 'histogram',
    labels: [],
    definedIn: 'src/sink-server/store.ts',
    help: 'Latency of the fdatasync of each group commit.',
  },
  {
    name: 'audit_sink_disk_free_bytes',
    source: 'audit-sink',
    type: 'gauge',
    labels: [],
    definedIn: 'src/sink-server/server.ts',
    help: "Free bytes on the store's file system (last measured).",
  },
  {
    name: 'audit_sink_store_bytes',
    source: 'audit-sink',
    type: 'gauge',
    labels: [],
    definedIn: 'src/sink-server/server.ts',
    help: 'Bytes of segments and digests in the store.',
  },
  {
    name: 'audit_sink_queue_bytes',
    source: 'audit-sink',
    type: 'gauge',
    labels: [],
    definedIn: 'src/sink-server/server.ts',
    help: 'Event bytes waiting for a commit.',
  },
  {
    name: 'audit_sink_head_write_failures_total',
    source: 'audit-sink',
    type: 'gauge',
    labels: [],
    definedIn: 'src/sink-server/server.ts (a count since start, exposed as a gauge)',
    help: 'Failed updates of head.json.',
  },
  {
    name: 'up',
    source: 'prometheus',
    type: 'gauge',
    labels: [],
    definedIn: 'Prometheus: 1 when the last scrape of the target succeeded, 0 when it failed',
    help: 'Scrape health of a target.',
  },
];

/** Labels Prometheus attaches to every series of a target (the Prometheus Operator adds the Kubernetes ones). */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'service', 'container', 'endpoint', 'node', 'cluster'] as const;

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;

/** The known metric a series name belongs to (`x_bucket` → histogram `x`), and the labels it may carry. */
export function lookUpMetric(series: string): { metric: KnownMetric; labels: readonly string[] } | undefined {
  const direct = KNOWN_METRICS.find((m) => m.name === series);
  if (direct) return { metric: direct, labels: direct.labels };
  for (const suffix of HISTOGRAM_SUFFIXES) {
    if (!series.endsWith(suffix)) continue;
    const base = KNOWN_METRICS.find((m) => m.type === 'histogram' && m.name === series.slice(0, -suffix.length));
    if (base) return { metric: base, labels: suffix === '_bucket' ? [...base.labels, 'le'] : base.labels };
  }
  return undefined;
}

/** The metric family names that must appear on a source's /metrics (`# TYPE` names). */
export function metricNamesOf(source: MetricSource): string[] {
  return KNOWN_METRICS.filter((m) => m.source === source).map((m) => m.name);
}
