/** The advisor's inputs: their checks, and the letters the formulas use. */
import { formatValue } from '../errors';
import { parseKubernetesVersion } from '../../core/kubernetes-version';
import { BatchingAdvisorInput, DEFAULT_MAX_EVENT_BYTES } from './model';

/** The load and the sink in the formulas' letters. */
export interface Derived {
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

export function derive(input: BatchingAdvisorInput): Derived {
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
