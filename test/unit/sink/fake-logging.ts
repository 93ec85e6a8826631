/**
 * Small local stand-ins for Elasticsearch `_bulk` and Loki push, on 127.0.0.1 over HTTPS (optionally
 * requiring a client certificate) or HTTP. They implement just enough of each API to check the shape of
 * every request strictly — anything unexpected is answered 400 and recorded in `violations` — and to
 * fail on demand (HTTP statuses, per-item 429s, requests left unanswered so the client times out).
 *
 * Elasticsearch semantics kept: `create` with an `_id` that exists answers 409 per item; a successful
 * `_bulk` answers 200 with one item per action. Loki semantics kept: an entry identical to one already in
 * the stream (same labels, timestamp and line) is ignored; success is 204.
 */
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface FakeTls {
  readonly certPem: string;
  readonly keyPem: string;
  /** Require client certificates from this CA. */
  readonly clientCaPem?: string;
}

export interface FakeOptions {
  readonly tls?: FakeTls;
  /** Expected Authorization header value; others get 401. */
  readonly authorization?: string;
  /** Listen on this port (to come back on the same address after a close). @default a free one */
  readonly port?: number;
}

type Failure = { kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'item-429' };

abstract class FakeServer {
  url = '';
  port = 0;
  requests = 0;
  readonly violations: string[] = [];
  /** Authorization headers seen (to check credentials are sent, and re-read after rotation). */
  readonly authorizations: string[] = [];
  private failures: Failure[] = [];
  private server!: Server;
  private hanging: ServerResponse[] = [];
  /** Delay before answering successful requests (to keep batches in flight). */
  delayMs = 0;
  /** The Authorization header accepted (others get 401); change it to rotate credentials. */
  authorization: string | undefined;

  constructor(protected readonly options: FakeOptions) {
    this.authorization = options.authorization;
  }

  /** Requests received and left unanswered ('hang' failures). */
  get hangingRequests(): number {
    return this.hanging.length;
  }

  /** The next requests fail like this, in order. */
  failNext(...failures: Failure[]): void {
    this.failures.push(...failures);
  }

  async start(): Promise<this> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.receive(req, res);
    const tls = this.options.tls;
    this.server = tls
      ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem, ca: tls.clientCaPem, requestCert: !!tls.clientCaPem, rejectUnauthorized: !!tls.clientCaPem }, handler)
      : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.hanging = [];
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const auth = req.headers.authorization ?? '';
      this.authorizations.push(auth);
      if (this.authorization !== undefined && auth !== this.authorization) return this.answer(res, 401, { error: 'unauthorized' });
      const failure = this.failures.shift();
      if (failure?.kind === 'status') return this.answer(res, failure.status, { error: 'injected failure' });
      if (failure?.kind === 'hang') {
        this.hanging.push(res);
        return;
      }
      const body = Buffer.concat(chunks);
      let reply: { status: number; body?: unknown };
      try {
        reply = this.handle(req, body, failure?.kind === 'item-429');
      } catch (e) {
        this.violations.push((e as Error).message);
        reply = { status: 400, body: { error: (e as Error).message } };
      }
      const send = () => this.answer(res, reply.status, reply.body);
      if (this.delayMs > 0) setTimeout(send, this.delayMs);
      else send();
    });
  }

  private answer(res: ServerResponse, status: number, body?: unknown): void {
    if (res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  protected abstract handle(req: IncomingMessage, body: Buffer, item429: boolean): { status: number; body?: unknown };
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Nanoseconds of an RFC 3339 timestamp, computed independently of the code under test. */
export function nanosOf(ts: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(ts);
  if (!m) throw new Error(`not an RFC 3339 UTC timestamp: ${ts}`);
  const ms = new Date(`${m[1]}Z`).getTime();
  return (BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'))).toString();
}

export interface IndexedDoc {
  readonly index: string;
  readonly doc: Record<string, unknown>;
}

export class FakeElasticsearch extends FakeServer {
  /** Documents by _id. */
  readonly docs = new Map<string, IndexedDoc>();
  /** `create` actions received, including repeats. */
  creates = 0;
  /** Items answered 409 (the document existed). */
  conflicts = 0;
  /** Documents with these _ids are always refused (400 mapper_parsing_exception, reason quoting a value). */
  readonly refuseIds = new Set<string>();

  protected handle(req: IncomingMessage, body: Buffer, item429: boolean): { status: number; body?: unknown } {
    check(req.method === 'POST', `method ${req.method}, expected POST`);
    check(req.url === '/_bulk', `path ${req.url}, expected /_bulk`);
    check(req.headers['content-type'] === 'application/x-ndjson', `Content-Type ${req.headers['content-type']}, expected application/x-ndjson`);
    const text = body.toString('utf8');
    check(text.endsWith('\n'), 'the NDJSON body does not end with a newline');
    const lines = text.slice(0, -1).split('\n');
    check(lines.length % 2 === 0 && lines.length > 0, `${lines.length} lines: expected action/document pairs`);
    const items: unknown[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]) as unknown;
      check(isObject(action) && Object.keys(action).length === 1 && isObject(action.create), `line ${i + 1}: expected {"create":{…}}, got ${lines[i].slice(0, 80)}`);
      const meta = action.create as Record<string, unknown>;
      check(Object.keys(meta).sort().join(',') === '_id,_index', `line ${i + 1}: create needs exactly _index and _id`);
      const index = meta._index;
      const id = meta._id;
      check(typeof index === 'string' && /^[a-z0-9][a-z0-9._-]*$/.test(index), `line ${i + 1}: bad index name ${String(index)}`);
      check(typeof id === 'string' && id.length > 0 && Buffer.byteLength(id) <= 512, `line ${i + 1}: bad _id`);
      const doc = JSON.parse(lines[i + 1]) as Record<string, unknown>;
      check(isObject(doc), `line ${i + 2}: the document is not an object`);
      check(doc.kind === 'Event' && doc.apiVersion === 'audit.k8s.io/v1', `line ${i + 2}: not an audit event`);
      check(id === `${doc.auditID}-${doc.stage}`, `line ${i + 1}: _id ${id} is not auditID-stage`);
      check(doc['@timestamp'] === doc.stageTimestamp, `line ${i + 2}: @timestamp ${String(doc['@timestamp'])} is not the stageTimestamp`);
      this.creates++;
      if (this.refuseIds.has(id)) {
        items.push({ create: { _index: index, _id: id, status: 400, error: { type: 'mapper_parsing_exception', reason: `failed to parse field [user] of type [long]. Preview of field's value: '${String((doc.user as { username?: string })?.username)}'` } } });
      } else if (item429 && i === 0) {
        items.push({ create: { _index: index, _id: id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution' } } });
      } else if (this.docs.has(id)) {
        this.conflicts++;
        items.push({ create: { _index: index, _id: id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists` } } });
      } else {
        this.docs.set(id, { index, doc });
        items.push({ create: { _index: index, _id: id, _version: 1, result: 'created', status: 201 } });
      }
    }
    return { status: 200, body: { took: 1, errors: items.some((it) => ((it as { create: { status: number } }).create.status >= 300)), items } };
  }
}

export interface LokiEntry {
  readonly labels: Record<string, string>;
  readonly ts: string;
  readonly line: string;
}

export class FakeLoki extends FakeServer {
  /** Unique entries (Loki ignores an identical entry sent again). */
  readonly entries = new Map<string, LokiEntry>();
  duplicateEntries = 0;
  /** X-Scope-OrgID headers seen. */
  readonly tenants: (string | undefined)[] = [];
  /** Answer 400 to pushes holding an event whose auditID is in here (a "bad entry"). */
  readonly refuseAuditIDs = new Set<string>();

  protected handle(req: IncomingMessage, body: Buffer): { status: number; body?: unknown } {
    check(req.method === 'POST', `method ${req.method}, expected POST`);
    check(req.url === '/loki/api/v1/push', `path ${req.url}, expected /loki/api/v1/push`);
    check(req.headers['content-type'] === 'application/json', `Content-Type ${req.headers['content-type']}, expected application/json`);
    this.tenants.push(req.headers['x-scope-orgid'] as string | undefined);
    const push = JSON.parse(body.toString('utf8')) as unknown;
    check(isObject(push) && Object.keys(push).join(',') === 'streams' && Array.isArray(push.streams) && push.streams.length > 0, 'body is not {"streams":[…]}');
    const accepted: LokiEntry[] = [];
    let refuse = false;
    for (const [si, s] of (push.streams as unknown[]).entries()) {
      check(isObject(s) && Object.keys(s).sort().join(',') === 'stream,values', `streams[${si}] needs exactly stream and values`);
      check(isObject(s.stream) && Object.keys(s.stream).length > 0, `streams[${si}].stream is not a label map`);
      for (const [k, v] of Object.entries(s.stream)) {
        check(/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) && typeof v === 'string' && v !== '', `streams[${si}].stream: bad label ${k}=${String(v)}`);
      }
      check(Array.isArray(s.values) && s.values.length > 0, `streams[${si}].values is empty`);
      let prev = -1n;
      for (const [vi, value] of (s.values as unknown[]).entries()) {
        check(Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string', `streams[${si}].values[${vi}] is not ["<ns>","<line>"]`);
        check(/^[0-9]{1,19}$/.test(value[0]), `streams[${si}].values[${vi}][0] ${value[0]} is not a nanosecond timestamp string`);
        const t = BigInt(value[0]);
        check(t >= prev, `streams[${si}].values are not in time order`);
        prev = t;
        const event = JSON.parse(value[1]) as Record<string, unknown>;
        check(event.kind === 'Event', `streams[${si}].values[${vi}][1] is not an audit event`);
        check(value[0] === nanosOf(event.stageTimestamp as string), `streams[${si}].values[${vi}][0] is not the stageTimestamp in ns`);
        if (this.refuseAuditIDs.has(event.auditID as string)) refuse = true;
        accepted.push({ labels: s.stream as Record<string, string>, ts: value[0], line: value[1] });
      }
    }
    if (refuse) return { status: 400, body: { message: 'entry refused (injected)' } };
    for (const e of accepted) {
      const key = JSON.stringify([e.labels, e.ts, e.line]);
      if (this.entries.has(key)) this.duplicateEntries++;
      else this.entries.set(key, e);
    }
    return { status: 204 };
  }
}

/** An `--alerts-webhook` endpoint: POST / with {"kind":"cdk8s-audit/AlertList","alerts":[…]}. */
export class FakeAlertWebhook extends FakeServer {
  readonly alerts: Record<string, unknown>[] = [];

  protected handle(req: IncomingMessage, body: Buffer): { status: number; body?: unknown } {
    check(req.method === 'POST', `method ${req.method}, expected POST`);
    check(req.headers['content-type'] === 'application/json', `Content-Type ${req.headers['content-type']}`);
    const doc = JSON.parse(body.toString('utf8')) as unknown;
    check(isObject(doc) && doc.kind === 'cdk8s-audit/AlertList' && Array.isArray(doc.alerts) && doc.alerts.length > 0, 'not an AlertList');
    for (const a of doc.alerts as unknown[]) check(isObject(a) && a.kind === 'cdk8s-audit/alert' && typeof a.rule === 'string', 'an item is not an alert');
    this.alerts.push(...(doc.alerts as Record<string, unknown>[]));
    return { status: 202 };
  }
}
