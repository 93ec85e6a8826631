import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookTlsBundle } from '../../../src/tls/certs';
import { ApiClient, Identity } from '../../../src/testing';

// A stand-in apiserver on 127.0.0.1 that answers with what it saw: headers and the client certificate's CN.
let server: ReturnType<typeof createServer>;
let client: ApiClient;
let clientCert: { certPem: string; keyPem: string };

beforeAll(async () => {
  const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: 'probe-admin' });
  clientCert = tls.apiserverClient;
  server = createServer({ cert: tls.sink.certPem, key: tls.sink.keyPem, ca: tls.ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.setHeader('Audit-Id', 'audit-123');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({
      authorization: req.headers.authorization ?? null,
      user: req.headers['impersonate-user'] ?? null,
      groups: req.headersDistinct['impersonate-group'] ?? null,
      cn: peer?.subject?.CN ?? null,
    }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  client = new ApiClient(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, tls.ca.certPem);
});

afterAll(async () => {
  client.close();
  await new Promise((done) => server.close(done));
});

describe('ApiClient: requests as a given identity', () => {
  it.each<[string, () => Identity, Record<string, unknown>]>([
    ['anonymous', () => ({ kind: 'anonymous' }), { authorization: null, user: null, groups: null, cn: null }],
    ['a bearer token', () => ({ kind: 'token', token: 't0k' }), { authorization: 'Bearer t0k', user: null, groups: null, cn: null }],
    ['a client certificate', () => ({ kind: 'cert', ...clientCert }), { authorization: null, user: null, groups: null, cn: 'probe-admin' }],
    ['alice impersonated by a token, with groups', () => ({ kind: 'impersonate', by: { kind: 'token', token: 't0k' }, user: 'alice', groups: ['dev', 'qa'] }),
      { authorization: 'Bearer t0k', user: 'alice', groups: ['dev', 'qa'], cn: null }],
    ['bob impersonated by a client certificate', () => ({ kind: 'impersonate', by: { kind: 'cert', ...clientCert }, user: 'bob' }), { authorization: null, user: 'bob', groups: null, cn: 'probe-admin' }],
  ])('%s', async (_, identity, seen) => {
    const res = await client.send(identity(), 'GET', '/api/v1/namespaces');
    expect(res.status).toBe(200);
    expect(res.auditId).toBe('audit-123');
    expect(res.body).toEqual(seen);
  });
});
