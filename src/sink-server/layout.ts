/**
 * Files of a sink store directory and the signed documents in it:
 *
 * - `segment-<first seq, 16 digits>.jsonl` — append-only records (see record.ts), rotated by size and age;
 * - `segment-<…>.digest.json` — written when a segment is sealed: its SHA-256, first/last sequence number
 *   and hash, and the SHA-256 of the previous digest file (a digest chain, like CloudTrail's), signed;
 * - `head.json` — the signed state of the open segment after every group commit (what a truncation of the
 *   newest records is checked against);
 * - `anchor.json` — written before retention deletes old segments: the last deleted record and digest,
 *   signed, so the remaining chain starts from a known point;
 * - `sink.lock` — the pid of the sink using the store;
 * - `quarantine/` — records the sink found on start that no signature of the key covers, moved aside
 *   (`sink verify` fails while any are there).
 */
export const SEGMENT_RE = /^segment-([0-9]{16})\.jsonl$/;
export const DIGEST_RE = /^segment-([0-9]{16})\.digest\.json$/;
export const HEAD_FILE = 'head.json';
export const ANCHOR_FILE = 'anchor.json';
export const LOCK_FILE = 'sink.lock';

export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

export function digestName(segment: string): string {
  return segment.replace(/\.jsonl$/, '.digest.json');
}

export interface SegmentDigest {
  readonly kind: 'cdk8s-audit/segment-digest';
  readonly version: 1;
  readonly segment: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: number;
  readonly bytes: number;
  /** SHA-256 of the whole segment file. */
  readonly sha256: string;
  /** `prev` of the segment's first record. */
  readonly firstPrev: string;
  /** Hash of the segment's last record. */
  readonly lastHash: string;
  readonly openedAt: string;
  readonly sealedAt: string;
  /** SHA-256 of the previous digest file's bytes (or the anchor's digestSha256); null for the first segment. */
  readonly previousDigestSha256: string | null;
}

export interface HeadDocument {
  readonly kind: 'cdk8s-audit/head';
  readonly version: 1;
  /** The open segment. */
  readonly segment: string;
  readonly firstSeq: number;
  /** Sequence number of the newest record in the store (firstSeq - 1 while the segment is empty). */
  readonly lastSeq: number;
  readonly records: number;
  readonly bytes: number;
  /** Hash of the newest record in the store (the next record's prev). */
  readonly lastHash: string;
  readonly previousDigestSha256: string | null;
  readonly updatedAt: string;
}

export interface AnchorDocument {
  readonly kind: 'cdk8s-audit/retention-anchor';
  readonly version: 1;
  /** The newest segment retention deleted. */
  readonly deletedThrough: string;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** SHA-256 of that segment's digest file: the next digest's previousDigestSha256. */
  readonly digestSha256: string;
  readonly deletedAt: string;
  readonly reason: string;
}

/** Records the sink refused on start because no signature of the key covers them (see store-recovery.ts). */
export const QUARANTINE_DIR = 'quarantine';
