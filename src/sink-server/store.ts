/**
 * The durable, tamper-evident event store: append-only segment files of hash-chained records (record.ts),
 * each commit signed in the same write as its records, signed digests when a segment is sealed, a signed
 * head after every commit, retention by age and size.
 *
 * Authentication: a record is trusted only when a signature made with the key covers it — its commit's
 * mark, a later commit's mark (through the chain), the signed head or a segment's signed digest. On open,
 * records past the last such signature (someone without the key appended them, or a crash cut a commit)
 * are never signed: a commit the sink itself started (its mark verifies) is discarded as an interrupted,
 * never-acknowledged write; anything else is moved to quarantine/ and reported (log, metric, sink verify).
 *
 * Durability: `append` resolves only after the records are written and fdatasync'ed (group commit: every
 * request waiting while one sync runs shares the next). Deduplication by (auditID, stage): an event already
 * stored, or being stored by a concurrent request, is not written again, so apiserver retries are free; the
 * index covers `dedupeWindowMs` and is rebuilt from the segments on open.
 */
import { createHash, Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { digestName, HEAD_FILE, HeadDocument, LOCK_FILE, SegmentDigest, segmentName } from './layout';
import { Histogram, Logger, silentLogger } from './metrics';
import { CommitSigner, commitSigner, encodeRecords, GENESIS_HASH, sha256Hex } from './record';
import { signDocument, SigningKey } from './signing';
import { DEFAULT_DEDUPE_MAX_KEYS, DEFAULT_DEDUPE_WINDOW_MS, dedupeKey, pruneDedupe } from './store-dedupe';
import { StoreError, StoreOpenError } from './store-errors';
import { fsyncDir, isDiskFull, writeFileDurable } from './store-files';
import { acquireStoreLock, releaseStoreLock } from './store-lock';
import { checkHead, readSignedFile, RecoveryContext, reopenSegment, scanSealedSegments } from './store-recovery';
import { enforceRetention as applyRetention, rotationDue, SealedSegment } from './store-retention';
import type { ReceivedEvent } from '../sink-contract/event-list';

// The store's parts by job: store-dedupe (the (auditID, stage) index), store-retention (rotation, retention),
// store-lock and store-recovery (opening: the lock; the sealed segments' digests, the reopened segment's
// authenticated frontier, the head check), store-files (crash-safe writes), store-errors. The class below is the
// commit path (append, group commit, head) and the open and maintenance sequences that call the others.
export { DEFAULT_DEDUPE_MAX_KEYS, DEFAULT_DEDUPE_WINDOW_MS } from './store-dedupe';
export { StoreError, StoreOpenError } from './store-errors';
export type { StoreErrorReason } from './store-errors';
export { fsyncDir } from './store-files';
export { authenticatedFrontier } from './store-recovery';
export type { Frontier } from './store-recovery';

export const DEFAULT_SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SEGMENT_MAX_AGE_MS = 60 * 60 * 1000;
export const DEFAULT_MIN_FREE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
export interface StoreOptions {
  /** The store directory (created 0700 if missing). */
  readonly dir: string;
  /** Signs digests, head and anchor; must be able to sign. */
  readonly key: SigningKey;
  /** Seal the open segment once it holds this many bytes. @default 64 MiB */
  readonly segmentMaxBytes?: number;
  /** Seal the open segment once it is this old (and not empty). @default 1 hour */
  readonly segmentMaxAgeMs?: number;
  /** Delete sealed segments sealed longer ago than this; 0 keeps them. @default 0 */
  readonly retentionMaxAgeMs?: number;
  /** Delete the oldest sealed segments while the store is larger than this; 0 = no limit. @default 0 */
  readonly retentionMaxBytes?: number;
  /** Refuse (disk_full) a commit that would leave less free space than this on the store's file system. @default 64 MiB */
  readonly minFreeBytes?: number;
  /** Event bytes waiting for a commit before new requests are refused (overload). @default 64 MiB */
  readonly maxQueueBytes?: number;
  /** How long (auditID, stage) pairs are remembered for deduplication. @default 10 minutes */
  readonly dedupeWindowMs?: number;
  /** At most this many pairs are remembered (the oldest are forgotten first). @default 1,000,000 */
  readonly dedupeMaxKeys?: number;
  readonly log?: Logger;
  /**
   * Called with the events of each commit, after they are durable (for forwarding and rules), and the
   * sequence number of the first of them (the others follow consecutively). Must not block.
   */
  readonly onCommit?: (events: readonly Buffer[], firstSeq: number, hashes: readonly string[]) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface AppendResult {
  /** Events written by this call. */
  readonly stored: number;
  /** Events already in the store (or being stored by another request), not written again. */
  readonly duplicates: number;
}

interface ActiveSegment {
  readonly name: string;
  readonly firstSeq: number;
  readonly firstPrev: string;
  readonly openedAt: Date;
  readonly fh: fsp.FileHandle;
  bytes: number;
  records: number;
  readonly hash: Hash;
}

interface QueuedBatch {
  readonly events: ReceivedEvent[];
  readonly bytes: number;
  resolve(): void;
  reject(e: Error): void;
}

export class Store {
  /** fdatasync latency of each group commit, seconds. */
  readonly fsyncSeconds = new Histogram('audit_sink_fsync_seconds', 'Latency of the fdatasync of each group commit.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  /** Records per group commit. */
  readonly commitRecords = new Histogram('audit_sink_commit_records', 'Records written by each group commit.', [1, 2, 5, 10, 50, 100, 400, 1000, 5000]);
  eventsStored = 0;
  eventsDuplicate = 0;
  bytesStored = 0;
  headWriteFailures = 0;
  /** Records moved to quarantine/ when this process opened the store (not authenticated by the key). */
  quarantinedRecords = 0;
  /** Commits refused (answered 503) because they could not be made durable. */
  commitFailures = 0;

  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly sealed: SealedSegment[] = [];
  private active!: ActiveSegment;
  private lastSeq = 0;
  private lastHash = GENESIS_HASH;
  private previousDigestSha256: string | null = null;
  private readonly dedupe = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private queue: QueuedBatch[] = [];
  private queuedBytes = 0;
  private flushing = false;
  private chain: Promise<unknown> = Promise.resolve();
  private needsTruncate = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private diskFree = -1;
  private readonly signer: CommitSigner;
  /** Why the last commit failed, while no commit has succeeded since; undefined when healthy. */
  private failing: { reason: string; since: Date; refused: number } | undefined;
  private closeProblem: string | undefined;

  private constructor(private readonly options: StoreOptions) {
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? (() => new Date());
    this.signer = commitSigner((data) => options.key.sign(data));
  }

  /**
   * Why the store is not healthy, or undefined: the last commit failed (disk full, I/O error) and none has
   * succeeded since, or closing could not write the final signed head. The sink reports it and exits non-zero.
   */
  degraded(): string | undefined {
    const f = this.failing;
    const failing = f && `commits have failed since ${f.since.toISOString()} (${f.refused} batch(es) answered 503, nothing of them acknowledged): ${f.reason}; records up to seq ${this.lastSeq} are durable and signed`;
    return [failing, this.closeProblem].filter(Boolean).join('; and ') || undefined;
  }

  /** Opens (or creates) a store: takes the lock, completes interrupted retention, checks the open segment against the signed head, rebuilds the dedupe index. */
  static async open(options: StoreOptions): Promise<Store> {
    if (!options.key.canSign) throw new StoreOpenError(`signing key ${options.key.keyId}: the sink needs a key that can sign (an HMAC secret or an Ed25519 private key)`);
    const store = new Store(options);
    await fsp.mkdir(options.dir, { recursive: true, mode: 0o700 });
    await store.lock();
    try {
      await store.recover();
    } catch (e) {
      // Checks after the open segment was opened (the signed head) can still refuse the store.
      await (store.active as ActiveSegment | undefined)?.fh.close().catch(() => undefined);
      await releaseStoreLock(options.dir);
      throw e;
    }
    const interval = Math.min(60_000, Math.max(1_000, Math.floor(store.segmentMaxAgeMs / 10)));
    store.timer = setInterval(() => void store.maintain(), interval);
    store.timer.unref();
    return store;
  }

  get dir(): string {
    return this.options.dir;
  }
  private get segmentMaxBytes(): number {
    return this.options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
  }
  private get segmentMaxAgeMs(): number {
    return this.options.segmentMaxAgeMs ?? DEFAULT_SEGMENT_MAX_AGE_MS;
  }
  private get dedupeWindowMs(): number {
    return this.options.dedupeWindowMs ?? DEFAULT_DEDUPE_WINDOW_MS;
  }

  /** Newest sequence number, segment count, bytes on disk, free bytes, queue. */
  stats(): { lastSeq: number; segments: number; storeBytes: number; diskFreeBytes: number; queueBytes: number; dedupeKeys: number } {
    return {
      lastSeq: this.lastSeq,
      segments: this.sealed.length + 1,
      storeBytes: this.storeBytes(),
      diskFreeBytes: this.diskFree,
      queueBytes: this.queuedBytes,
      dedupeKeys: this.dedupe.size,
    };
  }

  private storeBytes(): number {
    return this.sealed.reduce((n, s) => n + s.bytes, 0) + (this.active?.bytes ?? 0);
  }

  /**
   * Stores the events not stored yet and resolves once they are durable. Rejects with StoreError
   * (disk_full, overload, store_error, shutting_down): nothing of this call is acknowledged then.
   */
  async append(events: readonly ReceivedEvent[]): Promise<AppendResult> {
    if (this.closed) throw new StoreError('shutting_down', 'the sink is shutting down');
    const fresh: ReceivedEvent[] = [];
    const waits: Promise<void>[] = [];
    const seen = new Set<string>();
    let duplicates = 0;
    for (const e of events) {
      const key = dedupeKey(e.auditID, e.stage);
      if (this.dedupe.has(key) || seen.has(key)) {
        duplicates++;
        continue;
      }
      const pending = this.inFlight.get(key);
      if (pending) {
        duplicates++;
        waits.push(pending);
        continue;
      }
      seen.add(key);
      fresh.push(e);
    }
    if (fresh.length > 0) {
      const bytes = fresh.reduce((n, e) => n + e.raw.length, 0);
      const max = this.options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
      if (this.queuedBytes > 0 && this.queuedBytes + bytes > max) {
        throw new StoreError('overload', `${this.queuedBytes} bytes are waiting for the disk (limit ${max}); retry later`);
      }
      const committed = new Promise<void>((resolve, reject) => this.queue.push({ events: fresh, bytes, resolve, reject }));
      this.queuedBytes += bytes;
      const settled = committed.then(
        () => undefined,
        () => undefined,
      );
      for (const e of fresh) this.inFlight.set(dedupeKey(e.auditID, e.stage), committed);
      void settled.then(() => {
        for (const e of fresh) {
          const key = dedupeKey(e.auditID, e.stage);
          if (this.inFlight.get(key) === committed) this.inFlight.delete(key);
        }
      });
      waits.push(committed);
      this.kick();
    }
    await Promise.all(waits);
    this.eventsDuplicate += duplicates;
    return { stored: fresh.length, duplicates };
  }

  /** Flushes what is queued, signs the head, closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.exclusive(async () => {
      await this.drainQueue();
      if (this.needsTruncate) {
        try {
          await this.active.fh.truncate(this.active.bytes);
          this.needsTruncate = false;
        } catch (e) {
          this.closeProblem = `the open segment ${this.active.name} still holds the bytes of a failed commit past byte ${this.active.bytes} (truncate: ${(e as NodeJS.ErrnoException).code}); the next start discards or quarantines them`;
        }
      }
      if (!(await this.writeHead(true))) this.closeProblem ??= `the final ${HEAD_FILE} could not be written (${this.lastHeadError}); every acknowledged commit is signed in its segment, so the store still verifies`;
      await this.active.fh.close();
    });
    await releaseStoreLock(this.dir);
  }

  // ---- commit path ----

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.exclusive(() => this.drainQueue()).finally(() => {
      this.flushing = false;
      if (this.queue.length) this.kick();
    });
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      const bytes = batch.reduce((n, b) => n + b.bytes, 0);
      try {
        await this.writeBatch(batch.flatMap((b) => b.events));
        this.failing = undefined;
        for (const b of batch) b.resolve();
      } catch (e) {
        const err = e instanceof StoreError ? e : new StoreError('store_error', `writing the segment failed: ${(e as Error).message}`);
        this.commitFailures++;
        if (this.failing) this.failing.refused += batch.length;
        else this.failing = { reason: err.message, since: this.now(), refused: batch.length };
        for (const b of batch) b.reject(err);
      } finally {
        this.queuedBytes -= bytes;
      }
    }
  }

  private async writeBatch(events: ReceivedEvent[]): Promise<void> {
    await this.rotateIfDue();
    const a = this.active;
    if (this.needsTruncate) {
      await a.fh.truncate(a.bytes);
      this.needsTruncate = false;
    }
    const recv = this.now();
    // The commit's signature goes into the same buffer, so the write + fdatasync that makes the records
    // durable makes their authentication durable too: nothing is acknowledged unsigned.
    const encoded = encodeRecords(this.lastSeq + 1, recv, this.lastHash, events.map((e) => e.raw), this.signer);
    const { data, hashes } = encoded;
    const seq = this.lastSeq + events.length;
    const prev = hashes.length ? hashes[hashes.length - 1] : this.lastHash;
    const minFree = this.options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES;
    if (minFree > 0) {
      const st = await fsp.statfs(this.dir);
      this.diskFree = st.bavail * st.bsize;
      if (this.diskFree - data.length < minFree) {
        throw new StoreError('disk_full', `${this.diskFree} bytes free on the store's file system, below the ${minFree}-byte reserve (--min-free-bytes); free space or lower retention`);
      }
    }
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await a.fh.write(data, off, data.length - off, a.bytes + off);
        off += bytesWritten;
      }
      const t0 = process.hrtime.bigint();
      await a.fh.datasync();
      this.fsyncSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    } catch (e) {
      try {
        await a.fh.truncate(a.bytes);
      } catch {
        this.needsTruncate = true;
      }
      if (isDiskFull(e)) throw new StoreError('disk_full', `the store's file system is full (${(e as NodeJS.ErrnoException).code}); free space or lower retention`);
      throw new StoreError('store_error', `writing ${a.name} failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    a.bytes += data.length;
    a.records += events.length;
    a.hash.update(data);
    this.lastSeq = seq;
    this.lastHash = prev;
    this.eventsStored += events.length;
    this.bytesStored += data.length;
    this.commitRecords.observe(events.length);
    await this.writeHead(false);
    const t = recv.getTime();
    for (const e of events) this.dedupe.set(dedupeKey(e.auditID, e.stage), t);
    if (this.dedupe.size > (this.options.dedupeMaxKeys ?? DEFAULT_DEDUPE_MAX_KEYS)) this.pruneDedupe();
    // Views into the commit buffer: the request bodies the events came from can be freed.
    this.options.onCommit?.(encoded.events, seq - events.length + 1, hashes);
  }

  private headDocument(): HeadDocument {
    const a = this.active;
    return {
      kind: 'cdk8s-audit/head',
      version: 1,
      segment: a.name,
      firstSeq: a.firstSeq,
      lastSeq: this.lastSeq,
      records: a.records,
      bytes: a.bytes,
      lastHash: this.lastHash,
      previousDigestSha256: this.previousDigestSha256,
      updatedAt: this.now().toISOString(),
    };
  }

  private lastHeadError = '';

  /**
   * Replaces head.json atomically. After each commit it is renamed into place without an fsync: the records
   * and their commit signature are synced, the head only lets a verifier notice the newest commits being cut
   * off; after a power loss it may lag, and records past it are trusted only through their commit marks.
   * False when it could not be written.
   */
  private async writeHead(durable: boolean): Promise<boolean> {
    const text = JSON.stringify(signDocument(this.options.key, this.headDocument())) + '\n';
    try {
      if (durable) {
        await writeFileDurable(this.dir, HEAD_FILE, text);
      } else {
        const tmp = join(this.dir, `.${HEAD_FILE}.tmp`);
        await fsp.writeFile(tmp, text, { mode: 0o600 });
        await fsp.rename(tmp, join(this.dir, HEAD_FILE));
      }
      return true;
    } catch (e) {
      this.headWriteFailures++;
      this.lastHeadError = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      await fsp.rm(join(this.dir, `.${HEAD_FILE}.tmp`), { force: true }).catch(() => undefined);
      this.log.warn('could not update head.json; the records and their commit signature are durable, the next commit retries', { code: this.lastHeadError });
      return false;
    }
  }

  // ---- rotation, retention, dedupe pruning ----

  private async maintain(): Promise<void> {
    if (this.closed) return;
    await this.exclusive(async () => {
      if (this.closed) return;
      try {
        await this.rotateIfDue();
        await this.enforceRetention();
        if (this.needsTruncate) {
          await this.active.fh.truncate(this.active.bytes);
          this.needsTruncate = false;
        }
        const st = await fsp.statfs(this.dir);
        this.diskFree = st.bavail * st.bsize;
      } catch (e) {
        this.log.warn('store maintenance failed; retrying later', { code: (e as NodeJS.ErrnoException).code, error: (e as Error).message });
      }
      this.pruneDedupe();
    });
  }

  private pruneDedupe(): void {
    pruneDedupe(this.dedupe, this.now().getTime() - this.dedupeWindowMs, this.options.dedupeMaxKeys ?? DEFAULT_DEDUPE_MAX_KEYS);
  }

  private async rotateIfDue(): Promise<void> {
    if (!rotationDue(this.active, this.now(), this.segmentMaxBytes, this.segmentMaxAgeMs)) return;
    await this.seal();
    await this.openNewSegment();
    await this.writeHead(true);
    await this.enforceRetention();
  }

  private async seal(): Promise<void> {
    const a = this.active;
    await a.fh.datasync();
    const digest: SegmentDigest = {
      kind: 'cdk8s-audit/segment-digest',
      version: 1,
      segment: a.name,
      firstSeq: a.firstSeq,
      lastSeq: this.lastSeq,
      records: a.records,
      bytes: a.bytes,
      sha256: a.hash.copy().digest('hex'),
      firstPrev: a.firstPrev,
      lastHash: this.lastHash,
      openedAt: a.openedAt.toISOString(),
      sealedAt: this.now().toISOString(),
      previousDigestSha256: this.previousDigestSha256,
    };
    const text = JSON.stringify(signDocument(this.options.key, digest), null, 2) + '\n';
    await writeFileDurable(this.dir, digestName(a.name), text);
    await a.fh.close();
    const digestSha256 = sha256Hex(text);
    this.previousDigestSha256 = digestSha256;
    this.sealed.push({ name: a.name, firstSeq: a.firstSeq, lastSeq: this.lastSeq, lastHash: this.lastHash, digestSha256, sealedAt: new Date(digest.sealedAt), bytes: a.bytes + Buffer.byteLength(text) });
    this.log.info('sealed segment', { segment: a.name, records: a.records, bytes: a.bytes });
  }

  private async openNewSegment(): Promise<void> {
    const name = segmentName(this.lastSeq + 1);
    const fh = await fsp.open(join(this.dir, name), 'wx', 0o600);
    await fsyncDir(this.dir);
    this.active = { name, firstSeq: this.lastSeq + 1, firstPrev: this.lastHash, openedAt: this.now(), fh, bytes: 0, records: 0, hash: createHash('sha256') };
  }

  private enforceRetention(): Promise<void> {
    return applyRetention({
      dir: this.dir,
      key: this.options.key,
      log: this.log,
      now: this.now,
      maxAgeMs: this.options.retentionMaxAgeMs ?? 0,
      maxBytes: this.options.retentionMaxBytes ?? 0,
      sealed: this.sealed,
      storeBytes: () => this.storeBytes(),
    });
  }

  // ---- open: lock and recovery ----

  private async lock(): Promise<void> {
    const holder = await acquireStoreLock(this.dir);
    if (holder !== undefined) {
      throw new StoreOpenError(`store ${this.dir}: in use by the process ${holder} (${join(this.dir, LOCK_FILE)}); one sink per store — stop it, or give this sink its own --store`);
    }
  }

  private readSigned<T>(name: string): Promise<{ doc: T; text: string } | undefined> {
    return readSignedFile<T>(this.dir, this.options.key, name);
  }

  private async recover(): Promise<void> {
    const ctx: RecoveryContext = { dir: this.dir, key: this.options.key, log: this.log, now: this.now, windowStart: this.now().getTime() - this.dedupeWindowMs, dedupe: this.dedupe };
    const scan = await scanSealedSegments(ctx);
    this.sealed.push(...scan.sealed);
    this.lastSeq = scan.lastSeq;
    this.lastHash = scan.lastHash;
    this.previousDigestSha256 = scan.previousDigestSha256;
    const head = await this.readSigned<HeadDocument>(HEAD_FILE);
    if (scan.open) {
      const { lastSeq, lastHash, quarantined, ...active } = await reopenSegment(ctx, scan.open, { lastSeq: this.lastSeq, lastHash: this.lastHash }, scan.known, head?.doc);
      this.active = active;
      this.lastSeq = lastSeq;
      this.lastHash = lastHash;
      this.quarantinedRecords += quarantined;
    } else {
      await this.openNewSegment();
    }
    checkHead(this.dir, head?.doc, { lastSeq: this.lastSeq, anchorLastSeq: scan.anchor?.lastSeq ?? 0, sealedSegments: this.sealed.length }, scan.known);
    await this.writeHead(true);
    this.pruneDedupe();
    const st = await fsp.statfs(this.dir);
    this.diskFree = st.bavail * st.bsize;
    this.log.info('store open', { dir: this.dir, lastSeq: this.lastSeq, segments: this.sealed.length + 1, dedupeKeys: this.dedupe.size });
  }
}
