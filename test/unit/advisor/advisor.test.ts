import { Chart, Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  adviseBatching,
  advisedWebhookProps,
  BatchingAdvisorInput,
  BatchSettings,
  checkBatching,
  niceDown,
  niceUp,
  RETRY_WAIT_FACTOR,
  settingsFromFlagValues,
  settingsOfWebhookBackend,
  settingsToFlags,
  WEBHOOK_BATCH_DEFAULTS,
} from '../../../src/backends/advisor';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { AuditMode, WebhookBackend } from '../../../src/backends/backends';
import { AuditConfigError } from '../../../src/backends/errors';
import { ClusterAudit } from '../../../src/gitops/cluster-audit';
import { testApp } from '../support/temp-dir';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

/** The e2e scenario: a slow, small sink (1 s per batch, 4 at once, 64 KiB bodies). */
const SLOW_SINK: BatchingAdvisorInput = {
  load: { requestsPerSecond: 5, peakRequestsPerSecond: 150, burstSeconds: 4, eventSizeBytes: 1000, largestEventBytes: 4096 },
  sink: { latencySeconds: 1, maxInFlight: 4, maxBodyBytes: 64 * 1024 },
  maxDelaySeconds: 1,
};

const step = (advice: { steps: readonly { name: string }[] }, name: string) => {
  const s = advice.steps.find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name}`);
  return s as { name: string; value: number; formula: string; arithmetic: string; flag?: string };
};

/** A small deterministic generator, so the grid below is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('adviseBatching: the arithmetic', () => {
  const advice = adviseBatching(SLOW_SINK);

  it('derives every setting from the load and the sink, with the inputs in the arithmetic', () => {
    expect(advice.settings).toEqual({
      mode: AuditMode.BATCH,
      bufferSize: 990,
      maxBatchSize: 15,
      maxWaitSeconds: 1,
      throttleEnabled: true,
      throttleQps: 3,
      throttleBurst: 1,
      truncateEnabled: true,
      truncateMaxEventSizeBytes: 4096,
      truncateMaxBatchSizeBytes: 64512,
      initialBackoffSeconds: 10,
    });
    expect(step(advice, 'maxBatchSize').arithmetic).toBe('min(400, ⌊(65536 − 1024) / 4096⌋) = 15');
    expect(step(advice, 'throttleQps').arithmetic).toContain('q_sink = (4 − 1) / 1 = 3');
    expect(step(advice, 'throttleBurst').arithmetic).toBe('max(1, ⌊4 − 3 × 1⌋) = 1');
    expect(step(advice, 'bufferSize').arithmetic).toContain('2 × 150 × 4 − 15 × (1 + 1) − 3 × 15 × 4');
    expect(step(advice, 'bufferSize').flag).toBe('audit-webhook-batch-buffer-size');
    for (const s of advice.steps) {
      expect(s.formula, s.name).not.toBe('');
      expect(s.arithmetic, s.name).not.toBe('');
    }
  });

  it('reports the capacity by the buffered backend model', () => {
    const c = advice.capacity;
    expect(c.drainEventsPerSecond).toBe(45); // qps 3 × B 15
    expect(c.heldByThrottleEvents).toBe(30); // B × (burst 1 + 1)
    expect(c.instantBurstEvents).toBe(1020); // C 990 + 30
    expect(c.absorbedDuringBurst).toBe(1200); // 1020 + 45 × 4
    expect(c.peakConcurrentPosts).toBe(4); // ⌊1 + 3 × 1⌋ = the sink's limit
    expect(c.maxPostBytes).toBe(15 * 4096 + 1024);
    expect(c.maxBurstSecondsAtPeak).toBeCloseTo(1020 / (150 - 45), 9);
    expect(c.outageToleranceSeconds).toBe(81.25);
    expect(advice.drops).toBe(false);
    expect(advice.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('renders every setting as an explicit flag', () => {
    expect(advice.flags).toEqual([
      '--audit-webhook-initial-backoff=10s',
      '--audit-webhook-mode=batch',
      '--audit-webhook-batch-buffer-size=990',
      '--audit-webhook-batch-max-size=15',
      '--audit-webhook-batch-max-wait=1s',
      '--audit-webhook-batch-throttle-enable=true',
      '--audit-webhook-batch-throttle-qps=3',
      '--audit-webhook-batch-throttle-burst=1',
      '--audit-webhook-truncate-enabled=true',
      '--audit-webhook-truncate-max-batch-size=64512',
      '--audit-webhook-truncate-max-event-size=4096',
    ]);
  });

  it('sets the retry backoff from the outage to survive', () => {
    const a = adviseBatching({ ...SLOW_SINK, sink: { ...SLOW_SINK.sink, outageSeconds: 120 } });
    expect(a.settings.initialBackoffSeconds).toBe(14.8); // ⌈120 / 8.125⌉ to 0.1 s
    expect(RETRY_WAIT_FACTOR).toBe(1 + 1.5 + 2.25 + 3.375);
    expect(a.capacity.outageToleranceSeconds).toBeGreaterThanOrEqual(120);
    expect(a.drops).toBe(false);
  });

  it('keeps upstream qps and batch size without sink limits, and raises qps instead of a huge buffer', () => {
    const a = adviseBatching({ load: { requestsPerSecond: 200, peakRequestsPerSecond: 8000, burstSeconds: 60 }, sink: { latencySeconds: 0.2 } });
    expect(a.settings.maxBatchSize).toBe(400);
    expect(a.settings.throttleQps).toBe(35); // (2 × 8000 × 60 − 131072) / (400 × 60) = 34.5 → 35
    expect(a.settings.bufferSize * 2048).toBeLessThanOrEqual(256 * 1024 * 1024);
    expect(a.drops).toBe(false);
    expect(a.findings.map((f) => f.field)).toEqual(expect.arrayContaining(['sink.maxInFlight', 'sink.maxBodyBytes']));
  });

  it('grows batches when the sink caps the batch rate', () => {
    const a = adviseBatching({ load: { requestsPerSecond: 3000 }, sink: { latencySeconds: 0.5, maxInFlight: 4 } });
    // q_sink = (4 − 1) / 0.5 = 6 batches/s; 2 × 3000 / 6 = 1000 events per batch.
    expect(a.settings.throttleQps).toBe(6);
    expect(a.settings.maxBatchSize).toBe(1000);
    expect(a.capacity.drainEventsPerSecond).toBe(6000);
    expect(a.drops).toBe(false);
  });

  it('says when no settings can carry the load, naming the sink limit and the fix', () => {
    const a = adviseBatching({ load: { requestsPerSecond: 3000, largestEventBytes: 100 * 1024 }, sink: { latencySeconds: 2, maxInFlight: 2, maxBodyBytes: 1024 * 1024 } });
    expect(a.drops).toBe(true);
    const f = a.findings.find((x) => x.severity === 'drop' && x.field === 'sink.maxInFlight');
    expect(f?.message).toMatch(/^sink\.maxInFlight: 2 POSTs at once × latency 2 s allows 0\.5 batches\/s.*raise the sink's max-in-flight to ≥ \d+/);
    expect(() => advisedWebhookProps({ load: { requestsPerSecond: 3000, largestEventBytes: 100 * 1024 }, sink: { latencySeconds: 2, maxInFlight: 2, maxBodyBytes: 1024 * 1024 } })).toThrow(
      AuditConfigError,
    );
  });

  it('a body limit below one event is an infeasible advice, not a crash', () => {
    const a = adviseBatching({ load: { requestsPerSecond: 10 }, sink: { latencySeconds: 0.1, maxBodyBytes: 1024 } });
    expect(a.drops).toBe(true);
    expect(a.findings[0].message).toMatch(/^sink\.maxBodyBytes: 1024 cannot take even one event of largestEventBytes 102400.*raise the sink's body limit to ≥ 103424/);
  });

  it('rounds to two significant digits in the safe direction', () => {
    expect(niceUp(780)).toBe(780);
    expect(niceUp(16523)).toBe(17000);
    expect(niceUp(3.21)).toBe(3.3);
    expect(niceDown(3)).toBe(3);
    expect(niceDown(0.0567)).toBe(0.056);
    expect(niceDown(34.9)).toBe(34);
  });
});

describe('adviseBatching: the advice holds under its own model (seeded grid)', () => {
  const next = rng(9);
  const cases = Array.from({ length: 300 }, () => {
    const rps = Math.round(next() * 2000);
    const input: BatchingAdvisorInput = {
      load: {
        requestsPerSecond: rps,
        peakRequestsPerSecond: rps + Math.round(next() * 20000),
        burstSeconds: 1 + Math.round(next() * 300),
        eventSizeBytes: 500 + Math.round(next() * 4000),
        eventsPerRequest: next() < 0.5 ? 1 : 2,
        largestEventBytes: 4096 * (1 + Math.round(next() * 30)),
      },
      sink: {
        latencySeconds: 0.01 + next() * 3,
        maxInFlight: next() < 0.3 ? undefined : 1 + Math.round(next() * 64),
        maxBodyBytes: next() < 0.3 ? undefined : 1024 * 1024 * (1 + Math.round(next() * 31)),
      },
      headroom: 1 + next() * 2,
    };
    return input;
  });

  it('every feasible advice absorbs its burst, headroom × its burst, and its concurrency fits the sink', () => {
    let feasible = 0;
    for (const input of cases) {
      const a = adviseBatching(input);
      if (a.drops) {
        // Only the sink can make advice infeasible, and then a finding names the sink.
        expect(a.findings.some((f) => f.severity === 'drop' && f.field.startsWith('sink.'))).toBe(true);
        continue;
      }
      feasible++;
      const h = input.headroom!;
      const bigger = checkBatching(a.settings, { ...input, load: { ...input.load, peakRequestsPerSecond: input.load.peakRequestsPerSecond! * h } });
      expect(bigger.capacity.droppedInBurst, JSON.stringify(input)).toBe(0);
      if (input.sink.maxInFlight !== undefined) expect(a.capacity.peakConcurrentPosts).toBeLessThanOrEqual(input.sink.maxInFlight);
      if (input.sink.maxBodyBytes !== undefined) expect(a.capacity.maxPostBytes!).toBeLessThanOrEqual(input.sink.maxBodyBytes);
      expect(a.capacity.drainEventsPerSecond!).toBeGreaterThanOrEqual(h * input.load.requestsPerSecond * (input.load.eventsPerRequest ?? 1) - 1e-9);
      // And the apiserver accepts them: WebhookBackend validates with the apiserver's own rules.
      expect(() => new WebhookBackend(a.props)).not.toThrow();
    }
    expect(feasible).toBeGreaterThan(200);
  });

  it('a burst just over what the settings absorb drops, and the check says how many', () => {
    for (const input of cases.slice(0, 100)) {
      const a = adviseBatching(input);
      if (a.drops) continue;
      const { instantBurstEvents, drainEventsPerSecond } = a.capacity;
      // Twice the instant capacity arriving within one second: at most I + μ × 1 absorbed.
      const n = 2 * instantBurstEvents;
      const c = checkBatching(a.settings, { ...input, load: { ...input.load, requestsPerSecond: 0, eventsPerRequest: 1, peakRequestsPerSecond: n, burstSeconds: 1 } });
      const expected = Math.max(0, Math.ceil(n - instantBurstEvents - drainEventsPerSecond!));
      expect(c.capacity.droppedInBurst).toBe(expected);
      expect(c.drops).toBe(expected > 0);
    }
  });
});

describe('checkBatching: findings name the field, the value, the rule and the fix', () => {
  const defaults = settingsFromFlagValues({});

  it('reads the upstream defaults from the flag table', () => {
    expect(defaults).toMatchObject({
      mode: 'batch',
      bufferSize: WEBHOOK_BATCH_DEFAULTS.bufferSize,
      maxBatchSize: WEBHOOK_BATCH_DEFAULTS.maxBatchSize,
      maxWaitSeconds: WEBHOOK_BATCH_DEFAULTS.maxWaitSeconds,
      throttleEnabled: true,
      throttleQps: WEBHOOK_BATCH_DEFAULTS.throttleQps,
      throttleBurst: WEBHOOK_BATCH_DEFAULTS.throttleBurst,
      truncateEnabled: false,
      initialBackoffSeconds: 10,
    });
  });

  it('a burst over the defaults: buffer drop with the count and the size that fits', () => {
    const c = checkBatching(defaults, { load: { requestsPerSecond: 200, peakRequestsPerSecond: 8000, burstSeconds: 60 }, sink: { latencySeconds: 0.2 } });
    expect(c.drops).toBe(true);
    const f = c.findings.find((x) => x.field === 'batch.bufferSize')!;
    expect(f.severity).toBe('drop');
    // 480000 events; absorbed 10000 + 400 × 16 + 4000 × 60 = 256400.
    expect(f.message).toMatch(/^batch\.bufferSize \(--audit-webhook-batch-buffer-size\): 10000 cannot hold the burst: 480000 events in 60 s but only I \+ μ × D = 16400 \+ 4000 × 60 = 256400/);
    expect(f.message).toContain('about 223600 events are dropped');
    expect(f.message).toContain('raise bufferSize to ≥ 233600');
    expect(c.capacity.droppedInBurst).toBe(223600);
  });

  it('an average rate over qps × maxSize drops whatever the buffer', () => {
    const c = checkBatching({ ...defaults, throttleQps: 1, maxBatchSize: 10 }, { load: { requestsPerSecond: 50 }, sink: { latencySeconds: 0.1 } });
    const f = c.findings.find((x) => x.field === 'batch.throttle.qps')!;
    expect(f.severity).toBe('drop');
    expect(f.message).toMatch(/^batch\.throttle\.qps \(--audit-webhook-batch-throttle-qps\): 1 batches\/s × batch\.maxSize 10 = 10 events\/s is below the average 50 events\/s; the buffer of 10000 fills in 250 s/);
  });

  it('more POSTs at once than the sink takes', () => {
    const c = checkBatching(defaults, { load: { requestsPerSecond: 10 }, sink: { latencySeconds: 0.5, maxInFlight: 8 } });
    const f = c.findings.find((x) => x.field === 'sink.maxInFlight')!;
    expect(f.severity).toBe('drop');
    expect(f.message).toContain('up to 20 POSTs at once (⌊burst 15 + qps 10 × latency 0.5 s⌋) but the sink takes 8');
    expect(f.message).toContain("raise the sink's max-in-flight to ≥ 20");
  });

  it('a sink at the webhook timeout', () => {
    const c = checkBatching(defaults, { load: { requestsPerSecond: 10 }, sink: { latencySeconds: 30 } });
    expect(c.findings.find((x) => x.field === 'sink.latencySeconds')?.severity).toBe('drop');
  });

  it('a body limit: truncation off is unbounded; on, B × max event size must fit (max-batch-size does not split)', () => {
    const off = checkBatching(defaults, { load: { requestsPerSecond: 10 }, sink: { latencySeconds: 0.1, maxBodyBytes: 1024 * 1024 } });
    expect(off.findings.find((x) => x.field === 'truncate.enabled')?.message).toMatch(/^truncate\.enabled \(--audit-webhook-truncate-enabled\): false leaves POSTs unbounded/);
    const on = checkBatching(
      { ...defaults, truncateEnabled: true, truncateMaxBatchSizeBytes: 1024 * 1024 - 1024 },
      { load: { requestsPerSecond: 10 }, sink: { latencySeconds: 0.1, maxBodyBytes: 1024 * 1024 } },
    );
    const f = on.findings.find((x) => x.field === 'batch.maxSize')!;
    expect(f.severity).toBe('drop');
    expect(f.message).toContain('400 × truncate.maxEventSize 102400 + 1024 = 40961024 bytes');
    expect(f.message).toContain('lower batch.maxSize to ≤ 10 or truncate.maxEventSize to ≤ 2618');
  });

  it('an outage longer than the retries', () => {
    const c = checkBatching(defaults, { load: { requestsPerSecond: 10 }, sink: { latencySeconds: 0.1, outageSeconds: 120 } });
    const f = c.findings.find((x) => x.field === 'initialBackoff')!;
    expect(f.severity).toBe('drop');
    expect(f.message).toContain('10 s retries for 8.125 × 10 = 81.25 s, shorter than the sink outage of 120 s');
    expect(f.message).toContain('set initialBackoff to ≥ 14.8 s');
  });

  it('blocking mode: requests wait for the sink; too many at once drop', () => {
    const c = checkBatching({ ...defaults, mode: AuditMode.BLOCKING }, { load: { requestsPerSecond: 100 }, sink: { latencySeconds: 0.2, maxInFlight: 8 } });
    expect(c.findings.find((x) => x.field === 'mode')?.severity).toBe('warning');
    expect(c.findings.find((x) => x.field === 'sink.maxInFlight')?.message).toContain('below the 20 POSTs in flight');
    expect(c.drops).toBe(true);
  });

  it('throttling off: no apiserver drain bound, the sink must take the POSTs', () => {
    const c = checkBatching({ ...defaults, throttleEnabled: false }, { load: { requestsPerSecond: 100, peakRequestsPerSecond: 40000, burstSeconds: 10 }, sink: { latencySeconds: 1, maxInFlight: 50 } });
    expect(c.capacity.drainEventsPerSecond).toBeNull();
    expect(c.capacity.peakConcurrentPosts).toBe(101);
    expect(c.findings.find((x) => x.field === 'sink.maxInFlight')?.severity).toBe('drop');
  });

  it('invalid input: every problem named, with the value and the fix', () => {
    let error: AuditConfigError | undefined;
    try {
      checkBatching(defaults, { load: { requestsPerSecond: -1, peakRequestsPerSecond: 5, eventSizeBytes: 0 }, sink: { latencySeconds: 0, maxInFlight: 1.5 }, headroom: 0.5 });
    } catch (e) {
      error = e as AuditConfigError;
    }
    expect(error).toBeInstanceOf(AuditConfigError);
    expect(error!.problems).toEqual([
      'load.requestsPerSecond: -1 is not a rate ≥ 0; give requests per second, e.g. 200',
      'load.burstSeconds: (unset) but peakRequestsPerSecond 5 is given; give how long the burst lasts, e.g. 60 (seconds)',
      'load.eventSizeBytes: 0 is not a size > 0; give bytes, e.g. 2048',
      'sink.latencySeconds: 0 is not a duration > 0; give the p99 seconds the sink takes per batch, e.g. 0.2',
      'sink.maxInFlight: 1.5 is not a whole number ≥ 1; give the requests the sink takes at once (cdk8s-audit sink: --max-in-flight, default 8)',
      'headroom: 0.5 is not a factor ≥ 1; give e.g. 2 (capacity twice the need)',
    ]);
  });

  it('settings the apiserver refuses are refused with its rule', () => {
    expect(() => checkBatching({ ...defaults, maxBatchSize: 0 }, { load: { requestsPerSecond: 1 }, sink: { latencySeconds: 1 } })).toThrow(/audit-webhook-batch-max-size/);
  });
});

describe('the props option', () => {
  it('WebhookBackend and ApiserverAudit take the advised props; the flags they render are the advice', () => {
    const props = advisedWebhookProps(SLOW_SINK, { configFile: '/etc/kubernetes/audit-webhook/kubeconfig.yaml' });
    const backend = new WebhookBackend(props);
    const settings: BatchSettings = settingsOfWebhookBackend(backend);
    expect(settings).toEqual(adviseBatching(SLOW_SINK).settings);
    const audit = new ApiserverAudit({ kubernetesVersion: KubernetesVersion.V1_35, webhook: props });
    const line = audit.commandLine();
    expect(line).toContain('--audit-webhook-batch-buffer-size=990');
    expect(line).toContain('--audit-webhook-batch-max-size=15');
    expect(line).toContain('--audit-webhook-batch-throttle-qps=3');
    expect(line).toContain('--audit-webhook-truncate-max-event-size=4096');
    expect(line).toContain('--audit-webhook-config-file=/etc/kubernetes/audit-webhook/kubeconfig.yaml');
  });

  it('ClusterAudit takes the advised props as its webhook backend, over the preset flags', () => {
    const kubeconfig = { server: 'https://10.96.0.50:8443/audit', certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'client.crt', clientKeyFile: 'client.key' };
    const audit = new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { presets: [Preset.PCI_DSS], webhook: { kubeconfig, backend: advisedWebhookProps(SLOW_SINK) } });
    expect(settingsOfWebhookBackend(audit.apiserver.webhook!)).toEqual(adviseBatching(SLOW_SINK).settings);
  });

  it('base props keep their own fields, the advice sets the batching', () => {
    const props = advisedWebhookProps(SLOW_SINK, { configFile: '/k/kubeconfig.yaml', batch: { bufferSize: 1 }, initialBackoff: Duration.seconds(1) });
    expect(props.configFile).toBe('/k/kubeconfig.yaml');
    expect(props.batch?.bufferSize).toBe(990);
    expect(props.sinkMaxBody!.toKibibytes()).toBe(64);
    expect(props.expectedEventsPerSecond).toBe(5);
  });

  it('settingsToFlags and settingsFromFlagValues round-trip', () => {
    const a = adviseBatching(SLOW_SINK);
    const values = Object.fromEntries(settingsToFlags(a.settings).map((f) => f.slice(2).split('=') as [string, string]));
    const typed = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, /^\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v]),
    );
    expect(settingsFromFlagValues(typed)).toEqual(a.settings);
  });
});
