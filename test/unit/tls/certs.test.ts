import * as tls from 'node:tls';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  KeyAlgorithm,
  createCertificateAuthority,
  createWebhookTlsBundle,
  issueClientCertificate,
  issueServingCertificate,
  loadCertificateAuthority,
  splitSans,
} from '../../../src/tls/certs';

interface HandshakeResult {
  /** The server accepted the client certificate and saw this peer subject. */
  serverPeer?: string;
  /** The server-side TLS error, if the handshake failed there. */
  serverError?: string;
  /** The client-side error, if any. */
  clientError?: string;
  /** Data the client received from the server after the handshake. */
  reply?: string;
  /** With `inspect`: why the server would have refused the client certificate (OpenSSL code). */
  authorizationError?: string;
}

/** Starts a TLS server on 127.0.0.1 requiring client certs, connects once, reports both sides. */
async function handshake(
  server: { cert: string; key: string; ca: string },
  client: { cert?: string; key?: string; ca: string },
  inspect = false,
): Promise<HandshakeResult> {
  const result: HandshakeResult = {};
  // inspect: accept the handshake but record the verification verdict (node gives no reason when it refuses).
  const srv = tls.createServer({ cert: server.cert, key: server.key, ca: server.ca, requestCert: true, rejectUnauthorized: !inspect }, (sock) => {
    if (!sock.authorized) {
      result.authorizationError = String(sock.authorizationError);
      sock.destroy();
      return;
    }
    result.serverPeer = sock.getPeerCertificate().subject?.CN as string;
    sock.end('hello');
  });
  srv.on('tlsClientError', (err) => {
    // The first error is the cause; later ones (e.g. 'socket hang up') are its consequences.
    result.serverError ??= `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: client.ca, cert: client.cert, key: client.key });
    let data = '';
    sock.on('data', (d) => (data += d.toString()));
    sock.on('error', (err) => {
      result.clientError ??= err.message;
      resolve();
    });
    sock.on('close', () => {
      if (data) result.reply = data;
      resolve();
    });
  });
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return result;
}

describe('webhook TLS material', () => {
  it.each([KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048])('completes an mTLS handshake on 127.0.0.1 (%s)', async (keyAlgorithm) => {
    const b = await createWebhookTlsBundle({ sans: ['localhost', '127.0.0.1'], keyAlgorithm, clientUser: 'apiserver', clientGroups: ['audit'] });
    const r = await handshake(
      { cert: b.sink.certPem, key: b.sink.keyPem, ca: b.ca.certPem },
      { cert: b.apiserverClient.certPem, key: b.apiserverClient.keyPem, ca: b.ca.certPem },
    );
    expect(r.serverError).toBeUndefined();
    expect(r.clientError).toBeUndefined();
    expect(r.serverPeer).toBe('apiserver');
    expect(r.reply).toBe('hello');
  });

  it('the server refuses a client certificate issued by another CA', async () => {
    const b = await createWebhookTlsBundle({ sans: ['127.0.0.1'] });
    const otherCa = await createCertificateAuthority({ commonName: 'intruder-ca' });
    const intruder = await issueClientCertificate(otherCa, { user: 'intruder' });
    const server = { cert: b.sink.certPem, key: b.sink.keyPem, ca: b.ca.certPem };
    const client = { cert: intruder.certPem, key: intruder.keyPem, ca: b.ca.certPem };
    const r = await handshake(server, client);
    expect(r.serverPeer).toBeUndefined();
    expect(r.reply).toBeUndefined();
    expect(r.serverError).toBeDefined();
    // The reason: the intruder's certificate does not chain to the webhook CA.
    const why = await handshake(server, client, true);
    expect(why.authorizationError).toMatch(/UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  it('the server refuses a client without a certificate', async () => {
    const b = await createWebhookTlsBundle({ sans: ['127.0.0.1'] });
    const r = await handshake({ cert: b.sink.certPem, key: b.sink.keyPem, ca: b.ca.certPem }, { ca: b.ca.certPem });
    expect(r.serverPeer).toBeUndefined();
    expect(r.reply).toBeUndefined();
    expect(r.serverError).toMatch(/certificate/i);
    const why = await handshake({ cert: b.sink.certPem, key: b.sink.keyPem, ca: b.ca.certPem }, { ca: b.ca.certPem }, true);
    expect(why.authorizationError).toBeDefined();
  });

  it('the client refuses a serving certificate without the dialled IP in its SANs', async () => {
    const ca = await createCertificateAuthority();
    const sink = await issueServingCertificate(ca, { dnsNames: ['sink.example.com'], ipAddresses: ['10.0.0.1'] });
    const client = await issueClientCertificate(ca, { user: 'apiserver' });
    const r = await handshake({ cert: sink.certPem, key: sink.keyPem, ca: ca.certPem }, { cert: client.certPem, key: client.keyPem, ca: ca.certPem });
    expect(r.clientError).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    expect(r.reply).toBeUndefined();
  });

  it('writes SANs, CN, O, key usages, validity and PKCS#8 keys', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const b = await createWebhookTlsBundle({
      sans: ['Sink.Example.com', '127.0.0.1', '::1'],
      clientUser: 'system:apiserver-audit',
      clientGroups: ['g1', 'g2'],
      validityDays: 30,
      caValidityDays: 100,
      now,
    });
    const ca = new NodeX509(b.ca.certPem);
    const sink = new NodeX509(b.sink.certPem);
    const client = new NodeX509(b.apiserverClient.certPem);
    expect(ca.ca).toBe(true);
    expect(sink.ca).toBe(false);
    expect(sink.checkIssued(ca)).toBe(true);
    expect(client.checkIssued(ca)).toBe(true);
    expect(sink.subjectAltName).toBe('DNS:sink.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(sink.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(client.subject.split('\n').sort()).toEqual(['CN=system:apiserver-audit', 'O=g1', 'O=g2']);
    expect(new Date(sink.validTo).getTime()).toBe(now.getTime() + 30 * 86400_000);
    expect(new Date(ca.validTo).getTime()).toBe(now.getTime() + 100 * 86400_000);
    expect(new Date(sink.validFrom).getTime()).toBe(now.getTime() - 5 * 60_000);
    for (const k of [b.ca.keyPem, b.sink.keyPem, b.apiserverClient.keyPem]) expect(k).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(sink.publicKey.asymmetricKeyType).toBe('ec');
    expect(sink.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(sink.serialNumber).not.toBe(client.serialNumber);
  });

  it('RSA option yields RSA keys of the requested size', async () => {
    const ca = await createCertificateAuthority({ keyAlgorithm: KeyAlgorithm.RSA_3072 });
    expect(new NodeX509(ca.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
  });

  it('a loaded CA issues certificates that chain to it', async () => {
    for (const keyAlgorithm of [KeyAlgorithm.ECDSA_P384, KeyAlgorithm.RSA_2048]) {
      const ca = await createCertificateAuthority({ keyAlgorithm });
      const loaded = await loadCertificateAuthority(ca.certPem, ca.keyPem);
      const leaf = await issueClientCertificate(loaded, { user: 'u' });
      expect(new NodeX509(leaf.certPem).checkIssued(new NodeX509(ca.certPem))).toBe(true);
      expect(new NodeX509(leaf.certPem).verify(new NodeX509(ca.certPem).publicKey)).toBe(true);
    }
  });

  it('loadCertificateAuthority refuses a key of another CA and a leaf certificate', async () => {
    const a = await createCertificateAuthority();
    const b = await createCertificateAuthority();
    await expect(loadCertificateAuthority(a.certPem, b.keyPem)).rejects.toThrow(/does not match the CA certificate/);
    const leaf = await issueClientCertificate(a, { user: 'u' });
    await expect(loadCertificateAuthority(leaf.certPem, leaf.keyPem)).rejects.toThrow(/is not a CA/);
    await expect(loadCertificateAuthority('garbage', a.keyPem)).rejects.toThrow(/not a PEM X.509 certificate/);
  });

  it.each([
    [() => createWebhookTlsBundle({ sans: [] }), /at least one SAN/],
    [() => createWebhookTlsBundle({ sans: ['bad_name!'] }), /"bad_name!" is neither an IP address nor a DNS name/],
    [() => createWebhookTlsBundle({ sans: ['x'], validityDays: 0 }), /validityDays: 0 is not a whole number of days/],
    [() => createWebhookTlsBundle({ sans: ['x'], validityDays: 4000 }), /after its CA expires/],
    [() => createWebhookTlsBundle({ sans: ['x'], clientUser: '' }), /user: "" is empty/],
    [async () => issueServingCertificate(await createCertificateAuthority(), { dnsNames: ['10.0.0.1'] }), /is an IP address; list it in ipAddresses/],
    [async () => issueServingCertificate(await createCertificateAuthority(), { ipAddresses: ['host'] }), /"host" is not an IPv4 or IPv6 address/],
    [() => createCertificateAuthority({ keyAlgorithm: 'dsa' as KeyAlgorithm }), /keyAlgorithm: "dsa" is not a supported key algorithm/],
  ])('rejects bad input %#', async (fn, message) => {
    await expect(fn()).rejects.toThrow(message);
  });

  it('splitSans sorts IPs from DNS names and ignores blanks', () => {
    expect(splitSans(['a.b', ' 10.1.2.3', '', '[fe80::1]', 'LOCALHOST'])).toEqual({ dnsNames: ['a.b', 'localhost'], ipAddresses: ['10.1.2.3', 'fe80::1'] });
  });
});

describe('cert-manager resources', () => {
  it('maps key algorithms, SANs, CN/O and validity', async () => {
    const { certManagerResources } = await import('../../../src/tls/cert-manager');
    const [selfSigned, ca, caIssuer, sink, client] = certManagerResources({
      namespace: 'audit',
      sans: ['10.96.0.50', 'Sink.Example.com'],
      clientUser: 'apiserver',
      clientGroups: ['g'],
      keyAlgorithm: KeyAlgorithm.RSA_3072,
      validityDays: 30,
    }) as { kind: string; metadata: { name: string }; spec: Record<string, any> }[];
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    expect(ca.spec).toMatchObject({ isCA: true, duration: '87600h', privateKey: { algorithm: 'RSA', size: 3072, encoding: 'PKCS8' }, issuerRef: { name: 'audit-webhook-selfsigned' } });
    expect(caIssuer.spec).toEqual({ ca: { secretName: 'audit-webhook-ca' } });
    expect(sink.spec).toMatchObject({ dnsNames: ['sink.example.com'], ipAddresses: ['10.96.0.50'], duration: '720h', usages: ['server auth', 'digital signature', 'key encipherment'], issuerRef: { name: 'audit-webhook-ca' } });
    expect(client.spec).toMatchObject({ commonName: 'apiserver', subject: { organizations: ['g'] }, usages: ['client auth', 'digital signature', 'key encipherment'] });
    expect((certManagerResources({ namespace: 'a', sans: ['x.example'] })[1] as { spec: { privateKey: unknown } }).spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 256, encoding: 'PKCS8' });
  });

  it.each<[object, RegExp]>([
    [{ namespace: 'Audit', sans: ['x'] }, /namespace: "Audit" is not a namespace name/],
    [{ namespace: 'a', sans: [] }, /sans: empty/],
    [{ namespace: 'a', sans: ['x'], validityDays: 0 }, /validityDays: 0 is not a whole number of days/],
    [{ namespace: 'a', sans: ['x'], namePrefix: 'UP' }, /namePrefix: "UP" is not a DNS label/],
  ])('refuses %j', async (props, message) => {
    const { certManagerResources } = await import('../../../src/tls/cert-manager');
    expect(() => certManagerResources(props as never)).toThrow(message);
  });
});
