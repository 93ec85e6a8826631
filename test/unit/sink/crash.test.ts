/**
 * kill -9 during a burst, many times: the sink is a real child process on a real store; senders behave like
 * the apiserver's webhook (retry a batch until it is acknowledged). Afterwards every acknowledged event is in
 * the store exactly once, and the store verifies. Also measures group commit under concurrency.
 */
import { Agent } from 'node:https';
import { describe, expect, it } from 'vitest';
import { cliSync, clientOf, eventList, makeEvent, makeSinkFiles, metric, send, SinkFiles, SinkProcess, startSink, stopSink } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sink serve under kill -9', () => {
  it('25 kill -9 during bursts from 6 retrying senders: no acknowledged event lost, none stored twice, the store verifies', async () => {
    const f: SinkFiles = await makeSinkFiles('sink-crash');
    // Small segments so kills also land around rotation.
    const args = ['--segment-max-bytes', '64Ki', '--request-timeout', '5s'];
    let sink: SinkProcess = await startSink(f, args);
    const acked = new Set<string>();
    const sent = new Set<string>();
    let stop = false;
    let batches = 0;
    let failedAttempts = 0;
    let duplicatesReported = 0;
    const client = clientOf(f);

    const sender = async (id: number) => {
      let n = 0;
      while (!stop) {
        const events = Array.from({ length: 5 + ((id + n) % 20) }, (_, k) => makeEvent(n * 100 + k, k % 3 === 0 ? 'RequestReceived' : 'ResponseComplete'));
        n++;
        const body = eventList(events);
        events.forEach((e) => sent.add(`${e.auditID}/${e.stage}`));
        // Like the apiserver: retry the same batch until it is acknowledged.
        for (;;) {
          try {
            const res = await send(sink.url, client, body, { timeoutMs: 10_000 });
            if (res.status === 200) {
              duplicatesReported += JSON.parse(res.body).duplicates;
              events.forEach((e) => acked.add(`${e.auditID}/${e.stage}`));
              batches++;
              break;
            }
            expect(res.status, res.body).toBe(503);
          } catch {
            /* connection refused or reset while the sink is down */
          }
          failedAttempts++;
          await sleep(20);
        }
      }
    };

    const senders = Array.from({ length: 6 }, (_, i) => sender(i));
    const kills = 25;
    for (let k = 0; k < kills; k++) {
      await sleep(150 + ((k * 37) % 200));
      sink.child.kill('SIGKILL');
      expect(await sink.exited).toBe('SIGKILL');
      sink = await startSink(f, args);
    }
    stop = true;
    await Promise.all(senders);
    expect(await stopSink(sink)).toBe(0);

    const v = cliSync(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--events']);
    expect(v.code, v.stderr).toBe(0);
    const stored = v.stdout.trim().split('\n').map((l) => JSON.parse(l) as { auditID: string; stage: string });
    const keys = stored.map((e) => `${e.auditID}/${e.stage}`);
    const unique = new Set(keys);
    const lost = [...acked].filter((k) => !unique.has(k));
    console.log(
      `kill -9 x${kills}: ${acked.size} events acknowledged in ${batches} batches, ${failedAttempts} failed attempts retried, ` +
        `${duplicatesReported} retried events deduplicated, ${stored.length} records in the store; ${v.stderr.trim()}`,
    );
    expect(lost, `${lost.length} acknowledged events are missing`).toEqual([]);
    expect(keys.length - unique.size, 'events stored twice').toBe(0);
    // Every event sent was eventually acknowledged (senders retry), so the store holds exactly those.
    expect(unique.size).toBe(sent.size);
    expect(acked.size).toBe(sent.size);
    expect(batches).toBeGreaterThan(kills);
    expect(duplicatesReported, 'no retry hit an already-stored event: the test did not exercise dedupe').toBeGreaterThan(0);
  }, 180_000);

  it('group commit: concurrent requests share fsyncs; throughput measured', async () => {
    const f = await makeSinkFiles('sink-throughput');
    const sink = await startSink(f, ['--max-in-flight', '64']);
    const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: f.tls.ca.certPem, cert: f.tls.apiserverClient.certPem, key: f.tls.apiserverClient.keyPem });
    let requests = 0;
    let events = 0;
    const started = Date.now();
    const deadline = started + 3_000;
    try {
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (Date.now() < deadline) {
            const batch = Array.from({ length: 50 }, (_, k) => makeEvent(k));
            const res = await send(sink.url, clientOf(f), eventList(batch), { agent });
            expect(res.status).toBe(200);
            requests++;
            events += batch.length;
          }
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      const metrics = (await send(`${sink.opsUrl}/metrics`, undefined, undefined, { method: 'GET' })).body;
      const fsyncs = metric(metrics, 'audit_sink_fsync_seconds_count');
      const fsyncSum = metric(metrics, 'audit_sink_fsync_seconds_sum');
      console.log(
        `throughput: ${(events / seconds).toFixed(0)} events/s, ${(requests / seconds).toFixed(0)} requests/s (50 events each, 32 concurrent, mTLS) — ` +
          `${requests} requests shared ${fsyncs} fsyncs (mean ${((fsyncSum / fsyncs) * 1000).toFixed(2)} ms)`,
      );
      expect(metric(metrics, 'audit_sink_events_total')).toBe(events);
      expect(fsyncs).toBeLessThan(requests);
    } finally {
      agent.destroy();
      await stopSink(sink);
    }
  }, 60_000);
});
