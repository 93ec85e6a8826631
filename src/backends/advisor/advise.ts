/** The advice: settings that carry the load, each chosen by a formula shown with its inputs, then checked. */
import { AuditMode, BATCH_ENVELOPE_BYTES, WebhookBackendProps } from '../backends';
import { AuditConfigError } from '../errors';
import { sizeFromBytes } from '../prop-units';
import { KubernetesVersion } from '../../core/kubernetes-version';
import { checkBatching } from './check';
import { settingFlag, settingsToFlags, webhookPropsFromSettings } from './conversions';
import { derive, validateAdvisorInput } from './input';
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
