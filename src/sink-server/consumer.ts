/**
 * Runs one consumer of the store's records (a forwarder or the alert rules) behind the writer: batches by
 * count, bytes and wait time, retries a failed batch with exponential backoff (never skipping it), and
 * keeps an on-disk cursor — the sequence number and hash of the last record the consumer finished — so
 * that after a restart (or a kill -9) it resumes where it stopped. Delivery is at-least-once: a batch
 * that was delivered but whose cursor update was lost is delivered again (forwarders make that
 * idempotent: Elasticsearch `_id`, Loki's duplicate-entry rule).
 *
 * The cursor is one small JSON file in `<store>/state/`, replaced atomically; it never grows.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { FeedError, FeedReader, FeedRecord, RecordFeed } from './feed';
import { Logger } from './metrics';
import { fsyncDir } from './store';

export const STATE_DIR = 'state';

/** A batch could not be delivered now; the consumer retries it after a backoff. `message` must be safe to log. */
export class RetryableError extends Error {
  constructor(
    message: string,
    /** Wait at least this long before the next attempt (e.g. from Retry-After). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

export interface ConsumerTarget {
  /** Delivers the records (in order). Throw RetryableError (or any error) to have the batch retried. */
  deliver(records: readonly FeedRecord[], signal: AbortSignal): Promise<void>;
}

export interface BatchOptions {
  /** @default 500 */
  readonly maxRecords?: number;
  /** @default 4 MiB */
  readonly maxBytes?: number;
  /** Wait this long for a batch to fill once one record is ready. @default 1 s */
  readonly maxWaitMs?: number;
}

export interface RetryOptions {
  /** @default 1 s */
  readonly initialMs?: number;
  /** @default 60 s */
  readonly maxMs?: number;
}

export interface ConsumerOptions {
  /** Names the cursor file and the log lines, e.g. `forward-elasticsearch-1a2b3c4d`. */
  readonly id: string;
  /** The `consumer`/`output` label value in metrics and logs, e.g. `elasticsearch`. */
  readonly label: string;
  readonly feed: RecordFeed;
  readonly storeDir: string;
  readonly target: ConsumerTarget;
  readonly batch?: BatchOptions;
  readonly retry?: RetryOptions;
  /** Where to begin when there is no cursor yet: the oldest record, or the newest at start. @default 'oldest' */
  readonly startAt?: 'oldest' | 'now';
  readonly log: Logger;
  /** Called after each batch is done (cursor moved). */
  readonly onProgress?: (delivered: number) => void;
  /** Called for each failed attempt. */
  readonly onRetry?: (error: Error) => void;
  /** Called with the number of records retention deleted before the consumer got to them. */
  readonly onLost?: (count: number) => void;
}

interface CursorDocument {
  readonly kind: 'cdk8s-audit/consumer-cursor';
  readonly version: 1;
  readonly consumer: string;
  /** Sequence number of the last record finished (0: none). */
  readonly seq: number;
  /** That record's hash (the next record's prev), when known. */
  readonly hash: string | null;
  readonly updatedAt: string;
}

export const cursorFileName = (id: string) => `${id}.cursor.json`;

/** A short stable id for a target URL (so a new destination gets its own cursor). */
export function targetId(prefix: string, url: string): string {
  return `${prefix}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

export async function ensureStateDir(storeDir: string): Promise<string> {
  const dir = join(storeDir, STATE_DIR);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class Consumer {
  /** Sequence number of the last record finished. */
  cursor = 0;
  private cursorHash: string | null = null;
  private checkPrev = false;
  private readonly reader: FeedReader;
  private readonly stopping = new AbortController();
  /** Cuts waits for new records short (stop, or drain: deliver what is there, then end). */
  private readonly wake = new AbortController();
  /** Aborts an in-flight delivery (after the drain timeout). */
  private readonly hardStop = new AbortController();
  private loop: Promise<void> | undefined;
  private stateDir = '';
  /** Consecutive failed attempts of the current batch. */
  failures = 0;
  lastSuccessMs = 0;
  lastError: string | undefined;
  private drainToEnd = false;

  constructor(private readonly options: ConsumerOptions) {
    this.reader = options.feed.reader();
  }

  get lag(): number {
    return Math.max(0, this.options.feed.lastSeq - this.cursor);
  }

  private get cursorPath(): string {
    return join(this.stateDir, cursorFileName(this.options.id));
  }

  /** Loads the cursor, runs `beforeRun` with it (e.g. to load state that must match it), starts the loop. */
  async start(beforeRun?: (cursor: number) => Promise<void>): Promise<void> {
    this.stateDir = await ensureStateDir(this.options.storeDir);
    const loaded = await this.loadCursor();
    if (loaded) {
      this.cursor = loaded.seq;
      this.cursorHash = loaded.hash;
      this.checkPrev = loaded.hash !== null;
    } else if (this.options.startAt === 'now') {
      this.cursor = this.options.feed.lastSeq;
      await this.saveCursor(true);
    }
    await beforeRun?.(this.cursor);
    this.options.log.info('consumer started', { consumer: this.options.label, id: this.options.id, from: this.cursor + 1, newest: this.options.feed.lastSeq });
    this.loop = this.run();
  }

  /**
   * Stops: with `drain`, keeps delivering until every durable record is done (or the timeout); otherwise
   * lets the batch in flight finish (up to the timeout), then aborts it. The cursor is written durably.
   */
  async stop(timeoutMs: number, drain = false): Promise<void> {
    if (!this.loop) return;
    this.drainToEnd = drain;
    if (!drain) this.stopping.abort();
    this.wake.abort();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.loop.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.stopping.abort();
      this.hardStop.abort();
      await this.loop;
      this.options.log.warn('consumer stopped before it caught up; it resumes from its cursor on the next start', { consumer: this.options.label, cursor: this.cursor, lag: this.lag });
    }
    await this.saveCursor(true).catch(() => undefined);
  }

  private async loadCursor(): Promise<{ seq: number; hash: string | null } | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.cursorPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let doc: CursorDocument;
    try {
      doc = JSON.parse(text) as CursorDocument;
    } catch {
      doc = {} as CursorDocument;
    }
    const seqOk = Number.isSafeInteger(doc.seq) && doc.seq >= 0;
    const hashOk = doc.hash === null || (typeof doc.hash === 'string' && /^[0-9a-f]{64}$/.test(doc.hash));
    if (doc.kind !== 'cdk8s-audit/consumer-cursor' || !seqOk || !hashOk) {
      this.options.log.warn('consumer cursor unreadable; starting from the oldest record (at-least-once)', { consumer: this.options.label, file: this.cursorPath });
      return { seq: 0, hash: null };
    }
    if (doc.seq > this.options.feed.lastSeq) {
      this.options.log.warn('consumer cursor is past the newest record: it belongs to another store; starting from the oldest record', {
        consumer: this.options.label,
        cursor: doc.seq,
        newest: this.options.feed.lastSeq,
      });
      return { seq: 0, hash: null };
    }
    return { seq: doc.seq, hash: doc.hash };
  }

  private async saveCursor(durable: boolean, seq = this.cursor, hash = this.cursorHash): Promise<void> {
    const doc: CursorDocument = {
      kind: 'cdk8s-audit/consumer-cursor',
      version: 1,
      consumer: this.options.label,
      seq,
      hash,
      updatedAt: new Date().toISOString(),
    };
    const tmp = `${this.cursorPath}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(doc) + '\n');
      if (durable) await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.cursorPath);
    if (durable) await fsyncDir(this.stateDir);
  }

  private backoff(attempt: number, error: Error): number {
    const initial = this.options.retry?.initialMs ?? 1000;
    const max = this.options.retry?.maxMs ?? 60_000;
    const base = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
    const jittered = base * (0.8 + Math.random() * 0.4);
    const after = error instanceof RetryableError && error.retryAfterMs ? Math.min(max, error.retryAfterMs) : 0;
    return Math.max(jittered, after);
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    const maxRecords = this.options.batch?.maxRecords ?? 500;
    const maxBytes = this.options.batch?.maxBytes ?? 4 * 1024 * 1024;
    const maxWaitMs = this.options.batch?.maxWaitMs ?? 1000;
    const feed = this.options.feed;
    while (!stop.aborted) {
      const next = this.cursor + 1;
      if (feed.lastSeq < next) {
        if (this.drainToEnd) return;
        await feed.waitFor(next, this.wake.signal);
        if (this.wake.signal.aborted && feed.lastSeq < next) return;
        continue;
      }
      // Let the batch fill for up to maxWaitMs, unless it is full already or we are draining.
      if (!this.drainToEnd && feed.lastSeq - next + 1 < maxRecords && maxWaitMs > 0) {
        const waitUntil = new AbortController();
        const timer = setTimeout(() => waitUntil.abort(), maxWaitMs);
        const onWake = () => waitUntil.abort();
        this.wake.signal.addEventListener('abort', onWake, { once: true });
        await feed.waitFor(next + maxRecords - 1, waitUntil.signal);
        clearTimeout(timer);
        this.wake.signal.removeEventListener('abort', onWake);
      }
      let batch: FeedRecord[];
      try {
        const read = await this.reader.read(next, maxRecords, maxBytes);
        if (read.skipped > 0) {
          this.options.log.warn('records were deleted by retention before this consumer got to them', { consumer: this.options.label, from: next, count: read.skipped });
          this.options.onLost?.(read.skipped);
          this.cursor += read.skipped;
          this.cursorHash = null;
          this.checkPrev = false;
        }
        batch = read.records;
        if (this.checkPrev && batch.length > 0 && batch[0].prev !== undefined) {
          this.checkPrev = false;
          if (batch[0].prev !== this.cursorHash) {
            this.options.log.warn('consumer cursor does not match this store (record hashes differ): starting from the oldest record', { consumer: this.options.label, cursor: this.cursor });
            this.cursor = 0;
            this.cursorHash = null;
            continue;
          }
        }
      } catch (e) {
        this.failures++;
        this.lastError = (e as Error).message;
        this.options.log.error('consumer cannot read the store; retrying', { consumer: this.options.label, error: (e as Error).message });
        if (e instanceof FeedError) this.options.onRetry?.(e);
        await sleep(this.backoff(this.failures, e as Error), stop);
        continue;
      }
      if (batch.length === 0) continue;
      let attempt = 0;
      for (;;) {
        if (stop.aborted && !this.drainToEnd) return;
        try {
          await this.options.target.deliver(batch, this.hardStop.signal);
          break;
        } catch (e) {
          if (this.hardStop.signal.aborted) return;
          attempt++;
          this.failures = attempt;
          this.lastError = (e as Error).message;
          this.options.onRetry?.(e as Error);
          const wait = this.backoff(attempt, e as Error);
          const level = attempt === 1 || attempt % 10 === 0 ? 'warn' : 'info';
          this.options.log[level]('delivery failed; retrying the same batch', {
            consumer: this.options.label,
            attempt,
            records: batch.length,
            firstSeq: batch[0].seq,
            retryInMs: Math.round(wait),
            error: (e as Error).message,
          });
          await sleep(wait, stop);
          if (stop.aborted) return;
        }
      }
      this.failures = 0;
      this.lastError = undefined;
      this.lastSuccessMs = Date.now();
      const lastRecord = batch[batch.length - 1];
      try {
        // Written before the in-memory cursor (and its metric) moves, so "caught up" means "on disk".
        // Not fsynced per batch: after a power loss the cursor may lag and a batch is delivered again.
        await this.saveCursor(false, lastRecord.seq, lastRecord.hash ?? null);
      } catch (e) {
        this.options.log.warn('could not write the consumer cursor; it is retried after the next batch', { consumer: this.options.label, code: (e as NodeJS.ErrnoException).code });
      }
      this.cursor = lastRecord.seq;
      this.cursorHash = lastRecord.hash ?? null;
      this.options.onProgress?.(batch.length);
    }
  }
}
