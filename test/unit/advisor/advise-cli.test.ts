import { describe, expect, it } from 'vitest';
import { adviseBatching } from '../../../src/backends/advisor';
import { runCli } from '../../support/cli';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT } from '../../../src/sink-server/server';

const SLOW = ['--rps', '5', '--peak-rps', '150', '--burst-duration', '4s', '--event-size', '1000', '--largest-event', '4Ki', '--sink-latency', '1s', '--sink-max-in-flight', '4', '--sink-max-body', '64Ki', '--max-delay', '1s'];

describe('cdk8s-audit advise', () => {
  it('--help exits 0 with usage, the model and every setting option', async () => {
    const r = await runCli(['advise', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-audit advise --rps N --sink-latency DURATION/);
    expect(r.stdout).toContain('--webhook-batch-buffer-size');
    expect(r.stdout).toContain('--webhook-truncate-max-event-size');
    expect(r.stdout).toContain('"audit buffer queue');
  });

  it('is listed in the verb overview', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(/^\s+advise\s+webhook batching settings/m);
  });

  it('text: every setting with its formula and arithmetic, the flags, exit 0', async () => {
    const r = await runCli(['advise', ...SLOW]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('bufferSize = 990 events  (--audit-webhook-batch-buffer-size)');
    expect(r.stdout).toContain('C = max(B, h × P × 1 s, h × P × D − B × (burst + 1) − qps × B × D)');
    expect(r.stdout).toContain('= min(400, ⌊(65536 − 1024) / 4096⌋) = 15');
    expect(r.stdout).toContain('μ = qps × B');
    expect(r.stdout).toContain('= 3 × 15 = 45');
    expect(r.stdout).toContain('  --audit-webhook-batch-buffer-size=990');
    expect(r.stdout).toContain('[throttle] buffered.go processEvents');
    expect(r.stdout).toMatch(/Result: no drops under this load \(exit 0\)\.$/m);
  });

  it('json: the same numbers as the library', async () => {
    const r = await runCli(['advise', ...SLOW, '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const lib = adviseBatching({
      load: { requestsPerSecond: 5, peakRequestsPerSecond: 150, burstSeconds: 4, eventSizeBytes: 1000, largestEventBytes: 4096 },
      sink: { latencySeconds: 1, maxInFlight: 4, maxBodyBytes: 65536 },
      maxDelaySeconds: 1,
    });
    expect(doc.kind).toBe('advice');
    expect(doc.drops).toBe(false);
    expect(doc.settings).toEqual(lib.settings);
    expect(doc.flags).toEqual(lib.flags);
    expect(doc.capacity.instantBurstEvents).toBe(1020);
    expect(doc.steps.find((s: { name: string }) => s.name === 'drainRate').arithmetic).toBe('3 × 15 = 45');
  });

  it('flags: only the flags, one a line', async () => {
    const r = await runCli(['advise', ...SLOW, '--format', 'flags']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(adviseBatching({
      load: { requestsPerSecond: 5, peakRequestsPerSecond: 150, burstSeconds: 4, eventSizeBytes: 1000, largestEventBytes: 4096 },
      sink: { latencySeconds: 1, maxInFlight: 4, maxBodyBytes: 65536 },
      maxDelaySeconds: 1,
    }).flags);
  });

  it('check: given settings that drop exit 1 naming the flag, the value and the fix', async () => {
    const args = ['advise', '--rps', '200', '--peak-rps', '8000', '--burst-duration', '60s', '--sink-latency', '200ms', '--webhook-batch-buffer-size', '10000'];
    const text = await runCli(args);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^Check of webhook batching settings/);
    expect(text.stdout).toContain('DROP    --webhook-batch-buffer-size (--audit-webhook-batch-buffer-size): 10000 cannot hold the burst');
    expect(text.stdout).toMatch(/Result: events are DROPPED under this load \(exit 1\)\.$/m);
    const json = await runCli([...args, '--format', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'check', drops: true, settings: { bufferSize: 10000, maxBatchSize: 400 } });
    expect(json.stderr).toContain('cdk8s-audit: --webhook-batch-buffer-size (--audit-webhook-batch-buffer-size): 10000 cannot hold the burst');
  });

  it('check: settings that keep up exit 0', async () => {
    const r = await runCli(['advise', '--rps', '100', '--sink-latency', '100ms', '--webhook-batch-throttle-qps', '5', '--sink-max-in-flight', 'unlimited', '--sink-max-body', 'unlimited']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--audit-webhook-batch-throttle-qps=5');
  });

  it("without sink options, advice fits cdk8s-audit's own sink (sink serve's --max-in-flight and --max-body-bytes defaults)", async () => {
    // Was: 17 concurrent POSTs of up to 39 MiB for a sink that takes 8 in flight and 16 MiB.
    const r = await runCli(['advise', '--rps', '500', '--sink-latency', '200ms', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const mine = JSON.parse((await runCli(['advise', '--rps', '500', '--sink-latency', '200ms', '--sink-max-in-flight', String(DEFAULT_MAX_IN_FLIGHT), '--sink-max-body', String(DEFAULT_MAX_BODY_BYTES), '--format', 'json'])).stdout);
    expect(doc.settings).toEqual(mine.settings);
    const s = doc.settings;
    expect(s.maxBatchSize * s.truncateMaxEventSizeBytes).toBeLessThanOrEqual(DEFAULT_MAX_BODY_BYTES);
    expect(Math.floor(s.throttleBurst + s.throttleQps * 0.2)).toBeLessThanOrEqual(DEFAULT_MAX_IN_FLIGHT);
    // "unlimited" describes a sink without those limits, as before.
    const open = JSON.parse((await runCli(['advise', '--rps', '500', '--sink-latency', '200ms', '--sink-max-in-flight', 'unlimited', '--sink-max-body', 'unlimited', '--format', 'json'])).stdout);
    expect(open.settings).not.toEqual(doc.settings);
  });

  it('no settings can carry the load: exit 1 naming the sink', async () => {
    const r = await runCli(['advise', '--rps', '3000', '--sink-latency', '2s', '--sink-max-in-flight', '2', '--sink-max-body', '1Mi', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cdk8s-audit: --sink-max-in-flight: 2 POSTs at once/);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['advise', '--sink-latency', '1s'])).code).toBe(2);
    expect((await runCli(['advise', '--rps', '1'])).stderr).toContain('advise needs --sink-latency DURATION');
    expect((await runCli(['advise', '--rps', '1', '--sink-latency', '1s', '--no-such'])).code).toBe(2);
    expect((await runCli(['advise', '--rps', '1', '--sink-latency', '1s', '--format', 'yaml'])).code).toBe(2);
    expect((await runCli(['advise', 'extra', '--rps', '1', '--sink-latency', '1s'])).code).toBe(2);
    expect((await runCli(['advise', '--rps', '1', '--sink-latency', '1s', '--kubernetes-version', '1.20'])).code).toBe(2);
  });

  it('invalid values exit 1 naming the option, the value and the fix', async () => {
    const r = await runCli(['advise', '--rps', 'lots', '--sink-latency', '2x', '--sink-max-body', '1Qi', '--webhook-batch-throttle-qps', 'fast']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--rps: "lots" is not a number; give e.g. --rps 100');
    expect(r.stderr).toContain('--sink-latency: "2x" is not a duration');
    expect(r.stderr).toContain('--sink-max-body: "1Qi" is not a size');
    expect(r.stderr).toContain('--webhook-batch-throttle-qps (--audit-webhook-batch-throttle-qps): "fast" is not a number');
    const neg = await runCli(['advise', '--rps', '-3', '--sink-latency', '1s']);
    expect(neg.code).toBe(1);
    expect(neg.stderr).toContain('--rps: -3 is not a rate ≥ 0');
    const refused = await runCli(['advise', '--rps', '3', '--sink-latency', '1s', '--webhook-batch-max-size', '0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--audit-webhook-batch-max-size: 0 .*positive/);
  });
});
