/**
 * The batching advisor (src/backends/advisor.ts) against the real kube-apiserver. The apiserver runs with
 * the webhook settings `advisedWebhookProps` chose for a load, rendered by `ApiserverAudit`, and sends to a
 * slow sink (support/slow-sink.ts: 1 s per batch, 4 requests at once, 64 KiB bodies — the sink the advice
 * was made for). Then:
 *
 * 1. the burst the advice was made for, sent as fast as the client can (so faster than stated, and still
 *    within what the advisor says a burst of any speed can bring) → apiserver_audit_error_total does not
 *    move, and apiserver_audit_event_total grows by exactly the events the sink received;
 * 2. a burst of twice the capacity the advisor reports → the advisor (library and CLI) says it drops, and
 *    the apiserver's own counter of "audit buffer queue blocked" drops (plugin="buffered") agrees with the
 *    model's count; every generated event is either received or counted as dropped;
 * 3. the advisor's other claims hold on the wire: no batch over max-size, no more POSTs at once than it
 *    says (so the sink never refuses one), no body over max-size × max-event-size — and
 *    --audit-webhook-truncate-max-batch-size does not split webhook batches (truncation wraps the buffer).
 *
 * Burst sizes come from the advisor's numbers; assertions are on counts from the apiserver's /metrics and
 * the sink. The burst's measured duration is an input to the model's prediction, never an assertion.
 */
import { Duration, Size } from 'cdk8s';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { adviseBatching, advisedWebhookProps, BatchingAdvisorInput, BatchSettings, checkBatching } from '../../src/backends/advisor';
import { ApiserverAudit } from '../../src/backends/apiserver-audit';
import type { WebhookBackendProps } from '../../src/backends/backends';
import { flagDefault, getFlag } from '../../src/backends/flag-table';
import { renderWebhookKubeconfig } from '../../src/backends/kubeconfig';
import { parseKubernetesVersion } from '../../src/core/kubernetes-version';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';
import { parsePrometheusText, SlowSink, sumOf, waitUntil } from './support/slow-sink';
import { KubernetesVersion } from '../../src/core/kubernetes-version';

const MAIN = join(__dirname, '..', '..', 'lib', 'cli', 'main.js');

/** The load the advice is made for, and the sink it must live with. */
const INPUT: BatchingAdvisorInput = {
  load: { requestsPerSecond: 5, peakRequestsPerSecond: 150, burstSeconds: 4, eventSizeBytes: 1000, largestEventBytes: 4096 },
  sink: { latencySeconds: 1, maxInFlight: 4, maxBodyBytes: 64 * 1024 },
  // Quiet-time batches leave after 1 s, so the test does not idle.
  maxDelaySeconds: 1,
};
/** The same sink as `advise` options. */
const SINK_OPTIONS = ['--sink-latency', '1s', '--sink-max-in-flight', '4', '--sink-max-body', '64Ki', '--event-size', '1000', '--largest-event', '4Ki'];

/** Only alice's requests are audited (one ResponseComplete event each), so every counted event is the test's own. */
const POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [alice]
  - level: None
`;

interface AuditCounters {
  /** apiserver_audit_event_total */
  readonly events: number;
  /** apiserver_audit_error_total by plugin, and in all */
  readonly buffered: number;
  readonly webhook: number;
  readonly allErrors: number;
}

async function readCounters(cp: ControlPlane): Promise<AuditCounters> {
  const res = await cp.client.request('GET', '/metrics', undefined, { timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`GET /metrics as the admin: HTTP ${res.status}`);
  const samples = parsePrometheusText(res.text);
  return {
    events: sumOf(samples, 'apiserver_audit_event_total'),
    buffered: sumOf(samples, 'apiserver_audit_error_total', { plugin: 'buffered' }),
    webhook: sumOf(samples, 'apiserver_audit_error_total', { plugin: 'webhook' }),
    allErrors: sumOf(samples, 'apiserver_audit_error_total'),
  };
}

function minus(a: AuditCounters, b: AuditCounters): AuditCounters {
  return { events: a.events - b.events, buffered: a.buffered - b.buffered, webhook: a.webhook - b.webhook, allErrors: a.allErrors - b.allErrors };
}

/** `count` GET /version as alice, 16 callers over the client's 8 sockets, as fast as they go. */
async function burst(cp: ControlPlane, count: number): Promise<{ seconds: number; statuses: Record<number, number> }> {
  const caller = cp.callerFor(cp.users.alice);
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) {
      next++;
      const res = await cp.client.request('GET', '/version', undefined, { caller, timeoutMs: 30_000 });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, statuses };
}

/**
 * Sends a burst and waits until every event it generated is accounted for: received by the sink or
 * counted in apiserver_audit_error_total. Returns the counter deltas and what the sink received.
 */
async function burstAndSettle(cp: ControlPlane, sink: SlowSink, count: number): Promise<{ seconds: number; d: AuditCounters; received: number }> {
  const before = await readCounters(cp);
  const receivedBefore = sink.events();
  const run = await burst(cp, count);
  expect(run.statuses).toEqual({ 200: count });
  let d = minus(before, before);
  await waitUntil(
    `the ${count} events of the burst to be received or counted as errors`,
    async () => {
      d = minus(await readCounters(cp), before);
      return d.events >= count && sink.events() - receivedBefore + d.allErrors >= d.events;
    },
    150_000,
    () => `generated ${d.events}, received ${sink.events() - receivedBefore}, errors ${d.allErrors}`,
  );
  return { seconds: run.seconds, d, received: sink.events() - receivedBefore };
}

/** The CLI's verdict on `settings` for a burst: `advise` in check mode with the settings as options. */
function cliCheck(settings: readonly string[], peakRps: number, seconds: number): { code: number; stdout: string; stderr: string } {
  const options = settings.flatMap((f) => {
    const [name, value] = f.slice('--audit-'.length).split('=');
    return [`--${name}`, value];
  });
  const args = ['advise', '--rps', '0', '--peak-rps', String(Math.round(peakRps)), '--burst-duration', `${Math.max(1, Math.round(seconds * 1000))}ms`, ...SINK_OPTIONS, ...options];
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface Rig {
  readonly cp: ControlPlane;
  readonly sink: SlowSink;
  readonly args: readonly string[];
  close(): Promise<void>;
}

/** The slow sink, the webhook kubeconfig and the policy in a temp dir, and an apiserver with `webhook` props. */
async function startRig(version: string, webhook: (configFile: string) => WebhookBackendProps): Promise<Rig> {
  const dir = makeTempDir('advisor');
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: 'kube-apiserver-audit' });
  const sink = await SlowSink.start({
    caPem: tls.ca.certPem,
    certPem: tls.sink.certPem,
    keyPem: tls.sink.keyPem,
    latencyMs: INPUT.sink.latencySeconds * 1000,
    // One POST of slack over what the advisor was told: on a loaded machine the sink's 1 s timers fire
    // late, stretching its latency and so the overlap the model computes from the nominal latency.
    maxInFlight: INPUT.sink.maxInFlight! + 1,
  });
  try {
    mkdirSync(join(dir, 'policy'));
    mkdirSync(join(dir, 'webhook'));
    const policyFile = join(dir, 'policy', 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    const configFile = join(dir, 'webhook', 'kubeconfig.yaml');
    const kubeconfig = { server: sink.url, certificateAuthorityPem: tls.ca.certPem, clientCertificatePem: tls.apiserverClient.certPem, clientKeyPem: tls.apiserverClient.keyPem };
    writeFileSync(configFile, renderWebhookKubeconfig(kubeconfig), { mode: 0o600 });
    const args = new ApiserverAudit({ kubernetesVersion: KubernetesVersion.of(version), policyFile, webhook: webhook(configFile) }).commandLine();
    const cp = await startControlPlane({ version, extraArgs: args });
    return {
      cp,
      sink,
      args,
      close: async () => {
        await cp.stop();
        await sink.close();
        removeTempDir(dir);
      },
    };
  } catch (error) {
    await sink.close();
    removeTempDir(dir);
    throw error;
  }
}

/** Each advised flag is on the command line, or left out because it is the apiserver's default. */
function expectAdvisedFlags(args: readonly string[], advised: readonly string[], version: string): void {
  const minor = parseKubernetesVersion(version).minor;
  for (const flag of advised) {
    const name = flag.slice(2, flag.indexOf('='));
    const given = args.find((a) => a.startsWith(`--${name}=`));
    if (given !== undefined) expect(given).toBe(flag);
    else expect(`--${name}=${flagDefault(getFlag(name), minor)}`, `${flag} is neither rendered nor the default`).toBe(flag);
  }
}

const largest = (xs: number[]) => xs.reduce((m, x) => Math.max(m, x), 0);

describe.each(kubernetesVersions())('batching advisor on the real kube-apiserver v%s', (version) => {
  test('a burst within the advised capacity drops nothing; twice the capacity drops as many as the advisor says', async () => {
    const advice = adviseBatching({ ...INPUT, kubernetesVersion: version });
    expect(advice.drops, advice.findings.map((f) => f.message).join('\n')).toBe(false);
    const { capacity, settings } = advice;
    const rig = await startRig(version, (configFile) => advisedWebhookProps({ ...INPUT, kubernetesVersion: version }, { configFile }));
    const { cp, sink } = rig;
    try {
      expectAdvisedFlags(rig.args, advice.flags, version);

      // 1. The stated burst, as fast as the client goes: within the capacity for a burst of any speed.
      const n1 = Math.min(capacity.burstEvents, Math.floor(0.8 * capacity.instantBurstEvents));
      expect(n1).toBeGreaterThanOrEqual(settings.maxBatchSize * 10);
      const run1 = await burstAndSettle(cp, sink, n1);
      const model1 = checkBatching(settings, { ...INPUT, load: { ...INPUT.load, requestsPerSecond: 0, peakRequestsPerSecond: n1 / run1.seconds, burstSeconds: run1.seconds } });
      expect(model1.drops).toBe(false);
      expect(cliCheck(advice.flags, n1 / run1.seconds, run1.seconds).code).toBe(0);
      expect(run1.d).toEqual({ events: n1, buffered: 0, webhook: 0, allErrors: 0 });
      expect(run1.received).toBe(n1);

      // 2. Twice the capacity the advisor reports for a burst of any speed.
      const n2 = 2 * capacity.instantBurstEvents;
      const run2 = await burstAndSettle(cp, sink, n2);
      const load2 = { ...INPUT.load, requestsPerSecond: 0, peakRequestsPerSecond: n2 / run2.seconds, burstSeconds: run2.seconds };
      const model2 = checkBatching(settings, { ...INPUT, load: load2 });
      const said = cliCheck(advice.flags, n2 / run2.seconds, run2.seconds);
      console.log(
        `v${version}: advice buffer ${settings.bufferSize}, batch ${settings.maxBatchSize}, qps ${settings.throttleQps}, burst ${settings.throttleBurst}; ` +
          `capacity for a burst of any speed ${capacity.instantBurstEvents} events, drain ${capacity.drainEventsPerSecond} events/s. ` +
          `Burst 1: ${n1} events in ${run1.seconds.toFixed(2)} s → apiserver_audit_error_total +${run1.d.allErrors}. ` +
          `Burst 2: ${n2} events in ${run2.seconds.toFixed(2)} s → plugin="buffered" +${run2.d.buffered} (model ${model2.capacity.droppedInBurst}), ` +
          `plugin="webhook" +${run2.d.webhook}, received ${run2.received}. Sink: ${sink.batches.length} batches, largest ${largest(sink.batches.map((b) => b.events))} events / ` +
          `${largest(sink.batches.map((b) => b.bodyBytes))} bytes, peak ${sink.peakInFlight} POSTs at once, ${sink.refusedOverLimit} refused.`,
      );
      expect(model2.drops).toBe(true);
      expect(model2.findings.find((f) => f.severity === 'drop')?.field).toBe('batch.bufferSize');
      expect(said.code).toBe(1);
      expect(said.stdout).toContain('DROP    --webhook-batch-buffer-size (--audit-webhook-batch-buffer-size)');
      expect(run2.d.events).toBe(n2);
      expect(run2.d.buffered).toBeGreaterThan(0);
      expect(run2.d.webhook).toBe(0);
      expect(run2.d.allErrors).toBe(run2.d.buffered);
      expect(run2.received + run2.d.buffered).toBe(n2);
      // The model's count: within two batches plus 5% of the burst (token timing, the burst's unevenness).
      expect(Math.abs(run2.d.buffered - model2.capacity.droppedInBurst)).toBeLessThanOrEqual(2 * settings.maxBatchSize + 0.05 * n2);

      // 3. The advisor's claims on the wire.
      expect(largest(sink.batches.map((b) => b.events))).toBeLessThanOrEqual(settings.maxBatchSize);
      expect(sink.peakInFlight, 'POSTs in flight at once (one of slack for a late-firing sink timer)').toBeLessThanOrEqual(capacity.peakConcurrentPosts + 1);
      expect(sink.refusedOverLimit).toBe(0);
      expect(sink.badRequests).toEqual([]);
      expect(largest(sink.batches.map((b) => b.bodyBytes))).toBeLessThanOrEqual(capacity.maxPostBytes!);
      expect(new Set(sink.auditIds()).size).toBe(sink.auditIds().length);
      expect(new Set(sink.batches.flatMap((b) => b.users))).toEqual(new Set(['alice']));
    } finally {
      await rig.close();
    }
  });

  test('--audit-webhook-truncate-max-batch-size does not split webhook batches (the body bound is max-size × max-event-size)', async () => {
    // The smallest batch-byte limit the apiserver allows (= the event limit), and batches of up to 15 events.
    const settings: BatchSettings = { ...adviseBatching(INPUT).settings, truncateMaxBatchSizeBytes: 4096, truncateMaxEventSizeBytes: 4096, bufferSize: 1000 };
    const props = (configFile: string): WebhookBackendProps => ({
      configFile,
      kubernetesVersion: KubernetesVersion.of(version),
      batch: { bufferSize: settings.bufferSize, maxSize: settings.maxBatchSize, maxWait: Duration.seconds(settings.maxWaitSeconds), throttle: { qps: 3, burst: 1 } },
      truncate: { enabled: true, maxEventSize: Size.kibibytes(4), maxBatchSize: Size.kibibytes(4) },
    });
    const rig = await startRig(version, props);
    try {
      expect(rig.args).toContain('--audit-webhook-truncate-max-batch-size=4096');
      const run = await burstAndSettle(rig.cp, rig.sink, 10 * settings.maxBatchSize);
      expect(run.d.allErrors).toBe(0);
      const over = rig.sink.batches.filter((b) => b.bodyBytes > 4096);
      // Events are well under 4096 bytes each, so several share one POST far over the 4096-byte "batch" limit.
      expect(over.length).toBeGreaterThan(0);
      expect(largest(over.map((b) => b.events))).toBe(settings.maxBatchSize);
      expect(largest(rig.sink.batches.map((b) => b.bodyBytes))).toBeLessThanOrEqual(settings.maxBatchSize * 4096 + 1024);
    } finally {
      await rig.close();
    }
  });
});
