/**
 * Verifies a sink store offline: every record's hash and its link to the previous record, sequence numbers
 * without gaps or reorders, every sealed segment against its signed digest, the digest chain, the open
 * segment against the signed head, and the retention anchor. Stops at the first bad place and names it
 * (file, record number, sequence number, what is wrong). Only reads.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ANCHOR_FILE, AnchorDocument, DIGEST_RE, digestName, HEAD_FILE, HeadDocument, SEGMENT_RE, SegmentDigest } from './layout';
import { decodeRecord, GENESIS_HASH, sha256Hex, splitLines } from './record';
import { signatureProblem, SigningKey } from './signing';

export interface VerifyOptions {
  /**
   * Accept records after the signed head in the open segment (a crash between the fsync and the head
   * update leaves such records; the sink signs them when it restarts). They are reported as a note.
   * @default false
   */
  readonly allowUnsignedTail?: boolean;
  /** Receives each verified event's JSON, in order, once its whole segment has verified. */
  readonly onEvent?: (event: Buffer, seq: number) => void;
}

export interface VerifyProblem {
  /** The file where the store first goes wrong. */
  readonly file: string;
  /** 1-based record (line) number in that file, when the problem is a record. */
  readonly record?: number;
  /** The record's sequence number, when known. */
  readonly seq?: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** The first bad place; undefined when ok. */
  readonly problem?: VerifyProblem;
  readonly segments: number;
  readonly records: number;
  /** First and last sequence numbers verified. */
  readonly firstSeq?: number;
  readonly lastSeq?: number;
  readonly notes: string[];
}

/** `file record N (seq S): message` */
export function formatProblem(p: VerifyProblem): string {
  const where = p.record !== undefined ? ` record ${p.record}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}` : '';
  return `${p.file}${where}: ${p.message}`;
}

class Found extends Error {
  constructor(readonly problem: VerifyProblem) {
    super(formatProblem(problem));
  }
}

const fail = (file: string, message: string, record?: number, seq?: number): never => {
  throw new Found({ file, message, record, seq });
};

async function readSigned<T>(dir: string, name: string, key: SigningKey): Promise<{ doc: T; text: string } | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return fail(name, `cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail(name, 'is not JSON: the file was modified or truncated');
  }
  const problem = signatureProblem(key, doc);
  if (problem) fail(name, problem);
  return { doc: doc as T, text };
}

export async function verifyStore(dir: string, key: SigningKey, options: VerifyOptions = {}): Promise<VerifyReport> {
  const notes: string[] = [];
  let segmentsChecked = 0;
  let records = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  try {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      return fail(dir, `cannot be read (${(e as NodeJS.ErrnoException).code}); pass the sink's --store directory`);
    }
    const anchor = await readSigned<AnchorDocument>(dir, ANCHOR_FILE, key);
    const head = await readSigned<HeadDocument>(dir, HEAD_FILE, key);
    if (!head) fail(HEAD_FILE, `is missing: ${names.some((n) => SEGMENT_RE.test(n)) ? 'the signed head was deleted' : `${dir} is not a sink store (no head.json)`}`);
    const h = head!.doc;
    let seq = anchor ? anchor.doc.lastSeq : 0;
    let prevHash = anchor ? anchor.doc.lastHash : GENESIS_HASH;
    let prevDigest: string | null = anchor ? anchor.doc.digestSha256 : null;
    if (anchor) notes.push(`retention deleted records up to seq ${anchor.doc.lastSeq} (${anchor.doc.deletedThrough}, ${anchor.doc.deletedAt}: ${anchor.doc.reason})`);

    let segments = names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ name: m[0], firstSeq: Number(m[1]) }))
      .sort((a, b) => a.firstSeq - b.firstSeq);
    const digests = new Set(names.filter((n) => DIGEST_RE.test(n)));
    if (anchor) {
      const leftovers = segments.filter((s) => s.firstSeq <= anchor.doc.lastSeq);
      for (const s of leftovers) {
        const d = digests.has(digestName(s.name)) ? await readSigned<SegmentDigest>(dir, digestName(s.name), key) : undefined;
        if (!d || d.doc.lastSeq > anchor.doc.lastSeq) fail(s.name, `starts at seq ${s.firstSeq}, inside the range retention deleted (up to ${anchor.doc.lastSeq}), without a digest ending there`);
        digests.delete(digestName(s.name));
        notes.push(`${s.name}: deleted by retention per anchor.json but still present (the sink removes it on start); not checked`);
      }
      segments = segments.filter((s) => s.firstSeq > anchor.doc.lastSeq);
    }

    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const isLast = i === segments.length - 1;
      if (seg.firstSeq !== seq + 1) {
        if (seg.firstSeq > seq + 1) fail(seg.name, `starts at seq ${seg.firstSeq} but the records before end at seq ${seq}: the segment(s) holding seq ${seq + 1}–${seg.firstSeq - 1} were deleted`);
        fail(seg.name, `starts at seq ${seg.firstSeq}, not after seq ${seq}: segments overlap or were renamed`);
      }
      const dName = digestName(seg.name);
      const hasDigest = digests.delete(dName);
      if (!hasDigest && !isLast) fail(dName, `is missing: ${seg.name} was sealed (a newer segment follows) but its signed digest was deleted`);
      let digest: { doc: SegmentDigest; text: string } | undefined;
      if (hasDigest) {
        digest = await readSigned<SegmentDigest>(dir, dName, key);
        const d = digest!.doc;
        if (d.segment !== seg.name || d.firstSeq !== seg.firstSeq) fail(dName, `describes ${d.segment} (first seq ${d.firstSeq}), not ${seg.name}: digests were swapped or renamed`);
        if (d.previousDigestSha256 !== prevDigest) fail(dName, `does not name the previous digest (${prevDigest ?? 'none: first segment'}): a digest before it was modified, replaced or deleted`);
        if (d.firstPrev !== prevHash) fail(dName, "says the segment's first record follows a different record than the previous segment's last one");
      }
      const startHash = prevHash;
      const data = await fsp.readFile(join(dir, seg.name));
      const { lines, torn } = splitLines(data);
      const pending: { event: Buffer; seq: number }[] = [];
      for (let r = 0; r < lines.length; r++) {
        const rec = decodeRecord(lines[r]);
        const n = r + 1;
        if (typeof rec === 'string') fail(seg.name, `is not a record: it ${rec} (bytes changed, or the line was cut or joined)`, n, seq + 1);
        const d = rec as Exclude<typeof rec, string>;
        if (d.seq !== seq + 1) {
          if (d.seq <= seq) fail(seg.name, `has seq ${d.seq} after seq ${seq}: records were reordered or duplicated`, n, d.seq);
          fail(seg.name, `has seq ${d.seq} right after seq ${seq}: the records with seq ${seq + 1}–${d.seq - 1} were deleted`, n, d.seq);
        }
        if (d.computedHash !== d.hash) fail(seg.name, 'does not match its own hash: the record was modified', n, d.seq);
        if (d.prev !== prevHash) fail(seg.name, "does not name the previous record's hash: a record before it was modified, removed or reordered", n, d.seq);
        let event: unknown;
        try {
          event = JSON.parse(d.event.toString('utf8'));
        } catch {
          fail(seg.name, 'holds an event that is not JSON', n, d.seq);
        }
        const ev = event as { auditID?: unknown; stage?: unknown } | null;
        if (!ev || typeof ev !== 'object' || typeof ev.auditID !== 'string' || typeof ev.stage !== 'string') fail(seg.name, 'holds JSON that is not an audit event (no auditID/stage)', n, d.seq);
        seq = d.seq;
        prevHash = d.hash;
        firstSeq ??= d.seq;
        lastSeq = d.seq;
        pending.push({ event: d.event, seq: d.seq });
        records++;
      }
      const endsAt = `ends at seq ${seq}${lines.length ? ` (record ${lines.length})` : ' (empty)'}`;
      if (digest) {
        const d = digest.doc;
        if (torn) fail(seg.name, `${endsAt} followed by ${torn.length} bytes without a newline: the segment was cut inside a record or bytes were appended`, lines.length + 1);
        if (seq < d.lastSeq) fail(seg.name, `${endsAt} but its signed digest says it ends at seq ${d.lastSeq}: records were removed from the end (truncated)`, lines.length);
        if (seq > d.lastSeq) fail(seg.name, `${endsAt} but its signed digest says it ends at seq ${d.lastSeq}: records were appended after sealing`, lines.length);
        if (prevHash !== d.lastHash) fail(seg.name, 'its last record does not have the hash its signed digest recorded: records were replaced', lines.length, seq);
        if (data.length !== d.bytes || sha256Hex(data) !== d.sha256) fail(seg.name, `its bytes (${data.length}) do not match the signed digest (${d.bytes} bytes, sha256 ${d.sha256.slice(0, 12)}…)`);
        prevDigest = sha256Hex(digest.text);
      } else {
        // The open segment: checked against the signed head.
        if (h.segment !== seg.name) fail(HEAD_FILE, `names ${h.segment} as the open segment, but the newest segment is ${seg.name}`);
        if (h.firstSeq !== seg.firstSeq || h.previousDigestSha256 !== prevDigest) fail(HEAD_FILE, `does not match the digest chain before ${seg.name}: the head or a digest was replaced`);
        if (seq < h.lastSeq) fail(seg.name, `${endsAt} but the signed head says the newest record is seq ${h.lastSeq}: records were removed from the end (truncated)`, lines.length);
        if (torn && !options.allowUnsignedTail) fail(seg.name, `${endsAt} followed by ${torn.length} bytes without a newline: cut inside a record, or an interrupted write the sink has not recovered yet`, lines.length + 1);
        if (seq > h.lastSeq) {
          const extra = seq - h.lastSeq;
          if (!options.allowUnsignedTail) {
            fail(seg.name, `holds ${extra} record(s) after the signed head (seq ${h.lastSeq + 1}–${seq}): appended by someone else, or written just before a crash — restart the sink to sign them, or pass --allow-unsigned-tail`, lines.length - extra + 1, h.lastSeq + 1);
          }
          notes.push(`${seg.name}: ${extra} record(s) after the signed head (seq ${h.lastSeq + 1}–${seq}) are not covered by a signature`);
        }
        const headLine = h.lastSeq - seg.firstSeq + 1;
        if (headLine >= 1) {
          const rec = decodeRecord(lines[headLine - 1]) as Exclude<ReturnType<typeof decodeRecord>, string>;
          if (rec.hash !== h.lastHash) fail(seg.name, 'does not have the hash the signed head recorded for it: records were replaced', headLine, h.lastSeq);
        } else if (h.lastHash !== startHash) {
          fail(HEAD_FILE, "names a newest-record hash that is not the previous segment's last record: the head or a digest was replaced");
        }
        if (seq === h.lastSeq && h.bytes !== data.length) fail(seg.name, `is ${data.length} bytes but the signed head says ${h.bytes}: bytes were added or removed`);
      }
      segmentsChecked++;
      if (options.onEvent) for (const p of pending) options.onEvent(p.event, p.seq);
    }
    if (digests.size > 0) {
      const orphan = [...digests].sort()[0];
      fail(orphan, `has no segment: ${orphan.replace(/\.digest\.json$/, '.jsonl')} was deleted`);
    }
    const last = segments[segments.length - 1];
    if (!last) {
      fail(h.segment, `is missing: the signed head names it as the open segment${h.lastSeq > seq ? ` holding records up to seq ${h.lastSeq}` : ''}; the segments were deleted`);
    } else if (names.includes(digestName(last.name)) && h.segment !== last.name) {
      // Every segment is sealed: only a crash between sealing and opening the next leaves the head on the sealed one.
      fail(h.segment, `is missing: the signed head names it as the open segment (after ${last.name})${h.lastSeq > seq ? ` holding records up to seq ${h.lastSeq}` : ''}; it was deleted`);
    } else if (names.includes(digestName(last.name)) && h.segment === last.name && h.lastSeq !== seq) {
      fail(last.name, `ends at seq ${seq} but the signed head says seq ${h.lastSeq}`);
    }
    return { ok: true, segments: segmentsChecked, records, firstSeq, lastSeq, notes };
  } catch (e) {
    if (e instanceof Found) return { ok: false, problem: e.problem, segments: segmentsChecked, records, firstSeq, lastSeq, notes };
    throw e;
  }
}
