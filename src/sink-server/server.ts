/**
 * The HTTP(S) front of the sink: mutual TLS by default, strict request checks, bounded concurrency and
 * memory, a 200 only after the store has synced the events, 503 + Retry-After when the disk is full or the
 * sink is overloaded (the apiserver retries), graceful drain, and a separate plain-HTTP ops listener for
 * /healthz, /readyz and Prometheus /metrics (kubelet probes and Prometheus present no client certificate).
 */
import { createServer as createHttpServer, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_MAX_BODY_BYTES, APISERVER_DEFAULT_MAX_BATCH_BYTES } from '../sink-contract/defaults';
import { EventListError, parseEventList, REJECT_REASONS, RejectReason } from '../sink-contract/event-list';
import { Counter, Gauge, Logger, Registry, silentLogger } from './metrics';
import { Store, StoreError } from './store';

export { APISERVER_DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BODY_BYTES };
export const DEFAULT_MAX_IN_FLIGHT = 8;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 25_000;
export const DEFAULT_AUDIT_PATH = '/audit';
/** A client that has not finished its TLS handshake within this is disconnected (the apiserver's takes milliseconds). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Connections still in the TLS handshake, per source address; beyond it the oldest is dropped for a newer one (see below). */
export const DEFAULT_MAX_HANDSHAKES_PER_SOURCE = 64;
/** Connections still in the TLS handshake, in all; the oldest is dropped for a newer one. */
export const DEFAULT_MAX_HANDSHAKES = 1024;
/** Authenticated (handshake done) connections; handshakes in progress do not count against it. */
export const DEFAULT_MAX_CONNECTIONS = 256;
/**
 * A handshake younger than this is never dropped for a newer connection (the newer one is refused instead):
 * a real client's handshake takes milliseconds, so a flood that keeps reconnecting cannot push it out.
 */
export const HANDSHAKE_PROTECTED_MS = 1_000;
export const CONNECTION_REFUSE_REASONS = ['handshake_per_source', 'handshake_total', 'handshake_timeout', 'connection_limit'] as const;
export type ConnectionRefuseReason = (typeof CONNECTION_REFUSE_REASONS)[number];

export interface SinkTlsMaterial {
  readonly certPem: string | Buffer;
  readonly keyPem: string | Buffer;
  /** CA(s) whose client certificates are accepted. */
  readonly clientCaPem: string | Buffer;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface SinkServerOptions {
  readonly store: Store;
  readonly listen: ListenAddress;
  /** Serve HTTPS with client-certificate authentication. Required unless `insecureHttp`. */
  readonly tls?: SinkTlsMaterial;
  /** Serve plain HTTP (tests, or behind a TLS-terminating sidecar). @default false */
  readonly insecureHttp?: boolean;
  /** Accept only client certificates whose subject CN is listed. @default any certificate from the CA */
  readonly allowedClientNames?: readonly string[];
  /** The path events are POSTed to (the webhook kubeconfig's server URL path). @default '/audit' */
  readonly path?: string;
  /** @default 16 MiB */
  readonly maxBodyBytes?: number;
  /** Requests being read or stored at once; more get 503. @default 8 */
  readonly maxInFlight?: number;
  /** Body bytes being read or stored at once (declared or received so far); more get 503. Bounds memory. @default 4 × maxBodyBytes */
  readonly maxInFlightBytes?: number;
  /** A request must arrive whole within this time (slow clients get 408 and are disconnected). @default 30 s */
  readonly requestTimeoutMs?: number;
  /** On stop, wait this long for in-flight requests. @default 25 s */
  readonly drainTimeoutMs?: number;
  /** A TLS handshake must finish within this. @default 5 s */
  readonly handshakeTimeoutMs?: number;
  /** Handshakes in progress per source address before the oldest of them is dropped. @default 64 */
  readonly maxHandshakesPerSource?: number;
  /** Handshakes in progress in all before the oldest is dropped. @default 1024 */
  readonly maxHandshakes?: number;
  /** Authenticated connections at once; more are closed right after their handshake. @default 256 */
  readonly maxConnections?: number;
  /** Plain-HTTP listener for /healthz, /readyz, /metrics; undefined = none. */
  readonly opsListen?: ListenAddress;
  readonly log?: Logger;
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

export class SinkServer {
  readonly metrics = new Registry();
  private readonly requests: Counter;
  private readonly rejects: Counter;
  private readonly events: Counter;
  private readonly duplicates: Counter;
  private readonly tlsRefused: Counter;
  private readonly connectionsRefused: Counter;
  /** Connections in the TLS handshake, by `address|port`, oldest first. */
  private readonly handshaking = new Map<string, { source: string; raw: Socket; since: number }>();
  private readonly handshakingPerSource = new Map<string, number>();
  private authenticatedConnections = 0;
  private readonly log: Logger;
  private server!: HttpServer;
  private ops?: HttpServer;
  private inFlight = 0;
  private inFlightBytes = 0;
  private draining = false;
  private idle: (() => void)[] = [];
  /** The URL events are POSTed to, once listening. */
  url = '';
  /** The ops listener's base URL, once listening. */
  opsUrl = '';

  constructor(private readonly options: SinkServerOptions) {
    if (!options.tls && !options.insecureHttp) {
      throw new Error('tls: missing; the sink serves HTTPS with client-certificate authentication — give a certificate, key and client CA, or set insecureHttp for tests');
    }
    this.log = options.log ?? silentLogger;
    const store = options.store;
    const m = this.metrics;
    this.requests = m.add(new Counter('audit_sink_requests_total', 'Requests to the audit endpoint by HTTP status.', []));
    this.rejects = m.add(new Counter('audit_sink_rejects_total', 'Refused requests by reason.', REJECT_REASONS.map((reason) => ({ reason }))));
    this.events = m.add(new Counter('audit_sink_events_total', 'Audit events stored (fsynced).'));
    this.duplicates = m.add(new Counter('audit_sink_duplicate_events_total', 'Events received again (apiserver retries) and not stored twice.'));
    this.tlsRefused = m.add(new Counter('audit_sink_tls_handshake_failures_total', 'TLS handshakes refused (no or untrusted client certificate).'));
    this.connectionsRefused = m.add(
      new Counter(
        'audit_sink_connections_refused_total',
        'Connections closed before serving: too many handshakes from one source or in all (the oldest is dropped), handshake timeout, authenticated connection limit.',
        CONNECTION_REFUSE_REASONS.map((reason) => ({ reason })),
      ),
    );
    m.add(new Gauge('audit_sink_tls_handshakes_in_progress', 'Connections that have not finished the TLS handshake.', () => this.handshaking.size));
    m.add(new Gauge('audit_sink_authenticated_connections', 'Connections whose client certificate was accepted.', () => this.authenticatedConnections));
    m.add(new Gauge('audit_sink_quarantined_records', 'Records moved to quarantine/ at start: no signature of the key covers them (forged or damaged).', () => store.quarantinedRecords));
    m.add(new Gauge('audit_sink_commit_failures_total', 'Commits that could not be made durable (their batches were answered 503).', () => store.commitFailures));
    m.add(new Gauge('audit_sink_degraded', '1 while commits are failing (disk full, I/O errors), else 0.', () => (store.degraded() ? 1 : 0)));
    m.add(new Gauge('audit_sink_stored_bytes_total', 'Record bytes written since start.', () => store.bytesStored));
    m.add(store.fsyncSeconds);
    m.add(store.commitRecords);
    m.add(new Gauge('audit_sink_last_sequence', 'Sequence number of the newest stored record.', () => store.stats().lastSeq));
    m.add(new Gauge('audit_sink_segments', 'Segment files in the store.', () => store.stats().segments));
    m.add(new Gauge('audit_sink_store_bytes', 'Bytes of segments and digests in the store.', () => store.stats().storeBytes));
    m.add(new Gauge('audit_sink_disk_free_bytes', "Free bytes on the store's file system (last measured).", () => store.stats().diskFreeBytes));
    m.add(new Gauge('audit_sink_queue_bytes', 'Event bytes waiting for a commit.', () => store.stats().queueBytes));
    m.add(new Gauge('audit_sink_in_flight_requests', 'Requests being read or stored.', () => this.inFlight));
    m.add(new Gauge('audit_sink_in_flight_body_bytes', 'Request body bytes being read or stored.', () => this.inFlightBytes));
    m.add(new Gauge('audit_sink_dedupe_keys', '(auditID, stage) pairs remembered for deduplication.', () => store.stats().dedupeKeys));
    m.add(new Gauge('audit_sink_head_write_failures_total', 'Failed updates of head.json.', () => store.headWriteFailures));
    m.add(new Gauge('audit_sink_resident_memory_bytes', 'Resident set size of the sink process.', () => process.memoryUsage.rss()));
  }

  get maxBodyBytes(): number {
    return this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  async start(): Promise<void> {
    const timeout = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const common = {
      requestTimeout: timeout,
      headersTimeout: Math.min(timeout, 10_000),
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: Math.min(1_000, timeout),
      maxHeaderSize: 16 * 1024,
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    if (this.options.tls) {
      this.server = createHttpsServer(
        {
          ...common,
          cert: this.options.tls.certPem,
          key: this.options.tls.keyPem,
          ca: this.options.tls.clientCaPem,
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          handshakeTimeout: this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
        },
        handler,
      );
      this.server.on('tlsClientError', (e: Error & { code?: string }) => {
        if (e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') this.connectionsRefused.inc({ reason: 'handshake_timeout' });
        else this.tlsRefused.inc();
        this.log.warn('TLS handshake refused', { code: e.code });
      });
      this.budgetConnections();
    } else {
      this.server = createHttpServer(common, handler);
      this.server.maxConnections = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    }
    this.server.on('clientError', (err: Error & { code?: string }, socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') this.rejects.inc({ reason: 'timeout' });
      if (socket.writable) socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
    const addr = await listen(this.server, this.options.listen);
    const scheme = this.options.tls ? 'https' : 'http';
    this.url = `${scheme}://${hostForUrl(addr.address)}:${addr.port}${this.options.path ?? DEFAULT_AUDIT_PATH}`;
    if (this.options.opsListen) {
      this.ops = createHttpServer({ requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => this.handleOps(req, res));
      const o = await listen(this.ops, this.options.opsListen);
      this.opsUrl = `http://${hostForUrl(o.address)}:${o.port}`;
    }
    this.log.info('listening', { url: this.url, ops: this.opsUrl || undefined, clientAuth: this.options.tls ? 'required' : 'none (insecure http)', maxBodyBytes: this.maxBodyBytes });
  }

  /**
   * Connections that never finish a handshake must not lock out the apiserver: handshakes in progress have
   * their own budget, per source address and in all; when it is full a new connection drops the oldest
   * handshake if that one has waited HANDSHAKE_PROTECTED_MS or more (an idle flood ages out, the apiserver's
   * handshake takes milliseconds), else the new connection is refused. Only authenticated connections count
   * against maxConnections (no server.maxConnections: it counts every TCP connection).
   */
  private budgetConnections(): void {
    const perSource = this.options.maxHandshakesPerSource ?? DEFAULT_MAX_HANDSHAKES_PER_SOURCE;
    const total = this.options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES;
    const maxAuthenticated = this.options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const authenticated = new Set<string>();
    const release = (key: string) => {
      const entry = this.handshaking.get(key);
      if (!entry) return;
      this.handshaking.delete(key);
      const n = (this.handshakingPerSource.get(entry.source) ?? 1) - 1;
      if (n > 0) this.handshakingPerSource.set(entry.source, n);
      else this.handshakingPerSource.delete(entry.source);
    };
    /** Makes room by dropping the oldest handshake (of `source`, or of any), if it is old enough; false when the newcomer must go. */
    const dropOldest = (source: string | undefined, reason: ConnectionRefuseReason): boolean => {
      this.connectionsRefused.inc({ reason });
      for (const [key, entry] of this.handshaking) {
        if (source !== undefined && entry.source !== source) continue;
        if (Date.now() - entry.since < HANDSHAKE_PROTECTED_MS) return false;
        release(key);
        entry.raw.destroy();
        return true;
      }
      return false;
    };
    this.server.on('connection', (raw: Socket) => {
      const source = raw.remoteAddress ?? 'unknown';
      const key = `${source}|${raw.remotePort}`;
      const room =
        (this.handshakingPerSource.get(source) ?? 0) >= perSource ? dropOldest(source, 'handshake_per_source') : this.handshaking.size >= total ? dropOldest(undefined, 'handshake_total') : true;
      if (!room) {
        raw.destroy();
        return;
      }
      this.handshaking.set(key, { source, raw, since: Date.now() });
      this.handshakingPerSource.set(source, (this.handshakingPerSource.get(source) ?? 0) + 1);
      raw.once('close', () => {
        release(key);
        if (authenticated.delete(key)) this.authenticatedConnections--;
      });
    });
    this.server.on('secureConnection', (socket: TLSSocket) => {
      const key = `${socket.remoteAddress}|${socket.remotePort}`;
      release(key);
      if (this.authenticatedConnections >= maxAuthenticated) {
        this.connectionsRefused.inc({ reason: 'connection_limit' });
        socket.destroy();
        return;
      }
      authenticated.add(key);
      this.authenticatedConnections++;
    });
  }

  /** Stops accepting, answers 503 to new requests, waits for in-flight ones (up to the drain timeout), closes the store. */
  async stop(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.log.info('draining', { inFlight: this.inFlight });
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    const drained = new Promise<void>((r) => (this.inFlight === 0 ? r() : this.idle.push(r)));
    const timeoutMs = this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([drained.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) this.log.warn('drain timeout: closing connections with requests still in flight (they were not acknowledged)', { inFlight: this.inFlight });
    this.server.closeAllConnections();
    await closed;
    await this.options.store.close();
    if (this.ops) {
      this.ops.closeAllConnections();
      await new Promise<void>((r) => this.ops!.close(() => r()));
    }
    this.log.info('stopped', { lastSeq: this.options.store.stats().lastSeq });
  }

  private send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
    this.requests.inc({ code: String(reply.status) });
    const body = JSON.stringify(reply.body);
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...(reply.headers ?? {}) };
    if (this.draining) headers.Connection = 'close';
    res.writeHead(reply.status, headers);
    res.end(body);
  }

  private reject(req: IncomingMessage, res: ServerResponse, status: number, reason: RejectReason, message: string, headers?: Record<string, string>): void {
    this.rejects.inc({ reason });
    if (status >= 500) this.log.warn('request refused', { status, reason, message, client: clientName(req) });
    else this.log.warn('request rejected', { status, reason, message, client: clientName(req), remote: req.socket.remoteAddress });
    this.send(req, res, { status, body: { status: 'rejected', reason, message }, headers });
  }

  private handleOps(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://sink').pathname;
    const text = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'method not allowed\n');
    if (path === '/healthz' || path === '/livez') return text(200, 'ok\n');
    if (path === '/readyz') return this.draining ? text(503, 'draining\n') : text(200, 'ok\n');
    if (path === '/metrics') return text(200, this.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
    return text(404, 'not found: /healthz, /readyz, /metrics\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://sink');
    const path = this.options.path ?? DEFAULT_AUDIT_PATH;
    if (url.pathname !== path) {
      if (req.method === 'GET' && ['/healthz', '/readyz', '/livez', '/metrics'].includes(url.pathname)) return this.handleOps(req, res);
      req.resume();
      return this.reject(req, res, 404, 'path', `${url.pathname.slice(0, 100)} is not the audit endpoint; POST EventLists to ${path}`);
    }
    if (req.method !== 'POST') {
      req.resume();
      return this.reject(req, res, 405, 'method', `${req.method} is not allowed; POST an audit.k8s.io/v1 EventList`, { Allow: 'POST' });
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      req.resume();
      return this.reject(req, res, 415, 'content_type', `Content-Type ${JSON.stringify((req.headers['content-type'] ?? '(none)').slice(0, 60))} is not application/json`);
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      req.resume();
      return this.reject(req, res, 415, 'content_encoding', `Content-Encoding ${JSON.stringify(encoding.slice(0, 30))} is not supported; send the body uncompressed`);
    }
    const allowed = this.options.allowedClientNames;
    if (allowed && allowed.length > 0 && !allowed.includes(clientName(req) ?? '')) {
      req.resume();
      return this.reject(req, res, 403, 'client_not_allowed', `client certificate CN ${JSON.stringify(clientName(req) ?? '')} is not one of the allowed clients (--client-name)`);
    }
    const max = this.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
      res.setHeader('Connection', 'close');
      this.reject(req, res, 413, 'too_large', `Content-Length ${declared} exceeds the ${max}-byte limit (--max-body-bytes); enable --audit-webhook-truncate-enabled with --audit-webhook-batch-max-size × --audit-webhook-truncate-max-event-size below it`);
      req.destroy();
      return;
    }
    if (this.draining) {
      req.resume();
      return this.reject(req, res, 503, 'shutting_down', 'the sink is shutting down; retry', { 'Retry-After': '1' });
    }
    if (this.inFlight >= (this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)) {
      res.setHeader('Connection', 'close');
      this.reject(req, res, 503, 'overload', `${this.inFlight} requests in flight (--max-in-flight); retry`, { 'Retry-After': '1' });
      req.destroy();
      return;
    }
    const budget = this.options.maxInFlightBytes ?? 4 * max;
    const reserved = Number.isFinite(declared) ? declared : 0;
    if (this.inFlightBytes > 0 && this.inFlightBytes + reserved > budget) {
      res.setHeader('Connection', 'close');
      this.reject(req, res, 503, 'overload', `${this.inFlightBytes} body bytes in flight (limit ${budget}); retry`, { 'Retry-After': '1' });
      req.destroy();
      return;
    }
    this.inFlight++;
    this.inFlightBytes += reserved;
    let counted = reserved;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.inFlight--;
      this.inFlightBytes -= counted;
      if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
    };
    res.on('close', finish);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > counted && !done) {
        // Chunked bodies (no Content-Length) count as they arrive.
        this.inFlightBytes += size - counted;
        counted = size;
      }
      if (size > max) {
        tooLarge = true;
        chunks.length = 0;
        res.setHeader('Connection', 'close');
        this.reject(req, res, 413, 'too_large', `the body exceeds the ${max}-byte limit (--max-body-bytes); enable --audit-webhook-truncate-enabled with --audit-webhook-batch-max-size × --audit-webhook-truncate-max-event-size below it`);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', finish);
    req.on('end', () => {
      if (tooLarge) return;
      const body = Buffer.concat(chunks, size);
      chunks.length = 0;
      void this.store(req, res, body).finally(finish);
    });
  }

  private async store(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    let events;
    try {
      events = parseEventList(body);
    } catch (e) {
      if (e instanceof EventListError) return this.reject(req, res, 400, e.reason, e.message);
      throw e;
    }
    try {
      const result = await this.options.store.append(events);
      this.events.inc({}, result.stored);
      this.duplicates.inc({}, result.duplicates);
      if (!res.destroyed) this.send(req, res, { status: 200, body: { status: 'ok', stored: result.stored, duplicates: result.duplicates } });
    } catch (e) {
      if (e instanceof StoreError) {
        const retry = e.reason === 'disk_full' ? '10' : '1';
        return this.reject(req, res, 503, e.reason, e.message, { 'Retry-After': retry });
      }
      this.log.error('unexpected error while storing', { error: (e as Error).message });
      return this.reject(req, res, 503, 'store_error', 'the sink could not store the events; retry', { 'Retry-After': '1' });
    }
  }
}

function clientName(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function listen(server: HttpServer, at: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
