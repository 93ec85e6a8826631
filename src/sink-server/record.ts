/**
 * The store's record format: one JSON line per audit event, hash-chained.
 *
 * ```
 * {"seq":17,"recv":"2026-01-01T00:00:00.000Z","prev":"<sha256 hex of record 16>","event":{…},"hash":"<sha256 hex>"}\n
 * ```
 * `hash` is SHA-256 over the line's bytes up to (not including) `,"hash":` — the canonical bytes — so it
 * covers the sequence number, the receive time, the previous record's hash and the event exactly as the
 * apiserver sent it (insignificant whitespace removed, every string and number byte-for-byte). Changing,
 * removing, inserting or reordering a record breaks the chain at that record or the next. The first record
 * of a store has `prev` = 64 zeros. Pure: no I/O.
 */
import { createHash } from 'node:crypto';

/** `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

const PREFIX = /^\{"seq":(0|[1-9][0-9]{0,15}),"recv":"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)","prev":"([0-9a-f]{64})","event":/;
const HASH_TAIL = /^,"hash":"([0-9a-f]{64})"\}$/;
/** `,"hash":"` + 64 hex + `"}` */
const TAIL_LENGTH = 75;

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface EncodedRecord {
  /** The whole line, newline included. */
  readonly line: Buffer;
  readonly hash: string;
}

/** Builds one record line. `event` is the event's JSON bytes (one object, no newline). */
export function encodeRecord(seq: number, recv: Date, prev: string, event: Buffer): EncodedRecord {
  const { data, hashes } = encodeRecords(seq, recv, prev, [event]);
  return { line: data, hash: hashes[0] };
}

export interface EncodedRecords {
  /** The lines, newlines included, back to back: what one commit appends. */
  readonly data: Buffer;
  /** Each record's hash, in order; the last one is the next record's `prev`. */
  readonly hashes: string[];
  /** Each event's bytes inside `data` (views, not copies). */
  readonly events: Buffer[];
}

/**
 * Builds the records `firstSeq, firstSeq + 1, …` for `events`, chained from `prev`, into one buffer: a
 * commit copies each event once and allocates once, which matters at hundreds of events per batch.
 */
export function encodeRecords(firstSeq: number, recv: Date, prev: string, events: readonly Buffer[]): EncodedRecords {
  const recvPart = `,"recv":"${recv.toISOString()}","prev":"`;
  // {"seq":  N  ,"recv":"…","prev":"  <64 hex>  ","event":  EVENT  ,"hash":"<64 hex>"}  \n
  const fixed = 7 + recvPart.length + 64 + 10 + TAIL_LENGTH + 1;
  let size = 0;
  for (let i = 0; i < events.length; i++) size += fixed + String(firstSeq + i).length + events[i].length;
  const data = Buffer.allocUnsafe(size);
  const hashes: string[] = new Array(events.length);
  const views: Buffer[] = new Array(events.length);
  let off = 0;
  for (let i = 0; i < events.length; i++) {
    const start = off;
    off += data.write(`{"seq":${firstSeq + i}`, off, 'latin1');
    off += data.write(recvPart, off, 'latin1');
    off += data.write(prev, off, 'latin1');
    off += data.write('","event":', off, 'latin1');
    off += events[i].copy(data, off);
    views[i] = data.subarray(off - events[i].length, off);
    prev = createHash('sha256').update(data.subarray(start, off)).digest('hex');
    hashes[i] = prev;
    off += data.write(`,"hash":"${prev}"}\n`, off, 'latin1');
  }
  if (off !== size) throw new Error(`record encoding wrote ${off} of ${size} bytes (a prev hash that is not 64 hex digits?)`);
  return { data, hashes, events: views };
}

export interface DecodedRecord {
  readonly seq: number;
  readonly recv: string;
  readonly prev: string;
  /** The hash written in the record. */
  readonly hash: string;
  /** SHA-256 of the record's canonical bytes; differs from `hash` when the record was modified. */
  readonly computedHash: string;
  /** The event's JSON bytes. */
  readonly event: Buffer;
}

/**
 * Decodes one line (without its newline). Returns a problem sentence instead when the line is not a
 * record at all (the caller adds where).
 */
export function decodeRecord(line: Buffer): DecodedRecord | string {
  if (line.length < TAIL_LENGTH + 40) return `is ${line.length} bytes, too short to be a record`;
  const start = line.subarray(0, Math.min(line.length, 200)).toString('latin1');
  const m = PREFIX.exec(start);
  if (!m) return 'does not start like a record ({"seq":N,"recv":"…","prev":"…","event":)';
  const tailText = line.subarray(line.length - TAIL_LENGTH).toString('latin1');
  const t = HASH_TAIL.exec(tailText);
  if (!t) return 'does not end like a record (,"hash":"<64 hex>"})';
  const body = line.subarray(0, line.length - TAIL_LENGTH);
  const event = line.subarray(m[0].length, line.length - TAIL_LENGTH);
  return { seq: Number(m[1]), recv: m[2], prev: m[3], hash: t[1], computedHash: sha256Hex(body), event };
}

/** Splits a segment's bytes into lines; `torn` is a trailing part without a newline (an interrupted write). */
export function splitLines(data: Buffer): { lines: Buffer[]; offsets: number[]; torn: Buffer | undefined } {
  const lines: Buffer[] = [];
  const offsets: number[] = [];
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push(data.subarray(start, nl));
    offsets.push(start);
    start = nl + 1;
  }
  return { lines, offsets, torn: start < data.length ? data.subarray(start) : undefined };
}
