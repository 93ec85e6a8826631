/**
 * Verifies a sink store: every record's hash and its link to the previous record, sequence numbers without
 * gaps or reorders, every sealed segment against its signed digest, the digest chain, the open segment's
 * commit signatures and the signed head, the retention anchor, and that quarantine/ is empty. Stops at the
 * first bad place and names it (file, record number, sequence number, what is wrong). Only reads.
 *
 * Safe on a store the sink is writing: head.json is read first and is the snapshot (what a truncation is
 * checked against); the directory is listed after it and the anchor after the listing, so rotation and
 * retention during the run are seen in an order they happen in. Records past the head must be covered by
 * their commit signatures (or a digest) like any others; an unfinished commit at the very end (a write in
 * progress) is "not yet in the snapshot". A file that retention deletes while it is being read makes the
 * run start over (events already written are not written again).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ANCHOR_FILE, AnchorDocument, DIGEST_RE, digestName, HEAD_FILE, HeadDocument, QUARANTINE_DIR, SEGMENT_RE, SegmentDigest } from './layout';
import { authenticatedFrontier } from './store';
import { decodeRecord, DecodedRecord, GENESIS_HASH, sha256Hex, splitLines } from './record';
import { signatureProblem, SigningKey } from './signing';

export interface VerifyOptions {
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

/** A file listed a moment ago is gone: retention ran meanwhile; verify starts over. */
class Vanished extends Error {}

/** How often a run is started over when the live store changed under it. */
const MAX_ATTEMPTS = 5;

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
  // Events are written once even when a run starts over: later runs skip what earlier ones wrote.
  let emittedThrough = -1;
  const onEvent = options.onEvent
    ? (event: Buffer, seq: number) => {
        if (seq <= emittedThrough) return;
        emittedThrough = seq;
        options.onEvent!(event, seq);
      }
    : undefined;
  let report: VerifyReport | undefined;
  for (let attempt = 1; ; attempt++) {
    const headBefore = await fsp.readFile(join(dir, HEAD_FILE), 'utf8').catch(() => '');
    try {
      report = await verifyOnce(dir, key, onEvent);
    } catch (e) {
      if (!(e instanceof Vanished) || attempt >= MAX_ATTEMPTS) throw e instanceof Vanished ? new Error(`${dir}: files kept disappearing while verify read them (${e.message}); retention is deleting faster than verify reads — retry`) : e;
      continue;
    }
    if (report.ok || attempt >= MAX_ATTEMPTS) break;
    // A failure on a store whose head moved meanwhile may be a change verify saw half of: look again.
    const headAfter = await fsp.readFile(join(dir, HEAD_FILE), 'utf8').catch(() => '');
    if (headAfter === headBefore) break;
  }
  return report;
}

async function readOrVanish(dir: string, name: string): Promise<Buffer> {
  try {
    return await fsp.readFile(join(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Vanished(name);
    return fail(name, `cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
}

async function verifyOnce(dir: string, key: SigningKey, onEvent: ((event: Buffer, seq: number) => void) | undefined): Promise<VerifyReport> {
  const notes: string[] = [];
  let segmentsChecked = 0;
  let records = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  try {
    // The head first: it is the snapshot. Then the listing, then the anchor (retention writes the anchor before deleting).
    const head = await readSigned<HeadDocument>(dir, HEAD_FILE, key);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      return fail(dir, `cannot be read (${(e as NodeJS.ErrnoException).code}); pass the sink's --store directory`);
    }
    if (!head) fail(HEAD_FILE, `is missing: ${names.some((n) => SEGMENT_RE.test(n)) ? 'the signed head was deleted' : `${dir} is not a sink store (no head.json)`}`);
    const h = head!.doc;
    const anchor = await readSigned<AnchorDocument>(dir, ANCHOR_FILE, key);
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
        const d = await readSigned<SegmentDigest>(dir, digestName(s.name), key);
        // Gone meanwhile: retention finished deleting it while verify ran.
        if (!d && !(await exists(dir, s.name))) continue;
        if (!d || d.doc.lastSeq > anchor.doc.lastSeq) fail(s.name, `starts at seq ${s.firstSeq}, inside the range retention deleted (up to ${anchor.doc.lastSeq}), without a digest ending there`);
        notes.push(`${s.name}: deleted by retention per anchor.json but still present (the sink removes it on start); not checked`);
      }
      segments = segments.filter((s) => s.firstSeq > anchor.doc.lastSeq);
      for (const d of [...digests]) if (Number(DIGEST_RE.exec(d)![1]) <= anchor.doc.lastSeq) digests.delete(d);
    }

    let sawHeadSegment = false;
    let pastHead = 0;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const isLast = i === segments.length - 1;
      if (seg.firstSeq !== seq + 1) {
        if (seg.firstSeq > seq + 1) fail(seg.name, `starts at seq ${seg.firstSeq} but the records before end at seq ${seq}: the segment(s) holding seq ${seq + 1}–${seg.firstSeq - 1} were deleted`);
        fail(seg.name, `starts at seq ${seg.firstSeq}, not after seq ${seq}: segments overlap or were renamed`);
      }
      const dName = digestName(seg.name);
      digests.delete(dName);
      // Read, not taken from the listing: a segment sealed after the listing has its digest by now.
      const digest = await readSigned<SegmentDigest>(dir, dName, key);
      if (!digest && !isLast) fail(dName, `is missing: ${seg.name} was sealed (a newer segment follows) but its signed digest was deleted`);
      if (digest) {
        const d = digest.doc;
        if (d.segment !== seg.name || d.firstSeq !== seg.firstSeq) fail(dName, `describes ${d.segment} (first seq ${d.firstSeq}), not ${seg.name}: digests were swapped or renamed`);
        if (d.previousDigestSha256 !== prevDigest) fail(dName, `does not name the previous digest (${prevDigest ?? 'none: first segment'}): a digest before it was modified, replaced or deleted`);
        if (d.firstPrev !== prevHash) fail(dName, "says the segment's first record follows a different record than the previous segment's last one");
      }
      const startHash = prevHash;
      const startDigest = prevDigest;
      const data = await readOrVanish(dir, seg.name);
      const { lines, offsets, torn } = splitLines(data);
      const decoded: DecodedRecord[] = [];
      for (let r = 0; r < lines.length; r++) {
        const rec = decodeRecord(lines[r]);
        const n = r + 1;
        if (typeof rec === 'string') fail(seg.name, `is not a record: it ${rec} (bytes changed, or the line was cut or joined)`, n, seq + 1);
        const d = rec as DecodedRecord;
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
        decoded.push(d);
      }
      const endsAt = `ends at seq ${seq}${lines.length ? ` (record ${lines.length})` : ' (empty)'}`;
      // How many records of this segment are verified (the rest is an unfinished commit, not yet in the snapshot).
      let verified = decoded.length;
      if (seg.name === h.segment) {
        sawHeadSegment = true;
        if (h.firstSeq !== seg.firstSeq || h.previousDigestSha256 !== startDigest) fail(HEAD_FILE, `does not match the digest chain before ${seg.name}: the head or a digest was replaced`);
        if (seq < h.lastSeq) fail(seg.name, `${endsAt} but the signed head says the newest record is seq ${h.lastSeq}: records were removed from the end (truncated)`, lines.length);
        const headLine = h.lastSeq - seg.firstSeq + 1;
        if (headLine >= 1) {
          if (decoded[headLine - 1].hash !== h.lastHash) fail(seg.name, 'does not have the hash the signed head recorded for it: records were replaced', headLine, h.lastSeq);
          const end = offsets[headLine - 1] + lines[headLine - 1].length + 1;
          if (h.bytes !== end) fail(seg.name, `holds ${end} bytes up to seq ${h.lastSeq}, but the signed head says ${h.bytes}: bytes were added or removed`);
        } else if (h.lastHash !== startHash) {
          fail(HEAD_FILE, "names a newest-record hash that is not the previous segment's last record: the head or a digest was replaced");
        } else if (h.bytes !== 0) {
          fail(seg.name, `the signed head says ${h.bytes} bytes before its first record: bytes were removed`);
        }
      } else if (!sawHeadSegment && seg.firstSeq <= h.lastSeq && !digest) {
        fail(HEAD_FILE, `names ${h.segment} as the open segment, but the newest segment is ${seg.name}`);
      }
      if (digest) {
        const d = digest.doc;
        if (torn) fail(seg.name, `${endsAt} followed by ${torn.length} bytes without a newline: the segment was cut inside a record or bytes were appended`, lines.length + 1);
        if (seq < d.lastSeq) fail(seg.name, `${endsAt} but its signed digest says it ends at seq ${d.lastSeq}: records were removed from the end (truncated)`, lines.length);
        if (seq > d.lastSeq) fail(seg.name, `${endsAt} but its signed digest says it ends at seq ${d.lastSeq}: records were appended after sealing`, lines.length);
        if (prevHash !== d.lastHash) fail(seg.name, 'its last record does not have the hash its signed digest recorded: records were replaced', lines.length, seq);
        if (data.length !== d.bytes || sha256Hex(data) !== d.sha256) fail(seg.name, `its bytes (${data.length}) do not match the signed digest (${d.bytes} bytes, sha256 ${d.sha256.slice(0, 12)}…)`);
        prevDigest = sha256Hex(digest.text);
      } else {
        // The open segment: trusted through the signed head and the commit signatures.
        const f = authenticatedFrontier(decoded, key, seg.name === h.segment ? h : undefined);
        if (f.badMark !== undefined) fail(seg.name, 'has a commit signature that does not verify with the key: the record was modified', f.badMark + 1, decoded[f.badMark].seq);
        if (f.trusted < decoded.length && !f.cut) {
          const from = decoded[f.trusted];
          fail(
            seg.name,
            `holds ${decoded.length - f.trusted} record(s) (seq ${from.seq}–${seq}) that no signature of the key covers (no commit signature, the head or a digest): written without the key. ` +
              'The sink moves them to quarantine/ when it starts and never serves them',
            f.trusted + 1,
            from.seq,
          );
        }
        if (f.trusted < decoded.length || torn) {
          const unfinished = decoded.length - f.trusted;
          notes.push(
            `${seg.name}: ${unfinished ? `${unfinished} record(s) from seq ${decoded[f.trusted].seq} ` : ''}${torn ? `${unfinished ? 'and ' : ''}${torn.length} byte(s) without a newline ` : ''}` +
              'at the end are an unfinished commit, not yet in the snapshot (a write in progress, or one a crash cut short: never acknowledged, the sink discards it on start)',
          );
        }
        verified = f.trusted;
        if (verified > 0) seq = decoded[verified - 1].seq;
        prevHash = verified > 0 ? decoded[verified - 1].hash : startHash;
        const afterHead = decoded.slice(0, verified).filter((r) => r.seq > h.lastSeq).length;
        pastHead += afterHead;
      }
      for (let r = 0; r < verified; r++) {
        firstSeq ??= decoded[r].seq;
        lastSeq = decoded[r].seq;
        records++;
      }
      segmentsChecked++;
      if (onEvent) for (let r = 0; r < verified; r++) onEvent(decoded[r].event, decoded[r].seq);
    }
    if (pastHead > 0) notes.push(`${pastHead} record(s) after the head (seq ${h.lastSeq + 1}–${seq}) are covered by their commit signatures (committed while verify ran, or head.json lags after a crash or a full disk)`);
    for (const orphan of [...digests].sort()) {
      if (await exists(dir, orphan)) fail(orphan, `has no segment: ${orphan.replace(/\.digest\.json$/, '.jsonl')} was deleted`);
    }
    if (!sawHeadSegment) fail(h.segment, `is missing: the signed head names it as the open segment${h.lastSeq > seq ? ` holding records up to seq ${h.lastSeq}` : ''}; it was deleted`);
    const quarantined = await fsp.readdir(join(dir, QUARANTINE_DIR)).catch(() => [] as string[]);
    if (quarantined.length > 0) {
      fail(
        `${QUARANTINE_DIR}/${quarantined.sort()[0]}`,
        `holds records the sink refused when it started because no signature of the key covers them (written without the key); they are not part of the store${quarantined.length > 1 ? ` (${quarantined.length} files)` : ''}. ` +
          'Keep them as evidence outside the store directory to clear this',
      );
    }
    return { ok: true, segments: segmentsChecked, records, firstSeq, lastSeq, notes };
  } catch (e) {
    if (e instanceof Found) return { ok: false, problem: e.problem, segments: segmentsChecked, records, firstSeq, lastSeq, notes };
    throw e;
  }
}

async function exists(dir: string, name: string): Promise<boolean> {
  return fsp.access(join(dir, name)).then(
    () => true,
    () => false,
  );
}
