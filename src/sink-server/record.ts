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
 * of a store has `prev` = 64 zeros.
 *
 * The first record of each commit (one group commit = one write + fdatasync) also carries the commit's
 * authentication after its hash, in the same write:
 * ```
 * …,"hash":"<sha256 hex>","commit":{"records":5,"last":"<hash of the commit's last record>","sig":"<base64>"}}\n
 * ```
 * `sig` is the store key's MAC (HMAC-SHA256) or Ed25519 signature over {@link commitSigningInput}: the
 * commit's first sequence number, its record count and its last record's hash — which, through the chain,
 * fixes every record of the store up to there. Someone without the key can write records with the right
 * `seq`, `prev` and `hash`, but not a `commit` that verifies, so records not covered by a verified commit
 * (or by a signed head or digest) are never trusted. The commit field lies outside the hashed bytes, so
 * the hash chain is the same as in stores written before commits were signed. Pure: no I/O.
 */
import { createHash } from 'node:crypto';

/** `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

const PREFIX = /^\{"seq":(0|[1-9][0-9]{0,15}),"recv":"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z)","prev":"([0-9a-f]{64})","event":/;
const HASH_TAIL = /^,"hash":"([0-9a-f]{64})"(?:,"commit":\{"records":([1-9][0-9]{0,8}),"last":"([0-9a-f]{64})","sig":"([A-Za-z0-9+/]{1,400}={0,2})"\})?\}$/;
/** `,"hash":"` + 64 hex + `"}` */
const TAIL_LENGTH = 75;
/** The longest tail with a commit field (a 400-character signature is far above Ed25519's 88). */
const MAX_TAIL_LENGTH = TAIL_LENGTH + 12 + 20 + 8 + 64 + 9 + 400 + 3;
const HASH_KEY = Buffer.from(',"hash":"', 'latin1');

/** The bytes a commit's `sig` covers: a domain tag, so no other signed thing of the store can stand in for it. */
export function commitSigningInput(firstSeq: number, records: number, lastHash: string): Buffer {
  return Buffer.from(`cdk8s-audit/commit v1\n${firstSeq}\n${records}\n${lastHash}`, 'latin1');
}

/** The commit authentication of a commit's first record. */
export interface CommitMark {
  /** Records in the commit, this one included. */
  readonly records: number;
  /** Hash of the commit's last record. */
  readonly last: string;
  readonly sig: string;
}

/** Signs commits with the store key; every signature has `length` characters. */
export interface CommitSigner {
  readonly length: number;
  sign(data: Buffer): string;
}

/** A CommitSigner from a sign function (measures its signature length once). */
export function commitSigner(sign: (data: Buffer) => string): CommitSigner {
  return { length: sign(commitSigningInput(0, 1, GENESIS_HASH)).length, sign };
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface EncodedRecord {
  /** The whole line, newline included. */
  readonly line: Buffer;
  readonly hash: string;
}

/** Builds one record line. `event` is the event's JSON bytes (one object, no newline). Unsigned unless `sign` is given. */
export function encodeRecord(seq: number, recv: Date, prev: string, event: Buffer, sign?: CommitSigner): EncodedRecord {
  const { data, hashes } = encodeRecords(seq, recv, prev, [event], sign);
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
 * commit copies each event once and allocates once, which matters at hundreds of events per batch. With
 * `sign`, the first record carries the commit's signed mark (its length is known before the last hash
 * is, so the mark is filled into space left for it: still one buffer, one write).
 */
export function encodeRecords(firstSeq: number, recv: Date, prev: string, events: readonly Buffer[], sign?: CommitSigner): EncodedRecords {
  const recvPart = `,"recv":"${recv.toISOString()}","prev":"`;
  // {"seq":  N  ,"recv":"…","prev":"  <64 hex>  ","event":  EVENT  ,"hash":"<64 hex>"}  \n
  const fixed = 7 + recvPart.length + 64 + 10 + TAIL_LENGTH + 1;
  // ,"commit":{"records":  N  ,"last":"  <64 hex>  ","sig":"  SIG  "}
  const sigLength = sign && events.length ? sign.length : 0;
  const markLength = sigLength ? 21 + String(events.length).length + 9 + 64 + 9 + sigLength + 2 : 0;
  let size = markLength;
  for (let i = 0; i < events.length; i++) size += fixed + String(firstSeq + i).length + events[i].length;
  const data = Buffer.allocUnsafe(size);
  const hashes: string[] = new Array(events.length);
  const views: Buffer[] = new Array(events.length);
  let off = 0;
  let markAt = -1;
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
    off += data.write(`,"hash":"${prev}"`, off, 'latin1');
    if (i === 0 && markLength) {
      markAt = off;
      off += markLength;
    }
    off += data.write('}\n', off, 'latin1');
  }
  if (markAt >= 0) {
    const last = hashes[hashes.length - 1];
    const sig = sign!.sign(commitSigningInput(firstSeq, events.length, last));
    const mark = `,"commit":{"records":${events.length},"last":"${last}","sig":"${sig}"}`;
    if (mark.length !== markLength) throw new Error(`commit mark is ${mark.length} bytes, ${markLength} were reserved (a signature of varying length?)`);
    data.write(mark, markAt, 'latin1');
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
  /** The commit's signed mark, on the first record of a commit (stores written before commits were signed have none). */
  readonly commit?: CommitMark;
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
  // The last `,"hash":"` of the line starts the tail: the commit mark after it contains no such key.
  const window = Math.max(m[0].length, line.length - MAX_TAIL_LENGTH);
  const at = line.lastIndexOf(HASH_KEY);
  const t = at >= window ? HASH_TAIL.exec(line.subarray(at).toString('latin1')) : null;
  if (!t) return 'does not end like a record (,"hash":"<64 hex>"} or a commit mark after the hash)';
  const body = line.subarray(0, at);
  const event = line.subarray(m[0].length, at);
  const commit = t[2] ? { records: Number(t[2]), last: t[3], sig: t[4] } : undefined;
  return { seq: Number(m[1]), recv: m[2], prev: m[3], hash: t[1], computedHash: sha256Hex(body), event, ...(commit ? { commit } : {}) };
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
