/**
 * Pseudonymized forwarding (GDPR Art. 32): outputs get keyed hashes for user names, UIDs, extra values and
 * source addresses; the local store keeps the events as received. Pure checks of the transformation, then
 * `sink serve --forward-pseudonymize-key` as a real child process forwarding to the Elasticsearch and Loki
 * stand-ins (fake-logging.ts), then the AuditSink prop.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditSink, AuditSinkProps } from '../../../src/sinks';
import { PSEUDONYM_PREFIX, Pseudonymizer, PseudonymizingTarget } from '../../../src/sink-server/forward-pseudonym';
import { signingKeyFromBytes } from '../../../src/sink-server/signing';
import { FeedRecord } from '../../../src/sink-server/feed';
import { runCli } from '../../support/cli';
import { baseAuditSinkProps } from '../support/audit-sink-props';
import { testApp, tempDir } from '../support/temp-dir';
import { FakeElasticsearch, FakeLoki } from './fake-logging';
import { clientOf, eventList, makeEvent, makeSinkFiles, send, startSink, stopSink } from './support';

/** 32 random bytes that do not end in a newline byte (a text secret's line end is dropped on load). */
const secret = () => Buffer.concat([randomBytes(31), Buffer.from('k')]);
const pz = (key = secret()) => new Pseudonymizer(signingKeyFromBytes(key, 'test key'));

const EVENT = {
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'a-1', stage: 'ResponseComplete', verb: 'list',
  requestURI: '/api/v1/namespaces/kube-system/secrets',
  user: { username: 'alice@example.com', uid: 'u-123', groups: ['devs', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': ['JTI=abc'] } },
  impersonatedUser: { username: 'bob', groups: ['ops'] },
  sourceIPs: ['203.0.113.7', '10.0.0.5'],
  userAgent: 'kubectl/v1.35.0',
  objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' },
  responseStatus: { code: 403, message: 'secrets is forbidden: User "alice@example.com" cannot list resource "secrets" in API group "" in the namespace "kube-system"' },
  annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': 'no RBAC policy matched for bob' },
};

describe('Pseudonymizer', () => {
  const p = pz();
  const out = JSON.parse(p.event(Buffer.from(JSON.stringify(EVENT))).toString('utf8')) as typeof EVENT;
  const text = JSON.stringify(out);

  it('replaces user names, UIDs, extra values and every source address; nothing of them is left in the event', () => {
    for (const personal of ['alice@example.com', 'u-123', 'JTI=abc', 'bob', '203.0.113.7', '10.0.0.5']) expect(text).not.toContain(personal);
    expect(out.user.username).toBe(p.pseudonym('user', 'alice@example.com'));
    expect(out.user.username).toMatch(new RegExp(`^${PSEUDONYM_PREFIX}[0-9a-f]{32}$`));
    expect(out.impersonatedUser.username).toBe(p.pseudonym('user', 'bob'));
    expect(out.sourceIPs).toEqual([p.pseudonym('ip', '203.0.113.7'), p.pseudonym('ip', '10.0.0.5')]);
    expect(out.responseStatus.message).toContain(`User "${out.user.username}" cannot list`);
    expect(out.annotations['authorization.k8s.io/reason']).toBe(`no RBAC policy matched for ${out.impersonatedUser.username}`);
  });

  it('keeps what is not personal: groups, verb, object, code, user agent, system: identities', () => {
    expect(out).toMatchObject({ verb: 'list', objectRef: EVENT.objectRef, userAgent: 'kubectl/v1.35.0', user: { groups: EVENT.user.groups } });
    const sa = { ...EVENT, user: { username: 'system:serviceaccount:ci:deployer', uid: 'sa-uid' } };
    const o = JSON.parse(p.event(Buffer.from(JSON.stringify(sa))).toString()) as typeof sa;
    expect(o.user).toEqual(sa.user);
  });

  it('is stable per key, differs between keys and between kinds of value', () => {
    expect(p.pseudonym('user', 'alice')).toBe(p.pseudonym('user', 'alice'));
    expect(pz().pseudonym('user', 'alice')).not.toBe(p.pseudonym('user', 'alice'));
    expect(p.pseudonym('user', '10.0.0.5')).not.toBe(p.pseudonym('ip', '10.0.0.5'));
  });

  it('withholds an event that is not a JSON object', () => {
    expect(p.event(Buffer.from('not json')).toString()).toBe('{"kind":"Event","annotations":{"cdk8s-audit.io/pseudonymized":"withheld: not a JSON object"}}');
  });

  it('the wrapped output gets copies; the records (what the store holds) are untouched', async () => {
    const got: FeedRecord[] = [];
    const records: FeedRecord[] = [{ seq: 1, event: Buffer.from(JSON.stringify(EVENT)) }];
    await new PseudonymizingTarget({ deliver: async (r) => void got.push(...r) }, p).deliver(records, new AbortController().signal);
    expect(records[0].event.toString()).toBe(JSON.stringify(EVENT));
    expect(got[0].event.toString()).not.toContain('alice');
    expect(got[0].seq).toBe(1);
  });

  it('loads keys from files; refuses short, PEM and missing ones naming the file, never the content', () => {
    const dir = tempDir('pseudonym-keys');
    const w = (name: string, data: string | Buffer) => (writeFileSync(join(dir, name), data), join(dir, name));
    expect(Pseudonymizer.fromFile(w('ok', secret()))).toBeInstanceOf(Pseudonymizer);
    expect(() => Pseudonymizer.fromFile(w('short', 'tooshort-secret'))).toThrow(/pseudonym key .*short: an HMAC secret of 15 bytes; at least 32 are needed — create one with 'head -c 32 \/dev\/urandom > pseudonym\.key' \(a key of its own, not the signing key\)$/);
    expect(() => Pseudonymizer.fromFile(w('pem', '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n'))).toThrow(/a PEM key; give a secret of at least 32 random bytes/);
    expect(() => Pseudonymizer.fromFile(join(dir, 'missing'))).toThrow(/pseudonym key .*missing: cannot read it \(ENOENT\)/);
  });
});

const fakes: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close().catch(() => undefined)));
});

describe('sink serve --forward-pseudonymize-key', () => {
  it('Elasticsearch and Loki receive pseudonyms; the store verifies and holds the events as sent', async () => {
    const f = await makeSinkFiles('pseudonym-serve');
    const keyFile = join(f.dir, 'pseudonym.key');
    const key = secret();
    writeFileSync(keyFile, key, { mode: 0o600 });
    const es = await new FakeElasticsearch({}).start();
    const loki = await new FakeLoki({}).start();
    fakes.push(es, loki);
    const sink = await startSink(f, ['--forward-elasticsearch', es.url, '--forward-loki', loki.url, '--forward-insecure-http', '--forward-batch-max-wait', '50ms', '--forward-pseudonymize-key', keyFile]);
    try {
      const events = Array.from({ length: 6 }, (_, i) => ({ ...makeEvent(i), user: { username: `person-${i}@example.com` }, sourceIPs: [`198.51.100.${i + 1}`] }));
      const res = await send(sink.url, clientOf(f), eventList(events));
      expect(res.status, res.body).toBe(200);
      const deadline = Date.now() + 20_000;
      while ((es.docs.size < 6 || loki.entries.size < 6) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(es.docs.size).toBe(6);
      expect(loki.entries.size).toBe(6);
      const p = pz(key);
      const forwarded = [...[...es.docs.values()].map((d) => JSON.stringify(d.doc)), ...[...loki.entries.values()].map((e) => e.line)].join('\n');
      expect(forwarded).not.toMatch(/person-\d@example\.com|198\.51\.100\./);
      for (let i = 0; i < 6; i++) {
        expect(forwarded).toContain(p.pseudonym('user', `person-${i}@example.com`));
        expect(forwarded).toContain(p.pseudonym('ip', `198.51.100.${i + 1}`));
      }
    } finally {
      await stopSink(sink);
    }
    const stored = await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath, '--events']);
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout).toContain('person-0@example.com');
    expect(stored.stdout).toContain('198.51.100.1');
  });

  it('usage: needs an output (exit 2); a bad key file exits 1 naming the flag', async () => {
    const f = await makeSinkFiles('pseudonym-usage');
    const none = await runCli(['sink', 'serve', '--store', f.store, '--key', f.keyPath, '--tls-dir', f.tlsDir, '--forward-pseudonymize-key', f.keyPath]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--forward-pseudonymize-key needs --forward-elasticsearch URL or --forward-loki URL');
    const short = join(f.dir, 'short.key');
    writeFileSync(short, 'short');
    const bad = await runCli(['sink', 'serve', '--store', f.store, '--key', f.keyPath, '--tls-dir', f.tlsDir, '--listen', '127.0.0.1:0', '--ops-listen', '127.0.0.1:0',
      '--forward-loki', 'http://127.0.0.1:9', '--forward-insecure-http', '--forward-pseudonymize-key', short]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`--forward-pseudonymize-key: pseudonym key ${short}: an HMAC secret of 5 bytes`);
  });
});

describe('AuditSink forwardPseudonymizeKey', () => {
  const base = (): AuditSinkProps => ({ ...baseAuditSinkProps(), egressCidrs: ['10.20.0.0/16'] });
  const synth = (props: Partial<AuditSinkProps>) => {
    const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
    new AuditSink(chart, 'sink', { ...base(), ...props });
    return Testing.synth(chart);
  };
  it('mounts the Secret read-only and passes the flag', () => {
    const deploy = synth({ forwardLoki: { url: 'https://10.20.0.5:3100' }, forwardPseudonymizeKey: { secretName: 'pseudonym', key: 'key' } }).find((d) => d.kind === 'Deployment');
    const pod = deploy.spec.template.spec;
    const args: string[] = pod.containers[0].args;
    const at = args.indexOf('--forward-pseudonymize-key');
    expect(args.slice(at, at + 2)).toEqual(['--forward-pseudonymize-key', '/etc/audit-sink/outputs/pseudonym/pseudonym.key']);
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'pseudonym-key', mountPath: '/etc/audit-sink/outputs/pseudonym', readOnly: true });
    expect(pod.volumes.find((v: { name: string }) => v.name === 'pseudonym-key').secret).toMatchObject({ secretName: 'pseudonym', items: [{ key: 'key', path: 'pseudonym.key' }] });
  });
  it('without forwarding it is refused naming the prop', () => {
    expect(() => synth({ forwardPseudonymizeKey: { secretName: 'pseudonym', key: 'key' } })).toThrow(/forwardPseudonymizeKey: pseudonymizes what is forwarded, but nothing is/);
  });
});
