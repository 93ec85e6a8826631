/**
 * `sink serve --forward-elasticsearch/--forward-loki` as a real child process, forwarding to local
 * stand-ins of the Elasticsearch `_bulk` and Loki push APIs (fake-logging.ts) over HTTPS with client
 * certificates and credentials from files. The stand-ins check every request's shape and fail on demand:
 * 500s, per-item 429s, unanswered requests (timeouts), refusals, destinations that are down. Checked:
 * every stored event reaches each destination, none is indexed twice (Elasticsearch `_id`, Loki's
 * duplicate rule), forwarding resumes from its cursor after kill -9, and the local store is never affected.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { issueClientCertificate, issueServingCertificate } from '../../../src/tls/certs';
import { FakeElasticsearch, FakeLoki, nanosOf } from './fake-logging';
import { clientOf, eventList, makeEvent, makeSinkFiles, send, SinkFiles, SinkProcess, startSink, stopSink, TestEvent } from './support';
import { runCli } from '../../support/cli';

const fakes: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close().catch(() => undefined)));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Env {
  readonly f: SinkFiles;
  /** CA, client certificate and key the sink presents to the destinations; the server certificate. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly serverTls: { certPem: string; keyPem: string; clientCaPem: string };
  readonly passwordFile: string;
  readonly tokenFile: string;
}

const PASSWORD = `pw-${randomUUID()}`;
const TOKEN = `tok-${randomUUID()}`;

async function env(prefix: string): Promise<Env> {
  const f = await makeSinkFiles(prefix);
  // The destinations' serving certificate and the sink's client certificate, from the sink's own test CA.
  const serving = await issueServingCertificate(f.tls.ca, { ipAddresses: ['127.0.0.1'] });
  const client = await issueClientCertificate(f.tls.ca, { user: 'audit-sink-forwarder' });
  const w = (name: string, data: string) => {
    writeFileSync(join(f.dir, name), data, { mode: 0o600 });
    return join(f.dir, name);
  };
  return {
    f,
    caFile: w('dest-ca.crt', f.tls.ca.certPem),
    certFile: w('forwarder.crt', client.certPem),
    keyFile: w('forwarder.key', client.keyPem),
    serverTls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: f.tls.ca.certPem },
    passwordFile: w('es-basic-auth', `elastic:${PASSWORD}\n`),
    tokenFile: w('loki-token', `${TOKEN}\n`),
  };
}

async function fakeEs(e: Env, port?: number): Promise<FakeElasticsearch> {
  const es = await new FakeElasticsearch({ tls: e.serverTls, authorization: `Basic ${Buffer.from(`elastic:${PASSWORD}`).toString('base64')}`, port }).start();
  fakes.push(es);
  return es;
}

async function fakeLoki(e: Env): Promise<FakeLoki> {
  const loki = await new FakeLoki({ tls: e.serverTls, authorization: `Bearer ${TOKEN}` }).start();
  fakes.push(loki);
  return loki;
}

const esArgs = (e: Env, url: string) => [
  '--forward-elasticsearch', url,
  '--forward-elasticsearch-ca', e.caFile, '--forward-elasticsearch-cert', e.certFile, '--forward-elasticsearch-key', e.keyFile,
  '--forward-elasticsearch-basic-auth-file', e.passwordFile,
];
const lokiArgs = (e: Env, url: string) => [
  '--forward-loki', url,
  '--forward-loki-ca', e.caFile, '--forward-loki-cert', e.certFile, '--forward-loki-key', e.keyFile,
  '--forward-loki-bearer-token-file', e.tokenFile,
];
/** Fast retries and small batches so failures are exercised many times per test. */
const FAST = ['--forward-batch-max-wait', '50ms', '--forward-retry-initial', '20ms', '--forward-retry-max', '200ms', '--forward-batch-max-events', '40'];

async function metricsText(sink: SinkProcess): Promise<string> {
  return (await send(`${sink.opsUrl}/metrics`, undefined, undefined, { method: 'GET' })).body;
}

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

/** Polls until `cond` holds (bounded); throws with `describe()` otherwise. */
async function until(cond: () => boolean | Promise<boolean>, describe: () => string | Promise<string>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`condition not reached: ${await describe()}`);
    await sleep(25);
  }
}

/** Sends `n` events in batches of `per`, each acknowledged 200; returns them. */
async function sendEvents(f: SinkFiles, sink: SinkProcess, n: number, per = 25, mk: (i: number) => TestEvent = (i) => makeEvent(i)): Promise<TestEvent[]> {
  const all: TestEvent[] = [];
  for (let i = 0; i < n; i += per) {
    const batch = Array.from({ length: Math.min(per, n - i) }, (_, k) => mk(i + k));
    const res = await send(sink.url, clientOf(f), eventList(batch));
    expect(res.status, res.body).toBe(200);
    all.push(...batch);
  }
  return all;
}

async function storedEvents(f: SinkFiles): Promise<TestEvent[]> {
  const v = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--events']);
  expect(v.code, v.stderr).toBe(0);
  return v.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as TestEvent);
}

const id = (e: { auditID: string; stage: string }) => `${e.auditID}-${e.stage}`;

describe('sink serve --forward-elasticsearch', () => {
  it('indexes every stored event once over mutual TLS with basic auth: NDJSON create actions, _id = auditID-stage, date index from stageTimestamp, @timestamp', async () => {
    const e = await env('fwd-es');
    const es = await fakeEs(e);
    const sink = await startSink(e.f, [...esArgs(e, es.url), ...FAST, '--forward-elasticsearch-index', 'audit-%Y.%m.%d-%H']);
    const days = ['2026-03-01T23:59:59.999999Z', '2026-03-02T00:00:00.000001Z'];
    const events = await sendEvents(e.f, sink, 120, 30, (i) => ({ ...makeEvent(i, i % 2 ? 'ResponseComplete' : 'RequestReceived'), stageTimestamp: days[i % 2] }));
    // A retry of the same batch by the apiserver is deduplicated by the sink and not forwarded again.
    expect(JSON.parse((await send(sink.url, clientOf(e.f), eventList(events.slice(0, 30)))).body)).toMatchObject({ stored: 0, duplicates: 30 });
    await until(
      async () => sample(await metricsText(sink), 'audit_sink_forward_lag_events{output="elasticsearch"}') === 0 && es.docs.size === 120,
      async () => `docs ${es.docs.size}; ${(await metricsText(sink)).split('\n').filter((l) => l.startsWith('audit_sink_forward')).join('; ')}`,
    );
    const m = await metricsText(sink);
    expect(await stopSink(sink)).toBe(0);
    expect(es.violations).toEqual([]);
    expect([...es.docs.keys()].sort()).toEqual(events.map(id).sort());
    expect(es.creates).toBe(120);
    for (const ev of events) {
      const d = es.docs.get(id(ev))!;
      expect(d.index).toBe(ev.stageTimestamp.startsWith('2026-03-01') ? 'audit-2026.03.01-23' : 'audit-2026.03.02-00');
      const { ['@timestamp']: ts, ...rest } = d.doc;
      expect(ts).toBe(ev.stageTimestamp);
      expect(rest).toEqual(ev); // the event as stored, byte for byte apart from @timestamp
    }
    expect(sample(m, 'audit_sink_forward_events_total{output="elasticsearch"}')).toBe(120);
    expect(sample(m, 'audit_sink_forward_requests_total{output="elasticsearch",code="200"}')).toBeGreaterThanOrEqual(3);
    expect(sample(m, 'audit_sink_forward_cursor{output="elasticsearch"}')).toBe(120);
    // The password never reaches the log; event content neither.
    expect(sink.stderr()).not.toContain(PASSWORD);
    expect(sink.stderr()).not.toContain(events[0].auditID);
    // The cursor is one small file in the store's state directory; the store still verifies.
    const state = readdirSync(join(e.f.store, 'state'));
    expect(state.filter((n) => n.startsWith('forward-elasticsearch-') && n.endsWith('.cursor.json'))).toHaveLength(1);
    expect(await storedEvents(e.f)).toHaveLength(120);
  });

  it('retries 500s, per-item 429s and unanswered requests (timeouts) until every event is indexed exactly once; the sink keeps answering 200 meanwhile', async () => {
    const e = await env('fwd-es-fail');
    const es = await fakeEs(e);
    es.failNext({ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'hang' }, { kind: 'item-429' }, { kind: 'status', status: 429 }, { kind: 'item-429' });
    const sink = await startSink(e.f, [...esArgs(e, es.url), ...FAST, '--forward-timeout', '300ms']);
    const events = await sendEvents(e.f, sink, 200, 20);
    await until(
      () => es.docs.size === 200,
      () => `docs ${es.docs.size}, requests ${es.requests}`,
    );
    await until(async () => sample(await metricsText(sink), 'audit_sink_forward_lag_events{output="elasticsearch"}') === 0, () => 'lag');
    const m = await metricsText(sink);
    expect(await stopSink(sink)).toBe(0);
    expect(es.violations).toEqual([]);
    expect([...es.docs.keys()].sort()).toEqual(events.map(id).sort());
    // The batches hit by a per-item 429 were sent again whole: their other documents answered 409, not indexed twice.
    expect(es.conflicts).toBeGreaterThan(0);
    expect(es.creates).toBe(200 + es.conflicts + 2);
    expect(sample(m, 'audit_sink_forward_retries_total{output="elasticsearch"}')).toBe(6);
    expect(sample(m, 'audit_sink_forward_requests_total{output="elasticsearch",code="500"}')).toBe(1);
    expect(sample(m, 'audit_sink_forward_requests_total{output="elasticsearch",code="error"}')).toBe(1);
    expect(sample(m, 'audit_sink_forward_duplicate_events_total{output="elasticsearch"}')).toBe(es.conflicts);
    // The local store was never affected: every request acknowledged, every event stored, verify passes.
    expect(sample(m, 'audit_sink_events_total')).toBe(200);
    expect((await storedEvents(e.f)).map(id)).toEqual(events.map(id));
  });

  it('while Elasticsearch is down the sink stores and acknowledges everything; when it comes back the backlog is forwarded', async () => {
    const e = await env('fwd-es-down');
    const probe = await fakeEs(e);
    const port = probe.port;
    await probe.close();
    const sink = await startSink(e.f, [...esArgs(e, `https://127.0.0.1:${port}`), ...FAST]);
    const events = await sendEvents(e.f, sink, 150, 50);
    await until(async () => sample(await metricsText(sink), 'audit_sink_forward_retries_total{output="elasticsearch"}') >= 3, () => 'retries');
    const before = await metricsText(sink);
    expect(sample(before, 'audit_sink_events_total')).toBe(150);
    expect(sample(before, 'audit_sink_forward_lag_events{output="elasticsearch"}')).toBe(150);
    const es = await fakeEs(e, port);
    await until(() => es.docs.size === 150, () => `docs ${es.docs.size}`);
    expect(await stopSink(sink)).toBe(0);
    expect([...es.docs.keys()].sort()).toEqual(events.map(id).sort());
    expect(es.violations).toEqual([]);
  });

  it('events retention deletes before they are forwarded are counted as lost; the rest is read back from disk across segments and forwarded', async () => {
    const e = await env('fwd-es-retention');
    const probe = await fakeEs(e);
    const port = probe.port;
    await probe.close();
    const args = [...esArgs(e, `https://127.0.0.1:${port}`), ...FAST, '--segment-max-bytes', '8Ki', '--retention-max-bytes', '40Ki', '--forward-drain-timeout', '100ms'];
    // Elasticsearch is down while retention deletes the oldest segments; the sink restarts (nothing in memory).
    let sink = await startSink(e.f, args);
    const events = await sendEvents(e.f, sink, 300, 10);
    expect(await stopSink(sink)).toBe(0);
    const es = await fakeEs(e, port);
    sink = await startSink(e.f, args);
    await until(async () => sample(await metricsText(sink), 'audit_sink_forward_lag_events{output="elasticsearch"}') === 0, () => `docs ${es.docs.size}`);
    const m = await metricsText(sink);
    expect(await stopSink(sink)).toBe(0);
    const lost = sample(m, 'audit_sink_forward_lost_events_total{output="elasticsearch"}');
    const kept = await storedEvents(e.f);
    expect(lost).toBeGreaterThan(0);
    // Exactly the events still in the store were forwarded; the lost ones are the oldest.
    expect([...es.docs.keys()].sort()).toEqual(kept.map(id).sort());
    expect(kept.map(id)).toEqual(events.slice(lost).map(id));
    expect(es.violations).toEqual([]);
    expect(sink.stderr()).toMatch(/records were deleted by retention before this consumer got to them/);
  });

  it('refused documents are counted once and skipped, never retried forever: a 400 on the whole request, an item refused by a mapping error (also while its batch is resent); a batch answered 413 is split', async () => {
    const e = await env('fwd-es-refuse');
    const es = await fakeEs(e);
    es.failNext({ kind: 'status', status: 413 }, { kind: 'status', status: 400 });
    const sink = await startSink(e.f, [...esArgs(e, es.url), ...FAST, '--forward-batch-max-events', '10', '--forward-batch-max-wait', '300ms']);
    await sendEvents(e.f, sink, 10, 10);
    await until(async () => sample(await metricsText(sink), 'audit_sink_forward_lag_events{output="elasticsearch"}') === 0, () => 'lag');
    // 413 → halves of 5; the first half was refused (400), the second indexed.
    expect(sample(await metricsText(sink), 'audit_sink_forward_refused_events_total{output="elasticsearch"}')).toBe(5);
    expect(es.docs.size).toBe(5);
    // A batch with a document Elasticsearch cannot map, answered per item 429 for another one first.
    const batch = Array.from({ length: 10 }, (_, i) => makeEvent(100 + i));
    es.refuseIds.add(id(batch[3]));
    const secret = `user-${randomUUID()}`;
    batch[3].user.username = secret;
    es.failNext({ kind: 'item-429' });
    expect((await send(sink.url, clientOf(e.f), eventList(batch))).status).toBe(200);
    await until(async () => sample(await metricsText(sink), 'audit_sink_forward_lag_events{output="elasticsearch"}') === 0, () => 'lag');
    const m = await metricsText(sink);
    expect(await stopSink(sink)).toBe(0);
    expect(es.docs.size).toBe(14);
    expect(es.docs.has(id(batch[3]))).toBe(false);
    expect(sample(m, 'audit_sink_forward_refused_events_total{output="elasticsearch"}')).toBe(6);
    expect(sample(m, 'audit_sink_forward_retries_total{output="elasticsearch"}')).toBe(1);
    expect(sink.stderr()).toMatch(/elasticsearch refused the whole _bulk request/);
    const refusals = sink.stderr().split('\n').filter((l) => l.includes('elasticsearch refused a document'));
    expect(refusals).toHaveLength(1);
    expect(JSON.parse(refusals[0])).toMatchObject({ id: id(batch[3]), status: 400, errorType: 'mapper_parsing_exception' });
    // Elasticsearch's reason quotes the value; the sink never logs it.
    expect(sink.stderr()).not.toContain(secret);
    expect(await storedEvents(e.f)).toHaveLength(20);
  });
});

describe('sink serve --forward-loki', () => {
  it('pushes one line per event with low-cardinality labels, ns timestamps from stageTimestamp and the tenant header, over mutual TLS with a bearer token', async () => {
    const e = await env('fwd-loki');
    const loki = await fakeLoki(e);
    const sink = await startSink(e.f, [...lokiArgs(e, loki.url), ...FAST, '--forward-loki-tenant', 'team-a', '--forward-loki-labels', 'level,verb,stage', '--forward-loki-label', 'cluster=prod']);
    const events = await sendEvents(e.f, sink, 60, 20, (i) => ({ ...makeEvent(i, i % 3 === 0 ? 'RequestReceived' : 'ResponseComplete'), verb: i % 2 ? 'get' : 'create', stageTimestamp: `2026-03-01T10:00:${String(i % 60).padStart(2, '0')}.123456Z` }));
    await until(() => loki.entries.size === 60, () => `entries ${loki.entries.size}`);
    expect(await stopSink(sink)).toBe(0);
    expect(loki.violations).toEqual([]);
    expect(loki.tenants.every((t) => t === 'team-a')).toBe(true);
    const byLine = new Map([...loki.entries.values()].map((x) => [JSON.parse(x.line).auditID as string, x]));
    for (const ev of events) {
      const entry = byLine.get(ev.auditID)!;
      expect(JSON.parse(entry.line)).toEqual(ev);
      expect(entry.ts).toBe(nanosOf(ev.stageTimestamp));
      expect(entry.ts.endsWith('123456000')).toBe(true);
      expect(entry.labels).toEqual({ cluster: 'prod', level: 'Metadata', verb: ev.verb, stage: ev.stage });
    }
    // At most levels × verbs × stages streams: no label carries a user, namespace or ID.
    expect(new Set([...loki.entries.values()].map((x) => JSON.stringify(x.labels))).size).toBe(4);
    expect(sink.stderr()).not.toContain(TOKEN);
  });

  it('a rotated token file is used from the next request on (no restart)', async () => {
    const e = await env('fwd-loki-rotate');
    const loki = await fakeLoki(e);
    const sink = await startSink(e.f, [...lokiArgs(e, loki.url), ...FAST]);
    await sendEvents(e.f, sink, 5, 5);
    await until(() => loki.entries.size === 5, () => `entries ${loki.entries.size}`);
    loki.authorization = 'Bearer rotated-token';
    writeFileSync(e.tokenFile, 'rotated-token\n');
    await sendEvents(e.f, sink, 5, 5);
    await until(() => loki.entries.size === 10, () => `entries ${loki.entries.size}`);
    expect(await stopSink(sink)).toBe(0);
    expect(loki.authorizations.filter((a) => a === 'Bearer rotated-token').length).toBeGreaterThan(0);
    expect(sink.stderr()).not.toContain('rotated-token');
  });
});

describe('forwarding across kill -9', () => {
  it('both outputs resume from their cursors: every event reaches Elasticsearch and Loki, nothing is indexed twice, the store verifies', async () => {
    const e = await env('fwd-kill');
    const es = await fakeEs(e);
    const loki = await fakeLoki(e);
    // Slow destinations keep batches in flight when the sink is killed.
    es.delayMs = 30;
    loki.delayMs = 30;
    const args = [...esArgs(e, es.url), ...lokiArgs(e, loki.url), ...FAST, '--forward-batch-max-events', '15'];
    const sent: TestEvent[] = [];
    let sink = await startSink(e.f, args);
    for (let round = 0; round < 4; round++) {
      sent.push(...(await sendEvents(e.f, sink, 90, 30)));
      // Kill while forwarding is behind (some events stored, not yet forwarded).
      await until(() => es.docs.size > sent.length - 90, () => `docs ${es.docs.size}`);
      sink.child.kill('SIGKILL');
      await sink.exited;
      sink = await startSink(e.f, args);
    }
    await until(
      () => es.docs.size === sent.length && loki.entries.size === sent.length,
      () => `es ${es.docs.size}, loki ${loki.entries.size} of ${sent.length}`,
      60_000,
    );
    expect(await stopSink(sink)).toBe(0);
    expect(es.violations).toEqual([]);
    expect(loki.violations).toEqual([]);
    expect([...es.docs.keys()].sort()).toEqual(sent.map(id).sort());
    expect(new Set([...loki.entries.values()].map((x) => id(JSON.parse(x.line)))).size).toBe(sent.length);
    // At-least-once: a batch in flight at a kill is sent again; Elasticsearch answers 409, Loki ignores identical entries.
    console.log(`kill -9 x4: ${sent.length} events; elasticsearch ${es.creates} create actions (${es.conflicts} repeats answered 409), loki ${loki.duplicateEntries} repeated entries ignored`);
    expect(es.creates).toBe(sent.length + es.conflicts);
    // Resumed from the cursor, not from the oldest record: at most the one batch in flight (15) per output and kill is repeated.
    expect(es.conflicts).toBeLessThanOrEqual(4 * 15);
    expect(loki.duplicateEntries).toBeLessThanOrEqual(4 * 15);
    expect((await storedEvents(e.f)).map(id)).toEqual(sent.map(id));
    const cursorFiles = readdirSync(join(e.f.store, 'state')).filter((n) => n.endsWith('.cursor.json'));
    expect(cursorFiles).toHaveLength(2);
    for (const c of cursorFiles) expect(JSON.parse(readFileSync(join(e.f.store, 'state', c), 'utf8')).seq).toBe(sent.length);
  });
});

describe('sink serve forwarding options', () => {
  it('refuses plain HTTP, credentials in URLs or over HTTP, bad index patterns and unbounded Loki labels (exit 2); unreadable credential files exit 1 naming the file, never the content', async () => {
    const e = await env('fwd-cli');
    const base = ['sink', 'serve', '--store', e.f.store, '--key', e.f.keyPath, '--tls-dir', e.f.tlsDir, '--listen', '127.0.0.1:0', '--ops-listen', 'off'];
    const http = await runCli([...base, '--forward-elasticsearch', 'http://127.0.0.1:9200']);
    expect(http.code).toBe(2);
    expect(http.stderr).toMatch(/--forward-elasticsearch: http:\/\/127\.0\.0\.1:9200 is plain HTTP.*use https:\/\//);
    const userinfo = await runCli([...base, '--forward-loki', `https://user:${PASSWORD}@127.0.0.1:3100`]);
    expect(userinfo.code).toBe(2);
    expect(userinfo.stderr).toMatch(/holds a user name or password; put credentials in a file/);
    expect(userinfo.stderr).not.toContain(PASSWORD);
    const clear = await runCli([...base, '--forward-insecure-http', '--forward-loki', 'http://127.0.0.1:3100', '--forward-loki-bearer-token-file', e.tokenFile]);
    expect(clear.code).toBe(2);
    expect(clear.stderr).toMatch(/credentials would be sent in clear text/);
    const index = await runCli([...base, '--forward-elasticsearch', 'https://127.0.0.1:9200', '--forward-elasticsearch-index', 'Audit-%Y']);
    expect(index.code).toBe(2);
    expect(index.stderr).toMatch(/--forward-elasticsearch-index "Audit-%Y": index names are lowercase/);
    const label = await runCli([...base, '--forward-loki', 'https://127.0.0.1:3100', '--forward-loki-labels', 'level,namespace']);
    expect(label.code).toBe(2);
    expect(label.stderr).toMatch(/"namespace" cannot be a label \(it has unbounded values/);
    const missing = await runCli([...base, '--forward-elasticsearch', 'https://127.0.0.1:9200', '--forward-elasticsearch-basic-auth-file', join(e.f.dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--forward-elasticsearch-basic-auth-file: cannot read .*nope \(ENOENT\)/);
    const noColon = await runCli([...base, '--forward-elasticsearch', 'https://127.0.0.1:9200', '--forward-elasticsearch-basic-auth-file', e.tokenFile]);
    expect(noColon.code).toBe(1);
    expect(noColon.stderr).toMatch(/must hold "user:password"/);
    expect(noColon.stderr).not.toContain(TOKEN);
    expect((await runCli([...base, '--forward-loki-tenant', 'x'])).code).toBe(2);
    expect(existsSync(join(e.f.store, 'sink.lock'))).toBe(false);
  });
});
