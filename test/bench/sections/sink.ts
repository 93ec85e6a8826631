/**
 * 3. Sink: durable events/s and acknowledgement latency of `cdk8s-audit sink serve` (its own process,
 * mTLS, 200 only after fsync) under apiserver-shaped EventList batches, against a raw append + fdatasync
 * of the same event bytes to a file in the same directory (same disk), in the same run; peak memory.
 * Events are real ones from the PCI DSS audit log, each with a fresh auditID so the sink's dedupe never
 * drops them.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventList } from '../../../src/sink-contract/event-list';
import { commitSigner, encodeRecords, GENESIS_HASH } from '../../../src/sink-server/record';
import { signingKeyFromBytes } from '../../../src/sink-server/signing';
import { makeTempDir, removeTempDir } from '../../e2e/support/processes';
import type { BenchContext, Section, SectionResult } from '../support/context';
import { fmtBytes, fmtNum } from '../support/format';
import { LoadClient, LoadResult } from '../support/load';
import { pciAuditLog } from '../support/pci-log';
import { cpuSeconds } from '../support/proc';
import { startSink } from '../support/sink-process';
import { makeFigure, median, percentile } from '../support/stats';

/** The apiserver's default --audit-webhook-batch-max-size. */
const BATCH_EVENTS = 400;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 100;
/** The apiserver's default webhook throttle: 10 batches/s, bursts of 15. */
const APISERVER_BATCHES_PER_SECOND = 10;
const APISERVER_BURST = 15;

interface Batch {
  /** The EventList body as the apiserver sends it. */
  readonly body: string;
  /** The same events as JSON lines: what must become durable. */
  readonly lines: Buffer;
  readonly events: number;
}

/** Events of the log without kind/apiVersion (items of an EventList carry neither). */
function templates(logPath: string): Record<string, unknown>[] {
  return readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((l) => {
    const { kind: _k, apiVersion: _a, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });
}

function makeBatches(events: readonly Record<string, unknown>[], count: number, offset: number): Batch[] {
  const batches: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const items = Array.from({ length: BATCH_EVENTS }, (_, i) => JSON.stringify({ ...events[(offset + b * BATCH_EVENTS + i) % events.length], auditID: randomUUID() }));
    batches.push({
      body: `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[${items.join(',')}]}`,
      lines: Buffer.from(items.join('\n') + '\n'),
      events: items.length,
    });
  }
  return batches;
}

/** The baseline: one writer appending each batch's lines and fdatasync'ing, one batch after another. */
async function rawAppend(path: string, batches: readonly Batch[]): Promise<{ eventsPerSecond: number; p99Ms: number }> {
  const fh = await fsp.open(path, 'a');
  const latencies: number[] = [];
  let events = 0;
  const t0 = process.hrtime.bigint();
  try {
    for (const b of batches) {
      const s = process.hrtime.bigint();
      await fh.write(b.lines);
      await fh.datasync();
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
      events += b.events;
    }
  } finally {
    await fh.close();
  }
  return { eventsPerSecond: events / (Number(process.hrtime.bigint() - t0) / 1e9), p99Ms: percentile(latencies, 99) };
}

/** The sink's per-batch CPU work without TLS, HTTP or disk: validate and split the body, encode the records and sign the commit (HMAC, as the sink under test). */
function cpuOnlyEventsPerSecond(batches: readonly Batch[], runs: number): number[] {
  const bodies = batches.map((b) => Buffer.from(b.body));
  const key = signingKeyFromBytes(randomBytes(32), 'bench key');
  const signer = commitSigner((d) => key.sign(d));
  const out: number[] = [];
  let prev = GENESIS_HASH;
  let seq = 1;
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (const body of bodies) {
      const received = parseEventList(body);
      const encoded = encodeRecords(seq, new Date(), prev, received.map((e) => e.raw), signer);
      seq += received.length;
      prev = encoded.hashes[encoded.hashes.length - 1];
      n += received.length;
    }
    out.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return out;
}

/**
 * What signing each commit costs on the hot path: the same batches encoded into records with and without the
 * commit signature, alternating, in this process (paired runs: machine load cancels out in the ratio).
 */
function commitSignatureCost(batches: readonly Batch[], runs: number, keyBytes: Buffer): { signed: number[]; unsigned: number[] } {
  const raws = batches.map((b) => parseEventList(Buffer.from(b.body)).map((e) => e.raw));
  const key = signingKeyFromBytes(keyBytes, 'bench key');
  const signer = commitSigner((d) => key.sign(d));
  const once = (sign: typeof signer | undefined): number => {
    const t0 = process.hrtime.bigint();
    let prev = GENESIS_HASH;
    let seq = 1;
    let n = 0;
    for (const events of raws) {
      const encoded = encodeRecords(seq, new Date(), prev, events, sign);
      seq += events.length;
      prev = encoded.hashes[encoded.hashes.length - 1];
      n += events.length;
    }
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
  const signed: number[] = [];
  const unsigned: number[] = [];
  for (let r = 0; r < runs; r++) {
    if (r % 2 === 0) {
      unsigned.push(once(undefined));
      signed.push(once(signer));
    } else {
      signed.push(once(signer));
      unsigned.push(once(undefined));
    }
  }
  return { signed, unsigned };
}

export const sinkSection: Section = {
  id: 'sink',
  title: 'Sink throughput and acknowledgement latency',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const rounds = ctx.quick ? 2 : 7;
    const batchesPerRound = ctx.quick ? 10 : 60;
    const pacedBatches = ctx.quick ? 10 : 30;
    const concurrency = 4;
    const events = templates(await pciAuditLog(ctx));
    const dir = makeTempDir('bench-sink');
    const sink = await startSink(join(dir, 'sink'));
    const idleRss = sink.peakRssBytes();
    const client = new LoadClient({ baseUrl: sink.url, caPem: sink.tls.ca.certPem, certPem: sink.tls.apiserverClient.certPem, keyPem: sink.tls.apiserverClient.keyPem }, concurrency);
    const values: number[] = [];
    const baselines: number[] = [];
    const p99s: number[] = [];
    const pacedP99s: number[] = [];
    /** CPU seconds the sink process used per wall second while saturated (1 = one core busy throughout). */
    const sinkCpuShare: number[] = [];
    const rawP99s: number[] = [];
    const sinkRuns: Omit<LoadResult, 'latenciesMs'>[] = [];
    let sent = 0;
    let bodyBytes = 0;
    try {
      // Warm-up: TLS sessions, JIT, the store's first segment.
      await client.run((i) => ({ method: 'POST', path: '/audit', headers: { 'Content-Type': 'application/json' }, body: makeBatches(events, 1, i * BATCH_EVENTS)[0].body }), { requests: 4, concurrency, timeLimitMs: 60_000 });
      sent += 4 * BATCH_EVENTS;
      for (let r = 0; r < rounds; r++) {
        const batches = makeBatches(events, batchesPerRound, r * batchesPerRound * BATCH_EVENTS);
        const post = async () => {
          const cpu0 = cpuSeconds(sink.proc.child.pid);
          const res = await client.run((i) => ({ method: 'POST', path: '/audit', headers: { 'Content-Type': 'application/json' }, body: batches[i].body }), { requests: batches.length, concurrency, timeLimitMs: 120_000 });
          const ok = res.statuses['200'] ?? 0;
          if (ok !== batches.length) throw new Error(`sink answered ${JSON.stringify(res.statuses)} to ${batches.length} batches`);
          values.push((ok * BATCH_EVENTS) / res.seconds);
          sinkCpuShare.push((cpuSeconds(sink.proc.child.pid) - cpu0) / res.seconds);
          p99s.push(res.p99Ms);
          const { latenciesMs: _l, ...summary } = res;
          sinkRuns.push(summary);
        };
        const raw = async () => {
          const x = await rawAppend(join(dir, `raw-${r}.jsonl`), batches);
          baselines.push(x.eventsPerSecond);
          rawP99s.push(x.p99Ms);
        };
        if (r % 2 === 0) {
          await raw();
          await post();
        } else {
          await post();
          await raw();
        }
        sent += batches.length * BATCH_EVENTS;
        // The same batches again (fresh auditIDs) at the rate the apiserver's webhook throttle allows at most.
        const paced = makeBatches(events, pacedBatches, (r * batchesPerRound + 7) * BATCH_EVENTS);
        const p = await client.run((i) => ({ method: 'POST', path: '/audit', headers: { 'Content-Type': 'application/json' }, body: paced[i].body }), {
          requests: paced.length, concurrency: APISERVER_BURST, timeLimitMs: 120_000, startIntervalMs: 1000 / APISERVER_BATCHES_PER_SECOND,
        });
        if ((p.statuses['200'] ?? 0) !== paced.length) throw new Error(`sink answered ${JSON.stringify(p.statuses)} to ${paced.length} paced batches`);
        pacedP99s.push(p.p99Ms);
        sent += paced.length * BATCH_EVENTS;
        bodyBytes += batches.reduce((n, b) => n + b.body.length, 0);
        ctx.log(`sink round ${r + 1}/${rounds}: sink ${values[r].toFixed(0)} events/s p99 ${p99s[r].toFixed(1)} ms; raw append+fdatasync ${baselines[r].toFixed(0)} events/s p99 ${rawP99s[r].toFixed(1)} ms; paced p99 ${pacedP99s[r].toFixed(1)} ms`);
      }
      const stored = await sink.metric('audit_sink_events_total');
      if (stored !== sent) throw new Error(`the sink stored ${stored} events of ${sent} sent`);
    } finally {
      client.close();
      await sink.stop();
      removeTempDir(dir);
    }
    const peak = sink.peakRssBytes();
    const cpuOnly = cpuOnlyEventsPerSecond(makeBatches(events, 20, 0), ctx.quick ? 3 : 7);
    const costBatches = makeBatches(events, 20, 0);
    const hmacCost = commitSignatureCost(costBatches, ctx.quick ? 4 : 15, randomBytes(32));
    const edPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const edCost = commitSignatureCost(costBatches, ctx.quick ? 4 : 15, Buffer.from(edPem));
    const why =
      `The raw baseline is disk-bound: append + fdatasync of a ${fmtBytes(bodyBytes / (rounds * batchesPerRound))} batch on this disk takes ${fmtNum(median(rawP99s))} ms at p99 (${fmtNum(median(baselines))} events/s). ` +
      `sink serve does its work on one Node thread, which was busy ${median(sinkCpuShare).toFixed(2)} s of every second while saturated (1.00 = a whole core; on this shared 2-core machine other work takes the rest): per batch it decrypts TLS, validates UTF-8, scans the body once (JSON validated as JSON.parse would, each event cut out without a copy), checks every event, hash-chains and encodes every record into one buffer with the commit's signature, then writes, fsyncs and signs the head. ` +
      `That scan and the record encoding alone, in this process on the same batches, run at ${fmtNum(median(cpuOnly))} events/s (${(median(cpuOnly) / median(baselines)).toFixed(2)}× raw): on this disk, validating and chaining the events of a batch takes ${(median(baselines) / median(cpuOnly)).toFixed(1)}× as long as writing and syncing them. ` +
      'Closing the gap means spreading that work over cores (worker threads: at most ×2 on 2 cores); against a disk this fast, ×0.5 of raw needs several. ' +
      `For scale: a default-configured apiserver sends at most ${fmtNum(APISERVER_BATCHES_PER_SECOND * BATCH_EVENTS)} events/s (webhook throttle ${APISERVER_BATCHES_PER_SECOND} batches/s × ${BATCH_EVENTS}); the sink's ${fmtNum(median(values))} events/s is ${(median(values) / (APISERVER_BATCHES_PER_SECOND * BATCH_EVENTS)).toFixed(1)}× that.`;
    const batchLabel = `${BATCH_EVENTS}-event EventList batches (${fmtBytes(bodyBytes / (rounds * batchesPerRound))} each), ${concurrency} in flight`;
    return {
      figures: [
        makeFigure({
          section: 'sink', name: 'sink.events-per-second', unit: 'events/s',
          valueLabel: `sink serve: durable (acknowledged after fsync) events/s, ${batchLabel}`,
          baselineLabel: 'raw append + fdatasync of the same event bytes, one batch at a time, same disk, same run',
          values, baselines, target: { on: 'ratio', op: '>=', limit: TARGET_RATIO },
          note: median(values.map((v, i) => v / baselines[i])) < TARGET_RATIO ? why : undefined,
          extra: { sinkCpuSecondsPerSecond: sinkCpuShare, cpuOnlyEventsPerSecond: cpuOnly },
        }),
        makeFigure({
          section: 'sink', name: 'sink.ack-p99', unit: 'ms',
          valueLabel: `sink serve: p99 acknowledgement latency per batch, ${batchLabel}`,
          baselineLabel: 'p99 of one raw append + fdatasync of a batch',
          values: p99s, baselines: rawP99s, target: { on: 'value', op: '<', limit: TARGET_P99_MS },
        }),
        makeFigure({
          section: 'sink', name: 'sink.ack-p99-at-apiserver-rate', unit: 'ms',
          valueLabel: `sink serve: p99 acknowledgement latency at the apiserver's default webhook rate limit (${APISERVER_BATCHES_PER_SECOND} batches/s, up to ${APISERVER_BURST} in flight)`,
          baselineLabel: 'p99 of one raw append + fdatasync of a batch',
          values: pacedP99s, baselines: rawP99s, target: { on: 'value', op: '<', limit: TARGET_P99_MS },
        }),
        makeFigure({
          section: 'sink', name: 'sink.commit-signature-hmac', unit: 'events/s',
          valueLabel: `record encoding with each commit signed (HMAC-SHA256, one signature per ${BATCH_EVENTS}-event batch), in process`,
          baselineLabel: 'the same encoding without the commit signature, alternating runs',
          values: hmacCost.signed, baselines: hmacCost.unsigned,
        }),
        makeFigure({
          section: 'sink', name: 'sink.commit-signature-ed25519', unit: 'events/s',
          valueLabel: `record encoding with each commit signed (Ed25519, one signature per ${BATCH_EVENTS}-event batch), in process`,
          baselineLabel: 'the same encoding without the commit signature, alternating runs',
          values: edCost.signed, baselines: edCost.unsigned,
        }),
        makeFigure({
          section: 'sink', name: 'sink.peak-memory', unit: 'MiB',
          valueLabel: 'sink serve: peak resident memory (VmHWM) over the whole section',
          baselineLabel: 'resident memory right after start, idle',
          values: [peak / 2 ** 20], baselines: [idleRss / 2 ** 20],
        }),
      ],
      notes: [
        `${rounds} rounds of ${batchesPerRound} batches × ${BATCH_EVENTS} events as fast as ${concurrency} connections go (throughput, saturated p99), then ${pacedBatches} more batches paced at the apiserver's default webhook throttle (${APISERVER_BATCHES_PER_SECOND}/s = ${fmtNum(APISERVER_BATCHES_PER_SECOND * BATCH_EVENTS)} events/s, the most a default-configured apiserver sends); ${fmtNum(sent)} events in all, every one stored exactly once per the sink's metrics. Events are the real apiserver's PCI DSS log lines with fresh auditIDs; batches as the webhook backend sends them at its default --audit-webhook-batch-max-size.`,
        'The sink runs as `node lib/cli/main.js sink serve` with mTLS and --client-name; each 200 means the batch is fsynced together with its commit signature (group commit across concurrent requests), hash-chained and the head signed. The raw baseline writes only the event lines, with no TLS, parsing, chaining or signing.',
      ],
      details: { sink: sinkRuns, raw: baselines.map((eps, i) => ({ eventsPerSecond: eps, p99Ms: rawP99s[i] })), medianBodyBytes: median([bodyBytes / (rounds * batchesPerRound)]) },
    };
  },
};
