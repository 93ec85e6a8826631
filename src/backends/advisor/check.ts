/**
 * The check: what given webhook batch settings carry under a load, by the apiserver's batching model
 * (model.ts), and the findings that say whether and why events are dropped. Pure: each quantity and each
 * finding is its own small function of the settings, the derived load and the capacity.
 */
import { AuditMode, BATCH_ENVELOPE_BYTES } from '../backends';
import { AuditConfigError, formatValue } from '../errors';
import { validateAuditFlags } from '../flags';
import { settingsToFlagValues } from './conversions';
import { Derived, derive, validateAdvisorInput } from './input';
import {
  AdvisorFinding,
  AdvisorStep,
  BatchCapacity,
  BatchingAdvisorInput,
  BatchingCheck,
  BatchSettings,
  FindingSeverity,
  MODEL_SOURCES,
  RETRY_WAIT_FACTOR,
  WEBHOOK_REQUEST_TIMEOUT_SECONDS,
  WEBHOOK_RETRY,
} from './model';
import { bytes, ceilTenth, niceDown, niceUp, num } from './numbers';

/**
 * What `settings` carry under the load, by the apiserver's batching model, and whether they drop
 * events. Findings of severity `drop` name the field, the value, the rule and the fix.
 * @throws AuditConfigError when the input itself is invalid
 */
export function checkBatching(settings: BatchSettings, input: BatchingAdvisorInput): BatchingCheck {
  const problems = [...validateAdvisorInput(input), ...validateSettings(settings)];
  if (problems.length) throw new AuditConfigError(problems);
  const d = derive(input);
  const batch = settings.mode === AuditMode.BATCH;
  const model = batch ? batchModel(settings, d) : blockingModel(settings, d);
  const findings = batch ? batchFindings(settings, d, model.capacity) : blockingFindings(settings, d, model.capacity);
  return { settings, capacity: model.capacity, steps: [...loadSteps(input, d), ...model.steps], findings, drops: findings.some((f) => f.severity === 'drop') };
}

interface Model {
  readonly capacity: BatchCapacity;
  readonly steps: readonly AdvisorStep[];
}

const finding = (severity: FindingSeverity, field: string, message: string): AdvisorFinding => ({ severity, field, message });

/** The average event rate and the burst, the inputs of every other quantity. */
function loadSteps(input: BatchingAdvisorInput, d: Derived): AdvisorStep[] {
  return [
    {
      name: 'eventRate',
      value: d.r,
      unit: 'events/s',
      formula: 'r = requestsPerSecond × eventsPerRequest',
      arithmetic: `${num(input.load.requestsPerSecond)} × ${num(d.epr)} = ${num(d.r)}`,
      why: 'average audit events per second',
    },
    {
      name: 'burstEvents',
      value: d.P * d.D,
      unit: 'events',
      formula: 'N = peakRequestsPerSecond × eventsPerRequest × burstSeconds',
      arithmetic: `${num(d.P / d.epr)} × ${num(d.epr)} × ${num(d.D)} = ${num(d.P * d.D)}`,
      why: 'events the burst brings',
    },
  ];
}

// ---- blocking modes: no buffer; every event is POSTed from the request itself ----

function blockingModel(s: BatchSettings, d: Derived): Model {
  const burstEvents = d.P * d.D;
  const concurrent = Math.ceil(d.P * d.L);
  return {
    steps: [
      {
        name: 'peakConcurrentPosts',
        value: concurrent,
        unit: 'POSTs',
        formula: 'K = ⌈P × L⌉ (one POST per event, in the request, Little’s law)',
        arithmetic: `⌈${num(d.P)} × ${num(d.L)}⌉ = ${concurrent}`,
        why: `${s.mode} mode sends each event synchronously while the request waits`,
      },
    ],
    capacity: {
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
    },
  };
}

function blockingFindings(s: BatchSettings, d: Derived, c: BatchCapacity): AdvisorFinding[] {
  const concurrent = c.peakConcurrentPosts;
  const findings = [finding('warning', 'mode', `mode (--audit-webhook-mode): ${JSON.stringify(s.mode)} makes every audited request wait ${num(d.L)} s for the sink per event; use "batch" so requests do not wait`)];
  if (d.M !== undefined && concurrent > d.M) {
    findings.push(
      finding(
        'drop',
        'sink.maxInFlight',
        `sink.maxInFlight: ${d.M} is below the ${concurrent} POSTs in flight at ${num(d.P)} events/s × ${num(d.L)} s in ${s.mode} mode; the sink refuses the rest and ${s.mode === AuditMode.BLOCKING_STRICT ? 'requests fail (HTTP 500)' : 'their events are lost'} — use mode "batch"`,
      ),
    );
  }
  if (d.L >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
    findings.push(finding('drop', 'sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} reaches the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout (${MODEL_SOURCES.timeout}); every POST fails — make the sink answer faster`));
  }
  return findings;
}

// ---- batch mode: the buffer, the single batching goroutine, the throttle ----

/** The quantities of batch mode, each with its formula, in the order they build on each other. */
function batchModel(s: BatchSettings, d: Derived): Model {
  const B = s.maxBatchSize;
  const C = s.bufferSize;
  const q = s.throttleQps;
  const b = s.throttleBurst;
  const throttled = s.throttleEnabled;
  const burstEvents = d.P * d.D;
  const steps: AdvisorStep[] = [];

  // Drain rate of the single batching goroutine.
  const mu = throttled ? q * B : Infinity;
  steps.push(drainRateStep(throttled, q, B));
  const held = throttled ? B * (b + 1) : B;
  steps.push({
    name: 'heldByThrottle',
    value: held,
    unit: 'events',
    formula: throttled ? 'H = B × (burst + 1)' : 'H = B',
    arithmetic: throttled ? `${B} × (${b} + 1) = ${held}` : `${B}`,
    why: throttled ? 'a full bucket lets burst batches go at once, and the goroutine holds one more batch while it waits for a token' : 'the batch being collected',
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
  return {
    steps,
    capacity: {
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
    },
  };
}

function drainRateStep(throttled: boolean, q: number, B: number): AdvisorStep {
  if (!throttled) {
    return {
      name: 'drainRate',
      value: Infinity,
      unit: 'events/s',
      formula: 'μ = ∞ (throttling off: the goroutine starts a POST for every batch at once)',
      arithmetic: 'unbounded by the apiserver; the sink must take ⌈P / B⌉ × L POSTs at once',
      why: 'without a token bucket nothing in the apiserver limits the batch rate',
      source: 'async',
    };
  }
  return {
    name: 'drainRate',
    value: q * B,
    unit: 'events/s',
    formula: 'μ = qps × B',
    arithmetic: `${num(q)} × ${B} = ${num(q * B)}`,
    why: 'one token per batch on the single batching goroutine; POSTs are asynchronous, so the sink latency does not enter',
    source: 'throttle',
  };
}

/** One check of batch mode: the findings it makes for the settings, the load and the capacity. */
type BatchFindingCheck = (s: BatchSettings, d: Derived, c: BatchCapacity) => AdvisorFinding[];

/** The drain rate of the batching goroutine: Infinity when throttling is off. */
const drainOf = (c: BatchCapacity): number => c.drainEventsPerSecond ?? Infinity;

const throughput: BatchFindingCheck = (s, d, c) => {
  const mu = drainOf(c);
  const B = s.maxBatchSize;
  if (s.throttleEnabled && d.r > mu) {
    return [
      finding(
        'drop',
        'batch.throttle.qps',
        `batch.throttle.qps (--audit-webhook-batch-throttle-qps): ${num(s.throttleQps)} batches/s × batch.maxSize ${B} = ${num(mu)} events/s is below the average ${num(d.r)} events/s; ` +
          `the buffer of ${s.bufferSize} fills in ${num(s.bufferSize / (d.r - mu))} s and every further event is dropped ("audit buffer queue blocked") — raise qps to ≥ ${num(niceUp((d.h * d.r) / B))} or batch.maxSize to ≥ ${Math.ceil((d.h * d.r) / s.throttleQps)}`,
      ),
    ];
  }
  if (s.throttleEnabled && d.r * d.h > mu) {
    return [finding('warning', 'batch.throttle.qps', `batch.throttle.qps (--audit-webhook-batch-throttle-qps): drain ${num(mu)} events/s is less than headroom ${num(d.h)} × the average ${num(d.r)} events/s; a busier day drops events — raise qps to ≥ ${num(niceUp((d.h * d.r) / B))}`)];
  }
  return [];
};

const burst: BatchFindingCheck = (s, d, c) => {
  const mu = drainOf(c);
  const { burstEvents, heldByThrottleEvents: held, instantBurstEvents: instant, absorbedDuringBurst: absorbed, droppedInBurst: dropped } = c;
  if (dropped > 0 && d.r <= mu) {
    const drained = s.throttleEnabled ? mu * d.D : 0;
    const needC = Math.ceil(burstEvents - held - drained);
    const needWithHeadroom = niceUp(d.h * burstEvents - held - drained);
    return [
      finding(
        'drop',
        'batch.bufferSize',
        `batch.bufferSize (--audit-webhook-batch-buffer-size): ${s.bufferSize} cannot hold the burst: ${num(burstEvents)} events in ${num(d.D)} s but only I + μ × D = ${instant} + ${num(mu)} × ${num(d.D)} = ${num(absorbed)} are absorbed; ` +
          `about ${dropped} events are dropped ("audit buffer queue blocked", apiserver_audit_error_total{plugin="buffered"}) — raise bufferSize to ≥ ${needC} (with ${num(d.h)}× headroom: ${needWithHeadroom}) or qps × maxSize above ${num(d.P)} events/s`,
      ),
    ];
  }
  if (dropped === 0 && burstEvents > 0 && absorbed < d.h * burstEvents) {
    return [finding('warning', 'batch.bufferSize', `batch.bufferSize (--audit-webhook-batch-buffer-size): the burst of ${num(burstEvents)} events fits, but with ${num(absorbed / burstEvents)}× margin, below headroom ${num(d.h)}; raise bufferSize to ≥ ${niceUp(s.bufferSize + d.h * burstEvents - absorbed)}`)];
  }
  return [];
};

const sinkConcurrency: BatchFindingCheck = (s, d, c) => {
  const concurrent = c.peakConcurrentPosts;
  if (d.M === undefined) return [finding('info', 'sink.maxInFlight', `the sink must take up to ${concurrent} POSTs at once (it was not said how many it takes; give sink.maxInFlight to check)`)];
  if (concurrent <= d.M) return [];
  return [
    finding(
      'drop',
      'sink.maxInFlight',
      `batch.throttle (--audit-webhook-batch-throttle-qps/-burst): up to ${concurrent} POSTs at once (⌊burst ${s.throttleBurst} + qps ${num(s.throttleQps)} × latency ${num(d.L)} s⌋) but the sink takes ${d.M}; ` +
        `the rest are refused, retried ${WEBHOOK_RETRY.attempts} times and then dropped (apiserver_audit_error_total{plugin="webhook"}) — lower qps to ≤ ${num(niceDown((d.M - 1) / d.L))} with burst 1, raise the sink's max-in-flight to ≥ ${concurrent}, or make it faster`,
    ),
  ];
};

const unknownBodyLimit: BatchFindingCheck = (_s, d, c) =>
  d.body === undefined ? [finding('info', 'sink.maxBodyBytes', `a POST carries up to ${bytes(c.maxPostBytes)} (it was not said what the sink accepts; give sink.maxBodyBytes to check)`)] : [];

const sinkLatency: BatchFindingCheck = (_s, d) => {
  if (d.L >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
    return [finding('drop', 'sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} reaches the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout; every POST times out, is retried and dropped — make the sink answer within ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s (smaller batches help)`)];
  }
  if (d.L * 2 >= WEBHOOK_REQUEST_TIMEOUT_SECONDS) {
    return [finding('warning', 'sink.latencySeconds', `sink.latencySeconds: ${num(d.L)} is more than half the webhook's ${WEBHOOK_REQUEST_TIMEOUT_SECONDS} s request timeout; a slower moment times POSTs out — lower batch.maxSize or speed up the sink`)];
  }
  return [];
};

const bodyLimit: BatchFindingCheck = (s, d, c) => {
  const B = s.maxBatchSize;
  const maxPost = c.maxPostBytes;
  if (d.body === undefined) return [];
  if (maxPost === null) {
    return [
      finding(
        'drop',
        'truncate.enabled',
        `truncate.enabled (--audit-webhook-truncate-enabled): false leaves POSTs unbounded (${B} events of any size) but the sink accepts ${d.body} bytes; a batch with a large event is refused, retried and dropped — enable truncation with truncate.maxEventSize ≤ ${Math.floor((d.body - BATCH_ENVELOPE_BYTES) / B)} bytes`,
      ),
    ];
  }
  if (maxPost <= d.body) return [];
  return [
    finding(
      'drop',
      'batch.maxSize',
      `batch.maxSize (--audit-webhook-batch-max-size): ${B} × truncate.maxEventSize ${s.truncateMaxEventSizeBytes} + ${BATCH_ENVELOPE_BYTES} = ${maxPost} bytes can exceed the sink's ${d.body}-byte limit (truncate-max-batch-size does not split webhook batches); ` +
        `such a batch is refused and dropped — ${bodyFix(d.body, B, s.truncateMaxEventSizeBytes)}`,
    ),
  ];
};

const truncatedAverage: BatchFindingCheck = (s, d) =>
  s.truncateEnabled && d.S > s.truncateMaxEventSizeBytes
    ? [finding('warning', 'truncate.maxEventSize', `truncate.maxEventSize (--audit-webhook-truncate-max-event-size): ${s.truncateMaxEventSizeBytes} is below the average event size ${d.S}; most events lose their bodies — raise it to ≥ ${d.S}`)]
    : [];

const outage: BatchFindingCheck = (s, d, c) => {
  if (d.outage === undefined) return [];
  const tolerance = c.outageToleranceSeconds;
  const findings: AdvisorFinding[] = [];
  if (d.outage > tolerance) {
    findings.push(
      finding(
        'drop',
        'initialBackoff',
        `initialBackoff (--audit-webhook-initial-backoff): ${num(s.initialBackoffSeconds)} s retries for 8.125 × ${num(s.initialBackoffSeconds)} = ${num(tolerance)} s, shorter than the sink outage of ${num(d.outage)} s; ` +
          `batches sent when the outage starts are dropped (apiserver_audit_error_total{plugin="webhook"}) — set initialBackoff to ≥ ${num(ceilTenth(d.outage / RETRY_WAIT_FACTOR))} s`,
      ),
    );
  }
  findings.push(finding('info', 'sink.outageSeconds', `during a ${num(d.outage)} s outage about ${num(Math.ceil(d.r * d.outage))} events (${bytes(Math.ceil(d.r * d.outage) * d.S)}) wait in retrying POSTs in the apiserver's memory`));
  return findings;
};

const bufferMemory: BatchFindingCheck = (_s, _d, c) =>
  c.bufferMemoryBytes > 1024 ** 3
    ? [finding('warning', 'batch.bufferSize', `batch.bufferSize (--audit-webhook-batch-buffer-size): a full buffer holds ${bytes(c.bufferMemoryBytes)} of events in the apiserver; raise qps × maxSize instead so the buffer can be smaller`)]
    : [];

const noBurstDescribed: BatchFindingCheck = (_s, d, c) =>
  c.burstEvents === 0 && d.P === d.r ? [finding('info', 'load.peakRequestsPerSecond', 'no burst was described, so the buffer only covers the average rate; give peakRequestsPerSecond and burstSeconds for the busiest minute you expect')] : [];

const zeroMaxWait: BatchFindingCheck = (s) =>
  s.maxBatchSize > 1 && s.maxWaitSeconds <= 0
    ? [finding('warning', 'batch.maxWait', 'batch.maxWait (--audit-webhook-batch-max-wait): 0 makes every batch leave as soon as the timer is reset, so batches are tiny and the batching goroutine spins; give e.g. 1s')]
    : [];

/** The checks of batch mode, in the order their findings are reported. */
const BATCH_CHECKS: readonly BatchFindingCheck[] = [throughput, burst, sinkConcurrency, unknownBodyLimit, sinkLatency, bodyLimit, truncatedAverage, outage, bufferMemory, noBurstDescribed, zeroMaxWait];

function batchFindings(s: BatchSettings, d: Derived, c: BatchCapacity): AdvisorFinding[] {
  return BATCH_CHECKS.flatMap((check) => check(s, d, c));
}

/** How to make B events of at most E bytes fit a body limit. */
function bodyFix(body: number, B: number, E: number): string {
  const room = body - BATCH_ENVELOPE_BYTES;
  if (room < E) return `raise the sink's body limit to ≥ ${E + BATCH_ENVELOPE_BYTES} (one event of truncate.maxEventSize ${E} plus the envelope), or lower truncate.maxEventSize below ${Math.max(1, room)}`;
  const fixes = [`lower batch.maxSize to ≤ ${Math.floor(room / E)}`];
  if (room >= B) fixes.push(`truncate.maxEventSize to ≤ ${Math.floor(room / B)}`);
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
