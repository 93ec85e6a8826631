import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AuditConfigError } from '../../../src/backends/errors';
import { buildWebhookKubeconfig, renderWebhookKubeconfig, serviceDnsProblem, validateWebhookKubeconfig, WebhookKubeconfigProps } from '../../../src/backends/kubeconfig';
import { createWebhookTlsBundle } from '../../../src/tls/certs';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n';

describe('webhook kubeconfig', () => {
  it('renders a v1 Config whose data fields decode to the PEMs given', async () => {
    const b = await createWebhookTlsBundle({ sans: ['127.0.0.1'] });
    const yaml = renderWebhookKubeconfig({
      server: 'https://127.0.0.1:8443/audit',
      certificateAuthorityPem: b.ca.certPem,
      clientCertificatePem: b.apiserverClient.certPem,
      clientKeyPem: b.apiserverClient.keyPem,
    });
    const doc = parse(yaml);
    expect(doc.apiVersion).toBe('v1');
    expect(doc.kind).toBe('Config');
    expect(doc['current-context']).toBe('audit-webhook');
    expect(doc.contexts).toEqual([{ name: 'audit-webhook', context: { cluster: 'audit-sink', user: 'kube-apiserver' } }]);
    const cluster = doc.clusters[0].cluster;
    expect(cluster.server).toBe('https://127.0.0.1:8443/audit');
    expect(Buffer.from(cluster['certificate-authority-data'], 'base64').toString()).toBe(b.ca.certPem);
    const user = doc.users[0].user;
    expect(Buffer.from(user['client-certificate-data'], 'base64').toString()).toBe(b.apiserverClient.certPem);
    expect(Buffer.from(user['client-key-data'], 'base64').toString()).toBe(b.apiserverClient.keyPem);
    expect(Object.keys(user).sort()).toEqual(['client-certificate-data', 'client-key-data']);
  });

  it('an HTTPS client configured from the rendered kubeconfig completes mTLS with the sink and POSTs', async () => {
    const b = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: 'kube-apiserver-audit', clientGroups: ['audit'] });
    let seen: { cn?: string; body?: string } = {};
    const server = https.createServer({ cert: b.sink.certPem, key: b.sink.keyPem, ca: b.ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen = { cn: (req.socket as TLSSocket).getPeerCertificate().subject.CN as string, body };
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const doc = parse(
        renderWebhookKubeconfig({
          server: `https://127.0.0.1:${port}/audit`,
          certificateAuthorityPem: b.ca.certPem,
          clientCertificatePem: b.apiserverClient.certPem,
          clientKeyPem: b.apiserverClient.keyPem,
        }),
      );
      const ctx = doc.contexts.find((c: { name: string }) => c.name === doc['current-context']).context;
      const cluster = doc.clusters.find((c: { name: string }) => c.name === ctx.cluster).cluster;
      const user = doc.users.find((u: { name: string }) => u.name === ctx.user).user;
      const decode = (s: string) => Buffer.from(s, 'base64').toString();
      const status = await new Promise<number>((resolve, reject) => {
        const req = https.request(
          cluster.server,
          { method: 'POST', ca: decode(cluster['certificate-authority-data']), cert: decode(user['client-certificate-data']), key: decode(user['client-key-data']) },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end('{"kind":"EventList"}');
      });
      expect(status).toBe(200);
      expect(seen).toEqual({ cn: 'kube-apiserver-audit', body: '{"kind":"EventList"}' });
    } finally {
      server.close();
    }
  });

  it('renders file paths, token file, tls-server-name and custom names', () => {
    const doc = buildWebhookKubeconfig({
      server: 'https://10.96.0.50:8443',
      certificateAuthorityFile: '/etc/kubernetes/audit-webhook/ca.crt',
      clientCertificateFile: '/etc/kubernetes/audit-webhook/apiserver-client.crt',
      clientKeyFile: 'apiserver-client.key',
      tokenFile: '/etc/kubernetes/audit-webhook/token',
      tlsServerName: 'audit-sink.example.com',
      clusterName: 'c',
      userName: 'u',
      contextName: 'x',
    });
    expect(doc.clusters).toEqual([
      { name: 'c', cluster: { server: 'https://10.96.0.50:8443', 'certificate-authority': '/etc/kubernetes/audit-webhook/ca.crt', 'tls-server-name': 'audit-sink.example.com' } },
    ]);
    expect(doc.users).toEqual([
      {
        name: 'u',
        user: {
          'client-certificate': '/etc/kubernetes/audit-webhook/apiserver-client.crt',
          'client-key': 'apiserver-client.key',
          tokenFile: '/etc/kubernetes/audit-webhook/token',
        },
      },
    ]);
    expect(doc['current-context']).toBe('x');
  });

  it('renders a token user', () => {
    expect(buildWebhookKubeconfig({ server: 'https://192.0.2.10:30443', token: 'abc.def' }).users[0].user).toEqual({ token: 'abc.def' });
  });

  it('permits http only with allowInsecureHttp', () => {
    expect(() => buildWebhookKubeconfig({ server: 'http://127.0.0.1:8080' })).toThrow(/server: "http:\/\/127.0.0.1:8080" uses http.*allowInsecureHttp/);
    expect(buildWebhookKubeconfig({ server: 'http://127.0.0.1:8080', allowInsecureHttp: true }).clusters[0].cluster.server).toBe('http://127.0.0.1:8080');
  });

  it.each([
    ['https://audit-sink.audit.svc:8443', /host "audit-sink.audit.svc" is a Kubernetes Service DNS name/],
    ['https://audit-sink.audit.svc.cluster.local:8443/x', /host "audit-sink.audit.svc.cluster.local" is a Kubernetes Service DNS name/],
    ['https://sink.audit.svc.corp.example', /Service DNS name/],
    ['https://sink-0.sink.audit.svc.cluster.local', /Service DNS name/],
    ['https://10-0-0-1.audit.pod.cluster.local', /Service DNS name/],
    ['https://audit-sink.audit:8443', /host "audit-sink.audit" looks like a Service short name "name.namespace"/],
    ['https://audit-sink', /host "audit-sink" is a single-label name/],
  ])('refuses the Service DNS name in %s and says what to use instead', (server, message) => {
    const problems = validateWebhookKubeconfig({ server, certificateAuthorityPem: CERT });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(problems[0]).toMatch(/host network.*node's resolver.*not cluster DNS/);
    expect(problems[0]).toMatch(/fixed ClusterIP.*NodePort.*host address/);
  });

  it.each(['https://10.96.0.50', 'https://[fd00::50]:8443', 'https://localhost:8443', 'https://audit.example.com', 'https://sink.example.de', 'https://host.docker.internal:8443', 'https://sink.internal'])(
    'accepts %s',
    (server) => {
      expect(validateWebhookKubeconfig({ server })).toEqual([]);
    },
  );

  it('hostResolvableFromNode admits short names but never .svc names', () => {
    expect(serviceDnsProblem('audit-sink.audit', true)).toBeUndefined();
    expect(serviceDnsProblem('node1', true)).toBeUndefined();
    expect(serviceDnsProblem('audit-sink.audit.svc', true)).toMatch(/Service DNS name/);
    expect(serviceDnsProblem('audit-sink.audit.svc.cluster.local.', true)).toMatch(/Service DNS name/);
  });

  const base: WebhookKubeconfigProps = { server: 'https://127.0.0.1:8443' };
  it.each<[string, WebhookKubeconfigProps, RegExp]>([
    ['not a URL', { server: 'not a url' }, /^server: "not a url" is not an absolute URL; write it as https:\/\/HOST:PORT/],
    ['ftp', { server: 'ftp://127.0.0.1' }, /server: "ftp:\/\/127.0.0.1" has scheme ftp/],
    ['credentials in URL', { server: 'https://u:p@127.0.0.1' }, /embeds credentials/],
    ['fragment', { server: 'https://127.0.0.1/#x' }, /#fragment/],
    ['token over http', { server: 'http://127.0.0.1', allowInsecureHttp: true, token: 't' }, /bearer token.*clear text/],
    ['TLS material over http', { server: 'http://127.0.0.1', allowInsecureHttp: true, certificateAuthorityPem: CERT }, /is http but TLS material is configured/],
    ['CA data and file', { ...base, certificateAuthorityPem: CERT, certificateAuthorityFile: '/ca' }, /certificateAuthorityPem and certificateAuthorityFile: both are set/],
    ['cert data and file', { ...base, clientCertificatePem: CERT, clientCertificateFile: '/c', clientKeyPem: KEY }, /clientCertificatePem and clientCertificateFile: both are set/],
    ['key data and file', { ...base, clientCertificatePem: CERT, clientKeyPem: KEY, clientKeyFile: '/k' }, /clientKeyPem and clientKeyFile: both are set/],
    ['token and token file', { ...base, token: 't', tokenFile: '/t' }, /token and tokenFile: both are set/],
    ['cert without key', { ...base, clientCertificatePem: CERT }, /clientKeyPem\/clientKeyFile: \(unset\) while a client certificate is set/],
    ['key without cert', { ...base, clientKeyFile: '/k' }, /clientCertificatePem\/clientCertificateFile: \(unset\) while a client key is set/],
    ['CA not PEM', { ...base, certificateAuthorityPem: 'hello' }, /certificateAuthorityPem: "hello" is not a PEM certificate/],
    ['client cert not PEM', { ...base, clientCertificatePem: KEY, clientKeyPem: KEY }, /clientCertificatePem: .* is not a PEM certificate/],
    ['client key not PEM', { ...base, clientCertificatePem: CERT, clientKeyPem: CERT }, /clientKeyPem: \(redacted\) is not a PEM private key/],
    ['token with space', { ...base, token: 'a b' }, /token: \(redacted\) is empty or contains whitespace/],
    ['empty file path', { ...base, tokenFile: ' ' }, /tokenFile: " " is empty/],
    ['empty cluster name', { ...base, clusterName: '' }, /clusterName: "" is empty/],
  ])('refuses %s', (_name, props, message) => {
    const problems = validateWebhookKubeconfig(props);
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
    expect(() => renderWebhookKubeconfig(props)).toThrow(AuditConfigError);
  });

  it('lists every problem at once', () => {
    try {
      buildWebhookKubeconfig({ server: 'http://sink.audit.svc', token: 'x y' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AuditConfigError);
      expect((e as AuditConfigError).problems.length).toBeGreaterThanOrEqual(3);
      expect((e as Error).message).toMatch(/^\d+ problems:\n  - /);
    }
  });
});
