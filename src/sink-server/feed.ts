/**
 * The committed records of a store, in order, for consumers that run behind the writer (forwarders to
 * Elasticsearch and Loki, the alert rules). A consumer asks for the records from a sequence number on;
 * the newest commits are served from a bounded memory window filled by the store's `onCommit`, anything
 * older is read back from the segment files. Only records the store has made durable are ever served
 * (sequence number ≤ the last commit), and each record read from disk is checked against its own hash.
 *
 * Consumers therefore never hold the writer up: `onCommit` only copies references into the window (and
 * forgets the oldest beyond its byte budget); a slow consumer simply reads from disk later.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SEGMENT_RE } from './layout';
import { decodeRecord } from './record';

export interface FeedRecord {
  readonly seq: number;
  /** The event's JSON bytes, as stored. */
  readonly event: Buffer;
  /** The record's hash (the next record's `prev`). */
  readonly hash?: string;
  /** The previous record's hash. */
  readonly prev?: string;
}

export interface FeedRead {
  readonly records: FeedRecord[];
  /**
   * Sequence numbers that no longer exist (retention deleted their segments before the consumer read
   * them): the consumer's next sequence number moves past them.
   */
  readonly skipped: number;
}

/** A record on disk does not match its hash, or the segments cannot be read: the consumer must not go past it. */
export class FeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeedError';
  }
}

/** @default 16 MiB of the newest events kept in memory for consumers that keep up. */
export const DEFAULT_FEED_WINDOW_BYTES = 16 * 1024 * 1024;

export class RecordFeed {
  private window: FeedRecord[] = [];
  private windowBytes = 0;
  private last: number;
  private waiters: { seq: number; resolve: () => void }[] = [];

  /**
   * @param dir the store directory
   * @param lastSeq the newest durable sequence number when the feed starts (Store.stats().lastSeq)
   */
  constructor(
    readonly dir: string,
    lastSeq: number,
    private readonly windowMaxBytes = DEFAULT_FEED_WINDOW_BYTES,
  ) {
    this.last = lastSeq;
  }

  /** The newest durable sequence number. */
  get lastSeq(): number {
    return this.last;
  }

  /** The store's onCommit: records `firstSeq …` are durable. Never blocks, never throws. */
  onCommit(events: readonly Buffer[], firstSeq: number, hashes?: readonly string[]): void {
    if (firstSeq !== this.last + 1) {
      // Cannot happen with one store; if it does, forget the window and let readers use the disk.
      this.window = [];
      this.windowBytes = 0;
    }
    let prev = this.window.length ? this.window[this.window.length - 1].hash : undefined;
    for (let i = 0; i < events.length; i++) {
      const hash = hashes?.[i];
      this.window.push({ seq: firstSeq + i, event: events[i], hash, prev });
      prev = hash;
      this.windowBytes += events[i].length;
    }
    this.last = firstSeq + events.length - 1;
    let drop = 0;
    while (this.windowBytes > this.windowMaxBytes && drop < this.window.length) this.windowBytes -= this.window[drop++].event.length;
    if (drop > 0) this.window = this.window.slice(drop);
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.seq <= this.last);
      this.waiters = this.waiters.filter((w) => w.seq > this.last);
      for (const w of ready) w.resolve();
    }
  }

  /** Resolves once `seq` is durable, or when `signal` fires (whichever is first). */
  waitFor(seq: number, signal: AbortSignal): Promise<void> {
    if (seq <= this.last || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const w = {
        seq,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** A reader with its own position in the segment files (one per consumer). */
  reader(): FeedReader {
    return new FeedReader(this);
  }

  /** @internal records from `fromSeq` held in memory, or undefined when `fromSeq` is not in the window. */
  fromWindow(fromSeq: number, maxRecords: number, maxBytes: number): FeedRecord[] | undefined {
    const first = this.window[0]?.seq;
    if (first === undefined || fromSeq < first || fromSeq > this.last) return undefined;
    const out: FeedRecord[] = [];
    let bytes = 0;
    for (let i = fromSeq - first; i < this.window.length && out.length < maxRecords; i++) {
      const r = this.window[i];
      if (out.length > 0 && bytes + r.event.length > maxBytes) break;
      out.push(r);
      bytes += r.event.length;
    }
    return out;
  }
}

interface Position {
  readonly segment: string;
  readonly firstSeq: number;
  offset: number;
  nextSeq: number;
}

const CHUNK = 1024 * 1024;

export class FeedReader {
  private pos: Position | undefined;

  constructor(private readonly feed: RecordFeed) {}

  /**
   * Up to `maxRecords` records (and about `maxBytes`, at least one record) from `fromSeq` on, never past
   * the newest durable record. Empty when `fromSeq` is not durable yet.
   */
  async read(fromSeq: number, maxRecords: number, maxBytes: number): Promise<FeedRead> {
    if (fromSeq > this.feed.lastSeq) return { records: [], skipped: 0 };
    const mem = this.feed.fromWindow(fromSeq, maxRecords, maxBytes);
    if (mem && mem.length > 0) return { records: mem, skipped: 0 };
    return this.readDisk(fromSeq, maxRecords, maxBytes);
  }

  private async segments(): Promise<{ name: string; firstSeq: number }[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.feed.dir);
    } catch (e) {
      throw new FeedError(`cannot list the store ${this.feed.dir} (${(e as NodeJS.ErrnoException).code})`);
    }
    return names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[0], firstSeq: Number(m[1]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
  }

  private async locate(fromSeq: number): Promise<{ skipped: number }> {
    const segs = await this.segments();
    if (segs.length === 0) throw new FeedError(`the store ${this.feed.dir} has no segments`);
    let at = segs[0];
    let skipped = 0;
    if (fromSeq < at.firstSeq) {
      skipped = at.firstSeq - fromSeq;
    } else {
      for (const s of segs) if (s.firstSeq <= fromSeq) at = s;
    }
    this.pos = { segment: at.name, firstSeq: at.firstSeq, offset: 0, nextSeq: at.firstSeq };
    return { skipped };
  }

  private async readDisk(fromSeq: number, maxRecords: number, maxBytes: number): Promise<FeedRead> {
    let skipped = 0;
    if (!this.pos || this.pos.nextSeq !== fromSeq) {
      skipped = (await this.locate(fromSeq)).skipped;
    }
    const want = fromSeq + skipped;
    const last = this.feed.lastSeq;
    const records: FeedRecord[] = [];
    let bytes = 0;
    // Each pass reads one chunk of the current segment, or moves to the next segment: bounded by the
    // number of segments plus the chunks needed for maxBytes.
    for (let pass = 0; pass < 100_000 && records.length < maxRecords && this.pos!.nextSeq <= last; pass++) {
      const pos = this.pos!;
      const { lines, consumed } = await this.readLines(pos);
      if (lines.length === 0) {
        const segs = await this.segments();
        const next = segs.find((s) => s.firstSeq === pos.nextSeq);
        if (!next) {
          if (segs.some((s) => s.name === pos.segment)) break; // the open segment: nothing more is durable yet
          // The segment went away under us (retention): find the position again.
          skipped += (await this.locate(pos.nextSeq)).skipped;
          continue;
        }
        this.pos = { segment: next.name, firstSeq: next.firstSeq, offset: 0, nextSeq: next.firstSeq };
        continue;
      }
      let used = 0;
      for (const line of lines) {
        const r = decodeRecord(line.data);
        if (typeof r === 'string') throw new FeedError(`${pos.segment} at byte ${pos.offset + used}: ${r}`);
        if (r.computedHash !== r.hash) throw new FeedError(`${pos.segment} record seq ${r.seq} does not match its hash: the store was modified (run sink verify)`);
        if (r.seq !== pos.nextSeq) throw new FeedError(`${pos.segment} has seq ${r.seq} where ${pos.nextSeq} was expected (run sink verify)`);
        if (r.seq > last) break; // written, not yet acknowledged as durable
        if (r.seq >= want) {
          if (records.length >= maxRecords || (records.length > 0 && bytes + r.event.length > maxBytes)) break;
          // Copy: the chunk buffer is reused by nothing, but a small copy frees the large chunk sooner.
          records.push({ seq: r.seq, event: Buffer.from(r.event), hash: r.hash, prev: r.prev });
          bytes += r.event.length;
        }
        used += line.length;
        pos.nextSeq = r.seq + 1;
      }
      pos.offset += used;
      if (used < consumed) break; // stopped inside the chunk (a limit was reached)
    }
    return { records, skipped };
  }

  /** The complete lines from the position on (one chunk, or more for a line longer than a chunk). */
  private async readLines(pos: Position): Promise<{ lines: { data: Buffer; length: number }[]; consumed: number }> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(join(this.feed.dir, pos.segment), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], consumed: 0 };
      throw new FeedError(`cannot open ${pos.segment} (${(e as NodeJS.ErrnoException).code})`);
    }
    try {
      let size = CHUNK;
      for (let attempt = 0; attempt < 8; attempt++) {
        const buf = Buffer.alloc(size);
        const { bytesRead } = await fh.read(buf, 0, size, pos.offset);
        const data = buf.subarray(0, bytesRead);
        const lines: { data: Buffer; length: number }[] = [];
        let start = 0;
        for (;;) {
          const nl = data.indexOf(0x0a, start);
          if (nl < 0) break;
          lines.push({ data: data.subarray(start, nl), length: nl + 1 - start });
          start = nl + 1;
        }
        if (lines.length > 0 || bytesRead < size) return { lines, consumed: start };
        size *= 4; // a record longer than the chunk: read more
      }
      throw new FeedError(`${pos.segment} at byte ${pos.offset}: a record longer than ${size} bytes`);
    } finally {
      await fh.close();
    }
  }
}
