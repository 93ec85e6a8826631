import { resolve } from 'node:path';
import { Command, ExitCode, InputError, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { loadSigningKey, SigningKeyError } from '../../sink-server/signing';
import { formatProblem, verifyStore } from '../../sink-server/verify';

export const sinkVerifyCommand: Command = {
  name: 'sink verify',
  summary: "check a sink store's hash chain and signatures; name the first modified, deleted, reordered, truncated or forged place",
  help: `Usage: cdk8s-audit sink verify --store DIR --key FILE [--events] [--format text|json]

Verifies a store written by 'cdk8s-audit sink serve' without changing it: each record's hash and its link
to the previous record, sequence numbers without gaps or reorders, each sealed segment against its signed
digest, the digest chain (each digest names the previous one), the open segment against its commit
signatures and the signed head, the retention anchor, and that DIR/quarantine/ is empty. Records that no
signature of the key covers (written by someone without the key) fail it. Stops at the first bad place and
names it: file, record number, sequence number and what is wrong.

Safe while the sink runs: head.json, read first, is the snapshot; records committed after it are checked
by their commit signatures, and an unfinished commit at the end (a write in progress) is reported as not
yet in the snapshot, not as tampering. Stores written before commits were signed still verify (their
records are covered by the signed head and digests).

Options:
  --store DIR              the sink's store directory (required)
  --key FILE               the signing key: the HMAC secret, or the Ed25519 private or public key (required)
  --events                 write every verified event as one JSON line to stdout (the summary goes to
                           stderr); events of a segment are written only after the whole segment verified
  --format text|json       the summary's format (default text)
  -h, --help               show this help

Exit codes: 0 the store is intact, 1 it is not (or cannot be read; the message names where), 2 usage error.

Example:
  cdk8s-audit sink verify --store /var/lib/audit-sink --key signing.key
  cdk8s-audit sink verify --store backup/ --key signing.pub --events | vector --config ship.toml`,
  options: {
    store: { type: 'string' },
    key: { type: 'string' },
    events: { type: 'boolean' },
    'allow-unsigned-tail': { type: 'boolean' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`sink verify takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const store = stringOption(args, 'store');
    const keyPath = stringOption(args, 'key');
    if (!store) throw new UsageError('sink verify needs --store DIR');
    if (!keyPath) throw new UsageError('sink verify needs --key FILE (the HMAC secret, or the Ed25519 key)');
    if (booleanOption(args, 'allow-unsigned-tail')) {
      throw new UsageError(
        '--allow-unsigned-tail was removed: every commit is now signed in the same write as its records, so records after head.json are accepted when their commit signature verifies, and records no signature covers are never accepted; drop the flag',
      );
    }
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const emit = booleanOption(args, 'events');
    let key;
    try {
      key = loadSigningKey(resolve(io.cwd, keyPath));
    } catch (e) {
      if (e instanceof SigningKeyError) throw new InputError(`--key: ${e.message}`);
      throw e;
    }
    const dir = resolve(io.cwd, store);
    const nl = Buffer.from('\n');
    const report = await verifyStore(dir, key, {
      onEvent: emit ? (event) => io.stdout.write(Buffer.concat([event, nl])) : undefined,
    });
    const out = emit ? io.stderr : io.stdout;
    if (format === 'json') {
      write(out, JSON.stringify({ store: dir, ...report, problem: report.problem ? { ...report.problem, text: formatProblem(report.problem) } : undefined }));
    } else if (report.ok) {
      const range = report.firstSeq !== undefined ? `seq ${report.firstSeq}–${report.lastSeq}` : 'no records';
      write(out, [`store ${dir} is intact: ${report.records} records (${range}) in ${report.segments} segment(s); chain, commit signatures, digests and head verified with key ${key.keyId}`, ...report.notes.map((n) => `note: ${n}`)].join('\n'));
    } else {
      write(out, [`store ${dir} is NOT intact: ${formatProblem(report.problem!)}`, `(${report.records} record(s) verified before that, ${report.segments} whole segment(s))`, ...report.notes.map((n) => `note: ${n}`)].join('\n'));
    }
    return report.ok ? ExitCode.OK : ExitCode.FINDING;
  },
};
