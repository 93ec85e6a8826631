import { createWriteStream, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, ExitCode, InputError, ParsedArgs, UsageError, booleanOption, stringOption } from '../command';
import { write } from '../io';
import { jsonLogger } from '../../sink-server/metrics';
import { DEFAULT_AUDIT_PATH, DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT, DEFAULT_REQUEST_TIMEOUT_MS, SinkServer, SinkTlsMaterial } from '../../sink-server/server';
import { loadSigningKey, SigningKeyError } from '../../sink-server/signing';
import { DEFAULT_DEDUPE_MAX_KEYS, DEFAULT_DEDUPE_WINDOW_MS, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_MIN_FREE_BYTES, DEFAULT_SEGMENT_MAX_AGE_MS, DEFAULT_SEGMENT_MAX_BYTES, Store, StoreOpenError } from '../../sink-server/store';
import { parseDuration, parseListen, parseSize } from '../../core/units';
import { RecordFeed } from '../../sink-server/feed';
import { HttpTargetError } from '../../sink-server/forward-http';
import { Pipeline } from '../../sink-server/pipeline';
import { OUTPUT_HELP, OUTPUT_OPTIONS, OutputOptions, parseOutputOptions } from './sink-serve-outputs';

const MiB = 1024 * 1024;

export const sinkServeCommand: Command = {
  name: 'sink serve',
  summary: 'run the remote audit sink: mTLS webhook receiver with a durable, hash-chained, signed store',
  help: `Usage: cdk8s-audit sink serve --store DIR --key FILE (--tls-dir DIR | --tls-cert F --tls-key F --client-ca F) [options]

Receives the kube-apiserver's audit webhook (POSTed audit.k8s.io/v1 EventList batches) and answers 200 only
after the events and their commit's signature (made with --key) are fsynced together to append-only segment
files. Records are hash-chained; each commit, segment digest and the head are signed with --key, so
'cdk8s-audit sink verify' detects any change, deletion, reordering or truncation, and records written by
anyone without the key. On start, records no signature covers are moved to DIR/quarantine/ (logged, metric
audit_sink_quarantined_records), never signed. Retries are deduplicated by (auditID, stage). A full disk,
a failed write or fsync, or overload is answered 503 with Retry-After so the apiserver retries.
SIGTERM/SIGINT drain in-flight requests, then exit 0 (1 when commits were failing: the log says why).

Required:
  --store DIR                  the store directory (created 0700; one sink per directory)
  --key FILE                   signing key: an Ed25519 PEM private key or an HMAC secret of >= 32 bytes
                               (a mounted Secret; never logged)
TLS (client certificates are required; the apiserver's comes from its webhook kubeconfig):
  --tls-dir DIR                read tls.crt, tls.key and ca.crt from DIR (a kubernetes.io/tls Secret
                               mount; cert-manager writes ca.crt)
  --tls-cert FILE              serving certificate (PEM)
  --tls-key FILE               its private key (PEM)
  --client-ca FILE             CA whose client certificates are accepted (PEM)
  --client-name CN             accept only client certificates with this subject CN (repeatable)
  --insecure-http              serve plain HTTP without client authentication (tests only; warns)
Listening:
  --listen HOST:PORT           default 0.0.0.0:8443 (port 0 picks a free port; the log says which)
  --path PATH                  the endpoint path (default ${DEFAULT_AUDIT_PATH})
  --ops-listen HOST:PORT|off   plain-HTTP /healthz, /readyz, /metrics (default 0.0.0.0:8081)
Limits:
  --max-body-bytes SIZE        largest request body (default 16Mi: above the apiserver's 10Mi default
                               --audit-webhook-truncate-max-batch-size plus the envelope)
  --max-in-flight N            requests read or stored at once; more get 503 (default ${DEFAULT_MAX_IN_FLIGHT})
  --max-in-flight-bytes SIZE   request body bytes read or stored at once; more get 503 (default 4 x
                               --max-body-bytes): bounds memory
  --max-queue-bytes SIZE       event bytes waiting for the disk before 503 (default 64Mi)
  --request-timeout DURATION   a request must arrive whole within this (default 30s)
  --handshake-timeout DURATION a TLS handshake must finish within this (default 5s). Handshakes in progress
                               have their own budget (64 per source address, 1024 in all: the oldest is
                               dropped for a newer one) apart from the 256 authenticated connections
  --min-free-bytes SIZE        answer 503 (disk_full) below this much free space (default 64Mi)
Store:
  --segment-max-bytes SIZE     seal and rotate a segment at this size (default 64Mi)
  --segment-max-age DURATION   ... or at this age (default 1h)
  --retention-max-age DURATION delete sealed segments older than this (default 0: keep)
  --retention-max-bytes SIZE   delete the oldest sealed segments above this total (default 0: no limit)
  --dedupe-window DURATION     remember (auditID, stage) this long (default 10m, twice the apiserver's
                               longest retry; rebuilt from disk on start)
  --dedupe-max-keys N          remember at most this many pairs (default 1000000, about 150 MB)
  --drain-timeout DURATION     on SIGTERM wait this long for in-flight requests (default 25s)
Output:
  --forward-stdout             also write each stored event as one JSON line to stdout, after it is durable
                               (for a log shipper; the local store stays the record of truth)
${OUTPUT_HELP}
  -h, --help                   show this help

Logs are JSON lines on stderr; they never contain event bodies or key material.
Exit codes: 0 stopped cleanly, 1 cannot start (bad key, damaged store, port in use) or stopped while
commits were failing (disk full, I/O error), 2 usage error.

Example:
  cdk8s-audit certs --out tls --sans 127.0.0.1
  head -c 32 /dev/urandom > signing.key
  cdk8s-audit sink serve --store /var/lib/audit-sink --key signing.key \\
    --tls-dir tls --listen 127.0.0.1:8443`,
  options: {
    store: { type: 'string' },
    key: { type: 'string' },
    'tls-dir': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'client-ca': { type: 'string' },
    'client-name': { type: 'string', multiple: true },
    'insecure-http': { type: 'boolean' },
    listen: { type: 'string' },
    path: { type: 'string' },
    'ops-listen': { type: 'string' },
    'max-body-bytes': { type: 'string' },
    'max-in-flight': { type: 'string' },
    'max-in-flight-bytes': { type: 'string' },
    'max-queue-bytes': { type: 'string' },
    'request-timeout': { type: 'string' },
    'handshake-timeout': { type: 'string' },
    'min-free-bytes': { type: 'string' },
    'segment-max-bytes': { type: 'string' },
    'segment-max-age': { type: 'string' },
    'retention-max-age': { type: 'string' },
    'retention-max-bytes': { type: 'string' },
    'dedupe-window': { type: 'string' },
    'dedupe-max-keys': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'forward-stdout': { type: 'boolean' },
    ...OUTPUT_OPTIONS,
  },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`sink serve takes no arguments, got ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    const opts = parseServeOptions(args, io.cwd);
    const outputs = parseOutputOptions(args, io.cwd, opts.forwardStdout);
    const log = jsonLogger(io.stderr);
    let key;
    try {
      key = loadSigningKey(opts.keyPath);
    } catch (e) {
      if (e instanceof SigningKeyError) throw new InputError(`--key: ${e.message}`);
      throw e;
    }
    if (!key.canSign) throw new InputError(`--key ${opts.keyPath}: an Ed25519 public key cannot sign; give the sink the private key (verify takes the public one)`);
    const tls = opts.insecureHttp ? undefined : readTls(opts);
    if (opts.insecureHttp) {
      write(io.stderr, 'cdk8s-audit: WARNING: --insecure-http: serving plain HTTP without client authentication. Audit events carry request bodies and secrets; use this only on 127.0.0.1 or in tests.');
    }
    const stdout = io.stdout;
    let forwardDropped = 0;
    const pipeline = buildPipeline(outputs, io.stdout, log);
    let feed: RecordFeed | undefined;
    let store: Store;
    try {
      store = await Store.open({
        dir: opts.store,
        key,
        segmentMaxBytes: opts.segmentMaxBytes,
        segmentMaxAgeMs: opts.segmentMaxAgeMs,
        retentionMaxAgeMs: opts.retentionMaxAgeMs,
        retentionMaxBytes: opts.retentionMaxBytes,
        minFreeBytes: opts.minFreeBytes,
        maxQueueBytes: opts.maxQueueBytes,
        dedupeWindowMs: opts.dedupeWindowMs,
        dedupeMaxKeys: opts.dedupeMaxKeys,
        log,
        onCommit: (events, firstSeq, hashes) => {
          feed?.onCommit(events, firstSeq, hashes);
          if (!opts.forwardStdout) return;
          const w = stdout as NodeJS.WritableStream & { writableLength?: number };
          if ((w.writableLength ?? 0) > 64 * MiB) {
            forwardDropped += events.length;
            if (forwardDropped === events.length) log.warn('stdout is not keeping up; forwarding drops events (they stay in the store)');
            return;
          }
          w.write(Buffer.concat(events.flatMap((e) => [e, Buffer.from('\n')])));
        },
      });
    } catch (e) {
      if (e instanceof StoreOpenError) throw new InputError(`--store: ${e.message}`);
      const err = e as NodeJS.ErrnoException;
      if (err.code) throw new InputError(`--store ${opts.store}: cannot open it (${err.code}: ${err.message})`);
      throw e;
    }
    feed = new RecordFeed(store.dir, store.stats().lastSeq);
    const server = new SinkServer({
      store,
      listen: opts.listen,
      tls,
      insecureHttp: opts.insecureHttp,
      allowedClientNames: opts.clientNames,
      path: opts.path,
      maxBodyBytes: opts.maxBodyBytes,
      maxInFlight: opts.maxInFlight,
      maxInFlightBytes: opts.maxInFlightBytes,
      requestTimeoutMs: opts.requestTimeoutMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      drainTimeoutMs: opts.drainTimeoutMs,
      opsListen: opts.opsListen,
      log,
    });
    pipeline?.registerMetrics(server.metrics);
    try {
      await pipeline?.start(feed, store.dir);
    } catch (e) {
      await store.close();
      throw new InputError(`cannot start forwarding or rules: ${(e as Error).message}`);
    }
    // Handlers before the server listens: a SIGTERM right after the "listening" line must drain, not kill.
    let signalled = false;
    let requestStop: (() => void) | undefined;
    const onSignal = (signal: string) => {
      log.info('signal received', { signal });
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      signalled = true;
      requestStop?.();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await server.start();
    } catch (e) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await pipeline?.stop(0);
      await store.close();
      const err = e as NodeJS.ErrnoException;
      throw new InputError(`--listen: cannot listen (${err.code ?? err.message})`);
    }
    await new Promise<void>((resolveStop) => {
      requestStop = () => {
        server
          .stop()
          .then(() => pipeline?.stop(outputs.drainTimeoutMs))
          .then(resolveStop, (e) => {
            log.error('stop failed', { error: (e as Error).message });
            resolveStop();
          });
      };
      if (signalled) requestStop();
    });
    const degraded = store.degraded();
    if (degraded) {
      log.error('stopped while degraded', { why: degraded });
      write(io.stderr, `cdk8s-audit: sink stopped while degraded: ${degraded}`);
      return ExitCode.FINDING;
    }
    return ExitCode.OK;
  },
};

/** The forwarders and rules, or undefined when none is configured. Reads TLS and credential files now (exit 1 on problems). */
function buildPipeline(outputs: OutputOptions, stdout: NodeJS.WritableStream, log: ReturnType<typeof jsonLogger>): Pipeline | undefined {
  if (outputs.forwards.length === 0 && !outputs.rules) return undefined;
  let stream = stdout;
  if (outputs.rules && outputs.alertsFile) {
    let fd: number;
    try {
      fd = openSync(outputs.alertsFile, 'a', 0o600);
    } catch (e) {
      throw new InputError(`--alerts-file: cannot open ${outputs.alertsFile} for appending (${(e as NodeJS.ErrnoException).code})`);
    }
    stream = createWriteStream('', { fd });
  }
  try {
    return new Pipeline({
      forwards: outputs.forwards,
      batch: outputs.batch,
      retry: outputs.retry,
      forwardFrom: outputs.forwardFrom,
      rules: outputs.rules ? { doc: outputs.rules, stream, webhook: outputs.webhook } : undefined,
      log,
      pseudonymizeKeyFile: outputs.pseudonymizeKeyFile,
    });
  } catch (e) {
    if (e instanceof HttpTargetError || e instanceof SigningKeyError) throw new InputError(`${e instanceof SigningKeyError ? '--forward-pseudonymize-key: ' : ''}${e.message}`);
    throw e;
  }
}

interface ServeOptions {
  readonly store: string;
  readonly keyPath: string;
  readonly tlsDir?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly clientCa?: string;
  readonly clientNames?: string[];
  readonly insecureHttp: boolean;
  readonly listen: { host: string; port: number };
  readonly path: string;
  readonly opsListen?: { host: string; port: number };
  readonly maxBodyBytes: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly maxQueueBytes: number;
  readonly requestTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly minFreeBytes: number;
  readonly segmentMaxBytes: number;
  readonly segmentMaxAgeMs: number;
  readonly retentionMaxAgeMs: number;
  readonly retentionMaxBytes: number;
  readonly dedupeWindowMs: number;
  readonly dedupeMaxKeys: number;
  readonly drainTimeoutMs: number;
  readonly forwardStdout: boolean;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseServeOptions(args: ParsedArgs, cwd: string): ServeOptions {
  const s = (n: string) => stringOption(args, n);
  const size = (n: string, d: number) => (s(n) === undefined ? d : usage(() => parseSize(`--${n}`, s(n)!)));
  const dur = (n: string, d: number) => (s(n) === undefined ? d : usage(() => parseDuration(`--${n}`, s(n)!)));
  const store = s('store');
  if (!store) throw new UsageError('sink serve needs --store DIR, the directory events are stored in');
  const keyPath = s('key');
  if (!keyPath) throw new UsageError("sink serve needs --key FILE, the signing key (create one with 'head -c 32 /dev/urandom > signing.key')");
  const insecureHttp = booleanOption(args, 'insecure-http');
  const tlsFiles = ['tls-cert', 'tls-key', 'client-ca'].filter((n) => s(n) !== undefined);
  if (insecureHttp && (tlsFiles.length || s('tls-dir'))) throw new UsageError('--insecure-http with TLS options: choose one — TLS (recommended) or plain HTTP');
  if (!insecureHttp) {
    if (s('tls-dir') && tlsFiles.length) throw new UsageError(`--tls-dir and --${tlsFiles[0]} both name TLS files; give one`);
    if (!s('tls-dir') && tlsFiles.length !== 3) {
      const missing = ['tls-cert', 'tls-key', 'client-ca'].filter((n) => s(n) === undefined);
      throw new UsageError(`sink serve needs TLS: --tls-dir DIR, or --tls-cert, --tls-key and --client-ca (missing: ${missing.map((m) => `--${m}`).join(', ')}); --insecure-http only for tests`);
    }
  }
  const path = s('path') ?? DEFAULT_AUDIT_PATH;
  if (!path.startsWith('/')) throw new UsageError(`--path ${JSON.stringify(path)} must start with /, e.g. /audit`);
  const maxInFlight = s('max-in-flight') === undefined ? DEFAULT_MAX_IN_FLIGHT : Number(s('max-in-flight'));
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 1024) throw new UsageError(`--max-in-flight ${JSON.stringify(s('max-in-flight'))} is not a whole number from 1 to 1024`);
  const maxBodyBytes = size('max-body-bytes', DEFAULT_MAX_BODY_BYTES);
  if (maxBodyBytes < 1024) throw new UsageError(`--max-body-bytes ${maxBodyBytes} is below 1024 bytes; a single audit event is larger`);
  const requestTimeoutMs = dur('request-timeout', DEFAULT_REQUEST_TIMEOUT_MS);
  if (requestTimeoutMs < 100) throw new UsageError(`--request-timeout must be at least 100ms`);
  const handshakeTimeoutMs = dur('handshake-timeout', DEFAULT_HANDSHAKE_TIMEOUT_MS);
  if (handshakeTimeoutMs < 100 || handshakeTimeoutMs > 60_000) throw new UsageError(`--handshake-timeout ${s('handshake-timeout')} is outside 100ms–60s; a TLS handshake takes milliseconds, keep it short (default 5s)`);
  const segmentMaxBytes = size('segment-max-bytes', DEFAULT_SEGMENT_MAX_BYTES);
  if (segmentMaxBytes < 4096) throw new UsageError('--segment-max-bytes must be at least 4096');
  const segmentMaxAgeMs = dur('segment-max-age', DEFAULT_SEGMENT_MAX_AGE_MS);
  if (segmentMaxAgeMs < 1000) throw new UsageError('--segment-max-age must be at least 1s');
  const ops = s('ops-listen') ?? '0.0.0.0:8081';
  const abs = (p: string) => resolve(cwd, p);
  return {
    store: abs(store),
    keyPath: abs(keyPath),
    tlsDir: s('tls-dir') && abs(s('tls-dir')!),
    tlsCert: s('tls-cert') && abs(s('tls-cert')!),
    tlsKey: s('tls-key') && abs(s('tls-key')!),
    clientCa: s('client-ca') && abs(s('client-ca')!),
    clientNames: args.values['client-name'] as string[] | undefined,
    insecureHttp,
    listen: usage(() => parseListen('--listen', s('listen') ?? '0.0.0.0:8443')),
    path,
    opsListen: ops === 'off' ? undefined : usage(() => parseListen('--ops-listen', ops)),
    maxBodyBytes,
    maxInFlight,
    maxInFlightBytes: size('max-in-flight-bytes', 4 * maxBodyBytes),
    maxQueueBytes: size('max-queue-bytes', DEFAULT_MAX_QUEUE_BYTES),
    requestTimeoutMs,
    handshakeTimeoutMs,
    minFreeBytes: size('min-free-bytes', DEFAULT_MIN_FREE_BYTES),
    segmentMaxBytes,
    segmentMaxAgeMs,
    retentionMaxAgeMs: dur('retention-max-age', 0),
    retentionMaxBytes: size('retention-max-bytes', 0),
    dedupeWindowMs: dur('dedupe-window', DEFAULT_DEDUPE_WINDOW_MS),
    dedupeMaxKeys: (() => {
      const v = s('dedupe-max-keys');
      const n = v === undefined ? DEFAULT_DEDUPE_MAX_KEYS : Number(v);
      if (!Number.isInteger(n) || n < 1000) throw new UsageError(`--dedupe-max-keys ${JSON.stringify(v)} is not a whole number of at least 1000`);
      return n;
    })(),
    drainTimeoutMs: dur('drain-timeout', DEFAULT_DRAIN_TIMEOUT_MS),
    forwardStdout: booleanOption(args, 'forward-stdout'),
  };
}

function readTls(opts: ServeOptions): SinkTlsMaterial {
  const files = opts.tlsDir
    ? { cert: ['--tls-dir', join(opts.tlsDir, 'tls.crt')], key: ['--tls-dir', join(opts.tlsDir, 'tls.key')], ca: ['--tls-dir', join(opts.tlsDir, 'ca.crt')] }
    : { cert: ['--tls-cert', opts.tlsCert!], key: ['--tls-key', opts.tlsKey!], ca: ['--client-ca', opts.clientCa!] };
  const read = ([flag, path]: string[], marker: RegExp, what: string): Buffer => {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new InputError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code}); it should hold the ${what}`);
    }
    if (!marker.test(data.toString('latin1'))) throw new InputError(`${flag}: ${path} is not a PEM ${what}`);
    return data;
  };
  return {
    certPem: read(files.cert, /-----BEGIN CERTIFICATE-----/, 'serving certificate'),
    keyPem: read(files.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key'),
    clientCaPem: read(files.ca, /-----BEGIN CERTIFICATE-----/, 'client CA certificate'),
  };
}
