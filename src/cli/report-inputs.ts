/**
 * Streaming readers for `report` (and `prove`): node log files, directories of rotated logs, gzip-compressed
 * rotations (--audit-log-compress), standard input, and the sink store (verified as it is read). They feed an
 * EvidenceJudge one line at a time, so memory stays bounded whatever the size of the logs.
 * I/O lives here, not in ./evidence, which stays pure.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SigningKey } from '../sink-server/signing';
import { formatProblem, verifyStore } from '../sink-server/verify';
import { EvidenceJudge, InputSummary, LoggedEvent } from '../evidence/evidence';

/** An input that cannot be judged (missing, empty of audit events, a store that does not verify). */
export class ReportInputError extends Error {}

/** Counts and time range of one input while it is read. */
class Tally {
  events = 0;
  otherLines = 0;
  from?: string;
  to?: string;
  see(e: LoggedEvent): void {
    this.events++;
    const t = e.stageTimestamp;
    if (t) {
      if (this.from === undefined || t < this.from) this.from = t;
      if (this.to === undefined || t > this.to) this.to = t;
    }
  }
  add(other: Tally): void {
    this.events += other.events;
    this.otherLines += other.otherLines;
    if (other.from && (this.from === undefined || other.from < this.from)) this.from = other.from;
    if (other.to && (this.to === undefined || other.to > this.to)) this.to = other.to;
  }
  summary(source: string, kind: InputSummary['kind']): InputSummary {
    return { source, kind, events: this.events, otherLines: this.otherLines, ...(this.from ? { from: this.from, to: this.to } : {}) };
  }
}

/** One JSON line: an Event, or an EventList (a captured webhook body); anything else is counted as another line. */
function feedLine(judge: EvidenceJudge, tally: Tally, text: string, source: string, line: number): void {
  let v: { kind?: unknown; items?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    tally.otherLines++;
    return;
  }
  if (v && v.kind === 'Event') {
    tally.see(v as LoggedEvent);
    judge.add(v as LoggedEvent, { source, line });
  } else if (v && v.kind === 'EventList' && Array.isArray(v.items)) {
    for (const e of v.items as LoggedEvent[]) {
      if (e && typeof e === 'object') {
        tally.see(e);
        judge.add(e, { source, line });
      }
    }
  } else {
    tally.otherLines++;
  }
}

/** Reads JSON lines from a stream into the judge. */
export async function readLogStream(judge: EvidenceJudge, stream: NodeJS.ReadableStream, source: string): Promise<Tally> {
  const tally = new Tally();
  const rl = createInterface({ input: stream as Readable, crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.length === 0 || text.trim() === '') continue;
    feedLine(judge, tally, text, source, line);
  }
  return tally;
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** A log file as a stream of text, decompressed when it is gzip (by its magic bytes, whatever its name). */
async function openLogFile(path: string): Promise<NodeJS.ReadableStream> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!(await isGzip(path))) return raw;
  const gunzip = createGunzip();
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** The files an `--audit-log` argument names: the file, or a directory's non-hidden regular files (rotations included), sorted. */
export async function logFiles(path: string): Promise<string[]> {
  let st;
  try {
    st = await fsp.stat(path);
  } catch (e) {
    throw new ReportInputError(`--audit-log ${path}: cannot be read (${(e as NodeJS.ErrnoException).code}); give a log file, a directory of rotated logs, or - for standard input`);
  }
  if (!st.isDirectory()) return [path];
  const names = (await fsp.readdir(path, { withFileTypes: true })).filter((d) => d.isFile() && !d.name.startsWith('.')).map((d) => d.name).sort();
  if (names.length === 0) throw new ReportInputError(`--audit-log ${path}: the directory holds no files; give the directory the apiserver writes --audit-log-path into`);
  return names.map((n) => join(path, n));
}

/**
 * Reads one `--audit-log` argument (file, directory, or `-` for stdin) into the judge.
 * @throws ReportInputError when it holds no audit event at all
 */
export async function readAuditLogInput(judge: EvidenceJudge, path: string, stdin: NodeJS.ReadableStream): Promise<InputSummary> {
  if (path === '-') {
    const t = await readLogStream(judge, stdin, '(stdin)');
    return checked(t.summary('(stdin)', 'stdin'), '--audit-log -');
  }
  const total = new Tally();
  for (const file of await logFiles(path)) {
    let t: Tally;
    try {
      t = await readLogStream(judge, await openLogFile(file), file);
    } catch (e) {
      throw new ReportInputError(`--audit-log ${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    total.add(t);
  }
  return checked(total.summary(path, 'log'), `--audit-log ${path}`);
}

function checked(s: InputSummary, flag: string): InputSummary {
  if (s.events === 0) {
    throw new ReportInputError(
      `${flag}: no audit event in it (${s.otherLines} lines that are not audit.k8s.io/v1 Events); ` +
        'give the JSON log the apiserver writes with --audit-log-format=json (rotations and .gz included)',
    );
  }
  return s;
}

/**
 * Verifies the sink store (hash chain, signed digests and head, as `sink verify`) and feeds its events to the
 * judge with their chain positions. Events reach the judge only once their segment has verified; a store that
 * fails verification throws, so no report rests on it.
 */
export async function readSinkStore(judge: EvidenceJudge, dir: string, key: SigningKey): Promise<InputSummary> {
  const tally = new Tally();
  const source = `sink store ${dir}`;
  const report = await verifyStore(dir, key, {
    onEvent: (buf, seq) => {
      let v: LoggedEvent;
      try {
        v = JSON.parse(buf.toString('utf8'));
      } catch {
        tally.otherLines++;
        return;
      }
      // The store keeps EventList items as the webhook sent them: they carry no kind of their own.
      if (v && (v.kind === 'Event' || (v.kind === undefined && typeof v.auditID === 'string' && typeof v.stage === 'string'))) {
        tally.see(v);
        judge.add(v, { source: dir, seq });
      } else tally.otherLines++;
    },
  });
  if (!report.ok) throw new ReportInputError(`--sink-store ${dir}: does not verify, so nothing in it is evidence: ${formatProblem(report.problem!)}; run \`cdk8s-audit sink verify --store ${dir} --key KEY\``);
  const s = tally.summary(source, 'sink-store');
  return checked({ ...s, verified: { segments: report.segments, records: report.records, firstSeq: report.firstSeq, lastSeq: report.lastSeq, keyId: key.keyId } }, `--sink-store ${dir}`);
}

/** `--name=value` lines (apiserver-args.txt) as a flag map (names without `--`). */
export function parseApiserverArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/^- /, '').replace(/^"|"$/g, '');
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(line);
    if (m) out[m[1]] = m[2] ?? 'true';
  }
  return out;
}
