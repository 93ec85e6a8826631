/**
 * Per-commit authentication of the store, in process on real files: each commit carries a signature made
 * with the key in the same write as its records; records that no signature covers (an attacker with write
 * access to the volume but not the key appended them) fail `verifyStore`, are moved to quarantine/ when the
 * store opens, are never signed and never served; a commit cut short by a crash is told apart (its mark
 * verifies) and discarded; stores written before commits were signed still verify and open.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReceivedEvent } from '../../../src/sink-contract/event-list';
import { HEAD_FILE, HeadDocument } from '../../../src/sink-server/layout';
import { commitSigner, decodeRecord, encodeRecord, encodeRecords, splitLines } from '../../../src/sink-server/record';
import { signDocument, signingKeyFromBytes } from '../../../src/sink-server/signing';
import { Store, StoreOpenError } from '../../../src/sink-server/store';
import { formatProblem, verifyStore } from '../../../src/sink-server/verify';
import { tempDir } from '../support/temp-dir';
import { makeEvent } from './support';

const key = signingKeyFromBytes(randomBytes(32), 'test key');
const otherKey = signingKeyFromBytes(randomBytes(32), 'attacker key');
const received = (i: number, id?: string): ReceivedEvent => {
  const e = makeEvent(i, 'ResponseComplete', id);
  return { auditID: e.auditID, stage: e.stage, raw: Buffer.from(JSON.stringify(e)) };
};
const openSegment = (dir: string) => join(dir, readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort().at(-1)!);
const lastRecord = (dir: string) => {
  const { lines } = splitLines(readFileSync(openSegment(dir)));
  const r = decodeRecord(lines[lines.length - 1]);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

/** A closed store holding `batches` commits of 3 events each. */
async function storeWith(batches: number): Promise<{ dir: string; ids: string[] }> {
  const dir = join(tempDir('auth'), 'store');
  const store = await Store.open({ dir, key, minFreeBytes: 0 });
  const ids: string[] = [];
  for (let b = 0; b < batches; b++) {
    const batch = [0, 1, 2].map((i) => received(b * 10 + i));
    ids.push(...batch.map((e) => e.auditID));
    await store.append(batch);
  }
  await store.close();
  return { dir, ids };
}

async function servedIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  await verifyStore(dir, key, { onEvent: (e) => ids.push((JSON.parse(e.toString()) as { auditID: string }).auditID) });
  return ids;
}

/** A genuine commit signature of the store under test (its first commit's), for the replay case. */
let stolenSig = '';

/** Ways someone with write access to the files but without the key forges the tail: a record whose seq, prev and hash are right. */
const forgeries: [string, (seq: number, prev: string, event: Buffer) => Buffer][] = [
  ['no commit signature', (seq, prev, event) => encodeRecord(seq, new Date(), prev, event).line],
  ['a commit signature made with another key', (seq, prev, event) => encodeRecord(seq, new Date(), prev, event, commitSigner((d) => otherKey.sign(d))).line],
  [
    'a real commit signature copied from an earlier commit',
    (seq, prev, event) => {
      const line = encodeRecord(seq, new Date(), prev, event).line.toString('latin1');
      const hash = /"hash":"([0-9a-f]{64})"/.exec(line.slice(line.lastIndexOf(',"hash":"')))![1];
      // A signature over the forged record would need the key: reuse a genuine one from the store instead.
      return Buffer.from(line.replace(/\}\n$/, `,"commit":{"records":1,"last":"${hash}","sig":"${stolenSig}"}}\n`), 'latin1');
    },
  ],
];

describe('HMAC key files', () => {
  it.each([
    ['32 random bytes that end in 0x0a (head -c 32 /dev/urandom, 1 time in 256)', Buffer.concat([Buffer.from([0]), randomBytes(30), Buffer.from([0x0a])]), 32],
    ['32 random bytes that end in CR LF', Buffer.concat([Buffer.from([0]), randomBytes(29), Buffer.from([0x0d, 0x0a])]), 32],
    ['a 32-character secret written with echo (newline dropped)', Buffer.from('k'.repeat(32) + '\n'), 32],
    ['a 32-character secret with CR LF (both dropped)', Buffer.from('k'.repeat(32) + '\r\n'), 32],
  ])('%s loads', (_name, bytes, keptBytes) => {
    const loaded = signingKeyFromBytes(bytes, 'key file');
    const expected = signingKeyFromBytes(bytes.subarray(0, keptBytes), 'key file');
    expect(loaded.keyId).toBe(expected.keyId);
    expect(loaded.verify(Buffer.from('x'), expected.sign(Buffer.from('x')))).toBe(true);
  });

  it('a 31-character secret plus newline is still refused as too short', () => {
    expect(() => signingKeyFromBytes(Buffer.from('k'.repeat(31) + '\n'), 'short.key')).toThrow(/short\.key: an HMAC secret of 31 bytes; at least 32/);
  });
});

describe('forged tail (write access to the volume, no key)', () => {
  it.each(forgeries)('%s: verify fails naming the records, the store quarantines them on open, never signs or serves them', async (_what, forge) => {
    const { dir, ids } = await storeWith(3);
    const first = decodeRecord(splitLines(readFileSync(openSegment(dir))).lines[0]);
    stolenSig = (first as Exclude<typeof first, string>).commit!.sig;
    const last = lastRecord(dir);
    const forged = makeEvent(999, 'ResponseComplete', 'forged-event');
    appendFileSync(openSegment(dir), forge(last.seq + 1, last.hash, Buffer.from(JSON.stringify(forged))));

    // Before a restart: verify fails at the forged record, and does not serve it.
    let report = await verifyStore(dir, key);
    expect(report.ok).toBe(false);
    expect(formatProblem(report.problem!)).toMatch(/record 10 \(seq 10\): holds 1 record\(s\) \(seq 10–10\) that no signature of the key covers/);
    // (events of a segment are written once the whole segment verified: here none)
    const before = await servedIds(dir);
    expect(before).not.toContain('forged-event');
    expect(before).toEqual(ids.slice(0, before.length));

    // The sink restarts: the forged record goes to quarantine/, is not signed, and new commits follow the real chain.
    const store = await Store.open({ dir, key, minFreeBytes: 0 });
    expect(store.quarantinedRecords).toBe(1);
    expect(store.stats().lastSeq).toBe(9);
    const more = received(50);
    await store.append([more, received(51, 'forged-event')]);
    await store.close();
    const quarantined = readdirSync(join(dir, 'quarantine'));
    expect(quarantined).toEqual([expect.stringMatching(/^segment-0000000000000001\.from-seq-10\.\d+\.jsonl$/)]);
    expect(readFileSync(join(dir, 'quarantine', quarantined[0]), 'utf8')).toContain('"auditID":"forged-event"');

    // verify keeps failing while the quarantine is in the store, and never serves the forged event.
    report = await verifyStore(dir, key);
    expect(report.ok).toBe(false);
    expect(formatProblem(report.problem!)).toMatch(/^quarantine\/segment-.*: holds records the sink refused when it started because no signature of the key covers them/);
    const served = await servedIds(dir);
    expect(served.slice(0, 10)).toEqual([...ids, more.auditID]);
    expect(served).toHaveLength(11); // the real event with auditID forged-event was stored by the sink itself
    expect(readFileSync(openSegment(dir), 'utf8')).not.toContain(JSON.stringify(forged));

    // Moved out of the store as evidence: the store verifies.
    mkdirSync(join(dir, '..', 'evidence'));
    renameSync(join(dir, 'quarantine'), join(dir, '..', 'evidence', 'quarantine'));
    report = await verifyStore(dir, key);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.records).toBe(11);
  });

  it('a forged record inside the signed range (not at the tail) makes the store refuse to open, as before', async () => {
    const { dir } = await storeWith(2);
    const path = openSegment(dir);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    lines[1] = lines[1].replace('"verb":"get"', '"verb":"put"');
    writeFileSync(path, lines.map((l) => l + '\n').join(''));
    await expect(Store.open({ dir, key, minFreeBytes: 0 })).rejects.toThrow(StoreOpenError);
    expect(existsSync(join(dir, 'quarantine'))).toBe(false);
  });

  it('a modified commit signature is detected (verify fails, open refuses) even though the hash chain is intact', async () => {
    const { dir } = await storeWith(2);
    const path = openSegment(dir);
    const text = readFileSync(path, 'latin1');
    const at = text.indexOf('"sig":"') + 8;
    writeFileSync(path, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1), 'latin1');
    const report = await verifyStore(dir, key);
    expect(report.ok).toBe(false);
    expect(formatProblem(report.problem!)).toMatch(/record 1 \(seq 1\): has a commit signature that does not verify/);
    await expect(Store.open({ dir, key, minFreeBytes: 0 })).rejects.toThrow(/commit signature that does not verify/);
  });
});

describe('commits cut short by a crash', () => {
  it('a commit whose mark verifies but whose last records are missing is noted, discarded on open, not quarantined', async () => {
    const { dir, ids } = await storeWith(2);
    const oldHead = readFileSync(join(dir, HEAD_FILE));
    const store = await Store.open({ dir, key, minFreeBytes: 0 });
    await store.append([received(100), received(101), received(102)]);
    await store.close();
    // As if the crash came mid-write: the head of before, the commit's first two records only.
    writeFileSync(join(dir, HEAD_FILE), oldHead);
    const path = openSegment(dir);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    writeFileSync(path, lines.slice(0, -1).map((l) => l + '\n').join('') + lines.at(-1)!.slice(0, 40));
    const report = await verifyStore(dir, key);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/2 record\(s\) from seq 7 and 40 byte\(s\) without a newline at the end are an unfinished commit, not yet in the snapshot/);
    expect(await servedIds(dir)).toEqual(ids);
    const reopened = await Store.open({ dir, key, minFreeBytes: 0 });
    expect(reopened.quarantinedRecords).toBe(0);
    expect(reopened.stats().lastSeq).toBe(6);
    await reopened.close();
    expect(existsSync(join(dir, 'quarantine'))).toBe(false);
    expect((await verifyStore(dir, key)).records).toBe(6);
  });
});

describe('stores written before commits were signed', () => {
  it('records covered only by the signed head still verify and the store opens, then new commits are signed; a forged tail is still quarantined', async () => {
    // The previous format: the same records without commit marks, head.json signed over the open segment.
    const dir = join(tempDir('old-format'), 'store');
    mkdirSync(dir, { recursive: true });
    const events = [received(1), received(2), received(3)];
    const { data, hashes } = encodeRecords(1, new Date(), '0'.repeat(64), events.map((e) => e.raw));
    writeFileSync(join(dir, 'segment-0000000000000001.jsonl'), data);
    const head: HeadDocument = { kind: 'cdk8s-audit/head', version: 1, segment: 'segment-0000000000000001.jsonl', firstSeq: 1, lastSeq: 3, records: 3, bytes: data.length, lastHash: hashes[2], previousDigestSha256: null, updatedAt: new Date().toISOString() };
    writeFileSync(join(dir, HEAD_FILE), JSON.stringify(signDocument(key, head)) + '\n');
    expect(data.toString()).not.toContain('"commit"');
    let report = await verifyStore(dir, key);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.records).toBe(3);

    const forgedEvent = Buffer.from(JSON.stringify(makeEvent(9, 'ResponseComplete', 'forged-event')));
    appendFileSync(join(dir, 'segment-0000000000000001.jsonl'), encodeRecord(4, new Date(), hashes[2], forgedEvent).line);
    expect((await verifyStore(dir, key)).ok).toBe(false);
    const store = await Store.open({ dir, key, minFreeBytes: 0 });
    expect(store.quarantinedRecords).toBe(1);
    await store.append([received(4)]);
    await store.close();
    renameSync(join(dir, 'quarantine'), join(dir, '..', 'quarantine'));
    report = await verifyStore(dir, key);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.records).toBe(4);
    expect(readFileSync(join(dir, 'segment-0000000000000001.jsonl'), 'utf8')).not.toContain('forged-event');
  });
});

describe('a commit that cannot be made durable', () => {
  it('fdatasync failing with EIO: the batch is refused (store_error), nothing of it stays, degraded() says why until a commit succeeds, the store verifies', async () => {
    const dir = join(tempDir('eio'), 'store');
    const store = await Store.open({ dir, key, minFreeBytes: 0 });
    const first = received(1);
    await store.append([first]);
    // Fault injection at the file-system layer: every FileHandle's datasync fails with EIO for one commit.
    const probe = await fsp.open(join(dir, '..', 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const original = proto.datasync;
    proto.datasync = () => Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    try {
      await expect(store.append([received(2)])).rejects.toMatchObject({ reason: 'store_error', message: expect.stringMatching(/EIO/) });
    } finally {
      proto.datasync = original;
    }
    expect(store.degraded()).toMatch(/commits have failed since .*1 batch\(es\) answered 503.*EIO.*records up to seq 1 are durable and signed/);
    expect(store.commitFailures).toBe(1);
    const third = received(3);
    await store.append([third]);
    expect(store.degraded()).toBeUndefined();
    await store.close();
    const report = await verifyStore(dir, key);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(await servedIds(dir)).toEqual([first.auditID, third.auditID]);
  });
});
