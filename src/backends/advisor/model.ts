/**
 * The batching advisor: buffer, batch, wait, throttle, truncate and retry settings for the
 * kube-apiserver's webhook audit backend, computed from the load and the sink, with every number
 * shown as a formula with its inputs; and the check that tells whether given settings drop events.
 *
 * The model is the apiserver's own code (k8s.io/apiserver v0.37.2, identical in v0.35.4):
 *
 * - `ProcessEvents` (plugin/pkg/audit/buffered/buffered.go L254–286) puts each event into a channel
 *   of `--audit-webhook-batch-buffer-size` with a non-blocking send; when the channel is full the event
 *   is dropped ("audit buffer queue blocked") and counted in `apiserver_audit_error_total{plugin="buffered"}`.
 * - ONE batching goroutine (`processIncomingEvents`, L154–190) loops: reset the max-wait timer (L175),
 *   `collectEvents` (L197–220) takes up to `--audit-webhook-batch-max-size` events or stops when the
 *   timer fires, then `processEvents` (L222–251) calls `throttle.Accept()` (L230) — a token bucket of
 *   `qps` tokens/s holding up to `burst` tokens, full at start (L92; client-go flowcontrol) — and
 *   hands the batch to the webhook.
 * - The webhook backend runs with `AsyncDelegate: true` (pkg/server/options/audit.go L605): every
 *   batch is POSTed from a goroutine of its own, so POSTs run in parallel and the sink's latency does
 *   not slow the batching goroutine; only the throttle does. Drain rate = qps × max-size events/s.
 *   (The log backend has AsyncDelegate false: its writes are sequential.)
 * - A failed POST is retried (pkg/util/webhook/webhook.go L42–49: initial backoff × 1.5, jitter 0.2,
 *   5 steps = 5 attempts and 4 waits; any error is retried, plugin/pkg/audit/webhook/webhook.go
 *   retryOnError), each attempt with a 30 s timeout (webhook.go L38); then the batch is dropped and
 *   counted in `apiserver_audit_error_total{plugin="webhook"}` (plugin webhook.go L119).
 * - Truncation wraps the buffered backend (options/audit.go L334), so it sees one event per call:
 *   `--audit-webhook-truncate-max-event-size` bounds each event, but `-truncate-max-batch-size` never
 *   splits a POSTed batch. A POST is up to max-size × max-event-size bytes plus the EventList envelope.
 */
import { AuditMode, WebhookBackendProps } from '../backends';

/** Upstream defaults of the webhook batch settings (pkg/server/options/audit.go L49–54). */
export const WEBHOOK_BATCH_DEFAULTS = { bufferSize: 10000, maxBatchSize: 400, maxWaitSeconds: 30, throttleQps: 10, throttleBurst: 15 } as const;
/** The webhook client's request timeout (pkg/util/webhook/webhook.go L38). */
export const WEBHOOK_REQUEST_TIMEOUT_SECONDS = 30;
/** Retry schedule (pkg/util/webhook/webhook.go L42–49). */
export const WEBHOOK_RETRY = { factor: 1.5, jitter: 0.2, attempts: 5 } as const;
/** The waits between the 5 attempts are d, 1.5d, 2.25d, 3.375d (before jitter): 8.125 × d in all. */
export const RETRY_WAIT_FACTOR = [0, 1, 2, 3].reduce((sum, i) => sum + WEBHOOK_RETRY.factor ** i, 0);
/** Upstream default of --audit-webhook-truncate-max-event-size. */
export const DEFAULT_MAX_EVENT_BYTES = 100 * 1024;
/** Upstream default of --audit-webhook-truncate-max-batch-size. */
export const DEFAULT_MAX_BATCH_BYTES = 10 * 1024 * 1024;
/** Default apiserver memory the advised buffer may take. */
export const DEFAULT_MAX_BUFFER_MEMORY_BYTES = 256 * 1024 * 1024;

/** Where each part of the model comes from (k8s.io/apiserver v0.37.2). */
export const MODEL_SOURCES = {
  buffer: 'buffered.go ProcessEvents L254–286: non-blocking send into a channel of buffer-size; full ⇒ "audit buffer queue blocked", apiserver_audit_error_total{plugin="buffered"}',
  batch: 'buffered.go collectEvents L197–220: a batch is max-size events, or fewer when the max-wait timer (reset before every batch, L175) fires',
  throttle: 'buffered.go processEvents L222–251: one throttle.Accept() per batch on the single batching goroutine; token bucket (qps, burst), full at start (L92)',
  async: 'options/audit.go L605 AsyncDelegate: true: each batch is POSTed from its own goroutine, so sends are parallel and do not hold the batching goroutine',
  retry: 'util/webhook/webhook.go L42–49: 5 attempts, waits d·1.5^i with jitter 0.2, every error retried; then apiserver_audit_error_total{plugin="webhook"}',
  timeout: 'util/webhook/webhook.go L38: defaultRequestTimeout 30s per POST',
  truncate: 'options/audit.go L334: truncate wraps the buffered backend, one event per call: max-event-size bounds events, max-batch-size never splits a POST',
} as const;

/** The load the apiserver's audit backend must carry. */
export interface AuditLoad {
  /** Requests per second the apiserver serves on average. */
  readonly requestsPerSecond: number;
  /**
   * Audit events per request after the policy: 1 when RequestReceived is omitted (as every preset
   * does), 2 when it is not; long-running requests add ResponseStarted; level None requests give 0.
   * @default 1
   */
  readonly eventsPerRequest?: number;
  /** Requests per second during a burst (the total, not the excess). @default requestsPerSecond */
  readonly peakRequestsPerSecond?: number;
  /** How long a burst lasts, in seconds. @default 0 (no burst) */
  readonly burstSeconds?: number;
  /** Average serialized event size in bytes (Metadata events are about 1–2 KiB). @default 2048 */
  readonly eventSizeBytes?: number;
  /**
   * The largest event to deliver whole; larger events lose their request and response bodies
   * (`--audit-webhook-truncate-max-event-size`), and are dropped if still larger.
   * @default 102400 (the apiserver's default)
   */
  readonly largestEventBytes?: number;
}

/** The webhook sink as the apiserver sees it. */
export interface AuditSinkProfile {
  /** Seconds the sink takes to answer one batch (use a high percentile, e.g. p99). */
  readonly latencySeconds: number;
  /**
   * Requests the sink handles at once; more are refused (cdk8s-audit's sink: `--max-in-flight`, 8).
   * @default - unlimited
   */
  readonly maxInFlight?: number;
  /** The largest request body the sink accepts, in bytes. @default - unlimited */
  readonly maxBodyBytes?: number;
  /**
   * The longest sink outage (a restart, a rollout) that must not lose events, in seconds.
   * @default - not checked; the advice keeps the 10 s initial backoff (a 81 s outage)
   */
  readonly outageSeconds?: number;
}

export interface BatchingAdvisorInput {
  readonly load: AuditLoad;
  readonly sink: AuditSinkProfile;
  /** Safety factor on rates and backlog: capacity ≥ headroom × need. @default 2 */
  readonly headroom?: number;
  /** Longest a quiet-time event may wait for its batch (`--audit-webhook-batch-max-wait`), seconds. @default 30 */
  readonly maxDelaySeconds?: number;
  /**
   * Apiserver memory the buffer may take when full (buffer × eventSizeBytes). Without a sink
   * concurrency limit the advice raises qps rather than the buffer past this.
   * @default 268435456 (256 MiB)
   */
  readonly maxBufferMemoryBytes?: number;
  /** @default the newest supported version */
  readonly kubernetesVersion?: string;
}

/** The webhook backend settings the model uses (all of them, defaults filled in). */
export interface BatchSettings {
  readonly mode: AuditMode;
  readonly bufferSize: number;
  readonly maxBatchSize: number;
  readonly maxWaitSeconds: number;
  readonly throttleEnabled: boolean;
  readonly throttleQps: number;
  readonly throttleBurst: number;
  readonly truncateEnabled: boolean;
  readonly truncateMaxEventSizeBytes: number;
  readonly truncateMaxBatchSizeBytes: number;
  readonly initialBackoffSeconds: number;
}

/** One computed number: the value, the formula, the formula with its inputs, and why. */
export interface AdvisorStep {
  /** The setting or quantity, e.g. `bufferSize` or `drainRate`. */
  readonly name: string;
  /** The kube-apiserver flag it sets, when it is a setting. */
  readonly flag?: string;
  readonly value: number | boolean;
  readonly unit: string;
  /** e.g. `C = max(B, ⌈h × backlog⌉)` */
  readonly formula: string;
  /** e.g. `max(15, ⌈2 × 390⌉) = 780` */
  readonly arithmetic: string;
  readonly why: string;
  /** A key of MODEL_SOURCES. */
  readonly source?: keyof typeof MODEL_SOURCES;
}

export type FindingSeverity = 'drop' | 'warning' | 'info';

/** A finding: `drop` means events are lost under the load (exit 1); the message names field, value, rule and fix. */
export interface AdvisorFinding {
  readonly severity: FindingSeverity;
  readonly field: string;
  readonly message: string;
}

/** What the settings carry, by the model. */
export interface BatchCapacity {
  /** Events/s the batching goroutine hands to the sink: qps × B; null when throttling is off. */
  readonly drainEventsPerSecond: number | null;
  /** Events taken out of the buffer at once: B × (burst + 1) (burst batches sent, one waiting for a token). */
  readonly heldByThrottleEvents: number;
  /** Events a burst of any speed can bring without a drop: buffer + held. */
  readonly instantBurstEvents: number;
  /** At the stated peak: seconds until the buffer is full (Infinity when the drain keeps up). */
  readonly maxBurstSecondsAtPeak: number;
  /** At the stated peak: events until the first drop (Infinity when the drain keeps up). */
  readonly maxBurstEventsAtPeak: number;
  /** Events the stated burst brings (peak × duration). */
  readonly burstEvents: number;
  /** Events the settings absorb during the stated burst: buffer + held + drain × duration. */
  readonly absorbedDuringBurst: number;
  /** Events the model says are dropped during the stated burst (0 when none). */
  readonly droppedInBurst: number;
  /** Seconds to empty the buffer after the burst at drain − average rate. */
  readonly drainAfterBurstSeconds: number;
  /** Most POSTs in flight at once: ⌊burst + qps × latency⌋ (a token bucket starts ≤ burst + qps·t batches in t seconds). */
  readonly peakConcurrentPosts: number;
  /** Largest POST body in bytes (null when unbounded: truncation off). */
  readonly maxPostBytes: number | null;
  /** Buffer memory when full: buffer × average event size. */
  readonly bufferMemoryBytes: number;
  /** Shortest sink outage that drops batches: 8.125 × initial backoff (the waits between 5 attempts). */
  readonly outageToleranceSeconds: number;
}

export interface BatchingCheck {
  readonly settings: BatchSettings;
  readonly capacity: BatchCapacity;
  /** The quantities behind the capacity, each with its formula. */
  readonly steps: readonly AdvisorStep[];
  readonly findings: readonly AdvisorFinding[];
  /** True when a finding says events are dropped under the load. */
  readonly drops: boolean;
}

export interface BatchingAdvice extends BatchingCheck {
  /** The steps that chose each setting, then the capacity steps. */
  readonly steps: readonly AdvisorStep[];
  /** WebhookBackend props carrying the settings (merge with configFile etc.). */
  readonly props: WebhookBackendProps;
  /** The settings as kube-apiserver flags (`--audit-webhook-…=…`), every one explicit. */
  readonly flags: readonly string[];
}
