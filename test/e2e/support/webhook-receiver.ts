/**
 * A tiny HTTPS audit webhook receiver for the tests: mutual TLS (it only talks to clients whose
 * certificate chains to the given CA), records every POSTed audit.k8s.io/v1 EventList as received.
 */
import { createServer, Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AuditEvent } from './audit-events';
import { sleep } from './processes';

export interface ReceivedBatch {
  readonly receivedAt: number;
  /** The raw body, for searches that must not miss anything (e.g. a canary value). */
  readonly body: string;
  readonly events: AuditEvent[];
  /** Subject CN of the client certificate the sender presented. */
  readonly clientCommonName: string | undefined;
}

export interface WebhookReceiverOptions {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** URL path the apiserver posts to. @default '/audit' */
  readonly path?: string;
}

export class WebhookReceiver {
  readonly batches: ReceivedBatch[] = [];
  /** TLS handshakes the receiver refused (no client certificate, or one from another CA). */
  readonly refusedHandshakes: string[] = [];
  /** Requests that were not a valid EventList POST: what the receiver answered and why. */
  readonly badRequests: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
    const path = options.path ?? '/audit';
    const server = createServer({
      key: options.keyPem,
      cert: options.certPem,
      ca: [options.caPem],
      requestCert: true,
      rejectUnauthorized: true,
    });
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolveListen());
    });
    const address = server.address();
    if (!address || typeof address !== 'object') throw new Error('webhook receiver has no address');
    const receiver = new WebhookReceiver(server, `https://127.0.0.1:${address.port}${path}`);
    server.on('tlsClientError', (error) => receiver.refusedHandshakes.push(error.message));
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const reply = (status: number, reason: string) => {
          if (status !== 200) receiver.badRequests.push(`${req.method} ${req.url}: ${status} ${reason}`);
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ status: status === 200 ? 'ok' : reason }));
        };
        // client-go appends ?timeout=30s (the webhook's request timeout); only the path identifies the endpoint.
        const pathname = new URL(req.url ?? '/', 'https://receiver').pathname;
        if (req.method !== 'POST' || pathname !== path) return reply(404, 'not the audit endpoint');
        let list: { kind?: string; apiVersion?: string; items?: AuditEvent[] };
        try {
          list = JSON.parse(body);
        } catch {
          return reply(400, 'body is not JSON');
        }
        if (list.kind !== 'EventList' || list.apiVersion !== 'audit.k8s.io/v1' || !Array.isArray(list.items)) {
          return reply(400, `expected an audit.k8s.io/v1 EventList, got ${list.apiVersion}/${list.kind}`);
        }
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        receiver.batches.push({ receivedAt: Date.now(), body, events: list.items, clientCommonName: [peer?.subject?.CN].flat()[0] });
        reply(200, 'ok');
      });
    });
    return receiver;
  }

  events(): AuditEvent[] {
    return this.batches.flatMap((b) => b.events);
  }

  /** Waits until `predicate` holds, polling; throws with `what` after the timeout. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`webhook receiver at ${this.url}: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
