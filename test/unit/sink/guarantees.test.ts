/**
 * The sink's guarantees against the four ways issue 12 broke them, each on a real `cdk8s-audit sink serve`
 * child process over mTLS on 127.0.0.1 and checked with the real `sink verify`:
 * 1. a forged tail (write access to the volume, no key) across a restart: never signed, never served;
 * 2. a full disk (a real, tiny tmpfs): a 200 only for commits whose signature is durable, 503 otherwise,
 *    and SIGTERM while commits fail exits non-zero saying why;
 * 3. `sink verify` looping against the live store during a write burst with rotation and retention: no
 *    false report;
 * 4. hundreds of TCP connections that never start TLS: the apiserver-like client's batches still get 200.
 */
import { randomBytes } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, promises as fsp, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, splitLines } from '../../../src/sink-server/record';
import { loadSigningKey } from '../../../src/sink-server/signing';
import { Store } from '../../../src/sink-server/store';
import { formatProblem, verifyStore } from '../../../src/sink-server/verify';
import { tempDir } from '../support/temp-dir';
import { clientOf, eventList, logLines, MAIN, makeEvent, makeSinkFiles, metric, send, SinkProcess, startSink, stopSink } from './support';
import { runCli } from '../../support/cli';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const openSegment = (store: string) => join(store, readdirSync(store).filter((n) => n.endsWith('.jsonl')).sort().at(-1)!);
const auditIds = (jsonl: string) => jsonl.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { auditID: string }).auditID);
const metricsOf = async (sink: SinkProcess) => (await send(`${sink.opsUrl}/metrics`, undefined, undefined, { method: 'GET' })).body;

/** Mounts a real tmpfs of `size` at `dir` (root only: the test says so instead of skipping). */
function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`this test needs a real full file system: mounting a ${size} tmpfs at ${dir} failed (run the unit tests as root): ${(e as Error).message}`);
  }
}

/** Writes 4 KiB blocks to `path` until the file system is full. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

describe('1. a forged tail is never signed or served', () => {
  it('a record appended while the sink was stopped (right seq, prev and hash; no key): verify exits 1, the restarted sink quarantines it, --events never serves it', async () => {
    const f = await makeSinkFiles('sink-forge');
    let sink = await startSink(f);
    const client = clientOf(f);
    const real = Array.from({ length: 5 }, (_, i) => makeEvent(i));
    expect((await send(sink.url, client, eventList(real))).status).toBe(200);
    expect(await stopSink(sink)).toBe(0);

    // The attacker: the last record's seq and hash, a well-formed record after it.
    const { lines } = splitLines(readFileSync(openSegment(f.store)));
    const last = decodeRecord(lines[lines.length - 1]) as Exclude<ReturnType<typeof decodeRecord>, string>;
    const forged = makeEvent(99, 'ResponseComplete', 'forged-by-attacker');
    appendFileSync(openSegment(f.store), encodeRecord(last.seq + 1, new Date(), last.hash, Buffer.from(JSON.stringify(forged))).line);

    let v = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath]);
    expect(v.code, v.stdout).toBe(1);
    expect(v.stdout).toMatch(/record 6 \(seq 6\): holds 1 record\(s\) \(seq 6–6\) that no signature of the key covers/);
    const flag = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--allow-unsigned-tail']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--allow-unsigned-tail was removed/);

    sink = await startSink(f);
    const quarantineLog = logLines(sink.stderr()).find((l) => String(l.msg).startsWith('quarantined records'));
    expect(quarantineLog).toMatchObject({ level: 'error', fromSeq: 6, toSeq: 6, records: 1 });
    expect(metric(await metricsOf(sink), 'audit_sink_quarantined_records')).toBe(1);
    const after = makeEvent(7);
    expect((await send(sink.url, client, eventList([after]))).status).toBe(200);
    expect(await stopSink(sink)).toBe(0);

    v = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--events']);
    expect(v.code, v.stderr).toBe(1);
    expect(v.stderr).toMatch(/NOT intact: quarantine\/segment-0000000000000001\.from-seq-6\.\d+\.jsonl: holds records the sink refused/);
    expect(auditIds(v.stdout)).toEqual([...real.map((e) => e.auditID), after.auditID]);
    expect(v.stdout).not.toContain('forged-by-attacker');
  }, 60_000);
});

describe('2. a full disk: acknowledged means signed', () => {
  it('on a real 1 MiB tmpfs with --min-free-bytes 0: a commit that fits is acknowledged and signed even though head.json cannot be written; one that does not fit gets 503; SIGTERM then exits 1 saying why; the store verifies throughout', async () => {
    const f = await makeSinkFiles('sink-enospc');
    const mnt = join(f.dir, 'mnt');
    mountTmpfs(mnt, '1m');
    try {
      const files = { ...f, store: join(mnt, 'store') };
      const args = ['--min-free-bytes', '0'];
      let sink = await startSink(files, args);
      const client = clientOf(f);
      const acked: string[] = [];
      const refused: string[] = [];
      const post = async (events: ReturnType<typeof makeEvent>[]) => {
        const res = await send(sink.url, client, eventList(events));
        (res.status === 200 ? acked : refused).push(...events.map((e) => e.auditID));
        return res;
      };
      // Leave 2–4 KiB free in the last page of the open segment: a small commit fits there without a new page.
      let i = 0;
      for (;;) {
        expect((await post([makeEvent(i++)])).status).toBe(200);
        const used = statSync(openSegment(files.store)).size % 4096;
        if (used >= 200 && used <= 2000) break;
      }
      fillUp(join(mnt, 'filler'));

      // Fits in the segment's last page: records and their commit signature are durable, head.json is not.
      const small = await post([makeEvent(1000)]);
      expect(small.status, small.body).toBe(200);
      expect(sink.stderr()).toMatch(/could not update head\.json.*ENOSPC/);
      // Needs new pages: refused, nothing of it kept.
      const big = await post(Array.from({ length: 20 }, (_, k) => makeEvent(2000 + k)));
      expect(big.status).toBe(503);
      expect(JSON.parse(big.body).reason).toBe('disk_full');

      // verify on the running, full store: intact, the acknowledged events all there.
      let v = await runCli(['sink', 'verify', '--store', files.store, '--key', f.keyPath, '--events']);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stderr).toMatch(/after the head .* are covered by their commit signatures/);
      expect(auditIds(v.stdout)).toEqual(acked);

      // SIGTERM while commits are failing: exit 1 and why.
      expect(await stopSink(sink)).toBe(1);
      expect(sink.stderr()).toMatch(/sink stopped while degraded: commits have failed since .*1 batch\(es\) answered 503.*full \(ENOSPC\)/);

      // Space again: the sink starts, accepts, stops cleanly; the store holds exactly the acknowledged events.
      rmSync(join(mnt, 'filler'));
      sink = await startSink(files, args);
      expect((await post([makeEvent(3000)])).status).toBe(200);
      expect(await stopSink(sink)).toBe(0);
      v = await runCli(['sink', 'verify', '--store', files.store, '--key', f.keyPath, '--events']);
      expect(v.code, v.stderr).toBe(0);
      expect(auditIds(v.stdout)).toEqual(acked);
      expect(refused).toHaveLength(20);
      expect(v.stdout).not.toContain(refused[0]);
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  }, 60_000);
});

describe('2b. the disk fills between the free-space check and the write', () => {
  it('the check sees room (statfs reports 10 MiB free) but the real tmpfs is full at the write: disk_full, nothing of the batch kept, the store verifies', async () => {
    const base = tempDir('sink-race-full');
    const mnt = join(base, 'mnt');
    const keyPath = join(base, 'signing.key');
    writeFileSync(keyPath, randomBytes(32), { mode: 0o600 });
    mountTmpfs(mnt, '256k');
    const original = fsp.statfs;
    try {
      const dir = join(mnt, 'store');
      const key = loadSigningKey(keyPath);
      const store = await Store.open({ dir, key, minFreeBytes: 64 * 1024 });
      const kept = makeEvent(1);
      const asReceived = (e: ReturnType<typeof makeEvent>) => ({ auditID: e.auditID, stage: e.stage, raw: Buffer.from(JSON.stringify(e)) });
      await store.append([asReceived(kept)]);
      // From here the check passes whatever the disk holds, as when the disk fills right after it.
      (fsp as { statfs: typeof fsp.statfs }).statfs = (async (p: string) => ({ ...(await original(p)), bavail: 2560, bsize: 4096 })) as typeof fsp.statfs;
      fillUp(join(mnt, 'filler'));
      const lost = Array.from({ length: 20 }, (_, k) => makeEvent(100 + k));
      // Refused by the write (ENOSPC), not by the check (which would say 'below the …-byte reserve').
      await expect(store.append(lost.map(asReceived))).rejects.toMatchObject({ reason: 'disk_full', message: expect.stringMatching(/file system is full \(ENOSPC\)/) });
      (fsp as { statfs: typeof fsp.statfs }).statfs = original;
      rmSync(join(mnt, 'filler'));
      const after = makeEvent(2);
      await store.append([asReceived(after)]);
      await store.close();
      const ids: string[] = [];
      const report = await verifyStore(dir, key, { onEvent: (e) => ids.push((JSON.parse(e.toString()) as { auditID: string }).auditID) });
      expect(report.problem && formatProblem(report.problem)).toBeUndefined();
      expect(ids).toEqual([kept.auditID, after.auditID]);
    } finally {
      (fsp as { statfs: typeof fsp.statfs }).statfs = original;
      execFileSync('umount', ['-l', mnt]);
    }
  });
});

describe('3. sink verify on a live store', () => {
  it('verify looping while 4 senders post and segments rotate and retention deletes: no false report', async () => {
    const f = await makeSinkFiles('sink-live-verify');
    const sink = await startSink(f, ['--segment-max-bytes', '16Ki', '--retention-max-bytes', '192Ki', '--max-in-flight', '64']);
    const key = loadSigningKey(f.keyPath);
    const client = clientOf(f);
    let stop = false;
    let batches = 0;
    const senders = Array.from({ length: 4 }, async (_, id) => {
      let n = 0;
      while (!stop) {
        const res = await send(sink.url, client, eventList(Array.from({ length: 3 + ((id + n++) % 12) }, (_, k) => makeEvent(k))));
        expect(res.status, res.body).toBe(200);
        batches++;
      }
    });
    const falseReports: string[] = [];
    let runs = 0;
    let notesSeen = 0;
    const cliRuns: Promise<void>[] = [];
    const deadline = Date.now() + 8_000;
    try {
      while (Date.now() < deadline) {
        const report = await verifyStore(f.store, key);
        runs++;
        if (!report.ok) falseReports.push(formatProblem(report.problem!));
        if (report.notes.some((n) => /not yet in the snapshot|after the head/.test(n))) notesSeen++;
        // The CLI too, a few times, concurrently with the in-process runs.
        if (runs % 10 === 0) {
          cliRuns.push(
            run(process.execPath, [MAIN, 'sink', 'verify', '--store', f.store, '--key', f.keyPath]).then(
              () => undefined,
              (e: { stdout?: string; message: string }) => void falseReports.push(`CLI: ${e.stdout ?? e.message}`),
            ),
          );
        }
      }
      await Promise.all(cliRuns);
    } finally {
      stop = true;
      await Promise.all(senders);
      expect(await stopSink(sink)).toBe(0);
    }
    console.log(`live verify: ${runs} in-process + ${cliRuns.length} CLI runs during ${batches} batches; ${notesSeen} saw commits newer than their snapshot; false reports: ${falseReports.length}`);
    expect(falseReports).toEqual([]);
    expect(runs).toBeGreaterThan(20);
    expect(cliRuns.length).toBeGreaterThan(1);
    // The races were exercised: retention ran (anchor), segments rotated, commits landed while verify ran.
    expect(existsSync(join(f.store, 'anchor.json'))).toBe(true);
    expect(notesSeen).toBeGreaterThan(0);
    expect((await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath])).code).toBe(0);
  }, 90_000);
});

describe('4. connections that never start TLS do not starve the apiserver', () => {
  /** Opens `count` TCP connections from `localAddress` that never send a byte; with `reopen`, each one closed is opened again. */
  function flood(url: string, count: number, localAddress: string, reopen: boolean): { sockets: Set<Socket>; stop(): void } {
    const u = new URL(url);
    const sockets = new Set<Socket>();
    let stopped = false;
    const open = () => {
      const s = connect({ host: u.hostname, port: Number(u.port), localAddress });
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        if (reopen && !stopped) setTimeout(open, 5);
      });
    };
    for (let i = 0; i < count; i++) open();
    return {
      sockets,
      stop() {
        stopped = true;
        for (const s of sockets) s.destroy();
      },
    };
  }

  it('--handshake-timeout: a connection that never starts TLS is closed by the sink and counted; a value outside 100ms–60s is a usage error', async () => {
    const f = await makeSinkFiles('sink-handshake-timeout');
    const sink = await startSink(f, ['--handshake-timeout', '300ms']);
    try {
      const u = new URL(sink.url);
      const idle = connect({ host: u.hostname, port: Number(u.port) });
      idle.on('error', () => undefined);
      // Waits for the sink to hang up (the test's own timeout bounds it); no assertion on how long it took.
      await new Promise<void>((r) => idle.on('close', () => r()));
      const m = await metricsOf(sink);
      expect(metric(m, 'audit_sink_connections_refused_total{reason="handshake_timeout"}')).toBe(1);
      expect(metric(m, 'audit_sink_tls_handshakes_in_progress')).toBe(0);
    } finally {
      expect(await stopSink(sink)).toBe(0);
    }
    const bad = await runCli(['sink', 'serve', '--store', f.store, '--key', f.keyPath, '--tls-dir', f.tlsDir, '--handshake-timeout', '2m']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--handshake-timeout 2m is outside 100ms–60s/);
  }, 30_000);

  it.each([
    ['400 idle connections held from the client’s own address (127.0.0.1)', '127.0.0.1', false],
    ['400 idle connections from another loopback address (127.0.0.2), reopened as soon as the sink drops them', '127.0.0.2', true],
  ] as const)('%s: 20 batches on new mTLS connections all get 200 within 10 s', async (_what, from, reopen) => {
    const f = await makeSinkFiles('sink-flood');
    const sink = await startSink(f);
    const attack = flood(sink.url, 400, from, reopen);
    try {
      await sleep(1_500); // the flood is in place (and older than the sink's 1 s protection of young handshakes)
      const statuses: (number | string)[] = [];
      for (let b = 0; b < 20; b++) {
        // Like the apiserver after an error: a new connection, with its own timeout.
        const res = await send(sink.url, clientOf(f), eventList([makeEvent(b)]), { timeoutMs: 10_000 }).catch((e: Error & { code?: string }) => ({ status: e.code ?? e.message }));
        statuses.push(res.status);
      }
      expect(statuses).toEqual(Array(20).fill(200));
      const m = await metricsOf(sink);
      const refused = metric(m, 'audit_sink_connections_refused_total{reason="handshake_per_source"}');
      console.log(`flood from ${from}${reopen ? ' (reopening)' : ''}: ${attack.sockets.size} attacker sockets open at the end; refused per source ${refused}, handshakes in progress ${metric(m, 'audit_sink_tls_handshakes_in_progress')}`);
      expect(refused).toBeGreaterThan(0);
      expect(metric(m, 'audit_sink_events_total')).toBe(20);
    } finally {
      attack.stop();
      expect(await stopSink(sink)).toBe(0);
    }
  }, 90_000);
});
