/**
 * The store and `verifyStore` on real files: durability bookkeeping, rotation, retention, dedupe across
 * restarts, crash recovery, and tamper detection (random byte flips, deletions, reorders, truncations).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ReceivedEvent } from '../../../src/sink-contract/event-list';
import { HEAD_FILE } from '../../../src/sink-server/layout';
import { signingKeyFromBytes, SigningKey } from '../../../src/sink-server/signing';
import { Store, StoreOpenError } from '../../../src/sink-server/store';
import { formatProblem, verifyStore } from '../../../src/sink-server/verify';
import { tempDir } from '../support/temp-dir';
import { makeEvent } from './support';

/** Files under `dir` this process holds open (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return []; // closed meanwhile
    }
  }).filter((path) => path.startsWith(dir));
}

const hmac = signingKeyFromBytes(randomBytes(32), 'test key');
const received = (i: number, stage = 'ResponseComplete', id?: string): ReceivedEvent => {
  const e = makeEvent(i, stage, id);
  return { auditID: e.auditID, stage: e.stage, raw: Buffer.from(JSON.stringify(e)) };
};

/** A store with several sealed segments and an open one. */
async function buildStore(key: SigningKey = hmac, opts: { batches?: number; perBatch?: number; segmentMaxBytes?: number; parent?: string } = {}): Promise<{ dir: string; events: ReceivedEvent[] }> {
  const dir = join(opts.parent ?? tempDir('store'), 'store');
  const store = await Store.open({ dir, key, segmentMaxBytes: opts.segmentMaxBytes ?? 16 * 1024, minFreeBytes: 0 });
  const events: ReceivedEvent[] = [];
  for (let b = 0; b < (opts.batches ?? 20); b++) {
    const batch = Array.from({ length: opts.perBatch ?? 10 }, (_, i) => received(b * 100 + i));
    events.push(...batch);
    await store.append(batch);
  }
  await store.close();
  return { dir, events };
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort();
const digestFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.digest.json')).sort();

function copyStore(dir: string): string {
  const copy = join(tempDir('tamper'), 'store');
  cpSync(dir, copy, { recursive: true });
  return copy;
}

// A seeded PRNG so a failure can be reproduced.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Store', () => {
  it('stores every event once, rotates into signed segments, and verifies intact', async () => {
    const { dir, events } = await buildStore();
    expect(segmentFiles(dir).length).toBeGreaterThan(3);
    expect(digestFiles(dir).length).toBe(segmentFiles(dir).length - 1);
    const seen: string[] = [];
    const report = await verifyStore(dir, hmac, { onEvent: (e) => seen.push(e.toString()) });
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report).toMatchObject({ ok: true, records: events.length, firstSeq: 1, lastSeq: events.length });
    expect(seen).toEqual(events.map((e) => e.raw.toString()));
  });

  it('deduplicates (auditID, stage) within a batch, across batches, across concurrent requests and across restarts', async () => {
    const dir = join(tempDir('dedupe'), 'store');
    let store = await Store.open({ dir, key: hmac, minFreeBytes: 0 });
    const a = received(1, 'ResponseComplete', 'id-a');
    const aStarted = received(1, 'ResponseStarted', 'id-a');
    expect(await store.append([a, a, aStarted])).toEqual({ stored: 2, duplicates: 1 });
    expect(await store.append([a])).toEqual({ stored: 0, duplicates: 1 });
    const b = received(2);
    const results = await Promise.all([store.append([b]), store.append([b]), store.append([b])]);
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(1);
    await store.close();
    store = await Store.open({ dir, key: hmac, minFreeBytes: 0 });
    expect(await store.append([a, b, received(3)])).toEqual({ stored: 1, duplicates: 2 });
    await store.close();
    expect((await verifyStore(dir, hmac)).records).toBe(4);
  });

  it('group commit: appends issued together share one commit (one write + fdatasync); appends one after another commit one by one', async () => {
    const commitsOf = async (together: boolean) => {
      const dir = join(tempDir('group-commit'), 'store');
      let commits = 0;
      const store = await Store.open({ dir, key: hmac, minFreeBytes: 0, onCommit: () => commits++ });
      const batches = Array.from({ length: 10 }, (_, b) => [received(b * 10), received(b * 10 + 1)]);
      if (together) await Promise.all(batches.map((batch) => store.append(batch)));
      else for (const batch of batches) await store.append(batch);
      await store.close();
      expect((await verifyStore(dir, hmac)).records).toBe(20);
      return commits;
    };
    // Requests that arrive while a commit is being written wait for the next one and share it; here all ten
    // are queued before the first commit starts (it starts on a later microtask), so no timing is involved.
    expect(await commitsOf(true)).toBe(1);
    expect(await commitsOf(false)).toBe(10);
  });

  it('the dedupe index is bounded: beyond dedupeMaxKeys the oldest pairs are forgotten first', async () => {
    const dir = join(tempDir('dedupe-cap'), 'store');
    const store = await Store.open({ dir, key: hmac, minFreeBytes: 0, dedupeMaxKeys: 5 });
    const events = Array.from({ length: 10 }, (_, i) => received(i));
    for (const e of events) await store.append([e]);
    expect(store.stats().dedupeKeys).toBe(5);
    expect(await store.append([events[9]])).toEqual({ stored: 0, duplicates: 1 });
    expect(await store.append([events[0]])).toEqual({ stored: 1, duplicates: 0 });
    await store.close();
  });

  it('retention deletes the oldest sealed segments behind a signed anchor; the rest still verifies', async () => {
    const dir = join(tempDir('retention'), 'store');
    const store = await Store.open({ dir, key: hmac, segmentMaxBytes: 8 * 1024, retentionMaxBytes: 40 * 1024, minFreeBytes: 0 });
    for (let b = 0; b < 40; b++) await store.append(Array.from({ length: 5 }, (_, i) => received(b * 10 + i)));
    await store.close();
    const first = Number(/([0-9]{16})/.exec(segmentFiles(dir)[0])![1]);
    expect(first).toBeGreaterThan(1);
    const total = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThan(40 * 1024 + 16 * 1024);
    const report = await verifyStore(dir, hmac);
    expect(report.ok).toBe(true);
    expect(report.firstSeq).toBe(first);
    expect(report.notes.join()).toMatch(/retention deleted records up to seq/);
    // Without the anchor, the missing beginning is detected.
    const copy = copyStore(dir);
    rmSync(join(copy, 'anchor.json'));
    const broken = await verifyStore(copy, hmac);
    expect(broken.ok).toBe(false);
    expect(formatProblem(broken.problem!)).toMatch(/were deleted/);
  });

  it('a torn write at the end of the open segment is an unfinished commit (noted, discarded on start); records past a lagging head are accepted through their commit signatures', async () => {
    const { dir } = await buildStore(hmac, { batches: 3 });
    const open = segmentFiles(dir).at(-1)!;
    appendFileSync(join(dir, open), '{"seq":9999,"recv":"2026-01-01T00:00');
    let report = await verifyStore(dir, hmac);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/byte\(s\) without a newline at the end are an unfinished commit, not yet in the snapshot/);

    // Records past the signed head: put back an older (validly signed) head, as a crash or a full disk leaves it.
    const oldHead = readFileSync(join(dir, HEAD_FILE));
    let store = await Store.open({ dir, key: hmac, minFreeBytes: 0 });
    await store.append([received(1000), received(1001)]);
    await store.close();
    writeFileSync(join(dir, HEAD_FILE), oldHead);
    report = await verifyStore(dir, hmac);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.notes.join('\n')).toMatch(/2 record\(s\) after the head \(seq 31–32\) are covered by their commit signatures/);
    expect(report.records).toBe(32);

    store = await Store.open({ dir, key: hmac, minFreeBytes: 0 });
    expect(store.quarantinedRecords).toBe(0);
    await store.close();
    report = await verifyStore(dir, hmac);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report.records).toBe(32);
  });

  it('refuses to open a store whose newest records were removed (the signed head says more)', async () => {
    const { dir } = await buildStore(hmac, { batches: 3 });
    const open = join(dir, segmentFiles(dir).at(-1)!);
    const lines = readFileSync(open, 'utf8').split('\n').filter(Boolean);
    writeFileSync(open, lines.slice(0, -1).map((l) => l + '\n').join(''));
    await expect(Store.open({ dir, key: hmac, minFreeBytes: 0 })).rejects.toThrow(StoreOpenError);
    await expect(Store.open({ dir, key: hmac, minFreeBytes: 0 })).rejects.toThrow(/records were removed.*sink verify/);
    // The refused open leaves no file of the store open (and no lock).
    expect(openFilesUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'sink.lock'))).toBe(false);
  });

  it('refuses a second sink on the same store, and a key that cannot sign', async () => {
    const dir = join(tempDir('lock'), 'store');
    const store = await Store.open({ dir, key: hmac, minFreeBytes: 0 });
    // The lock holds this process's pid; pretend another live process (our parent) holds it.
    writeFileSync(join(dir, 'sink.lock'), `${process.ppid}\n`);
    await expect(Store.open({ dir, key: hmac, minFreeBytes: 0 })).rejects.toThrow(/in use by the process/);
    writeFileSync(join(dir, 'sink.lock'), `${process.pid}\n`);
    await store.close();
    const { publicKey } = generateKeyPairSync('ed25519');
    const pub = signingKeyFromBytes(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string), 'pub');
    await expect(Store.open({ dir, key: pub, minFreeBytes: 0 })).rejects.toThrow(/needs a key that can sign/);
  });

  it('Ed25519: the sink signs with the private key, anyone verifies with the public key; another key is refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const priv = signingKeyFromBytes(Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), 'priv');
    const pub = signingKeyFromBytes(Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string), 'pub');
    expect(pub.keyId).toBe(priv.keyId);
    const { dir } = await buildStore(priv, { batches: 5 });
    expect((await verifyStore(dir, pub)).ok).toBe(true);
    const other = await verifyStore(dir, hmac);
    expect(other.ok).toBe(false);
    expect(formatProblem(other.problem!)).toMatch(/anchor\.json|head\.json|digest/);
    expect(formatProblem(other.problem!)).toMatch(/signed with "ed25519" but the key is hmac-sha256/);
  });
});

describe('verify detects tampering', () => {
  // One store for every case, built by whichever test asks first (tests pass alone and in any order). Its
  // parent is made here, in the describe body, so it lives until the block ends, not until that first test does.
  const baseParent = tempDir('store');
  let built: Promise<{ dir: string; events: ReceivedEvent[] }> | undefined;
  const baseStore = () => (built ??= buildStore(hmac, { batches: 12, perBatch: 8, segmentMaxBytes: 12 * 1024, parent: baseParent }));
  const detect = async (dir: string, what: string): Promise<string> => {
    const report = await verifyStore(dir, hmac);
    expect(report.ok, `${what} was not detected`).toBe(false);
    return formatProblem(report.problem!);
  };

  it('an intact copy verifies (control)', async () => {
    const base = await baseStore();
    expect(segmentFiles(base.dir).length).toBeGreaterThanOrEqual(4);
    expect((await verifyStore(copyStore(base.dir), hmac)).ok).toBe(true);
  });

  it('300 random single-byte flips in segments and digests: every one detected, at the flipped file', async () => {
    const base = await baseStore();
    const rand = rng(1);
    const files = [...segmentFiles(base.dir), ...digestFiles(base.dir)];
    for (let t = 0; t < 300; t++) {
      const copy = copyStore(base.dir);
      const file = files[Math.floor(rand() * files.length)];
      const data = readFileSync(join(copy, file));
      const at = Math.floor(rand() * data.length);
      data[at] ^= 1 + Math.floor(rand() * 255);
      writeFileSync(join(copy, file), data);
      const problem = await detect(copy, `flip of byte ${at} in ${file}`);
      // Whitespace flips in a digest keep its signed content but change its bytes: the next digest or the head names it.
      if (file.endsWith('.jsonl')) expect(problem.startsWith(file), `flip in ${file} reported as: ${problem}`).toBe(true);
      rmSync(copy, { recursive: true });
    }
  }, 120_000);

  it('deleting any one record is detected and named', async () => {
    const base = await baseStore();
    const rand = rng(2);
    for (let t = 0; t < 60; t++) {
      const copy = copyStore(base.dir);
      const segs = segmentFiles(copy);
      const file = segs[Math.floor(rand() * segs.length)];
      const lines = readFileSync(join(copy, file), 'utf8').split('\n').filter(Boolean);
      if (lines.length === 0) continue;
      const k = Math.floor(rand() * lines.length);
      lines.splice(k, 1);
      writeFileSync(join(copy, file), lines.map((l) => l + '\n').join(''));
      const problem = await detect(copy, `deletion of record ${k + 1} of ${file}`);
      expect(problem).toMatch(new RegExp(`^${file}`));
      rmSync(copy, { recursive: true });
    }
  }, 60_000);

  it('swapping two records, inside a segment or across segments, is detected', async () => {
    const base = await baseStore();
    const rand = rng(3);
    for (let t = 0; t < 60; t++) {
      const copy = copyStore(base.dir);
      const segs = segmentFiles(copy);
      const file = segs[Math.floor(rand() * (segs.length - 1))];
      const lines = readFileSync(join(copy, file), 'utf8').split('\n').filter(Boolean);
      const i = Math.floor(rand() * (lines.length - 1));
      const j = t % 2 === 0 ? i + 1 : Math.floor(rand() * lines.length);
      if (i === j) continue;
      [lines[i], lines[j]] = [lines[j], lines[i]];
      writeFileSync(join(copy, file), lines.map((l) => l + '\n').join(''));
      expect(await detect(copy, `swap of records ${i + 1} and ${j + 1} in ${file}`)).toMatch(/reordered|previous record|seq/);
      rmSync(copy, { recursive: true });
    }
    // Across segments: the last record of one with the first of the next.
    const copy = copyStore(base.dir);
    const [s1, s2] = segmentFiles(copy);
    const l1 = readFileSync(join(copy, s1), 'utf8').split('\n').filter(Boolean);
    const l2 = readFileSync(join(copy, s2), 'utf8').split('\n').filter(Boolean);
    [l1[l1.length - 1], l2[0]] = [l2[0], l1[l1.length - 1]];
    writeFileSync(join(copy, s1), l1.map((l) => l + '\n').join(''));
    writeFileSync(join(copy, s2), l2.map((l) => l + '\n').join(''));
    expect(await detect(copy, 'swap across segments')).toMatch(new RegExp(`^${s1} record ${l1.length}`));
  }, 60_000);

  it('truncating any segment at any byte, or dropping its last records, is detected', async () => {
    const base = await baseStore();
    const rand = rng(4);
    for (let t = 0; t < 80; t++) {
      const copy = copyStore(base.dir);
      const segs = segmentFiles(copy);
      const file = segs[Math.floor(rand() * segs.length)];
      const size = statSync(join(copy, file)).size;
      if (t % 2 === 0) {
        truncateSync(join(copy, file), Math.floor(rand() * size));
      } else {
        const lines = readFileSync(join(copy, file), 'utf8').split('\n').filter(Boolean);
        writeFileSync(join(copy, file), lines.slice(0, Math.floor(rand() * lines.length)).map((l) => l + '\n').join(''));
      }
      expect(await detect(copy, `truncation of ${file}`)).toMatch(new RegExp(`^${file}`));
      rmSync(copy, { recursive: true });
    }
  }, 60_000);

  it('deleting or swapping whole files is detected: a sealed segment, its digest, the open segment, the head, two segments renamed', async () => {
    const base = await baseStore();
    const segs = segmentFiles(base.dir);
    const cases: [string, (d: string) => void, RegExp][] = [
      ['first segment', (d) => rmSync(join(d, segs[0])), /has no segment|were deleted/],
      ['middle segment', (d) => rmSync(join(d, segs[1])), /has no segment|were deleted/],
      ['middle segment and its digest', (d) => (rmSync(join(d, segs[1])), rmSync(join(d, segs[1].replace('.jsonl', '.digest.json')))), /were deleted|previous digest/],
      ['a digest', (d) => rmSync(join(d, segs[1].replace('.jsonl', '.digest.json'))), /digest was deleted/],
      ['the open segment', (d) => rmSync(join(d, segs.at(-1)!)), /open segment.*deleted/],
      ['head.json', (d) => rmSync(join(d, HEAD_FILE)), /head was deleted/],
      ['two sealed segments swapped by name', (d) => {
        renameSync(join(d, segs[0]), join(d, 'tmp'));
        renameSync(join(d, segs[1]), join(d, segs[0]));
        renameSync(join(d, 'tmp'), join(d, segs[1]));
      }, /^segment-0+1\.jsonl record 1 \(seq \d+\): has seq \d+ right after seq 0: the records with seq 1–\d+ were deleted/],
      ['two digests swapped', (d) => {
        const [a, b] = [segs[0], segs[1]].map((s) => join(d, s.replace('.jsonl', '.digest.json')));
        const ta = readFileSync(a);
        writeFileSync(a, readFileSync(b));
        writeFileSync(b, ta);
      }, /describes|swapped/],
      ['a record appended to a sealed segment', (d) => appendFileSync(join(d, segs[0]), readFileSync(join(d, segs[0]), 'utf8').split('\n')[0] + '\n'), /^segment-0+1\.jsonl record \d+ \(seq 1\): has seq 1 after seq \d+: records were reordered or duplicated/],
    ];
    for (const [what, mutate, expected] of cases) {
      const copy = copyStore(base.dir);
      mutate(copy);
      expect(await detect(copy, what), what).toMatch(expected);
    }
  });
});

/**
 * Every time-based behaviour of the store, driven by the `now` option: the test moves the clock, nothing
 * sleeps, and each limit is checked on both sides of its boundary.
 */
describe('Store on a clock the test controls', () => {
  const H = 3_600_000;
  const T0 = Date.parse('2026-01-01T00:00:00Z');
  async function clockStore(options: { segmentMaxAgeMs?: number; retentionMaxAgeMs?: number; dedupeWindowMs?: number }) {
    const dir = join(tempDir('clock'), 'store');
    const clock = { t: T0 };
    const open = () => Store.open({ dir, key: hmac, minFreeBytes: 0, segmentMaxBytes: 1 << 30, ...options, now: () => new Date(clock.t) });
    return { dir, clock, open };
  }
  /** First sequence number of each segment on disk. */
  const segmentStarts = (dir: string) => segmentFiles(dir).map((n) => Number(/([0-9]{16})/.exec(n)![1]));

  it('segment max age: a commit one ms before the age stays in the open segment; a commit at the age seals it first', async () => {
    const { dir, clock, open } = await clockStore({ segmentMaxAgeMs: H });
    const store = await open();
    await store.append([received(1)]);
    clock.t = T0 + H - 1;
    await store.append([received(2)]);
    expect(segmentStarts(dir)).toEqual([1]);
    clock.t = T0 + H;
    await store.append([received(3)]);
    expect(segmentStarts(dir)).toEqual([1, 3]);
    const digest = JSON.parse(readFileSync(join(dir, digestFiles(dir)[0]), 'utf8'));
    expect(digest).toMatchObject({ firstSeq: 1, lastSeq: 2, openedAt: new Date(T0).toISOString(), sealedAt: new Date(T0 + H).toISOString() });
    // An empty open segment is never sealed, however old.
    clock.t = T0 + 10 * H;
    await store.close();
    expect(digestFiles(dir)).toHaveLength(1);
    expect((await verifyStore(dir, hmac)).records).toBe(3);
  });

  it('retention max age: a segment sealed exactly the age ago stays, one sealed longer ago goes behind a signed anchor', async () => {
    // Segments seal every hour (each commit an hour after the last); retention keeps 3 hours.
    const { dir, clock, open } = await clockStore({ segmentMaxAgeMs: H, retentionMaxAgeMs: 3 * H });
    const store = await open();
    const commitAt = async (t: number, i: number) => {
      clock.t = t;
      await store.append([received(i)]);
    };
    for (let h = 0; h <= 4; h++) await commitAt(T0 + h * H, h + 1); // seals at 1H, 2H, 3H, 4H
    // At 4H the segment sealed at 1H is exactly 3H old: kept.
    expect(segmentStarts(dir)).toEqual([1, 2, 3, 4, 5]);
    await commitAt(T0 + 5 * H + 1, 6); // seal at 5H + 1 ms: the 1H segment is 4H old, the 2H one 3H + 1 ms (both go)
    expect(segmentStarts(dir)).toEqual([3, 4, 5, 6]);
    await store.close();
    const anchor = JSON.parse(readFileSync(join(dir, 'anchor.json'), 'utf8'));
    expect(anchor).toMatchObject({ lastSeq: 2, deletedAt: new Date(T0 + 5 * H + 1).toISOString(), reason: `sealed more than ${3 * H} ms ago (--retention-max-age)` });
    const report = await verifyStore(dir, hmac);
    expect(report.problem && formatProblem(report.problem)).toBeUndefined();
    expect(report).toMatchObject({ ok: true, firstSeq: 3, lastSeq: 6 });
  });

  it('retention max age 0 (the default) keeps every segment, however old', async () => {
    const { dir, clock, open } = await clockStore({ segmentMaxAgeMs: H });
    const store = await open();
    for (let i = 1; i <= 4; i++) {
      clock.t = T0 + (i - 1) * 1000 * H;
      await store.append([received(i)]);
    }
    await store.close();
    expect(segmentStarts(dir)).toEqual([1, 2, 3, 4]);
  });

  it('dedupe window across a restart: a pair is a duplicate one ms inside the window and stored again once it has passed', async () => {
    const W = 10 * 60_000;
    const { dir, clock, open } = await clockStore({ dedupeWindowMs: W });
    const a = received(1, 'ResponseComplete', 'id-a');
    let store = await open();
    expect(await store.append([a])).toEqual({ stored: 1, duplicates: 0 });
    await store.close();
    clock.t = T0 + W; // the window start is now - W = T0: still remembered
    store = await open();
    expect(await store.append([a])).toEqual({ stored: 0, duplicates: 1 });
    await store.close();
    clock.t = T0 + W + 1;
    store = await open();
    expect(await store.append([a])).toEqual({ stored: 1, duplicates: 0 });
    await store.close();
    expect((await verifyStore(dir, hmac)).records).toBe(2);
  });

  it('dedupe window while running: the periodic maintenance forgets pairs older than the window (fake interval timer, no sleep)', async () => {
    const W = 10 * 60_000;
    const { clock, open } = await clockStore({ dedupeWindowMs: W, segmentMaxAgeMs: H });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const store = await open();
      const a = received(1, 'ResponseComplete', 'id-a');
      await store.append([a]);
      clock.t = T0 + W;
      await vi.advanceTimersToNextTimerAsync(); // maintenance at the window's edge: still remembered
      await store.append([received(2)]); // commits are serialised behind the maintenance: it has finished
      expect(await store.append([a])).toEqual({ stored: 0, duplicates: 1 });
      clock.t = T0 + W + 1;
      await vi.advanceTimersToNextTimerAsync();
      await store.append([received(3)]);
      expect(store.stats().dedupeKeys).toBe(2); // 2 and 3 (committed at T0 + W): a is forgotten
      expect(await store.append([a])).toEqual({ stored: 1, duplicates: 0 });
      await store.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
