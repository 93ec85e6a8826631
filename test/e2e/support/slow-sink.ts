/**
 * A deliberately slow audit webhook receiver for the batching-advisor tests: mutual TLS like the real
 * sink, answers every EventList POST after a fixed latency, and refuses (503, like `sink serve
 * --max-in-flight`) what goes over its concurrency limit. It records per batch the event count, the body
 * size and the auditIDs, and the highest concurrency it saw. Plus small helpers to read Prometheus
 * text (the apiserver's and the sink's /metrics).
 */
import { createServer, Server } from 'node:https';
import { sleep } from './processes';

export interface SlowSinkOptions {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Milliseconds before each answer. */
  readonly latencyMs: number;
  /** Requests handled at once; more get 503. */
  readonly maxInFlight: number;
  /** @default '/audit' */
  readonly path?: string;
}

export interface SlowSinkBatch {
  readonly events: number;
  readonly bodyBytes: number;
  readonly auditIds: readonly string[];
  readonly users: readonly string[];
}

export class SlowSink {
  readonly batches: SlowSinkBatch[] = [];
  /** Requests answered 503 because maxInFlight were already in flight. */
  refusedOverLimit = 0;
  /** Anything that was not a good EventList POST (method, path, JSON). */
  readonly badRequests: string[] = [];
  inFlight = 0;
  peakInFlight = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: SlowSinkOptions): Promise<SlowSink> {
    const path = options.path ?? '/audit';
    const server = createServer({ key: options.keyPem, cert: options.certPem, ca: [options.caPem], requestCert: true, rejectUnauthorized: true });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    const address = server.address();
    if (!address || typeof address !== 'object') throw new Error('slow sink has no address');
    const sink = new SlowSink(server, `https://127.0.0.1:${address.port}${path}`);
    server.on('request', (req, res) => {
      const reply = (status: number, text: string) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...(status === 503 ? { 'Retry-After': '1' } : {}) });
        res.end(JSON.stringify({ status: text }));
      };
      if (sink.inFlight >= options.maxInFlight) {
        sink.refusedOverLimit++;
        req.resume();
        return reply(503, 'overload');
      }
      sink.inFlight++;
      sink.peakInFlight = Math.max(sink.peakInFlight, sink.inFlight);
      const started = Date.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const pathname = new URL(req.url ?? '/', 'https://sink').pathname;
        let status = 200;
        let text = 'ok';
        if (req.method !== 'POST' || pathname !== path) {
          status = 404;
          text = 'not the audit endpoint';
        } else {
          try {
            const list = JSON.parse(body.toString('utf8')) as { kind?: string; items?: { auditID: string; user?: { username?: string } }[] };
            if (list.kind !== 'EventList' || !Array.isArray(list.items)) throw new Error(`kind ${list.kind}`);
            sink.batches.push({
              events: list.items.length,
              bodyBytes: body.length,
              auditIds: list.items.map((e) => e.auditID),
              users: list.items.map((e) => e.user?.username ?? ''),
            });
          } catch (e) {
            status = 400;
            text = `not an EventList: ${(e as Error).message}`;
          }
        }
        if (status !== 200) sink.badRequests.push(`${req.method} ${req.url}: ${status} ${text}`);
        setTimeout(() => {
          sink.inFlight--;
          reply(status, text);
        }, Math.max(0, options.latencyMs - (Date.now() - started)));
      });
    });
    return sink;
  }

  /** Events received so far (retries of one batch would count twice; `auditIds()` tells). */
  events(): number {
    return this.batches.reduce((n, b) => n + b.events, 0);
  }

  auditIds(): string[] {
    return this.batches.flatMap((b) => b.auditIds);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** One sample of Prometheus text: `name{labels} value`. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text exposition (comments skipped, label values unescaped). */
export function parsePrometheusText(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l: RegExpExecArray | null;
    while ((l = re.exec(m[3] ?? '')) !== null) labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The names of the metric families in Prometheus text (from `# TYPE` lines and samples). */
export function metricFamilies(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) /.exec(line);
    if (t) names.add(t[1]);
  }
  for (const s of parsePrometheusText(text)) names.add(s.name);
  return names;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sumOf(samples: readonly MetricSample[], name: string, match: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

/** Polls until `predicate` holds; throws naming `what` and the last state after `timeoutMs`. */
export async function waitUntil(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs: number, state: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state() ? ` (${state()})` : ''}`);
    await sleep(250);
  }
}
