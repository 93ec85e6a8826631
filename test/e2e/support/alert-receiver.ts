/**
 * An HTTPS endpoint for `sink serve --alerts-webhook` in the e2e tests (127.0.0.1 only): records every
 * POSTed AlertList; the first `failFirst` requests are answered 503, so the sink must retry.
 */
import { createServer, Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CertificateAuthority, issueServingCertificate } from '../../../src/tls/certs';

export class AlertReceiver {
  readonly alertLists: { kind: string; alerts: Record<string, unknown>[] }[] = [];
  readonly statuses: number[] = [];
  readonly authorizations: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Serves with a certificate for 127.0.0.1 issued by `ca` (the sink trusts it with --alerts-webhook-ca). */
  static async start(ca: CertificateAuthority, failFirst: number): Promise<AlertReceiver> {
    const serving = await issueServingCertificate(ca, { ipAddresses: ['127.0.0.1'] });
    const server = createServer({ cert: serving.certPem, key: serving.keyPem });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const receiver = new AlertReceiver(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`);
    let seen = 0;
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        receiver.authorizations.push(req.headers.authorization ?? '');
        const wellFormed = req.method === 'POST' && req.url === '/alerts' && req.headers['content-type'] === 'application/json';
        const status = seen++ < failFirst ? 503 : wellFormed ? 200 : 400;
        if (status === 200) receiver.alertLists.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        receiver.statuses.push(status);
        res.writeHead(status, { 'Content-Length': 0 });
        res.end();
      });
    });
    return receiver;
  }

  get alerts(): Record<string, unknown>[] {
    return this.alertLists.flatMap((l) => l.alerts);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
