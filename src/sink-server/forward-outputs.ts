/**
 * The two central-logging outputs of `sink serve`: Elasticsearch `_bulk` and Loki push. Each is a
 * consumer target (consumer.ts): it gets batches of durable records in order and either finishes the
 * batch or throws to have the same batch retried. Answers are classified as:
 *
 * - done: 2xx (Elasticsearch: every item created, or 409 "already exists" from an earlier attempt);
 * - retry: connection errors, timeouts, 408, 429, 5xx, 401/403 (credentials may be rotated) and 404
 *   (a wrong URL is fixed by the operator; dropping would lose the events downstream);
 * - split: 413 halves the batch (a single event that is still too large is refused);
 * - refused: 400/422 and Elasticsearch item errors such as mapping conflicts — the event cannot be
 *   indexed as it is; it is counted and logged by auditID (the content is never logged) and stays in the
 *   local store.
 */
import { FeedRecord } from './feed';
import { buildBulkBody, buildLokiPush, LokiLabelField, parseBulkResponse } from '../sink-contract/forward-format';
import { HttpResponse, HttpTarget, retryAfterMs } from './forward-http';
import { RetryableError, ConsumerTarget } from './consumer';
import { Logger } from './metrics';

export interface OutputStats {
  /** Events the destination now holds (created, or found present). */
  delivered: number;
  /** Answers "already there" (Elasticsearch 409 on create: a batch sent again), over all attempts. */
  existing: number;
  /** Events refused for good. */
  refused: number;
  /** Requests by HTTP status ("error" for connection failures and timeouts). */
  readonly requests: Map<string, number>;
}

export function newOutputStats(): OutputStats {
  return { delivered: 0, existing: 0, refused: 0, requests: new Map() };
}

function countRequest(stats: OutputStats, code: string): void {
  stats.requests.set(code, (stats.requests.get(code) ?? 0) + 1);
}

function auditKey(event: Buffer): string {
  try {
    const e = JSON.parse(event.toString('utf8')) as { auditID?: unknown; stage?: unknown };
    return `${String(e.auditID)}/${String(e.stage)}`;
  } catch {
    return '(unparsable)';
  }
}

const isRetryStatus = (s: number) => s === 401 || s === 403 || s === 404 || s === 408 || s === 429 || s >= 500 || s < 200;

abstract class HttpOutput implements ConsumerTarget {
  constructor(
    protected readonly name: string,
    protected readonly http: HttpTarget,
    protected readonly log: Logger,
    readonly stats: OutputStats,
  ) {}

  /** The API endpoint: the configured URL if it already ends with `path`, else `path` below it. */
  protected endpoint(path: string): URL {
    return this.http.url.pathname.replace(/\/+$/, '').endsWith(`/${path}`) ? this.http.url : this.http.resolve(path);
  }

  protected async post(url: URL, body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse> {
    try {
      const res = await this.http.post(url, body, headers, signal);
      countRequest(this.stats, String(res.status));
      return res;
    } catch (e) {
      countRequest(this.stats, 'error');
      throw new RetryableError((e as Error).message);
    }
  }

  protected retryable(res: HttpResponse): RetryableError {
    const hint = res.status === 401 || res.status === 403 ? ' (credentials refused: check the auth file)' : res.status === 404 ? ' (wrong URL?)' : '';
    return new RetryableError(`${this.name} answered HTTP ${res.status}${hint}`, retryAfterMs(res.headers));
  }

  async deliver(records: readonly FeedRecord[], signal: AbortSignal): Promise<void> {
    await this.deliverEvents(records.map((r) => r.event), signal);
  }

  protected abstract send(events: readonly Buffer[], signal: AbortSignal): Promise<'done' | 'too_large'>;

  private async deliverEvents(events: readonly Buffer[], signal: AbortSignal): Promise<void> {
    const result = await this.send(events, signal);
    if (result === 'done') return;
    if (events.length === 1) {
      this.stats.refused++;
      this.log.error(`${this.name} refused an event as too large (HTTP 413); it stays in the local store`, { output: this.name, event: auditKey(events[0]), bytes: events[0].length });
      return;
    }
    const half = Math.ceil(events.length / 2);
    await this.deliverEvents(events.slice(0, half), signal);
    await this.deliverEvents(events.slice(half), signal);
  }
}

export class ElasticsearchOutput extends HttpOutput {
  private readonly bulkUrl = this.endpoint('_bulk');
  /** _ids refused while the current batch is being retried (counted and logged once). */
  private readonly refusedInBatch = new Set<string>();

  constructor(
    http: HttpTarget,
    private readonly indexPattern: string,
    log: Logger,
    stats = newOutputStats(),
  ) {
    super('elasticsearch', http, log, stats);
  }

  protected async send(events: readonly Buffer[], signal: AbortSignal): Promise<'done' | 'too_large'> {
    const { body, items } = buildBulkBody(events, this.indexPattern);
    const res = await this.post(this.bulkUrl, body, { 'Content-Type': 'application/x-ndjson', Accept: 'application/json' }, signal);
    if (res.status === 413) return 'too_large';
    if (isRetryStatus(res.status)) throw this.retryable(res);
    if (res.status >= 300) {
      this.stats.refused += events.length;
      this.log.error('elasticsearch refused the whole _bulk request; its events stay in the local store', { output: this.name, status: res.status, events: events.length, first: items[0]?.id });
      return 'done';
    }
    let outcome;
    try {
      outcome = parseBulkResponse(res.body, events.length);
    } catch (e) {
      throw new RetryableError(`elasticsearch: ${(e as Error).message}`);
    }
    for (const r of outcome.refused) {
      const doc = items[r.index];
      if (this.refusedInBatch.has(doc.id)) continue; // refused again on a resend of the same batch
      this.refusedInBatch.add(doc.id);
      this.stats.refused++;
      this.log.error('elasticsearch refused a document; it stays in the local store', { output: this.name, id: doc.id, index: doc.indexName, status: r.status, errorType: r.type });
    }
    this.stats.existing += outcome.existing;
    if (outcome.retry.length > 0) {
      // Resend the whole batch: created documents answer 409 next time, so nothing is indexed twice.
      throw new RetryableError(`elasticsearch could not index ${outcome.retry.length} of ${events.length} documents now (429/5xx per item)`);
    }
    this.refusedInBatch.clear();
    this.stats.delivered += outcome.created + outcome.existing;
    return 'done';
  }
}

export interface LokiOutputOptions {
  readonly labelFields: readonly LokiLabelField[];
  readonly staticLabels: Readonly<Record<string, string>>;
  /** X-Scope-OrgID. */
  readonly tenant?: string;
}

export class LokiOutput extends HttpOutput {
  private readonly pushUrl = this.endpoint('loki/api/v1/push');

  constructor(
    http: HttpTarget,
    private readonly opts: LokiOutputOptions,
    log: Logger,
    stats = newOutputStats(),
  ) {
    super('loki', http, log, stats);
  }

  protected async send(events: readonly Buffer[], signal: AbortSignal): Promise<'done' | 'too_large'> {
    const body = Buffer.from(JSON.stringify(buildLokiPush(events, this.opts.labelFields, this.opts.staticLabels)), 'utf8');
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.opts.tenant) headers['X-Scope-OrgID'] = this.opts.tenant;
    const res = await this.post(this.pushUrl, body, headers, signal);
    if (res.status === 413) return 'too_large';
    if (isRetryStatus(res.status)) throw this.retryable(res);
    if (res.status >= 300) {
      // Loki answers 400 when some entries are invalid (too old, line too long) and keeps the valid ones.
      this.stats.refused += events.length;
      this.log.error('loki refused entries of a push (HTTP 4xx; valid entries of it may have been kept); the events stay in the local store', {
        output: this.name,
        status: res.status,
        events: events.length,
        first: auditKey(events[0]),
      });
      return 'done';
    }
    this.stats.delivered += events.length;
    return 'done';
  }
}
