/**
 * Rotation and retention of the store's segments: when the open segment is sealed, and which sealed segments
 * are deleted (by age, by size), each deletion recorded first in the signed retention anchor so verify can
 * tell retention from tampering.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ANCHOR_FILE, AnchorDocument, digestName } from './layout';
import { Logger } from './metrics';
import { signDocument, SigningKey } from './signing';
import { fsyncDir, writeFileDurable } from './store-files';

export interface SealedSegment {
  readonly name: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly digestSha256: string;
  readonly sealedAt: Date;
  /** Segment plus digest file. */
  readonly bytes: number;
}

/** The open segment is due to be sealed: it holds records and is at the size or age limit. */
export function rotationDue(active: { readonly records: number; readonly bytes: number; readonly openedAt: Date }, now: Date, maxBytes: number, maxAgeMs: number): boolean {
  if (active.records === 0) return false;
  return active.bytes >= maxBytes || now.getTime() - active.openedAt.getTime() >= maxAgeMs;
}

export interface RetentionContext {
  readonly dir: string;
  readonly key: SigningKey;
  readonly log: Logger;
  readonly now: () => Date;
  /** Delete segments sealed longer ago than this; 0 keeps them. */
  readonly maxAgeMs: number;
  /** Delete the oldest segments while the store is larger than this; 0 = no limit. */
  readonly maxBytes: number;
  /** The sealed segments, oldest first; deleted ones are removed from the front. */
  readonly sealed: SealedSegment[];
  storeBytes(): number;
}

/** Deletes the oldest sealed segments while they are over age or the store over size, anchor first. */
export async function enforceRetention(ctx: RetentionContext): Promise<void> {
  while (ctx.sealed.length > 0) {
    const oldest = ctx.sealed[0];
    const overAge = ctx.maxAgeMs > 0 && ctx.now().getTime() - oldest.sealedAt.getTime() > ctx.maxAgeMs;
    const overSize = ctx.maxBytes > 0 && ctx.storeBytes() > ctx.maxBytes;
    if (!overAge && !overSize) return;
    const anchor: AnchorDocument = {
      kind: 'cdk8s-audit/retention-anchor',
      version: 1,
      deletedThrough: oldest.name,
      lastSeq: oldest.lastSeq,
      lastHash: oldest.lastHash,
      digestSha256: oldest.digestSha256,
      deletedAt: ctx.now().toISOString(),
      reason: overAge ? `sealed more than ${ctx.maxAgeMs} ms ago (--retention-max-age)` : `store over ${ctx.maxBytes} bytes (--retention-max-bytes)`,
    };
    await writeFileDurable(ctx.dir, ANCHOR_FILE, JSON.stringify(signDocument(ctx.key, anchor), null, 2) + '\n');
    await fsp.rm(join(ctx.dir, oldest.name), { force: true });
    await fsp.rm(join(ctx.dir, digestName(oldest.name)), { force: true });
    await fsyncDir(ctx.dir);
    ctx.sealed.shift();
    ctx.log.info('retention deleted segment', { segment: oldest.name, lastSeq: oldest.lastSeq, reason: anchor.reason });
  }
}
