/**
 * kill -9 during a burst, many times: the sink is a real child process on a real store; senders behave like
 * the apiserver's webhook (retry a batch until it is acknowledged). Afterwards every acknowledged event is in
 * the store exactly once, and the store verifies. Kills are paced by progress (acknowledged batches since the
 * sink started), not by sleeps, and only outcomes are asserted, never how often a race happened: a fast or a
 * slow machine gives the same verdict. Group commit is checked deterministically in store.test.ts; its
 * throughput is measured by `npm run bench` (sink section).
 */
import { describe, expect, it } from 'vitest';
import { clientOf, eventList, makeEvent, makeSinkFiles, send, SinkFiles, SinkProcess, startSink, stopSink } from './support';
import { runCli } from '../../support/cli';

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
      // Kill once this sink has acknowledged 1–4 batches: the other senders are mid-request then.
      const target = batches + 1 + (k % 4);
      while (batches < target) await sleep(5);
      sink.child.kill('SIGKILL');
      expect(await sink.exited).toBe('SIGKILL');
      sink = await startSink(f, args);
    }
    stop = true;
    await Promise.all(senders);
    expect(await stopSink(sink)).toBe(0);

    const v = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--events']);
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
  }, 180_000);

  it('a batch acknowledged just before kill -9 and sent again after the restart is reported as duplicates, not stored twice', async () => {
    const f = await makeSinkFiles('sink-crash-retry');
    const client = clientOf(f);
    const body = eventList(Array.from({ length: 7 }, (_, k) => makeEvent(k)));
    let sink = await startSink(f);
    const first = await send(sink.url, client, body);
    expect(first.status, first.body).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ stored: 7, duplicates: 0 });
    sink.child.kill('SIGKILL');
    expect(await sink.exited).toBe('SIGKILL');
    sink = await startSink(f);
    const again = await send(sink.url, client, body);
    expect(again.status, again.body).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ stored: 0, duplicates: 7 });
    expect(await stopSink(sink)).toBe(0);
    const v = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr + v.stdout).toMatch(/\b7 record/);
  }, 60_000);
});
