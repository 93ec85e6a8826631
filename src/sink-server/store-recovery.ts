/**
 * Opening a store: what it trusts of what it finds. The sealed segments as their signed digests (chained to
 * the retention anchor) describe them; the newest segment up to its authenticated frontier (a commit mark or
 * the signed head), with what lies past it discarded (a cut commit of the sink's own) or quarantined; the signed
 * head checked against both. Anything else refuses the store, naming the first bad place.
 */
import { createHash, Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ANCHOR_FILE, AnchorDocument, DIGEST_RE, digestName, HeadDocument, QUARANTINE_DIR, SEGMENT_RE, SegmentDigest } from './layout';
import { Logger } from './metrics';
import { commitSigningInput, decodeRecord, DecodedRecord, GENESIS_HASH, sha256Hex, splitLines } from './record';
import { signatureProblem, SigningKey } from './signing';
import { indexEvent } from './store-dedupe';
import { StoreOpenError } from './store-errors';
import { writeFileDurable } from './store-files';
import { SealedSegment } from './store-retention';

/** The store is modified or damaged: the sink refuses it and says how to find the first bad place. */
export function damagedStore(dir: string, what: string): StoreOpenError {
  return new StoreOpenError(
    `store ${dir}: ${what}. The store was modified or damaged; the sink will not append to it. ` +
      `Run 'cdk8s-audit sink verify --store ${dir} --key KEYFILE' for the first bad place, keep the directory as evidence, and start the sink on a new --store`,
  );
}

/** A signed JSON document of the store whose signature verifies with the key; undefined when the file is absent. */
export async function readSignedFile<T>(dir: string, key: SigningKey, name: string): Promise<{ doc: T; text: string } | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw damagedStore(dir, `${name} is not JSON`);
  }
  const problem = signatureProblem(key, doc);
  if (problem) throw damagedStore(dir, `${name} ${problem}`);
  return { doc: doc as T, text };
}

/** A timestamp of a signed document, or the refusal naming the field. */
export function isoOrThrow(s: unknown, what: string): Date {
  const d = typeof s === 'string' ? new Date(s) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new StoreOpenError(`${what}: not a timestamp`);
  return d;
}

export interface Frontier {
  /** How many of the records (from the first) a signature of the key covers. */
  readonly trusted: number;
  /** The records after `trusted` are one commit the sink itself started (its signed mark verifies) whose last records are missing. */
  readonly cut: boolean;
  /** Index of the first record within `trusted` whose commit mark does not verify (it was modified), if any. */
  readonly badMark?: number;
}

/**
 * How many of a segment's chained records (each following the previous one) are covered by a signature:
 * a commit mark that verifies and whose last record is present with the hash it names (that fixes every
 * record before it too), or the signed head's position (stores written before commits were signed rely on
 * it). Pure apart from the key's verify.
 */
export function authenticatedFrontier(records: readonly DecodedRecord[], key: SigningKey, head?: Pick<HeadDocument, 'lastSeq' | 'lastHash'>): Frontier {
  let trusted = 0;
  let cutAt = -1;
  if (records.length && head) {
    const n = head.lastSeq - records[0].seq + 1;
    if (n >= 1 && n <= records.length && records[n - 1].hash === head.lastHash) trusted = n;
  }
  const bad: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const c = records[i].commit;
    if (!c) continue;
    const end = i + c.records;
    if (!key.verify(commitSigningInput(records[i].seq, c.records, c.last), c.sig) || (end <= records.length && records[end - 1].hash !== c.last)) {
      bad.push(i);
      continue;
    }
    if (end <= records.length) trusted = Math.max(trusted, end);
    else if (i === trusted) cutAt = i;
  }
  const badMark = bad.find((i) => i < trusted);
  return { trusted, cut: cutAt >= 0 && cutAt === trusted, ...(badMark !== undefined ? { badMark } : {}) };
}

/** What opening needs besides the directory: the key, the log, the clock and the dedupe index to rebuild. */
export interface RecoveryContext {
  readonly dir: string;
  readonly key: SigningKey;
  readonly log: Logger;
  readonly now: () => Date;
  /** Events stored at or after this time (ms) go back into the dedupe index. */
  readonly windowStart: number;
  readonly dedupe: Map<string, number>;
}

/** The sealed part of a store, as the signed anchor and digests describe it. */
export interface SealedScan {
  readonly anchor?: AnchorDocument;
  /** Oldest first. */
  readonly sealed: SealedSegment[];
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly previousDigestSha256: string | null;
  /** The hash of each sequence number a signed document names (anchor, digests; the reopened segment adds its records). */
  readonly known: Map<number, string>;
  /** The newest segment when it has no digest yet: it is reopened for appending. */
  readonly open?: { readonly name: string; readonly firstSeq: number };
}

/**
 * Reads the anchor and the sealed segments' digests: every digest signed, chained to the previous one and
 * describing its segment's size and first record; finishes a retention interrupted between writing the anchor
 * and deleting; rebuilds the dedupe index from segments sealed within the window.
 */
export async function scanSealedSegments(ctx: RecoveryContext): Promise<SealedScan> {
  const names = await fsp.readdir(ctx.dir);
  const anchor = await readSignedFile<AnchorDocument>(ctx.dir, ctx.key, ANCHOR_FILE);
  let seq = 0;
  let hash = GENESIS_HASH;
  let digestSha: string | null = null;
  const known = new Map<number, string>([[0, GENESIS_HASH]]);
  if (anchor) {
    seq = anchor.doc.lastSeq;
    hash = anchor.doc.lastHash;
    digestSha = anchor.doc.digestSha256;
    known.set(seq, hash);
  }
  const segments = names
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], firstSeq: Number(m[1]) }))
    .sort((x, y) => x.firstSeq - y.firstSeq);
  const digests = new Set(names.filter((n) => DIGEST_RE.test(n)));
  const sealed: SealedSegment[] = [];
  let open: { name: string; firstSeq: number } | undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const dName = digestName(seg.name);
    if (anchor && seg.firstSeq <= anchor.doc.lastSeq) {
      // Retention wrote the anchor and was interrupted before deleting: finish the job.
      await fsp.rm(join(ctx.dir, seg.name), { force: true });
      await fsp.rm(join(ctx.dir, dName), { force: true });
      ctx.log.info('completed interrupted retention', { segment: seg.name });
      continue;
    }
    if (seg.firstSeq !== seq + 1) {
      throw damagedStore(ctx.dir, `${seg.name} starts at sequence ${seg.firstSeq} but the previous segment ends at ${seq}: segment(s) missing`);
    }
    if (!digests.has(dName)) {
      if (i !== segments.length - 1) throw damagedStore(ctx.dir, `${seg.name} has no digest but is not the newest segment`);
      open = seg;
      break;
    }
    digests.delete(dName);
    const signed = await readSignedFile<SegmentDigest>(ctx.dir, ctx.key, dName);
    const d = signed!.doc;
    if (d.segment !== seg.name || d.firstSeq !== seg.firstSeq) throw damagedStore(ctx.dir, `${dName} describes ${d.segment} (first ${d.firstSeq}), not ${seg.name}`);
    if (d.firstPrev !== hash) throw damagedStore(ctx.dir, `${dName}: the segment's first record does not follow the previous segment's last record`);
    if (d.previousDigestSha256 !== digestSha) throw damagedStore(ctx.dir, `${dName} does not name the previous digest`);
    const st = await fsp.stat(join(ctx.dir, seg.name));
    if (st.size !== d.bytes) throw damagedStore(ctx.dir, `${seg.name} is ${st.size} bytes but its signed digest says ${d.bytes}`);
    const sealedAt = isoOrThrow(d.sealedAt, `${dName} sealedAt`);
    if (sealedAt.getTime() >= ctx.windowStart) await indexSegment(ctx, seg.name);
    digestSha = sha256Hex(signed!.text);
    sealed.push({ name: seg.name, firstSeq: d.firstSeq, lastSeq: d.lastSeq, lastHash: d.lastHash, digestSha256: digestSha, sealedAt, bytes: d.bytes + Buffer.byteLength(signed!.text) });
    seq = d.lastSeq;
    hash = d.lastHash;
    known.set(seq, hash);
  }
  if (digests.size > 0) throw damagedStore(ctx.dir, `digest ${[...digests][0]} has no segment: the segment was deleted`);
  return { ...(anchor ? { anchor: anchor.doc } : {}), sealed, lastSeq: seq, lastHash: hash, previousDigestSha256: digestSha, known, ...(open ? { open } : {}) };
}

async function indexSegment(ctx: RecoveryContext, name: string): Promise<void> {
  const { lines } = splitLines(await fsp.readFile(join(ctx.dir, name)));
  for (const line of lines) {
    const r = decodeRecord(line);
    if (typeof r !== 'string') indexEvent(ctx.dedupe, r.event, Date.parse(r.recv), ctx.windowStart);
  }
}

/** The newest segment reopened for appending, and where the store now ends. */
export interface ReopenedSegment {
  readonly name: string;
  readonly firstSeq: number;
  readonly firstPrev: string;
  readonly openedAt: Date;
  readonly fh: fsp.FileHandle;
  readonly bytes: number;
  readonly records: number;
  readonly hash: Hash;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** Records moved to quarantine/ (no signature of the key covers them). */
  readonly quarantined: number;
}

/**
 * Opens the newest segment for appending. Its records are trusted up to the authenticated frontier: the
 * end of the last commit whose signed mark verifies with the key, or the position the signed head names,
 * whichever is later. After the frontier: a commit the sink started (its mark verifies) cut short by a crash
 * is discarded (never acknowledged); any other record is moved to quarantine/ and reported; never signed.
 * `after` is where the sealed segments end; `known` gains the hash of every trusted record.
 */
export async function reopenSegment(
  ctx: RecoveryContext,
  seg: { readonly name: string; readonly firstSeq: number },
  after: { readonly lastSeq: number; readonly lastHash: string },
  known: Map<number, string>,
  head: HeadDocument | undefined,
): Promise<ReopenedSegment> {
  const path = join(ctx.dir, seg.name);
  let data = await fsp.readFile(path);
  const { lines, offsets, torn } = splitLines(data);
  const records: DecodedRecord[] = [];
  let seq = after.lastSeq;
  let prev = after.lastHash;
  lines.forEach((line, i) => {
    const r = decodeRecord(line);
    const where = `${seg.name} record ${i + 1}`;
    if (typeof r === 'string') throw damagedStore(ctx.dir, `${where} ${r}`);
    if (r.seq !== seq + 1) throw damagedStore(ctx.dir, `${where} has sequence ${r.seq}, expected ${seq + 1}`);
    if (r.prev !== prev) throw damagedStore(ctx.dir, `${where} does not name the previous record's hash`);
    if (r.computedHash !== r.hash) throw damagedStore(ctx.dir, `${where} does not match its hash (modified)`);
    seq = r.seq;
    prev = r.hash;
    records.push(r);
  });
  const { trusted, cut, badMark } = authenticatedFrontier(records, ctx.key, head);
  if (badMark !== undefined) throw damagedStore(ctx.dir, `${seg.name} record ${badMark + 1} has a commit signature that does not verify with the key (modified)`);
  // The signed head must be within what is trusted, or records were removed or replaced: refuse before changing anything.
  const trustedLastSeq = trusted ? records[trusted - 1].seq : after.lastSeq;
  if (head && head.lastSeq > trustedLastSeq && head.lastSeq >= seg.firstSeq) {
    if (head.lastSeq > seq) throw damagedStore(ctx.dir, `head.json (signed) says the newest record is ${head.lastSeq} but the store ends at ${seq}: records were removed`);
    throw damagedStore(ctx.dir, `record ${head.lastSeq} does not have the hash head.json (signed) recorded for it: records were modified`);
  }
  let quarantined = 0;
  if (trusted < records.length || torn) {
    const from = trusted < records.length ? offsets[trusted] : data.length - torn!.length;
    const tail = data.subarray(from);
    if (trusted < records.length && !cut) {
      const qName = `${seg.name.replace(/\.jsonl$/, '')}.from-seq-${records[trusted].seq}.${ctx.now().getTime()}.jsonl`;
      await fsp.mkdir(join(ctx.dir, QUARANTINE_DIR), { recursive: true, mode: 0o700 });
      await writeFileDurable(join(ctx.dir, QUARANTINE_DIR), qName, tail);
      quarantined = records.length - trusted;
      ctx.log.error('quarantined records that no signature of the key covers (written without the key, or by a version of the sink before commits were signed, after its last head); they are not part of the store; sink verify fails until quarantine/ is moved out', {
        segment: seg.name,
        fromSeq: records[trusted].seq,
        toSeq: records[records.length - 1].seq,
        records: records.length - trusted,
        file: `${QUARANTINE_DIR}/${qName}`,
      });
    } else {
      ctx.log.warn('discarded the end of the open segment: a commit interrupted by a crash, never acknowledged', { segment: seg.name, bytes: tail.length, records: records.length - trusted });
    }
    data = data.subarray(0, from);
    await fsp.truncate(path, data.length);
    records.length = trusted;
  }
  let openedAt: Date | undefined;
  for (const r of records) {
    known.set(r.seq, r.hash);
    const t = Date.parse(r.recv);
    openedAt ??= new Date(t);
    indexEvent(ctx.dedupe, r.event, t, ctx.windowStart);
  }
  const fh = await fsp.open(path, 'r+');
  const hash = createHash('sha256').update(data);
  const last = records[records.length - 1];
  return {
    name: seg.name,
    firstSeq: seg.firstSeq,
    firstPrev: after.lastHash,
    openedAt: openedAt ?? ctx.now(),
    fh,
    bytes: data.length,
    records: records.length,
    hash,
    lastSeq: last ? last.seq : after.lastSeq,
    lastHash: last ? last.hash : after.lastHash,
    quarantined,
  };
}

/**
 * The signed head against the store as opened: it may not name a record past the end (records removed) or a
 * hash other than the record's (records modified), and a store holding records must have one.
 */
export function checkHead(dir: string, head: HeadDocument | undefined, store: { readonly lastSeq: number; readonly anchorLastSeq: number; readonly sealedSegments: number }, known: ReadonlyMap<number, string>): void {
  if (head) {
    if (head.lastSeq > store.lastSeq) throw damagedStore(dir, `head.json (signed) says the newest record is ${head.lastSeq} but the store ends at ${store.lastSeq}: records were removed`);
    if (known.has(head.lastSeq) && known.get(head.lastSeq) !== head.lastHash) throw damagedStore(dir, `record ${head.lastSeq} does not have the hash head.json (signed) recorded for it: records were modified`);
  } else if (store.lastSeq > store.anchorLastSeq || store.sealedSegments > 0) {
    throw damagedStore(dir, 'head.json is missing although the store holds records');
  }
}
