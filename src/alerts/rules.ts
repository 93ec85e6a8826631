/**
 * The audit alert rules: one definition that both the PrometheusRule construct and the plain Prometheus
 * rule file render. Each rule has a severity, a summary, a description and a runbook (what to check,
 * what to change), and its PromQL is checked against the known-metrics table.
 */
import { stringify } from 'yaml';
import { Duration, Size } from 'cdk8s';
import type { BatchCapacity, BatchSettings } from '../backends/advisor';
import { describeDuration, describeSize, sizeToBytes } from '../backends/prop-units';
import { formatBytes, formatPrometheusDuration, parsePrometheusDuration } from '../core/units';
import { AUDIT_ERROR_PLUGINS } from './metrics';
import { checkPromQL, checkSelector, PromQLError } from './promql';
import { throwIfProblems } from '../core/problem';

export type AlertSeverity = 'critical' | 'warning';

/** One Prometheus alerting rule. */
export interface AuditAlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold, e.g. `10m`. */
  readonly for: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
    /** What to check and what to change. */
    readonly runbook: string;
    readonly runbook_url?: string;
  };
}

export interface AuditAlertGroup {
  readonly name: string;
  readonly rules: readonly AuditAlertRule[];
}

/** The batching the apiserver runs with, as the alert rules use it: the result of `adviseBatching` or `checkBatching`, with the sink latency it assumed. */
export interface AlertBatchingAdvice {
  readonly settings: BatchSettings;
  readonly capacity: BatchCapacity;
  /** The sink latency the advice assumed: the webhook latency rule fires above it. @default Duration.seconds(1) */
  readonly sinkLatency?: Duration;
}

export interface AuditAlertOptions {
  /**
   * Matchers that select the kube-apiserver's series (what goes between braces).
   * @default 'job="apiserver"' (kube-prometheus, the Prometheus Operator's default scrape of the apiserver)
   */
  readonly apiserverSelector?: string;
  /** Matchers that select the audit sink's series. @default 'job="audit-sink"' */
  readonly sinkSelector?: string;
  /** Include the sink rules (for `cdk8s-audit sink serve`). @default true */
  readonly sink?: boolean;
  /**
   * host:port of the webhook sink as the apiserver dials it (the `host` label of client-go's
   * rest_client_* metrics), e.g. `10.96.0.50:8443`. Adds the webhook request error and latency rules.
   * @default - no webhook request rules
   */
  readonly webhookHost?: string;
  /**
   * The batching advice the apiserver runs with (from `adviseBatching`): adds a rule when the event
   * rate nears the drain rate qps × max-size, and sets the webhook latency threshold to the sink latency
   * the advice assumed.
   * @default - no capacity rule
   */
  readonly advice?: AlertBatchingAdvice;
  /** Fire AuditEventsStopped after this long with no audit events (whole milliseconds). @default Duration.minutes(10) */
  readonly eventsStoppedFor?: Duration;
  /** Warn when the sink's file system has less free space than this (whole bytes). @default Size.gibibytes(1) */
  readonly sinkDiskFreeWarning?: Size;
  /** Warn when the sink's p99 fsync is slower than this (whole milliseconds). @default Duration.millis(250) */
  readonly sinkFsyncWarning?: Duration;
  /** The sink's `--max-queue-bytes`; warn at 75 % of it (whole bytes). @default Size.mebibytes(64), the sink's default */
  readonly sinkMaxQueueSize?: Size;
  /** Prefix for a `runbook_url` annotation: `<base>#<alert name lower-cased>`. @default - no runbook_url */
  readonly runbookUrlBase?: string;
  /** Labels added to every rule (e.g. team). @default none */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

/** Checks the options; every problem names the option, the value and the fix. */
export function validateAlertOptions(options: AuditAlertOptions): string[] {
  const problems: string[] = [];
  for (const [field, value] of [
    ['apiserverSelector', options.apiserverSelector],
    ['sinkSelector', options.sinkSelector],
  ] as const) {
    if (value === undefined) continue;
    try {
      checkSelector(value);
    } catch (e) {
      problems.push(`${field}: ${JSON.stringify(value)} is not a list of label matchers (${(e as PromQLError).reason}); write e.g. job="apiserver" or job="apiserver",cluster="prod"`);
    }
  }
  if (options.webhookHost !== undefined && !/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(options.webhookHost)) {
    problems.push(`webhookHost: ${JSON.stringify(options.webhookHost)} is not host:port as in the webhook kubeconfig's server URL; write e.g. 10.96.0.50:8443`);
  }
  for (const [field, value, example] of [
    ['eventsStoppedFor', options.eventsStoppedFor, 'Duration.minutes(10)'],
    ['sinkFsyncWarning', options.sinkFsyncWarning, 'Duration.millis(250)'],
    ['advice.sinkLatency', options.advice?.sinkLatency, 'Duration.millis(400)'],
  ] as const) {
    if (value === undefined) continue;
    if (!(value instanceof Duration)) problems.push(`${field}: ${String(value)} is not a Duration; give e.g. ${example}`);
    else if (!(Number.isInteger(value.toMilliseconds()) && value.toMilliseconds() > 0)) problems.push(`${field}: ${describeDuration(value)} is not a whole number of milliseconds > 0; give e.g. ${example}`);
  }
  for (const [field, value, example] of [
    ['sinkDiskFreeWarning', options.sinkDiskFreeWarning, 'Size.gibibytes(1)'],
    ['sinkMaxQueueSize', options.sinkMaxQueueSize, 'Size.mebibytes(64)'],
  ] as const) {
    if (value === undefined) continue;
    if (!(value instanceof Size)) problems.push(`${field}: ${String(value)} is not a Size; give e.g. ${example}`);
    else if (!(Number.isSafeInteger(sizeToBytes(value)) && sizeToBytes(value) > 0)) problems.push(`${field}: ${describeSize(value)} is not a whole number of bytes > 0; give e.g. ${example}`);
  }
  if (options.advice && !(options.advice.capacity?.drainEventsPerSecond === null || (options.advice.capacity?.drainEventsPerSecond ?? 0) > 0)) {
    problems.push('advice: has no capacity.drainEventsPerSecond; pass the result of adviseBatching() or checkBatching()');
  }
  for (const [k, v] of Object.entries(options.extraLabels ?? {})) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) problems.push(`extraLabels: ${JSON.stringify(k)} is not a label name; use letters, digits and _`);
    if (k === 'severity') problems.push('extraLabels: "severity" is set by each rule; leave it out');
    if (typeof v !== 'string') problems.push(`extraLabels.${k}: ${JSON.stringify(v)} is not a string`);
  }
  return problems;
}

/** The apiserver's /metrics as an operator reads it without Prometheus. */
const CURL_APISERVER = 'kubectl get --raw /metrics | grep -E "^apiserver_audit_(event|error)_total"';
const CURL_SINK = 'curl -s http://<sink ops address>:8081/metrics | grep ^audit_sink_';

/**
 * The alert rule groups for `options` — the one source of the PrometheusRule construct and the rule file.
 * @throws Error listing every invalid option
 */
export function auditAlertGroups(options: AuditAlertOptions = {}): AuditAlertGroup[] {
  const problems = validateAlertOptions(options);
  throwIfProblems(problems, 'audit alerts');
  const api = options.apiserverSelector ?? 'job="apiserver"';
  const sinkSel = options.sinkSelector ?? 'job="audit-sink"';
  const sel = (base: string, extra: string) => `{${[base, extra].filter(Boolean).join(', ')}}`;
  const stoppedFor = formatPrometheusDuration((options.eventsStoppedFor ?? Duration.minutes(10)).toMilliseconds());
  const rule = (r: Omit<AuditAlertRule, 'labels' | 'annotations'> & { severity: AlertSeverity; summary: string; description: string; runbook: string[] }): AuditAlertRule => ({
    alert: r.alert,
    expr: r.expr,
    for: r.for,
    labels: { severity: r.severity, ...(options.extraLabels ?? {}) },
    annotations: {
      summary: r.summary,
      description: r.description,
      runbook: r.runbook.map((line, i) => `${i + 1}. ${line}`).join('\n'),
      ...(options.runbookUrlBase ? { runbook_url: `${options.runbookUrlBase}#${r.alert.toLowerCase()}` } : {}),
    },
  });
  const advise = (extra = '') => `\`cdk8s-audit advise --rps <average> --peak-rps <peak> --burst-duration <how long> --sink-latency <p99>${extra}\``;
  const adviseHint = `Run ${advise(' --sink-max-in-flight <N> --sink-max-body <SIZE>')} (add your current --webhook-batch-… settings to check them) and apply the flags it prints.`;

  // apiserver_audit_error_total{plugin} has no series until a plugin's first drop, and rate() needs two
  // samples of a series: a one-off drop (a single failed batch) would never fire. The second operand
  // catches a series born in the last 5 m, once Prometheus has scraped the apiserver for 5 m (so a
  // Prometheus that starts, or a target that is new, does not fire on drops from long ago).
  const dropped = (s: string, by: string) =>
    `sum by (${by}) (rate(apiserver_audit_error_total${s}[5m])) > 0 or ` +
    `(sum by (${by}) (apiserver_audit_error_total${s} unless apiserver_audit_error_total${s} offset 5m) > 0 and on (instance) max by (instance) (up${sel(api, '')} offset 5m))`;
  const apiserver: AuditAlertRule[] = [
    rule({
      alert: 'AuditEventsDroppedBufferFull',
      expr: dropped(sel(api, 'plugin="buffered"'), 'instance'),
      for: '0m',
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} is dropping audit events: the batch buffer is full',
      description:
        'apiserver_audit_error_total{plugin="buffered"} grows ({{ $value | humanize }} events/s, or that many events when the series first appeared in the last 5 m): a backend in batch mode found its buffer full ' +
        '("audit buffer queue blocked") and dropped the events. Its single batching goroutine drains at most throttle-qps × batch-max-size events/s; ' +
        'a load above that fills the buffer. The events are gone from that backend (the other backend, if any, may still have them).',
      runbook: [
        `Confirm on the apiserver: ${CURL_APISERVER}; its log says "Error in audit plugin 'buffered' affecting N audit events: audit buffer queue blocked".`,
        'Compare the event rate, sum(rate(apiserver_audit_event_total[5m])), with --audit-webhook-batch-throttle-qps × --audit-webhook-batch-max-size (and the log backend\'s, if it runs in batch mode).',
        `${adviseHint} It raises qps, batch size or buffer size and shows the arithmetic.`,
        'If the bursts come from one client (a controller relisting, a CI job), lower the policy level for it or rate-limit it with API Priority and Fairness.',
      ],
    }),
    rule({
      alert: 'AuditWebhookDeliveryFailed',
      expr: dropped(sel(api, 'plugin="webhook"'), 'instance'),
      for: '0m',
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} dropped audit events it could not deliver to the webhook sink',
      description:
        'apiserver_audit_error_total{plugin="webhook"} grows ({{ $value | humanize }} events/s, or that many events when the series first appeared in the last 5 m): batches failed 5 POST attempts (initial backoff × 1.5 per retry, 30 s timeout each) and were dropped.',
      runbook: [
        `Confirm: ${CURL_APISERVER}; the apiserver log names the error ("Error in audit plugin 'webhook'…": connection refused, x509, timeout, HTTP status).`,
        `Check the sink: is it up and ready, does ${CURL_SINK} show audit_sink_rejects_total growing (overload, disk_full, too_large, client_not_allowed)?`,
        'Check the webhook kubeconfig: server URL (a ClusterIP or node address, not a Service DNS name), CA, client certificate validity.',
        `A sink restart longer than 8.125 × --audit-webhook-initial-backoff loses batches: ${advise(' --sink-outage <longest restart>')} sets a backoff that rides it out.`,
      ],
    }),
    rule({
      alert: 'AuditEventsTooLargeDropped',
      expr: dropped(sel(api, 'plugin="truncate"'), 'instance'),
      for: '0m',
      severity: 'warning',
      summary: 'kube-apiserver {{ $labels.instance }} dropped audit events too large even without their bodies',
      description:
        'apiserver_audit_error_total{plugin="truncate"} grows ({{ $value | humanize }} events/s, or that many events when the series first appeared in the last 5 m): events over --audit-webhook-truncate-max-event-size lost their request and response bodies and were still too large, so they were dropped.',
      runbook: [
        'Find the events in the apiserver log ("Error in audit plugin \'truncate\'"); they are usually requests with huge URLs or metadata (long annotation lists, many managed fields).',
        'Raise --audit-webhook-truncate-max-event-size, keeping batch-max-size × max-event-size under the sink\'s body limit (`cdk8s-audit advise --largest-event SIZE --sink-max-body SIZE`).',
        'Or lower the policy level for the resource so the event stays small (omitManagedFields: true helps).',
      ],
    }),
    rule({
      alert: 'AuditLogWriteFailed',
      expr: dropped(sel(api, 'plugin="log"'), 'instance'),
      for: '0m',
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} cannot write its audit log',
      description: 'apiserver_audit_error_total{plugin="log"} grows ({{ $value | humanize }} events/s, or that many events when the series first appeared in the last 5 m): writing the audit log file failed and the events are lost from the log.',
      runbook: [
        "Check the node's disk for the --audit-log-path directory: df -h, and that it is mounted read-write into the apiserver pod (a directory, not a single file).",
        'Check rotation: --audit-log-maxsize, --audit-log-maxbackup and --audit-log-maxage must keep the files within the disk.',
        "The apiserver log has the write error (\"Error in audit plugin 'log'\").",
      ],
    }),
    rule({
      alert: 'AuditEventsDroppedOtherPlugin',
      expr: dropped(sel(api, `plugin!~"${AUDIT_ERROR_PLUGINS.join('|')}"`), 'instance, plugin'),
      for: '0m',
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} dropped audit events in plugin {{ $labels.plugin }}',
      description: 'apiserver_audit_error_total{plugin="{{ $labels.plugin }}"} grows ({{ $value | humanize }} events/s, or that many events when the series first appeared in the last 5 m); the plugin is not one cdk8s-audit knows (buffered, webhook, truncate, log).',
      runbook: [`Read the apiserver log for "Error in audit plugin '{{ $labels.plugin }}'" and ${CURL_APISERVER}.`, 'Check the apiserver version notes for the plugin and report it to cdk8s-audit.'],
    }),
    rule({
      alert: 'AuditRequestsRejected',
      expr: `sum by (instance) (rate(apiserver_audit_requests_rejected_total${sel(api, '')}[5m])) > 0`,
      for: '0m',
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} fails requests because it cannot audit them',
      description:
        'apiserver_audit_requests_rejected_total grows by {{ $value | humanize }}/s: a backend in blocking-strict mode could not store the RequestReceived event, so the requests failed with HTTP 500.',
      runbook: [
        'Find which backend runs with --audit-log-mode=blocking-strict or --audit-webhook-mode=blocking-strict.',
        'For the log backend check the disk; for the webhook check the sink (up, latency, rejects).',
        `If availability matters more than a complete record, use batch mode with the settings from ${advise()}.`,
      ],
    }),
    rule({
      alert: 'AuditEventsStopped',
      expr: `sum by (instance) (rate(apiserver_audit_event_total${sel(api, '')}[5m])) == 0`,
      for: stoppedFor,
      severity: 'critical',
      summary: 'kube-apiserver {{ $labels.instance }} has produced no audit events for ' + stoppedFor,
      description:
        'apiserver_audit_event_total has not grown for ' +
        stoppedFor +
        '. A running apiserver serves requests all the time (leases, controllers, kubelets), so no events means auditing is off: no --audit-policy-file, a policy that records nothing, or the backends are not configured.',
      runbook: [
        'Check the apiserver flags: --audit-policy-file and --audit-log-path or --audit-webhook-config-file (kubectl -n kube-system get pod -l component=kube-apiserver -o yaml).',
        'Check the policy with `cdk8s-audit validate --kubernetes-version <version> <policy.yaml>` and `cdk8s-audit explain <policy.yaml> --verb get --url /api/v1/namespaces/default/pods`.',
        'A policy whose last rule is level None records only what earlier rules match; add a Metadata catch-all.',
      ],
    }),
    rule({
      alert: 'AuditApiserverMetricsAbsent',
      expr: `absent(apiserver_audit_event_total${sel(api, '')})`,
      for: '15m',
      severity: 'warning',
      summary: 'No kube-apiserver audit metrics are scraped; audit drop alerts cannot fire',
      description: `No series apiserver_audit_event_total{${api}} for 15m: Prometheus does not scrape the apiserver with this selector, so drops would go unnoticed.`,
      runbook: [
        `Check the selector the rules use (${api}) against the apiserver's scrape job in Prometheus (Status → Targets).`,
        `Without Prometheus: ${CURL_APISERVER}.`,
      ],
    }),
  ];

  if (options.webhookHost) {
    const host = `host="${options.webhookHost}"`;
    apiserver.push(
      rule({
        alert: 'AuditWebhookRequestErrors',
        expr: `sum by (instance, code) (rate(rest_client_requests_total${sel(api, `${host}, method="POST", code!~"2.."`)}[5m])) > 0`,
        for: '5m',
        severity: 'warning',
        summary: 'kube-apiserver {{ $labels.instance }} gets {{ $labels.code }} from the audit sink ' + options.webhookHost,
        description:
          `POSTs of audit batches to ${options.webhookHost} fail ({{ $value | humanize }}/s, code {{ $labels.code }}; "<error>" is a transport error). ` +
          'The apiserver retries each batch 5 times; when the failures last, it drops them (AuditWebhookDeliveryFailed follows).',
      runbook: [
          `Code 503: the sink is overloaded or its disk is full — ${CURL_SINK} (audit_sink_rejects_total by reason); raise its --max-in-flight, or lower the apiserver's throttle with ${advise(' --sink-max-in-flight <N>')}.`,
          'Code 413: batches are larger than the sink accepts — enable truncation and keep batch-max-size × truncate-max-event-size under the limit (`cdk8s-audit advise --sink-max-body SIZE`).',
          'Code 403/<error>: certificate or network — check the webhook kubeconfig, the sink\'s --client-name and that the address is reachable from the node.',
        ],
      }),
    );
    const latency = (options.advice?.sinkLatency?.toMilliseconds() ?? 1000) / 1000;
    apiserver.push(
      rule({
        alert: 'AuditWebhookSlow',
        expr: `histogram_quantile(0.99, sum by (instance, le) (rate(rest_client_request_duration_seconds_bucket${sel(api, `${host}, verb="POST"`)}[5m]))) > ${latency}`,
        for: '15m',
        severity: 'warning',
        summary: `The audit sink ${options.webhookHost} answers kube-apiserver {{ $labels.instance }} slowly (p99 {{ $value | humanizeDuration }})`,
        description:
          `The p99 time of audit POSTs to ${options.webhookHost} is above ${latency} s${options.advice?.sinkLatency !== undefined ? ', the sink latency the batching advice assumed' : ''}. ` +
          'Each batch holds a sink connection for that long, so throttle-qps × latency requests are in flight; above the sink\'s limit it refuses them, and at 30 s they time out.',
        runbook: [
          `Check the sink: ${CURL_SINK} (audit_sink_fsync_seconds, audit_sink_in_flight_requests, audit_sink_queue_bytes).`,
          `Re-run ${advise()} with the observed p99 as --sink-latency and apply its throttle and buffer settings.`,
        ],
      }),
    );
  }
  if (options.advice && options.advice.capacity.drainEventsPerSecond !== null) {
    const mu = options.advice.capacity.drainEventsPerSecond;
    const s = options.advice.settings;
    apiserver.push(
      rule({
        alert: 'AuditEventRateNearBatchCapacity',
        expr: `sum by (instance) (rate(apiserver_audit_event_total${sel(api, '')}[5m])) > ${Math.round(0.8 * mu * 1000) / 1000}`,
        for: '15m',
        severity: 'warning',
        summary: 'kube-apiserver {{ $labels.instance }} produces audit events near the rate its batching can drain',
        description:
          `{{ $value | humanize }} events/s for 15m, over 80 % of the ${mu} events/s the webhook batching drains (throttle-qps ${s.throttleQps} × batch-max-size ${s.maxBatchSize}). ` +
          `Above it the ${s.bufferSize}-event buffer fills and events are dropped (AuditEventsDroppedBufferFull). The apiserver exposes no buffer-fill metric, so the event rate is the early signal.`,
        runbook: [
          'Check where the events come from: sum by (level) (rate(apiserver_audit_level_total[5m])) and the busiest users in the audit log.',
          `Re-run ${advise()} with the new average and peak and apply the flags it prints.`,
        ],
      }),
    );
  }

  const groups: AuditAlertGroup[] = [{ name: 'cdk8s-audit.apiserver', rules: apiserver }];
  if (options.sink !== false) {
    const diskWarn = sizeToBytes(options.sinkDiskFreeWarning ?? Size.gibibytes(1));
    const fsyncWarn = (options.sinkFsyncWarning ?? Duration.millis(250)).toMilliseconds() / 1000;
    const queueMax = sizeToBytes(options.sinkMaxQueueSize ?? Size.mebibytes(64));
    const sinkRules: AuditAlertRule[] = [
      rule({
        alert: 'AuditSinkDown',
        expr: `up${sel(sinkSel, '')} == 0`,
        for: '5m',
        severity: 'critical',
        summary: 'The audit sink {{ $labels.instance }} cannot be scraped',
        description: 'Prometheus cannot reach the sink\'s /metrics for 5m. If the sink is down, the apiserver retries for 8.125 × --audit-webhook-initial-backoff and then drops batches.',
        runbook: [
          'kubectl get pods -l app.kubernetes.io/name=audit-sink; kubectl logs (JSON lines: "cannot start" names a bad key, a damaged store or a port in use).',
          'Check the ops listener (--ops-listen, default :8081) and the readiness probe (/readyz is 503 while draining).',
          'Run `cdk8s-audit sink verify --store DIR --key FILE` after a crash to confirm the store is intact.',
        ],
      }),
      rule({
        alert: 'AuditSinkOverloaded',
        expr: `sum by (instance, reason) (rate(audit_sink_rejects_total${sel(sinkSel, 'reason=~"overload|timeout|shutting_down"')}[5m])) > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} refuses requests ({{ $labels.reason }})',
        description:
          'audit_sink_rejects_total{reason="{{ $labels.reason }}"} grows by {{ $value | humanize }}/s. The sink answers 503 and the apiserver retries; when it lasts, batches are dropped (AuditWebhookDeliveryFailed).',
        runbook: [
          'overload: more requests or body bytes in flight than --max-in-flight allows — raise it, or lower the apiserver\'s throttle: `cdk8s-audit advise … --sink-max-in-flight N` keeps burst + qps × latency ≤ N.',
          'timeout: a request did not arrive whole within --request-timeout — check the network and the batch size.',
          'shutting_down: a rollout or restart; if it lasts, check the pod\'s termination.',
        ],
      }),
      rule({
        alert: 'AuditSinkCannotStore',
        expr: `sum by (instance, reason) (rate(audit_sink_rejects_total${sel(sinkSel, 'reason=~"disk_full|store_error"')}[5m])) > 0`,
        for: '0m',
        severity: 'critical',
        summary: 'The audit sink {{ $labels.instance }} cannot store events ({{ $labels.reason }})',
        description:
          'audit_sink_rejects_total{reason="{{ $labels.reason }}"} grows: the sink answers 503 because its disk is below --min-free-bytes or a write failed. The apiserver retries and then drops.',
        runbook: [
          `Check free space: ${CURL_SINK} (audit_sink_disk_free_bytes, audit_sink_store_bytes) and df -h on the store volume.`,
          'Free space: set --retention-max-age / --retention-max-bytes (after the events are archived), or grow the volume.',
          'store_error: read the sink log for the failing write; run `cdk8s-audit sink verify` on the store.',
        ],
      }),
      rule({
        alert: 'AuditSinkRejectsBatches',
        expr: `sum by (instance, reason) (rate(audit_sink_rejects_total${sel(sinkSel, 'reason=~"too_large|not_utf8|not_json|not_event_list|bad_event|content_type|content_encoding|method|path|client_not_allowed"')}[5m])) > 0`,
        for: '0m',
        severity: 'critical',
        summary: 'The audit sink {{ $labels.instance }} rejects audit batches ({{ $labels.reason }})',
        description:
          'audit_sink_rejects_total{reason="{{ $labels.reason }}"} grows by {{ $value | humanize }}/s. Retrying does not help: the apiserver tries 5 times and drops the batch.',
        runbook: [
          'too_large: a batch is over --max-body-bytes. A POST is up to --audit-webhook-batch-max-size × --audit-webhook-truncate-max-event-size bytes (truncate-max-batch-size does not split webhook batches): enable truncation and lower them — `cdk8s-audit advise --sink-max-body SIZE --largest-event SIZE`.',
          'client_not_allowed: the apiserver\'s client certificate CN is not in --client-name.',
          'path/method/content_type: the webhook kubeconfig\'s server URL path differs from --path, or something else is posting to the sink.',
          'not_json/not_event_list/bad_event/not_utf8: a client that is not the kube-apiserver, or a proxy rewriting bodies.',
        ],
      }),
      rule({
        alert: 'AuditSinkTlsHandshakeFailures',
        expr: `sum by (instance) (rate(audit_sink_tls_handshake_failures_total${sel(sinkSel, '')}[5m])) > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} refuses TLS handshakes',
        description: 'Clients connect without a client certificate of the sink\'s CA. If that is the apiserver, no event arrives.',
        runbook: [
          "Compare the CA in the sink's --client-ca / tls-dir ca.crt with the issuer of the apiserver's client certificate in the webhook kubeconfig (openssl x509 -noout -issuer -enddate).",
          'Renew expired certificates: `cdk8s-audit certs --out DIR`.',
        ],
      }),
      rule({
        alert: 'AuditSinkFsyncSlow',
        expr: `histogram_quantile(0.99, sum by (instance, le) (rate(audit_sink_fsync_seconds_bucket${sel(sinkSel, '')}[5m]))) > ${fsyncWarn}`,
        for: '15m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} syncs its store slowly (p99 {{ $value | humanizeDuration }})',
        description:
          `The p99 fdatasync of the sink's group commits is over ${fsyncWarn} s. Every batch waits for its commit before the 200, so the apiserver's POSTs slow down, hold more sink slots and may be refused or time out.`,
        runbook: [
          'Check the volume: a network disk or a throttled IOPS class; move the store to a faster storage class.',
          `Re-run ${advise()} with the observed POST latency as --sink-latency and apply its throttle and buffer settings.`,
        ],
      }),
      rule({
        alert: 'AuditSinkQueueBacklog',
        expr: `max by (instance) (max_over_time(audit_sink_queue_bytes${sel(sinkSel, '')}[5m])) > ${Math.round(queueMax * 0.75)}`,
        for: '10m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} has a commit backlog near its limit',
        description: `Event bytes waiting for the disk reached {{ $value | humanize1024 }}B, over 75 % of --max-queue-bytes (${formatBytes(queueMax)}); at the limit the sink answers 503.`,
        runbook: ['The disk is slower than the incoming events: see AuditSinkFsyncSlow.', 'Raise --max-queue-bytes only with memory to spare; a faster volume is the fix.'],
      }),
      rule({
        alert: 'AuditSinkDiskLow',
        expr: `min by (instance) (audit_sink_disk_free_bytes${sel(sinkSel, '')}) < ${diskWarn}`,
        for: '10m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} has {{ $value | humanize1024 }}B of disk left',
        description: `Free space on the store's file system is below ${formatBytes(diskWarn)}. Below --min-free-bytes the sink refuses events (AuditSinkCannotStore).`,
        runbook: [
          'Archive and then delete sealed segments with --retention-max-age / --retention-max-bytes, or grow the volume.',
          'Check retention against your requirement first (PCI DSS 10.5.1: 12 months, 3 months immediately available).',
        ],
      }),
      rule({
        alert: 'AuditSinkDiskFillingUp',
        expr: `predict_linear(audit_sink_disk_free_bytes${sel(sinkSel, '')}[6h], 24 * 3600) < 0`,
        for: '1h',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} will fill its disk within a day',
        description: 'At the growth of the last 6 hours the store\'s file system is full within 24 hours; then the sink refuses events.',
        runbook: ['Check the event rate (rate(audit_sink_events_total[1h])) for a new noisy client; lower its policy level.', 'Grow the volume or set a retention limit.'],
      }),
      rule({
        alert: 'AuditSinkHeadWriteFailures',
        expr: `increase(audit_sink_head_write_failures_total${sel(sinkSel, '')}[15m]) > 0`,
        for: '0m',
        severity: 'warning',
        summary: 'The audit sink {{ $labels.instance }} cannot update its signed head',
        description: 'Writing head.json failed: the signed summary of the hash chain is stale, so `sink verify` cannot vouch for the newest records.',
        runbook: ['Read the sink log for the failed write (disk full, permissions).', 'Run `cdk8s-audit sink verify` once the cause is fixed.'],
      }),
    ];
    groups.push({ name: 'cdk8s-audit.sink', rules: sinkRules });
  }
  for (const g of groups) for (const r of g.rules) assertValidRule(r);
  return groups;
}

/** Throws when a rule's PromQL or fields are not valid (a bug in the rules or an option that slipped through). */
export function assertValidRule(r: AuditAlertRule): void {
  try {
    const check = checkPromQL(r.expr);
    if (check.type !== 'vector') throw new Error(`the expression is ${check.type === 'scalar' ? 'a scalar' : `a ${check.type}`}, an alert needs an instant vector`);
  } catch (e) {
    throw new Error(`alert ${r.alert}: invalid PromQL: ${(e as Error).message}`);
  }
  if (parsePrometheusDuration(r.for) === undefined) throw new Error(`alert ${r.alert}: for ${JSON.stringify(r.for)} is not a Prometheus duration`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(r.alert)) throw new Error(`alert ${JSON.stringify(r.alert)} is not a CamelCase alert name`);
}

/** The rules as a Prometheus rule file (`rule_files:` in prometheus.yml; `promtool check rules` reads it). */
export function renderPrometheusRuleFile(options: AuditAlertOptions = {}): string {
  return (
    '# Audit alerts from cdk8s-audit: dropped and rejected audit events, webhook errors, the audit sink.\n' +
    stringify({ groups: auditAlertGroups(options) }, { lineWidth: 0 })
  );
}
