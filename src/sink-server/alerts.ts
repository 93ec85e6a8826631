/**
 * Where alerts go: JSON lines on stdout (or a file), Prometheus counters, and optionally an HTTPS webhook.
 * The rules run as a consumer of durable records (consumer.ts), so neither a slow stdout nor a failing
 * webhook can hold up the store: stdout back-pressure only makes the rules fall behind (they catch up from
 * disk), and the webhook has its own bounded queue, retries with backoff, and counts what it drops.
 */
import { once } from 'node:events';
import { SinkAlert, AuditEventFields, RulesEngine } from './rules-engine';
import { PersistentFirstSeen } from './rules-state';
import { ConsumerTarget } from './consumer';
import { FeedRecord } from './feed';
import { HttpTarget, retryAfterMs } from './forward-http';
import { Counter, Logger } from './metrics';

/** Writes alert JSON lines to a stream, waiting for it to drain (so memory stays bounded). */
export class AlertLineWriter {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  async write(alerts: readonly SinkAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    const ok = this.stream.write(alerts.map((a) => JSON.stringify(a)).join('\n') + '\n');
    if (!ok) await once(this.stream as NodeJS.EventEmitter, 'drain');
  }
}

export interface AlertWebhookOptions {
  /** Alerts waiting to be sent before new ones are dropped (and counted). @default 10000 */
  readonly maxQueue?: number;
  /** Alerts per POST. @default 100 */
  readonly maxBatch?: number;
  /** Attempts per batch before it is dropped (and counted). @default 8 */
  readonly maxAttempts?: number;
  /** @default 1 s, doubling up to 60 s */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * POSTs `{"kind":"cdk8s-audit/AlertList","alerts":[…]}` to an HTTPS endpoint. 2xx is success; connection
 * errors, timeouts, 408, 429 and 5xx are retried with exponential backoff (Retry-After honoured); other
 * answers drop the batch (the receiver refuses it). Alerts are also on stdout and in the metrics, so a
 * dropped webhook batch is visible there.
 */
export class AlertWebhook {
  private queue: SinkAlert[] = [];
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  sent = 0;
  dropped = 0;
  failedAttempts = 0;

  constructor(
    private readonly http: HttpTarget,
    private readonly log: Logger,
    private readonly options: AlertWebhookOptions = {},
  ) {}

  enqueue(alerts: readonly SinkAlert[]): void {
    const max = this.options.maxQueue ?? 10_000;
    for (const a of alerts) {
      if (this.queue.length >= max) {
        this.dropped++;
        if (this.dropped === 1 || this.dropped % 1000 === 0) this.log.warn('alert webhook queue full: dropping alerts (they are still on stdout and in the metrics)', { dropped: this.dropped });
        continue;
      }
      this.queue.push(a);
    }
    if (!this.running && this.queue.length) this.running = this.drain().finally(() => (this.running = undefined));
  }

  /** Sends what is queued, for up to `timeoutMs`; then gives up on the rest (counted as dropped). */
  async stop(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running ?? Promise.resolve(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.stopping.abort();
    await this.running;
    if (this.queue.length) {
      this.dropped += this.queue.length;
      this.log.warn('alert webhook stopped with alerts unsent', { unsent: this.queue.length });
      this.queue = [];
    }
    this.http.close();
  }

  private async drain(): Promise<void> {
    const maxBatch = this.options.maxBatch ?? 100;
    const maxAttempts = this.options.maxAttempts ?? 8;
    while (this.queue.length && !this.stopping.signal.aborted) {
      const batch = this.queue.slice(0, maxBatch);
      const body = Buffer.from(JSON.stringify({ kind: 'cdk8s-audit/AlertList', alerts: batch }), 'utf8');
      let done = false;
      for (let attempt = 1; attempt <= maxAttempts && !done && !this.stopping.signal.aborted; attempt++) {
        let wait = 0;
        try {
          const res = await this.http.post(this.http.url, body, { 'Content-Type': 'application/json' }, this.stopping.signal);
          if (res.status >= 200 && res.status < 300) {
            this.sent += batch.length;
            done = true;
            break;
          }
          if (!(res.status === 408 || res.status === 429 || res.status >= 500)) {
            this.log.error('alert webhook refused a batch; dropping it', { status: res.status, alerts: batch.length });
            break;
          }
          wait = retryAfterMs(res.headers) ?? 0;
          this.log.warn('alert webhook failed; retrying', { status: res.status, attempt });
        } catch (e) {
          this.log.warn('alert webhook failed; retrying', { error: (e as Error).message, attempt });
        }
        this.failedAttempts++;
        const backoff = Math.min(this.options.maxBackoffMs ?? 60_000, (this.options.initialBackoffMs ?? 1000) * 2 ** (attempt - 1));
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.max(wait, backoff * (0.8 + Math.random() * 0.4)));
          this.stopping.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      }
      if (this.stopping.signal.aborted && !done) return;
      this.queue.splice(0, batch.length);
      if (!done) this.dropped += batch.length;
    }
  }
}

/** The rules as a consumer target: evaluate each durable event, emit alerts, persist first-seen keys. */
export class RulesTarget implements ConsumerTarget {
  evaluated = 0;
  unparsable = 0;

  constructor(
    readonly engine: RulesEngine,
    private readonly memory: PersistentFirstSeen | undefined,
    private readonly writer: AlertLineWriter,
    private readonly alertsTotal: Counter,
    private readonly log: Logger,
    private readonly webhook?: AlertWebhook,
  ) {}

  async deliver(records: readonly FeedRecord[]): Promise<void> {
    const alerts: SinkAlert[] = [];
    for (const r of records) {
      let event: AuditEventFields;
      try {
        event = JSON.parse(r.event.toString('utf8')) as AuditEventFields;
      } catch {
        this.unparsable++;
        continue;
      }
      alerts.push(...this.engine.evaluate(event, r.seq));
      this.evaluated++;
    }
    if (alerts.length) {
      await this.writer.write(alerts);
      for (const a of alerts) this.alertsTotal.inc({ rule: a.rule });
      this.webhook?.enqueue(alerts);
      this.log.info('alerts raised', { count: alerts.length, rules: [...new Set(alerts.map((a) => a.rule))] });
    }
    // Before the cursor moves: after a crash, events past the cursor are evaluated again with the keys
    // they had not yet added.
    await this.memory?.flush();
  }
}
