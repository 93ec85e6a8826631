/**
 * A bounded concurrent HTTPS load generator for loopback targets: at most `concurrency` requests in
 * flight, at most `requests` in all, and no new request after `timeLimitMs`. Lean on purpose (no JSON
 * parsing of responses): it shares two cores with what it measures.
 */
import { Agent, request } from 'node:https';
import { percentile } from './stats';

export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export interface LoadTarget {
  readonly baseUrl: string;
  readonly caPem: string;
  /** Client certificate, for targets that require one (the sink). */
  readonly certPem?: string;
  readonly keyPem?: string;
}

export interface LoadOptions {
  readonly requests: number;
  readonly concurrency: number;
  readonly timeLimitMs: number;
  /** Pace the load: request i starts no earlier than i × this after the start. @default 0 (as fast as possible) */
  readonly startIntervalMs?: number;
}

export interface LoadResult {
  readonly sent: number;
  readonly seconds: number;
  /** Completed requests per second. */
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Responses by HTTP status ("error" for transport errors). */
  readonly statuses: Record<string, number>;
  /** Per-request latencies in ms (for callers that aggregate differently). */
  readonly latenciesMs: number[];
}

export class LoadClient {
  private readonly agent: Agent;

  constructor(
    private readonly target: LoadTarget,
    concurrency: number,
  ) {
    this.agent = new Agent({ ca: target.caPem, cert: target.certPem, key: target.keyPem, keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  /** One request; resolves with status and latency (ms), never rejects. */
  send(r: LoadRequest): Promise<{ status: string; ms: number }> {
    const t0 = process.hrtime.bigint();
    const done = (status: string) => ({ status, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    return new Promise((resolveSend) => {
      const headers: Record<string, string> = { ...r.headers };
      if (r.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(r.body));
      const req = request(new URL(r.path, this.target.baseUrl), { method: r.method, headers, agent: this.agent, timeout: 60_000 }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolveSend(done(String(res.statusCode))));
        res.on('error', () => resolveSend(done('error')));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolveSend(done('error')));
      if (r.body !== undefined) req.write(r.body);
      req.end();
    });
  }

  /** Runs `next(i)` for i = 0, 1, … with bounded concurrency, count and time. */
  async run(next: (i: number) => LoadRequest, options: LoadOptions): Promise<LoadResult> {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let issued = 0;
    const started = process.hrtime.bigint();
    const deadline = Date.now() + options.timeLimitMs;
    const t0 = Date.now();
    const interval = options.startIntervalMs ?? 0;
    const worker = async () => {
      while (issued < options.requests && Date.now() < deadline) {
        const i = issued++;
        const wait = t0 + i * interval - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const r = next(i);
        const { status, ms } = await this.send(r);
        latencies.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      sent: latencies.length,
      seconds,
      rps: latencies.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      statuses,
      latenciesMs: latencies,
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
