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
import { Duration } from 'cdk8s';
import { AuditMode, BATCH_ENVELOPE_BYTES, WebhookBackend, WebhookBackendProps } from './backends';
import { AuditConfigError, formatValue } from './errors';
import { FlagValue, formatFlagValue, getFlag } from './flag-table';
import { FlagLookup, validateAuditFlags } from './flags';
import { formatGoDuration, parseGoDuration } from './go-values';
import { parseKubernetesVersion } from '../core/kubernetes-version';

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

/** Flags the settings map to, in the order the apiserver's --help lists them. */
const SETTING_FLAGS: readonly [keyof BatchSettings, string][] = [
  ['initialBackoffSeconds', 'audit-webhook-initial-backoff'],
  ['mode', 'audit-webhook-mode'],
  ['bufferSize', 'audit-webhook-batch-buffer-size'],
  ['maxBatchSize', 'audit-webhook-batch-max-size'],
  ['maxWaitSeconds', 'audit-webhook-batch-max-wait'],
  ['throttleEnabled', 'audit-webhook-batch-throttle-enable'],
  ['throttleQps', 'audit-webhook-batch-throttle-qps'],
  ['throttleBurst', 'audit-webhook-batch-throttle-burst'],
  ['truncateEnabled', 'audit-webhook-truncate-enabled'],
  ['truncateMaxBatchSizeBytes', 'audit-webhook-truncate-max-batch-size'],
  ['truncateMaxEventSizeBytes', 'audit-webhook-truncate-max-event-size'],
];

/** Every setting, in the order of its flag in the apiserver's --help. */
export const SETTING_NAMES: readonly (keyof BatchSettings)[] = SETTING_FLAGS.map(([n]) => n);

/** The flag of a setting. */
export function settingFlag(name: keyof BatchSettings): string {
  return SETTING_FLAGS.find(([n]) => n === name)![1];
}

// ---------------------------------------------------------------------------------------------
// numbers

/** Rounds for display: integers as is, else up to 3 decimals. */
export function num(n: number): string {
  if (n === Infinity) return '∞';
  if (Number.isInteger(n)) return String(n);
  return String(Math.round(n * 1000) / 1000);
}

/** Up to two significant digits, rounding up (780 → 780, 16523 → 17000, 3.21 → 3.3). */
export function niceUp(n: number): number {
  if (n <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(Math.ceil(n / step - 1e-9) * step * 1e6) / 1e6;
}

/** Down to two significant digits (for rates that must not exceed a limit): 3 → 3, 0.0567 → 0.056. */
export function niceDown(n: number): number {
  if (n <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(Math.floor(n / step + 1e-9) * step * 1e6) / 1e6;
}

/** Up to one decimal. */
function ceilTenth(n: number): number {
  return Math.ceil(n * 10 - 1e-9) / 10;
}

function bytes(n: number | null): string {
  if (n === null) return 'unbounded';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${num(Math.round(v * 10) / 10)} ${units[i]}`;
}

// ---------------------------------------------------------------------------------------------
// input checks

interface Derived {
  /** Average event rate. */
  readonly r: number;
  /** Peak event rate. */
  readonly P: number;
  readonly D: number;
  readonly S: number;
  readonly Emax: number;
  readonly L: number;
  readonly M: number | undefined;
  readonly body: number | undefined;
  readonly outage: number | undefined;
  readonly h: number;
  readonly epr: number;
}

function positive(problems: string[], field: string, value: unknown, what: string, example: string, allowZero = false): void {
  const ok = typeof value === 'number' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) problems.push(`${field}: ${formatValue(value)} is not ${what}; give ${example}`);
}

/** Checks the advisor's inputs; every problem names the field, the value and the fix. */
export function validateAdvisorInput(input: BatchingAdvisorInput): string[] {
  const problems: string[] = [];
  const { load, sink } = input;
  if (!load || typeof load !== 'object') return ['load: missing; give { requestsPerSecond, … }'];
  if (!sink || typeof sink !== 'object') return ['sink: missing; give { latencySeconds, … }'];
  positive(problems, 'load.requestsPerSecond', load.requestsPerSecond, 'a rate ≥ 0', 'requests per second, e.g. 200', true);
  if (load.eventsPerRequest !== undefined) positive(problems, 'load.eventsPerRequest', load.eventsPerRequest, 'a count > 0', '1 when RequestReceived is omitted, 2 when not');
  if (load.peakRequestsPerSecond !== undefined) {
    positive(problems, 'load.peakRequestsPerSecond', load.peakRequestsPerSecond, 'a rate ≥ 0', 'the request rate during a burst, e.g. 2000', true);
    if (typeof load.peakRequestsPerSecond === 'number' && load.peakRequestsPerSecond < load.requestsPerSecond) {
      problems.push(
        `load.peakRequestsPerSecond: ${load.peakRequestsPerSecond} is below requestsPerSecond ${load.requestsPerSecond}; the peak is the total rate during a burst — give a value ≥ ${load.requestsPerSecond}`,
      );
    }
    if (load.burstSeconds === undefined && load.peakRequestsPerSecond !== load.requestsPerSecond) {
      problems.push(`load.burstSeconds: (unset) but peakRequestsPerSecond ${load.peakRequestsPerSecond} is given; give how long the burst lasts, e.g. 60 (seconds)`);
    }
  }
  if (load.burstSeconds !== undefined) positive(problems, 'load.burstSeconds', load.burstSeconds, 'a duration ≥ 0', 'seconds, e.g. 60', true);
  if (load.eventSizeBytes !== undefined) positive(problems, 'load.eventSizeBytes', load.eventSizeBytes, 'a size > 0', 'bytes, e.g. 2048');
  if (load.largestEventBytes !== undefined) {
    positive(problems, 'load.largestEventBytes', load.largestEventBytes, 'a size > 0', 'bytes, e.g. 102400');
    if (typeof load.largestEventBytes === 'number' && Number.isFinite(load.largestEventBytes) && !Number.isSafeInteger(load.largestEventBytes)) {
      problems.push(`load.largestEventBytes: ${load.largestEventBytes} is not a whole number of bytes; give e.g. ${Math.ceil(load.largestEventBytes)}`);
    }
  }
  positive(problems, 'sink.latencySeconds', sink.latencySeconds, 'a duration > 0', 'the p99 seconds the sink takes per batch, e.g. 0.2');
  if (sink.maxInFlight !== undefined && !(Number.isSafeInteger(sink.maxInFlight) && sink.maxInFlight >= 1)) {
    problems.push(`sink.maxInFlight: ${formatValue(sink.maxInFlight)} is not a whole number ≥ 1; give the requests the sink takes at once (cdk8s-audit sink: --max-in-flight, default 8)`);
  }
  if (sink.maxBodyBytes !== undefined && !(Number.isSafeInteger(sink.maxBodyBytes) && sink.maxBodyBytes > 0)) {
    problems.push(`sink.maxBodyBytes: ${formatValue(sink.maxBodyBytes)} is not a size; give bytes > 0 (cdk8s-audit sink: --max-body-bytes, default 16Mi)`);
  }
  if (sink.outageSeconds !== undefined) positive(problems, 'sink.outageSeconds', sink.outageSeconds, 'a duration > 0', 'seconds, e.g. 60 for a sink restart');
  if (input.headroom !== undefined && !(typeof input.headroom === 'number' && input.headroom >= 1 && Number.isFinite(input.headroom))) {
    problems.push(`headroom: ${formatValue(input.headroom)} is not a factor ≥ 1; give e.g. 2 (capacity twice the need)`);
  }
  if (input.maxDelaySeconds !== undefined) positive(problems, 'maxDelaySeconds', input.maxDelaySeconds, 'a duration > 0', 'seconds, e.g. 5');
  if (input.maxBufferMemoryBytes !== undefined) positive(problems, 'maxBufferMemoryBytes', input.maxBufferMemoryBytes, 'a size > 0', 'bytes, e.g. 268435456 (256 MiB)');
  try {
    parseKubernetesVersion(input.kubernetesVersion);
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}

function derive(input: BatchingAdvisorInput): Derived {
  const { load, sink } = input;
  const epr = load.eventsPerRequest ?? 1;
  return {
    epr,
    r: load.requestsPerSecond * epr,
    P: (load.peakRequestsPerSecond ?? load.requestsPerSecond) * epr,
    D: load.burstSeconds ?? 0,
    S: load.eventSizeBytes ?? 2048,
    Emax: load.largestEventBytes ?? DEFAULT_MAX_EVENT_BYTES,
    L: sink.latencySeconds,
    M: sink.maxInFlight,
    body: sink.maxBodyBytes,
    outage: sink.outageSeconds,
    h: input.headroom ?? 2,
  };
}

// ---------------------------------------------------------------------------------------------
// the check

/**
 * What `settings` carry under the load, by the apiserver's batching model, and whether they drop
 * events. Findings of severity `drop` name the field, the value, the rule and the fix.
 * @throws AuditConfigError when the input itself is invalid
 */
export function checkBatching(settings: BatchSettings, input: BatchingAdvisorInput): BatchingCheck {
  const problems = validateAdvisorInput(input);
  problems.push(...validateSettings(settings));
  if (problems.length) throw new AuditConfigError(problems);
  const d = derive(input);
  const s = settings;
  const steps: AdvisorStep[] = [];
  const findings: AdvisorFinding[] = [];
  const drop = (field: string, message: string) => findings.push({ severity: 'drop', field, message });
  const warn = (field: string, message: string) => findings.push({ severity: 'warning', field, message });
  const info = (field: string, message: string) => findings.push({ severity: 'info', field, message });

  steps.push({
    name: 'eventRate',
    value: d.r,
    unit: 'events/s',
    formula: 'r = requestsPerSecond × eventsPerRequest',
    arithmetic: `${num(input.load.requestsPerSecond)} × ${num(d.epr)} = ${num(d.r)}`,
    why: 'average audit events per second',
  });
  const burstEvents = d.P * d.D;
  steps.push({
    name: 'burstEvents',
    value: burstEvents,
    unit: 'events',
    formula: 'N = peakRequestsPerSecond × eventsPerRequest × burstSeconds',
    arithmetic: `${num(d.P / d.epr)} × ${num(d.epr)} × ${num(d.D)} = ${num(burstEvents)}`,
    why: 'events the burst brings',
  });

  // Blocking modes: no buffer; every event is POSTed from the request itself.
  if (s.mode !== AuditMode.BATCH) {
    const concurrent = Math.ceil(d.P * d.L);
    steps.push({
      name: 'peakConcurrentPosts',
      value: concurrent,
      unit: 'POSTs',
      formula: 'K = ⌈P × L⌉ (one POST per event, in the request, Little’s law)',
      arithmetic: `⌈${num(d.P)} × ${num(d.L)}⌉ = ${concurrent}`,
      why: `${s.mode} mode sends each event synchronously while the request waits`,
    });
    warn('mode', `mode (--audit-webhook-mode): ${JSON.stringify(s.mode)} makes every audited request wait ${num(d.L)} s for the sink per event; use "batch" so requests do not wait`);
    if (d.M !== undefined && concurrent > d.M) {
      drop('sink.maxInFlight', `sink.maxInFlight: ${d.M} is below the ${concurrent} POSTs in flight at ${num(d.P)} events/s × ${num(d.L)} s in ${s.mode} mode; the sink refuses the rest and ${s.mode === AuditMode.BLOCKING_STRICT ? 'requests fail (HTTP 500)' : 'their events are lost'} — use mode "batch"`);
    }
    if (d.L >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
      drop('sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} reaches the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout (${MODEL_SOURCES.timeout}); every POST fails — make the sink answer faster`);
    }
    const capacity: BatchCapacity = {
      drainEventsPerSecond: d.M !== undefined ? d.M / d.L : null,
      heldByThrottleEvents: 0,
      instantBurstEvents: 0,
      maxBurstSecondsAtPeak: Infinity,
      maxBurstEventsAtPeak: Infinity,
      burstEvents,
      absorbedDuringBurst: burstEvents,
      droppedInBurst: 0,
      drainAfterBurstSeconds: 0,
      peakConcurrentPosts: concurrent,
      maxPostBytes: s.truncateEnabled ? s.truncateMaxEventSizeBytes + BATCH_ENVELOPE_BYTES : null,
      bufferMemoryBytes: 0,
      outageToleranceSeconds: RETRY_WAIT_FACTOR * s.initialBackoffSeconds,
    };
    return { settings, capacity, steps, findings, drops: findings.some((f) => f.severity === 'drop') };
  }

  const B = s.maxBatchSize;
  const C = s.bufferSize;
  const q = s.throttleQps;
  const b = s.throttleBurst;
  const throttled = s.throttleEnabled;

  // Drain rate of the single batching goroutine.
  const mu = throttled ? q * B : Infinity;
  steps.push(
    throttled
      ? {
          name: 'drainRate',
          value: mu,
          unit: 'events/s',
          formula: 'μ = qps × B',
          arithmetic: `${num(q)} × ${B} = ${num(mu)}`,
          why: 'one token per batch on the single batching goroutine; POSTs are asynchronous, so the sink latency does not enter',
          source: 'throttle',
        }
      : {
          name: 'drainRate',
          value: Infinity,
          unit: 'events/s',
          formula: 'μ = ∞ (throttling off: the goroutine starts a POST for every batch at once)',
          arithmetic: 'unbounded by the apiserver; the sink must take ⌈P / B⌉ × L POSTs at once',
          why: 'without a token bucket nothing in the apiserver limits the batch rate',
          source: 'async',
        },
  );
  const held = throttled ? B * (b + 1) : B;
  steps.push({
    name: 'heldByThrottle',
    value: held,
    unit: 'events',
    formula: throttled ? 'H = B × (burst + 1)' : 'H = B',
    arithmetic: throttled ? `${B} × (${b} + 1) = ${held}` : `${B}`,
    why: throttled
      ? 'a full bucket lets burst batches go at once, and the goroutine holds one more batch while it waits for a token'
      : 'the batch being collected',
    source: 'throttle',
  });
  const instant = C + held;
  steps.push({
    name: 'instantBurstEvents',
    value: instant,
    unit: 'events',
    formula: 'I = C + H',
    arithmetic: `${C} + ${held} = ${instant}`,
    why: 'events a burst of any speed can bring before the first "audit buffer queue blocked"',
    source: 'buffer',
  });
  const absorbed = instant + (throttled ? mu * d.D : Infinity);
  const dropped = Math.max(0, Math.ceil(burstEvents - absorbed - 1e-9));
  steps.push({
    name: 'absorbedDuringBurst',
    value: absorbed,
    unit: 'events',
    formula: 'A = I + μ × D',
    arithmetic: throttled ? `${instant} + ${num(mu)} × ${num(d.D)} = ${num(absorbed)}` : '∞',
    why: `must be ≥ the burst's ${num(burstEvents)} events`,
    source: 'buffer',
  });
  const maxBurstSeconds = !throttled || d.P <= mu ? Infinity : instant / (d.P - mu);
  const maxBurstEvents = maxBurstSeconds === Infinity ? Infinity : d.P * maxBurstSeconds;
  steps.push({
    name: 'maxBurstSecondsAtPeak',
    value: maxBurstSeconds,
    unit: 's',
    formula: 'T = I / (P − μ) when P > μ, else ∞',
    arithmetic: maxBurstSeconds === Infinity ? `P ${num(d.P)} ≤ μ ${num(mu)}: ∞` : `${instant} / (${num(d.P)} − ${num(mu)}) = ${num(maxBurstSeconds)}`,
    why: `how long the peak rate can last before drops (${num(maxBurstEvents)} events)`,
  });
  const backlogEnd = throttled ? Math.max(0, burstEvents - held - mu * d.D) : 0;
  const drainAfter = backlogEnd === 0 ? 0 : mu > d.r ? backlogEnd / (mu - d.r) : Infinity;
  steps.push({
    name: 'drainAfterBurst',
    value: drainAfter,
    unit: 's',
    formula: 'after = max(0, N − H − μ × D) / (μ − r)',
    arithmetic: throttled ? `${num(backlogEnd)} / (${num(mu)} − ${num(d.r)}) = ${num(drainAfter)}` : '0',
    why: 'time until the buffer is empty again; the next burst must not come sooner',
  });
  const concurrent = throttled ? Math.floor(b + q * d.L + 1e-9) : Math.ceil((d.P / B) * d.L) + 1;
  steps.push({
    name: 'peakConcurrentPosts',
    value: concurrent,
    unit: 'POSTs',
    formula: throttled ? 'K = ⌊burst + qps × L⌋' : 'K = ⌈(P / B) × L⌉ + 1',
    arithmetic: throttled ? `⌊${b} + ${num(q)} × ${num(d.L)}⌋ = ${concurrent}` : `⌈(${num(d.P)} / ${B}) × ${num(d.L)}⌉ + 1 = ${concurrent}`,
    why: 'POSTs run in parallel, each for L seconds; a token bucket starts at most burst + qps × t batches in any t seconds',
    source: 'async',
  });
  const maxPost = s.truncateEnabled ? B * s.truncateMaxEventSizeBytes + BATCH_ENVELOPE_BYTES : null;
  steps.push({
    name: 'maxPostBytes',
    value: maxPost ?? Infinity,
    unit: 'bytes',
    formula: s.truncateEnabled ? 'body ≤ B × maxEventSize + envelope' : 'body unbounded (truncation off)',
    arithmetic: s.truncateEnabled ? `${B} × ${s.truncateMaxEventSizeBytes} + ${BATCH_ENVELOPE_BYTES} = ${maxPost} (${bytes(maxPost)})` : 'events of any size, B per POST',
    why: 'truncate-max-batch-size does not split webhook batches',
    source: 'truncate',
  });
  const memory = C * d.S;
  steps.push({
    name: 'bufferMemory',
    value: memory,
    unit: 'bytes',
    formula: 'memory = C × eventSize',
    arithmetic: `${C} × ${d.S} = ${memory} (${bytes(memory)})`,
    why: 'apiserver memory held by a full buffer',
  });
  const tolerance = RETRY_WAIT_FACTOR * s.initialBackoffSeconds;
  steps.push({
    name: 'outageTolerance',
    value: tolerance,
    unit: 's',
    formula: 'outage ≤ d × (1 + 1.5 + 1.5² + 1.5³) = 8.125 × d',
    arithmetic: `8.125 × ${num(s.initialBackoffSeconds)} = ${num(tolerance)}`,
    why: 'a batch whose 5 attempts all fall into an outage is dropped (jitter only lengthens the waits)',
    source: 'retry',
  });
  const quietBatch = Math.min(B, d.r * s.maxWaitSeconds);
  steps.push({
    name: 'quietBatchSize',
    value: quietBatch,
    unit: 'events',
    formula: 'batch at the average rate = min(B, r × maxWait)',
    arithmetic: `min(${B}, ${num(d.r)} × ${num(s.maxWaitSeconds)}) = ${num(quietBatch)}`,
    why: `an event waits up to ${num(s.maxWaitSeconds)} s (plus the sink's ${num(d.L)} s) at the average rate`,
    source: 'batch',
  });

  // Findings.
  if (throttled && d.r > mu) {
    drop(
      'batch.throttle.qps',
      `batch.throttle.qps (--audit-webhook-batch-throttle-qps): ${num(q)} batches/s × batch.maxSize ${B} = ${num(mu)} events/s is below the average ${num(d.r)} events/s; ` +
        `the buffer of ${C} fills in ${num(C / (d.r - mu))} s and every further event is dropped ("audit buffer queue blocked") — raise qps to ≥ ${num(niceUp((d.h * d.r) / B))} or batch.maxSize to ≥ ${Math.ceil((d.h * d.r) / q)}`,
    );
  } else if (throttled && d.r * d.h > mu) {
    warn('batch.throttle.qps', `batch.throttle.qps (--audit-webhook-batch-throttle-qps): drain ${num(mu)} events/s is less than headroom ${num(d.h)} × the average ${num(d.r)} events/s; a busier day drops events — raise qps to ≥ ${num(niceUp((d.h * d.r) / B))}`);
  }
  if (dropped > 0 && d.r <= mu) {
    const needC = Math.ceil(burstEvents - held - (throttled ? mu * d.D : 0));
    const needWithHeadroom = niceUp(d.h * burstEvents - held - (throttled ? mu * d.D : 0));
    drop(
      'batch.bufferSize',
      `batch.bufferSize (--audit-webhook-batch-buffer-size): ${C} cannot hold the burst: ${num(burstEvents)} events in ${num(d.D)} s but only I + μ × D = ${instant} + ${num(mu)} × ${num(d.D)} = ${num(absorbed)} are absorbed; ` +
        `about ${dropped} events are dropped ("audit buffer queue blocked", apiserver_audit_error_total{plugin="buffered"}) — raise bufferSize to ≥ ${needC} (with ${num(d.h)}× headroom: ${needWithHeadroom}) or qps × maxSize above ${num(d.P)} events/s`,
    );
  } else if (dropped === 0 && burstEvents > 0 && absorbed < d.h * burstEvents) {
    warn('batch.bufferSize', `batch.bufferSize (--audit-webhook-batch-buffer-size): the burst of ${num(burstEvents)} events fits, but with ${num(absorbed / burstEvents)}× margin, below headroom ${num(d.h)}; raise bufferSize to ≥ ${niceUp(C + d.h * burstEvents - absorbed)}`);
  }
  if (d.M !== undefined && concurrent > d.M) {
    drop(
      'sink.maxInFlight',
      `batch.throttle (--audit-webhook-batch-throttle-qps/-burst): up to ${concurrent} POSTs at once (⌊burst ${b} + qps ${num(q)} × latency ${num(d.L)} s⌋) but the sink takes ${d.M}; ` +
        `the rest are refused, retried ${WEBHOOK_RETRY.attempts} times and then dropped (apiserver_audit_error_total{plugin="webhook"}) — lower qps to ≤ ${num(niceDown((d.M - 1) / d.L))} with burst 1, raise the sink's max-in-flight to ≥ ${concurrent}, or make it faster`,
    );
  }
  if (d.M === undefined) {
    info('sink.maxInFlight', `the sink must take up to ${concurrent} POSTs at once (it was not said how many it takes; give sink.maxInFlight to check)`);
  }
  if (d.body === undefined) {
    info('sink.maxBodyBytes', `a POST carries up to ${bytes(maxPost)} (it was not said what the sink accepts; give sink.maxBodyBytes to check)`);
  }
  if (d.L >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
    drop('sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} reaches the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout; every POST times out, is retried and dropped — make the sink answer within ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s (smaller batches help)`);
  } else if (d.L * 2 >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
    warn('sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} is more than half the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout; a slower moment times POSTs out — lower batch.maxSize or speed up the sink`);
  }
  if (d.body !== undefined) {
    if (maxPost === null) {
      drop(
        'truncate.enabled',
        `truncate.enabled (--audit-webhook-truncate-enabled): false leaves POSTs unbounded (${B} events of any size) but the sink accepts ${d.body} bytes; a batch with a large event is refused, retried and dropped — enable truncation with maxEventSizeBytes ≤ ${Math.floor((d.body - BATCH_ENVELOPE_BYTES) / B)}`,
      );
    } else if (maxPost > d.body) {
      drop(
        'batch.maxSize',
        `batch.maxSize (--audit-webhook-batch-max-size): ${B} × truncate.maxEventSizeBytes ${s.truncateMaxEventSizeBytes} + ${BATCH_ENVELOPE_BYTES} = ${maxPost} bytes can exceed the sink's ${d.body}-byte limit (truncate-max-batch-size does not split webhook batches); ` +
          `such a batch is refused and dropped — ${bodyFix(d.body, B, s.truncateMaxEventSizeBytes)}`,
      );
    }
  }
  if (s.truncateEnabled && d.S > s.truncateMaxEventSizeBytes) {
    warn('truncate.maxEventSizeBytes', `truncate.maxEventSizeBytes (--audit-webhook-truncate-max-event-size): ${s.truncateMaxEventSizeBytes} is below the average event size ${d.S}; most events lose their bodies — raise it to ≥ ${d.S}`);
  }
  if (d.outage !== undefined && d.outage > tolerance) {
    drop(
      'initialBackoff',
      `initialBackoff (--audit-webhook-initial-backoff): ${num(s.initialBackoffSeconds)} s retries for 8.125 × ${num(s.initialBackoffSeconds)} = ${num(tolerance)} s, shorter than the sink outage of ${num(d.outage)} s; ` +
        `batches sent when the outage starts are dropped (apiserver_audit_error_total{plugin="webhook"}) — set initialBackoff to ≥ ${num(ceilTenth(d.outage / RETRY_WAIT_FACTOR))} s`,
    );
  }
  if (d.outage !== undefined) {
    info('sink.outageSeconds', `during a ${num(d.outage)} s outage about ${num(Math.ceil(d.r * d.outage))} events (${bytes(Math.ceil(d.r * d.outage) * d.S)}) wait in retrying POSTs in the apiserver's memory`);
  }
  if (memory > 1024 ** 3) {
    warn('batch.bufferSize', `batch.bufferSize (--audit-webhook-batch-buffer-size): a full buffer holds ${bytes(memory)} of events in the apiserver; raise qps × maxSize instead so the buffer can be smaller`);
  }
  if (burstEvents === 0 && d.P === d.r) {
    info('load.peakRequestsPerSecond', 'no burst was described, so the buffer only covers the average rate; give peakRequestsPerSecond and burstSeconds for the busiest minute you expect');
  }
  if (B > 1 && s.maxWaitSeconds <= 0) {
    warn('batch.maxWait', 'batch.maxWait (--audit-webhook-batch-max-wait): 0 makes every batch leave as soon as the timer is reset, so batches are tiny and the batching goroutine spins; give e.g. 1s');
  }

  const capacity: BatchCapacity = {
    drainEventsPerSecond: throttled ? mu : null,
    heldByThrottleEvents: held,
    instantBurstEvents: instant,
    maxBurstSecondsAtPeak: maxBurstSeconds,
    maxBurstEventsAtPeak: maxBurstEvents,
    burstEvents,
    absorbedDuringBurst: absorbed,
    droppedInBurst: dropped,
    drainAfterBurstSeconds: drainAfter,
    peakConcurrentPosts: concurrent,
    maxPostBytes: maxPost,
    bufferMemoryBytes: memory,
    outageToleranceSeconds: tolerance,
  };
  return { settings, capacity, steps, findings, drops: findings.some((f) => f.severity === 'drop') };
}

/** How to make B events of at most E bytes fit a body limit. */
function bodyFix(body: number, B: number, E: number): string {
  const room = body - BATCH_ENVELOPE_BYTES;
  if (room < E) return `raise the sink's body limit to ≥ ${E + BATCH_ENVELOPE_BYTES} (one event of truncate.maxEventSizeBytes ${E} plus the envelope), or lower truncate.maxEventSizeBytes below ${Math.max(1, room)}`;
  const fixes = [`lower batch.maxSize to ≤ ${Math.floor(room / E)}`];
  if (room >= B) fixes.push(`truncate.maxEventSizeBytes to ≤ ${Math.floor(room / B)}`);
  return fixes.join(' or ');
}

function validateSettings(s: BatchSettings): string[] {
  const problems: string[] = [];
  const flagValues = settingsToFlagValues(s);
  problems.push(...validateAuditFlags({ 'audit-webhook-config-file': '/x', ...flagValues }, { ignorePolicyFile: true }));
  if (!(s.initialBackoffSeconds > 0)) {
    problems.push(`initialBackoff (--audit-webhook-initial-backoff): ${formatValue(s.initialBackoffSeconds)} s retries without waiting; give e.g. 10s`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// the advice

/**
 * Settings for the webhook backend that do not drop events under the load, each with the
 * arithmetic that chose it, then the check of those settings. `drops` is true when no setting
 * can carry the load (e.g. the sink is too slow or too small); the findings say what to change.
 * @throws AuditConfigError when the input is invalid
 */
export function adviseBatching(input: BatchingAdvisorInput): BatchingAdvice {
  const problems = validateAdvisorInput(input);
  if (problems.length) throw new AuditConfigError(problems);
  const d = derive(input);
  const steps: AdvisorStep[] = [];
  const W = input.maxDelaySeconds ?? WEBHOOK_BATCH_DEFAULTS.maxWaitSeconds;

  // Truncation and the largest event.
  const Emax = Math.round(d.Emax);
  const maxBatchBytes = Math.max(Emax, d.body !== undefined ? Math.min(DEFAULT_MAX_BATCH_BYTES, d.body - BATCH_ENVELOPE_BYTES) : DEFAULT_MAX_BATCH_BYTES);
  steps.push({
    name: 'truncateMaxEventSizeBytes',
    flag: settingFlag('truncateMaxEventSizeBytes'),
    value: Emax,
    unit: 'bytes',
    formula: 'E = largestEventBytes',
    arithmetic: `${Emax}`,
    why: 'truncation on: a larger event loses its request/response bodies, so no single event can make a POST too big for the sink',
    source: 'truncate',
  });

  // Batch size: the sink's body limit, else the upstream default.
  const bBody = d.body !== undefined ? Math.floor((d.body - BATCH_ENVELOPE_BYTES) / Emax) : undefined;
  let B = bBody !== undefined ? Math.min(WEBHOOK_BATCH_DEFAULTS.maxBatchSize, bBody) : WEBHOOK_BATCH_DEFAULTS.maxBatchSize;
  const batchStep = (value: number, formula: string, arithmetic: string, why: string): AdvisorStep => ({
    name: 'maxBatchSize',
    flag: settingFlag('maxBatchSize'),
    value,
    unit: 'events',
    formula,
    arithmetic,
    why,
    source: 'batch',
  });
  let bStep =
    bBody !== undefined
      ? batchStep(B, 'B = min(400, ⌊(sinkMaxBody − envelope) / E⌋)', `min(400, ⌊(${d.body} − ${BATCH_ENVELOPE_BYTES}) / ${Emax}⌋) = ${B}`, 'a POST is up to B × E bytes plus the envelope and must fit the sink')
      : batchStep(B, 'B = 400 (upstream default)', '400', 'no body limit given for the sink');
  const infeasible: AdvisorFinding[] = [];
  if (B < 1) {
    infeasible.push({
      severity: 'drop',
      field: 'sink.maxBodyBytes',
      message: `sink.maxBodyBytes: ${d.body} cannot take even one event of largestEventBytes ${Emax} plus the ${BATCH_ENVELOPE_BYTES}-byte envelope; raise the sink's body limit to ≥ ${Emax + BATCH_ENVELOPE_BYTES} or lower largestEventBytes`,
    });
    B = 1;
  }

  // Throttle: the sink's concurrency caps qps; the average rate with headroom sets the floor.
  const qNeed = (d.h * d.r) / B;
  // The drain rate that keeps the buffer for h × the burst within the memory budget (C_budget events).
  const memoryBudgetQps = (batch: number): { q: number; text: string } => {
    const budgetBytes = input.maxBufferMemoryBytes ?? DEFAULT_MAX_BUFFER_MEMORY_BYTES;
    const cBudget = Math.floor(budgetBytes / d.S);
    const q = d.D > 0 ? niceUp(Math.max(0, (d.h * d.P * d.D - cBudget) / (batch * d.D))) : 0;
    return {
      q,
      text: `C_budget = ${budgetBytes} / ${d.S} = ${cBudget}, q_mem = max(0, (${num(d.h)} × ${num(d.P)} × ${num(d.D)} − ${cBudget}) / (${batch} × ${num(d.D)})) = ${num(q)}`,
    };
  };
  let q: number;
  let qFormula: string;
  let qArithmetic: string;
  let burst: number;
  let burstFormula: string;
  let burstArithmetic: string;
  if (d.M !== undefined) {
    // burst 1 and qps × L ≤ maxInFlight − 1 keep ⌊burst + qps × L⌋ ≤ maxInFlight; a one-at-a-time sink gets qps × L = 0.5.
    const qSink = d.M > 1 ? niceDown((d.M - 1) / d.L) : niceDown(0.5 / d.L);
    const qSinkText = d.M > 1 ? `q_sink = (${d.M} − 1) / ${num(d.L)} = ${num(qSink)}` : `q_sink = 0.5 / ${num(d.L)} = ${num(qSink)}`;
    if (qNeed > qSink) {
      // Bigger batches instead of more of them, as far as the body limit allows.
      const bNeed = Math.ceil((d.h * d.r) / Math.max(qSink, 1e-9));
      if (bBody === undefined || bNeed <= bBody) {
        B = Math.max(B, bNeed);
        bStep = batchStep(
          B,
          'B = ⌈h × r / q_sink⌉ (the sink caps the batch rate, so batches grow)',
          `⌈${num(d.h)} × ${num(d.r)} / ${num(qSink)}⌉ = ${B}`,
          `the sink takes ${d.M} POSTs at once, so at most ${num(qSink)} batches/s`,
        );
      } else {
        infeasible.push({
          severity: 'drop',
          field: 'sink.maxInFlight',
          message:
            `sink.maxInFlight: ${d.M} POSTs at once × latency ${num(d.L)} s allows ${num(qSink)} batches/s; with at most ${bBody} events per POST (sinkMaxBody ${d.body} / largest event ${Emax}) that carries ${num(qSink * bBody)} events/s, ` +
            `below headroom ${num(d.h)} × ${num(d.r)} events/s — raise the sink's max-in-flight to ≥ ${Math.ceil((d.h * d.r * d.L) / bBody) + 1}, its body limit, or lower largestEventBytes`,
        });
        B = bBody;
      }
    }
    const budget = memoryBudgetQps(B);
    q = Math.min(qSink, Math.max(niceUp((d.h * d.r) / B), WEBHOOK_BATCH_DEFAULTS.throttleQps, budget.q));
    qFormula = 'qps = min(q_sink, max(h × r / B, 10, q_mem)), q_sink = (maxInFlight − 1) / L, q_mem = (h × P × D − C_budget) / (B × D)';
    qArithmetic = `${qSinkText}; ${budget.text}; min(${num(qSink)}, max(${num(d.h)} × ${num(d.r)} / ${B}, 10, ${num(budget.q)})) = ${num(q)}`;
    burst = Math.max(1, Math.floor(d.M - q * d.L + 1e-9));
    burstFormula = 'burst = max(1, ⌊maxInFlight − qps × L⌋)';
    burstArithmetic = `max(1, ⌊${d.M} − ${num(q)} × ${num(d.L)}⌋) = ${burst}`;
  } else {
    // No sink limit: keep upstream's 10 unless the average needs more, or the burst would need a
    // buffer over the memory budget.
    const budget = memoryBudgetQps(B);
    q = Math.max(niceUp(qNeed), WEBHOOK_BATCH_DEFAULTS.throttleQps, budget.q);
    qFormula = 'qps = max(h × r / B, 10, q_mem), q_mem = (h × P × D − C_budget) / (B × D)';
    qArithmetic = `${budget.text}; max(${num(d.h)} × ${num(d.r)} / ${B}, 10, ${num(budget.q)}) = ${num(q)}`;
    burst = Math.max(1, Math.ceil(q * 1.5));
    burstFormula = 'burst = ⌈1.5 × qps⌉ (upstream ratio 15/10)';
    burstArithmetic = `⌈1.5 × ${num(q)}⌉ = ${burst}`;
  }
  steps.push(bStep);
  steps.push({
    name: 'throttleQps',
    flag: settingFlag('throttleQps'),
    value: q,
    unit: 'batches/s',
    formula: qFormula,
    arithmetic: qArithmetic,
    why: 'the drain rate is qps × B; faster drains need a smaller buffer, but every batch in flight holds a sink slot for L seconds',
    source: 'throttle',
  });
  steps.push({
    name: 'throttleBurst',
    flag: settingFlag('throttleBurst'),
    value: burst,
    unit: 'batches',
    formula: burstFormula,
    arithmetic: burstArithmetic,
    why: 'burst batches can start at once after a quiet time, on top of qps × L in flight',
    source: 'throttle',
  });

  // Buffer: what the throttle cannot take during a burst h times the stated one, at least one second of peak.
  const mu = q * B;
  const held = B * (burst + 1);
  const burstEvents = d.P * d.D;
  const backlog = Math.max(0, d.h * burstEvents - held - mu * d.D);
  const oneSecond = d.h * d.P;
  const C = Math.max(B, niceUp(oneSecond), niceUp(backlog));
  steps.push({
    name: 'bufferSize',
    flag: settingFlag('bufferSize'),
    value: C,
    unit: 'events',
    formula: 'C = max(B, h × P × 1 s, h × P × D − B × (burst + 1) − qps × B × D)',
    arithmetic:
      `max(${B}, ${num(d.h)} × ${num(d.P)} × 1, ${num(d.h)} × ${num(d.P)} × ${num(d.D)} − ${B} × (${burst} + 1) − ${num(q)} × ${B} × ${num(d.D)}) = ` +
      `max(${B}, ${num(oneSecond)}, ${num(backlog)}) = ${C} (rounded up to 2 significant digits)`,
    why: 'a burst h times the stated one still fits: what the throttle does not take waits in the buffer, and a full buffer drops; one second of peak covers unevenness within a second',
    source: 'buffer',
  });

  // Max wait: the delivery delay wanted at quiet times.
  steps.push({
    name: 'maxWaitSeconds',
    flag: settingFlag('maxWaitSeconds'),
    value: W,
    unit: 's',
    formula: input.maxDelaySeconds !== undefined ? 'maxWait = maxDelaySeconds' : 'maxWait = 30 s (upstream default)',
    arithmetic: `${num(W)}`,
    why: 'a batch smaller than B leaves when this timer fires; busy times fill batches before it',
    source: 'batch',
  });

  // Retries: survive the sink outage.
  const backoff = d.outage !== undefined ? Math.max(0.1, ceilTenth(d.outage / RETRY_WAIT_FACTOR)) : 10;
  steps.push({
    name: 'initialBackoffSeconds',
    flag: settingFlag('initialBackoffSeconds'),
    value: backoff,
    unit: 's',
    formula: d.outage !== undefined ? 'd = ⌈outage / 8.125⌉₀.₁' : 'd = 10 s (upstream default)',
    arithmetic: d.outage !== undefined ? `⌈${num(d.outage)} / 8.125⌉₀.₁ = ${num(backoff)}` : '10',
    why: 'the 4 waits between the 5 attempts add up to 8.125 × d',
    source: 'retry',
  });
  steps.push({
    name: 'truncateMaxBatchSizeBytes',
    flag: settingFlag('truncateMaxBatchSizeBytes'),
    value: maxBatchBytes,
    unit: 'bytes',
    formula: d.body !== undefined ? 'max(E, min(10 MiB, sinkMaxBody − envelope))' : '10 MiB (upstream default)',
    arithmetic: d.body !== undefined ? `max(${Emax}, min(${DEFAULT_MAX_BATCH_BYTES}, ${d.body} − ${BATCH_ENVELOPE_BYTES})) = ${maxBatchBytes}` : `${maxBatchBytes}`,
    why: 'must be ≥ the max event size (the apiserver refuses otherwise); it does not split webhook batches',
    source: 'truncate',
  });

  const settings: BatchSettings = {
    mode: AuditMode.BATCH,
    bufferSize: C,
    maxBatchSize: B,
    maxWaitSeconds: W,
    throttleEnabled: true,
    throttleQps: q,
    throttleBurst: burst,
    truncateEnabled: true,
    truncateMaxEventSizeBytes: Emax,
    truncateMaxBatchSizeBytes: maxBatchBytes,
    initialBackoffSeconds: backoff,
  };
  const check = checkBatching(settings, input);
  const findings = [...infeasible, ...check.findings];
  const extra: WebhookBackendProps = { expectedEventsPerSecond: d.r, sinkMaxBodyBytes: d.body, kubernetesVersion: input.kubernetesVersion };
  const props = webhookPropsFromSettings(settings, Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)));
  return {
    settings,
    capacity: check.capacity,
    steps: [...steps, ...check.steps],
    findings,
    drops: findings.some((f) => f.severity === 'drop'),
    props,
    flags: settingsToFlags(settings, input.kubernetesVersion),
  };
}

// ---------------------------------------------------------------------------------------------
// conversions

/** The settings as flag values (names without dashes). */
export function settingsToFlagValues(s: BatchSettings): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [name, flag] of SETTING_FLAGS) {
    const v = s[name];
    out[flag] = name === 'initialBackoffSeconds' || name === 'maxWaitSeconds' ? formatGoDuration(Math.round((v as number) * 1e9)) : (v as FlagValue);
  }
  return out;
}

/** `--audit-webhook-…=…` for every setting, explicit even where it equals the default. */
export function settingsToFlags(s: BatchSettings, kubernetesVersion?: string): string[] {
  parseKubernetesVersion(kubernetesVersion);
  return Object.entries(settingsToFlagValues(s)).map(([flag, value]) => `--${flag}=${formatFlagValue(getFlag(flag), value)}`);
}

/** The settings of a flag set (names without dashes), with the version's defaults for the rest. */
export function settingsFromFlagValues(values: Readonly<Record<string, FlagValue>>, kubernetesVersion?: string): BatchSettings {
  const lookup = new FlagLookup(values, parseKubernetesVersion(kubernetesVersion).minor);
  const seconds = (flag: string, field: string): number => {
    const v = lookup.get(flag);
    const ns = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (ns === undefined) throw new AuditConfigError([`${field} (--${flag}): ${formatValue(v)} is not a Go duration; write e.g. 30s`]);
    return ns / 1e9;
  };
  return {
    mode: lookup.get('audit-webhook-mode') as AuditMode,
    bufferSize: lookup.get('audit-webhook-batch-buffer-size') as number,
    maxBatchSize: lookup.get('audit-webhook-batch-max-size') as number,
    maxWaitSeconds: seconds('audit-webhook-batch-max-wait', 'batch.maxWait'),
    throttleEnabled: lookup.get('audit-webhook-batch-throttle-enable') as boolean,
    throttleQps: lookup.get('audit-webhook-batch-throttle-qps') as number,
    throttleBurst: lookup.get('audit-webhook-batch-throttle-burst') as number,
    truncateEnabled: lookup.get('audit-webhook-truncate-enabled') as boolean,
    truncateMaxEventSizeBytes: lookup.get('audit-webhook-truncate-max-event-size') as number,
    truncateMaxBatchSizeBytes: lookup.get('audit-webhook-truncate-max-batch-size') as number,
    initialBackoffSeconds: lookup.has('audit-webhook-initial-backoff') || !lookup.has('audit-webhook-batch-initial-backoff')
      ? seconds('audit-webhook-initial-backoff', 'initialBackoff')
      : seconds('audit-webhook-batch-initial-backoff', 'initialBackoff'),
  };
}

/** The settings of a WebhookBackend (its explicit props plus the version's defaults). */
export function settingsOfWebhookBackend(backend: WebhookBackend): BatchSettings {
  return settingsFromFlagValues(backend.flagValues, backend.kubernetesVersion);
}

/** WebhookBackend props that carry `settings`, merged over `base` (configFile, version…). */
export function webhookPropsFromSettings(settings: BatchSettings, base: WebhookBackendProps = {}): WebhookBackendProps {
  return {
    ...base,
    mode: settings.mode,
    initialBackoff: Duration.millis(Math.round(settings.initialBackoffSeconds * 1000)),
    batch: {
      bufferSize: settings.bufferSize,
      maxSize: settings.maxBatchSize,
      maxWait: Duration.millis(Math.round(settings.maxWaitSeconds * 1000)),
      throttle: { enabled: settings.throttleEnabled, qps: settings.throttleQps, burst: settings.throttleBurst },
    },
    truncate: { enabled: settings.truncateEnabled, maxEventSizeBytes: settings.truncateMaxEventSizeBytes, maxBatchSizeBytes: settings.truncateMaxBatchSizeBytes },
  };
}

/**
 * The props option: WebhookBackend props with advised batching for `input`, over `base`.
 * Use it wherever WebhookBackendProps go: `new WebhookBackend(advisedWebhookProps(…))`,
 * `new ApiserverAudit({ webhook: advisedWebhookProps(…) })`, `ClusterAudit`'s `webhook.backend`.
 * @throws AuditConfigError when the input is invalid, or when no settings carry the load (the findings say why)
 */
export function advisedWebhookProps(input: BatchingAdvisorInput, base: WebhookBackendProps = {}): WebhookBackendProps {
  const kubernetesVersion = input.kubernetesVersion ?? base.kubernetesVersion;
  const advice = adviseBatching({ ...input, kubernetesVersion });
  if (advice.drops) throw new AuditConfigError(advice.findings.filter((f) => f.severity === 'drop').map((f) => f.message));
  const props: WebhookBackendProps = { ...base, ...advice.props };
  return Object.fromEntries(Object.entries({ ...props, kubernetesVersion }).filter(([, v]) => v !== undefined)) as WebhookBackendProps;
}
