/** The advice: settings that carry the load, each chosen by a formula shown with its inputs, then checked. */
import { AuditMode, BATCH_ENVELOPE_BYTES, WebhookBackendProps } from '../backends';
import { AuditConfigError } from '../errors';
import { sizeFromBytes } from '../prop-units';
import { KubernetesVersion } from '../../core/kubernetes-version';
import { checkBatching } from './check';
import { settingFlag, settingsToFlags, webhookPropsFromSettings } from './conversions';
import { Derived, derive, validateAdvisorInput } from './input';
import { AdvisorFinding, AdvisorStep, BatchingAdvice, BatchingAdvisorInput, BatchSettings, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BUFFER_MEMORY_BYTES, RETRY_WAIT_FACTOR, WEBHOOK_BATCH_DEFAULTS } from './model';
import { ceilTenth, niceDown, niceUp, num } from './numbers';

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
  const truncation = chooseTruncation(d);
  const batch = chooseBatchSize(d, truncation.maxEventBytes);
  const throttle = chooseThrottle(input, d, batch, truncation.maxEventBytes);
  const buffer = chooseBuffer(d, throttle.B, throttle.qps, throttle.burst);
  const maxWait = chooseMaxWait(input);
  const backoff = chooseBackoff(d);
  const settings: BatchSettings = {
    mode: AuditMode.BATCH,
    bufferSize: buffer.value,
    maxBatchSize: throttle.B,
    maxWaitSeconds: maxWait.value,
    throttleEnabled: true,
    throttleQps: throttle.qps,
    throttleBurst: throttle.burst,
    truncateEnabled: true,
    truncateMaxEventSizeBytes: truncation.maxEventBytes,
    truncateMaxBatchSizeBytes: truncation.maxBatchBytes,
    initialBackoffSeconds: backoff.value,
  };
  const steps = [truncation.eventStep, throttle.batchStep, throttle.qpsStep, throttle.burstStep, buffer.step, maxWait.step, backoff.step, truncation.batchStep];
  const check = checkBatching(settings, input);
  const findings = [...batch.infeasible, ...throttle.infeasible, ...check.findings];
  const extra: WebhookBackendProps = {
    expectedEventsPerSecond: d.r,
    sinkMaxBody: d.body === undefined ? undefined : sizeFromBytes(d.body),
    kubernetesVersion: input.kubernetesVersion === undefined ? undefined : KubernetesVersion.of(input.kubernetesVersion),
  };
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

/** A chosen setting and the step that shows how. */
interface Choice<T> {
  readonly value: T;
  readonly step: AdvisorStep;
}

/** Truncation on: the largest event is the max event size; the truncate batch size follows the sink's body limit. */
function chooseTruncation(d: Derived): { readonly maxEventBytes: number; readonly maxBatchBytes: number; readonly eventStep: AdvisorStep; readonly batchStep: AdvisorStep } {
  const Emax = Math.round(d.Emax);
  const maxBatchBytes = Math.max(Emax, d.body !== undefined ? Math.min(DEFAULT_MAX_BATCH_BYTES, d.body - BATCH_ENVELOPE_BYTES) : DEFAULT_MAX_BATCH_BYTES);
  return {
    maxEventBytes: Emax,
    maxBatchBytes,
    eventStep: {
      name: 'truncateMaxEventSizeBytes',
      flag: settingFlag('truncateMaxEventSizeBytes'),
      value: Emax,
      unit: 'bytes',
      formula: 'E = largestEventBytes',
      arithmetic: `${Emax}`,
      why: 'truncation on: a larger event loses its request/response bodies, so no single event can make a POST too big for the sink',
      source: 'truncate',
    },
    batchStep: {
      name: 'truncateMaxBatchSizeBytes',
      flag: settingFlag('truncateMaxBatchSizeBytes'),
      value: maxBatchBytes,
      unit: 'bytes',
      formula: d.body !== undefined ? 'max(E, min(10 MiB, sinkMaxBody − envelope))' : '10 MiB (upstream default)',
      arithmetic: d.body !== undefined ? `max(${Emax}, min(${DEFAULT_MAX_BATCH_BYTES}, ${d.body} − ${BATCH_ENVELOPE_BYTES})) = ${maxBatchBytes}` : `${maxBatchBytes}`,
      why: 'must be ≥ the max event size (the apiserver refuses otherwise); it does not split webhook batches',
      source: 'truncate',
    },
  };
}

const batchSizeStep = (value: number, formula: string, arithmetic: string, why: string): AdvisorStep => ({
  name: 'maxBatchSize',
  flag: settingFlag('maxBatchSize'),
  value,
  unit: 'events',
  formula,
  arithmetic,
  why,
  source: 'batch',
});

interface BatchSizeChoice {
  readonly B: number;
  /** The most events a POST can hold within the sink's body limit; undefined without one. */
  readonly bBody: number | undefined;
  readonly step: AdvisorStep;
  readonly infeasible: readonly AdvisorFinding[];
}

/** Batch size: the sink's body limit, else the upstream default. */
function chooseBatchSize(d: Derived, Emax: number): BatchSizeChoice {
  const bBody = d.body !== undefined ? Math.floor((d.body - BATCH_ENVELOPE_BYTES) / Emax) : undefined;
  const B = bBody !== undefined ? Math.min(WEBHOOK_BATCH_DEFAULTS.maxBatchSize, bBody) : WEBHOOK_BATCH_DEFAULTS.maxBatchSize;
  const step =
    bBody !== undefined
      ? batchSizeStep(B, 'B = min(400, ⌊(sinkMaxBody − envelope) / E⌋)', `min(400, ⌊(${d.body} − ${BATCH_ENVELOPE_BYTES}) / ${Emax}⌋) = ${B}`, 'a POST is up to B × E bytes plus the envelope and must fit the sink')
      : batchSizeStep(B, 'B = 400 (upstream default)', '400', 'no body limit given for the sink');
  if (B >= 1) return { B, bBody, step, infeasible: [] };
  const infeasible: AdvisorFinding = {
    severity: 'drop',
    field: 'sink.maxBodyBytes',
    message: `sink.maxBodyBytes: ${d.body} cannot take even one event of largestEventBytes ${Emax} plus the ${BATCH_ENVELOPE_BYTES}-byte envelope; raise the sink's body limit to ≥ ${Emax + BATCH_ENVELOPE_BYTES} or lower largestEventBytes`,
  };
  return { B: 1, bBody, step, infeasible: [infeasible] };
}

/** The drain rate that keeps the buffer for h × the burst within the memory budget (C_budget events). */
function memoryBudgetQps(input: BatchingAdvisorInput, d: Derived, batch: number): { q: number; text: string } {
  const budgetBytes = input.maxBufferMemoryBytes ?? DEFAULT_MAX_BUFFER_MEMORY_BYTES;
  const cBudget = Math.floor(budgetBytes / d.S);
  const q = d.D > 0 ? niceUp(Math.max(0, (d.h * d.P * d.D - cBudget) / (batch * d.D))) : 0;
  return {
    q,
    text: `C_budget = ${budgetBytes} / ${d.S} = ${cBudget}, q_mem = max(0, (${num(d.h)} × ${num(d.P)} × ${num(d.D)} − ${cBudget}) / (${batch} × ${num(d.D)})) = ${num(q)}`,
  };
}

interface ThrottleChoice {
  /** The batch size, grown when the sink caps the batch rate. */
  readonly B: number;
  readonly qps: number;
  readonly burst: number;
  readonly batchStep: AdvisorStep;
  readonly qpsStep: AdvisorStep;
  readonly burstStep: AdvisorStep;
  readonly infeasible: readonly AdvisorFinding[];
}

/** Throttle: the sink's concurrency caps qps; the average rate with headroom sets the floor. */
function chooseThrottle(input: BatchingAdvisorInput, d: Derived, batch: BatchSizeChoice, Emax: number): ThrottleChoice {
  const rate = d.M !== undefined ? sinkLimitedRate(input, d, batch, Emax, d.M) : unlimitedRate(input, d, batch);
  return {
    ...rate,
    qpsStep: {
      name: 'throttleQps',
      flag: settingFlag('throttleQps'),
      value: rate.qps,
      unit: 'batches/s',
      formula: rate.qpsFormula,
      arithmetic: rate.qpsArithmetic,
      why: 'the drain rate is qps × B; faster drains need a smaller buffer, but every batch in flight holds a sink slot for L seconds',
      source: 'throttle',
    },
    burstStep: {
      name: 'throttleBurst',
      flag: settingFlag('throttleBurst'),
      value: rate.burst,
      unit: 'batches',
      formula: rate.burstFormula,
      arithmetic: rate.burstArithmetic,
      why: 'burst batches can start at once after a quiet time, on top of qps × L in flight',
      source: 'throttle',
    },
  };
}

interface RateChoice {
  readonly B: number;
  readonly batchStep: AdvisorStep;
  readonly infeasible: readonly AdvisorFinding[];
  readonly qps: number;
  readonly qpsFormula: string;
  readonly qpsArithmetic: string;
  readonly burst: number;
  readonly burstFormula: string;
  readonly burstArithmetic: string;
}

/** A sink that takes M POSTs at once: burst 1 and qps × L ≤ M − 1 keep ⌊burst + qps × L⌋ ≤ M; a one-at-a-time sink gets qps × L = 0.5. */
function sinkLimitedRate(input: BatchingAdvisorInput, d: Derived, batch: BatchSizeChoice, Emax: number, M: number): RateChoice {
  const qSink = M > 1 ? niceDown((M - 1) / d.L) : niceDown(0.5 / d.L);
  const qSinkText = M > 1 ? `q_sink = (${M} − 1) / ${num(d.L)} = ${num(qSink)}` : `q_sink = 0.5 / ${num(d.L)} = ${num(qSink)}`;
  let B = batch.B;
  let batchStep = batch.step;
  const infeasible: AdvisorFinding[] = [];
  if ((d.h * d.r) / B > qSink) {
    // Bigger batches instead of more of them, as far as the body limit allows.
    const bNeed = Math.ceil((d.h * d.r) / Math.max(qSink, 1e-9));
    if (batch.bBody === undefined || bNeed <= batch.bBody) {
      B = Math.max(B, bNeed);
      batchStep = batchSizeStep(B, 'B = ⌈h × r / q_sink⌉ (the sink caps the batch rate, so batches grow)', `⌈${num(d.h)} × ${num(d.r)} / ${num(qSink)}⌉ = ${B}`, `the sink takes ${M} POSTs at once, so at most ${num(qSink)} batches/s`);
    } else {
      const bBody = batch.bBody;
      infeasible.push({
        severity: 'drop',
        field: 'sink.maxInFlight',
        message:
          `sink.maxInFlight: ${M} POSTs at once × latency ${num(d.L)} s allows ${num(qSink)} batches/s; with at most ${bBody} events per POST (sinkMaxBody ${d.body} / largest event ${Emax}) that carries ${num(qSink * bBody)} events/s, ` +
          `below headroom ${num(d.h)} × ${num(d.r)} events/s — raise the sink's max-in-flight to ≥ ${Math.ceil((d.h * d.r * d.L) / bBody) + 1}, its body limit, or lower largestEventBytes`,
      });
      B = bBody;
    }
  }
  const budget = memoryBudgetQps(input, d, B);
  const qps = Math.min(qSink, Math.max(niceUp((d.h * d.r) / B), WEBHOOK_BATCH_DEFAULTS.throttleQps, budget.q));
  const burst = Math.max(1, Math.floor(M - qps * d.L + 1e-9));
  return {
    B,
    batchStep,
    infeasible,
    qps,
    qpsFormula: 'qps = min(q_sink, max(h × r / B, 10, q_mem)), q_sink = (maxInFlight − 1) / L, q_mem = (h × P × D − C_budget) / (B × D)',
    qpsArithmetic: `${qSinkText}; ${budget.text}; min(${num(qSink)}, max(${num(d.h)} × ${num(d.r)} / ${B}, 10, ${num(budget.q)})) = ${num(qps)}`,
    burst,
    burstFormula: 'burst = max(1, ⌊maxInFlight − qps × L⌋)',
    burstArithmetic: `max(1, ⌊${M} − ${num(qps)} × ${num(d.L)}⌋) = ${burst}`,
  };
}

/** No sink limit: keep upstream's 10 unless the average needs more, or the burst would need a buffer over the memory budget. */
function unlimitedRate(input: BatchingAdvisorInput, d: Derived, batch: BatchSizeChoice): RateChoice {
  const B = batch.B;
  const budget = memoryBudgetQps(input, d, B);
  const qps = Math.max(niceUp((d.h * d.r) / B), WEBHOOK_BATCH_DEFAULTS.throttleQps, budget.q);
  const burst = Math.max(1, Math.ceil(qps * 1.5));
  return {
    B,
    batchStep: batch.step,
    infeasible: [],
    qps,
    qpsFormula: 'qps = max(h × r / B, 10, q_mem), q_mem = (h × P × D − C_budget) / (B × D)',
    qpsArithmetic: `${budget.text}; max(${num(d.h)} × ${num(d.r)} / ${B}, 10, ${num(budget.q)}) = ${num(qps)}`,
    burst,
    burstFormula: 'burst = ⌈1.5 × qps⌉ (upstream ratio 15/10)',
    burstArithmetic: `⌈1.5 × ${num(qps)}⌉ = ${burst}`,
  };
}

/** Buffer: what the throttle cannot take during a burst h times the stated one, at least one second of peak. */
function chooseBuffer(d: Derived, B: number, q: number, burst: number): Choice<number> {
  const mu = q * B;
  const held = B * (burst + 1);
  const burstEvents = d.P * d.D;
  const backlog = Math.max(0, d.h * burstEvents - held - mu * d.D);
  const oneSecond = d.h * d.P;
  const C = Math.max(B, niceUp(oneSecond), niceUp(backlog));
  return {
    value: C,
    step: {
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
    },
  };
}

/** Max wait: the delivery delay wanted at quiet times. */
function chooseMaxWait(input: BatchingAdvisorInput): Choice<number> {
  const W = input.maxDelaySeconds ?? WEBHOOK_BATCH_DEFAULTS.maxWaitSeconds;
  return {
    value: W,
    step: {
      name: 'maxWaitSeconds',
      flag: settingFlag('maxWaitSeconds'),
      value: W,
      unit: 's',
      formula: input.maxDelaySeconds !== undefined ? 'maxWait = maxDelaySeconds' : 'maxWait = 30 s (upstream default)',
      arithmetic: `${num(W)}`,
      why: 'a batch smaller than B leaves when this timer fires; busy times fill batches before it',
      source: 'batch',
    },
  };
}

/** Retries: survive the sink outage. */
function chooseBackoff(d: Derived): Choice<number> {
  const backoff = d.outage !== undefined ? Math.max(0.1, ceilTenth(d.outage / RETRY_WAIT_FACTOR)) : 10;
  return {
    value: backoff,
    step: {
      name: 'initialBackoffSeconds',
      flag: settingFlag('initialBackoffSeconds'),
      value: backoff,
      unit: 's',
      formula: d.outage !== undefined ? 'd = ⌈outage / 8.125⌉₀.₁' : 'd = 10 s (upstream default)',
      arithmetic: d.outage !== undefined ? `⌈${num(d.outage)} / 8.125⌉₀.₁ = ${num(backoff)}` : '10',
      why: 'the 4 waits between the 5 attempts add up to 8.125 × d',
      source: 'retry',
    },
  };
}

/**
 * The props option: WebhookBackend props with advised batching for `input`, over `base`.
 * Use it wherever WebhookBackendProps go: `new WebhookBackend(advisedWebhookProps(…))`,
 * `new ApiserverAudit({ webhook: advisedWebhookProps(…) })`, `ClusterAudit`'s `webhook.backend`.
 * @throws AuditConfigError when the input is invalid, or when no settings carry the load (the findings say why)
 */
export function advisedWebhookProps(input: BatchingAdvisorInput, base: WebhookBackendProps = {}): WebhookBackendProps {
  const kubernetesVersion = input.kubernetesVersion ?? base.kubernetesVersion?.version;
  const advice = adviseBatching({ ...input, kubernetesVersion });
  if (advice.drops) throw new AuditConfigError(advice.findings.filter((f) => f.severity === 'drop').map((f) => f.message));
  const props: WebhookBackendProps = { ...base, ...advice.props };
  const version = kubernetesVersion === undefined ? undefined : KubernetesVersion.of(kubernetesVersion);
  return Object.fromEntries(Object.entries({ ...props, kubernetesVersion: version }).filter(([, v]) => v !== undefined)) as WebhookBackendProps;
}
