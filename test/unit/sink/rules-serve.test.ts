/**
 * `sink serve --rules` as a real child process: alerts as JSON lines (stdout or --alerts-file) for durable
 * events, audit_sink_alerts_total, first-seen memory kept in the store across restarts, re-evaluation
 * from the rules' cursor (at-least-once), the alert webhook retrying a hung or failing endpoint without
 * ever holding up ingestion, and the option checks.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderAlertRulesYaml } from '../../../src/sink-contract/alert-rules';
import { issueServingCertificate } from '../../../src/tls/certs';
import { FakeAlertWebhook } from './fake-logging';
import { clientOf, eventList, makeSinkFiles, send, SinkFiles, SinkProcess, startSink, stopSink } from './support';
import { runCli } from '../../support/cli';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c().catch(() => undefined);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RULES = renderAlertRulesYaml({
  apiVersion: 'cdk8s-audit.io/v1alpha1',
  kind: 'AlertRules',
  cidrSets: { office: ['10.0.0.0/8', 'fd00::/8'] },
  rules: [
    { name: 'new-secret-reader', type: 'first-seen', severity: 'warning', match: { verbs: ['get'], resources: [{ group: '', resources: ['secrets'] }] }, outcome: 'success', key: ['user', 'namespace'] },
    { name: 'exec-outside', type: 'source-cidr', severity: 'critical', match: { resources: [{ group: '', resources: ['pods/exec'] }] }, allowedSourceCidrSets: ['office'] },
  ],
});

async function setup(prefix: string): Promise<{ f: SinkFiles; rules: string }> {
  const f = await makeSinkFiles(prefix);
  const rules = join(f.dir, 'rules.yaml');
  writeFileSync(rules, RULES);
  return { f, rules };
}

function auditEvent(user: string, uri: string, verb: string, sourceIPs: string[], code = 200) {
  const now = new Date().toISOString();
  return {
    kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: randomUUID(), stage: 'ResponseComplete', requestURI: uri, verb,
    user: { username: user, groups: ['system:authenticated'] }, sourceIPs, responseStatus: { code }, requestReceivedTimestamp: now, stageTimestamp: now,
  };
}
const secretRead = (user: string, ns = 'prod', code = 200) => auditEvent(user, `/api/v1/namespaces/${ns}/secrets/db`, 'get', ['10.0.0.5'], code);
const exec = (ip: string) => auditEvent('alice', '/api/v1/namespaces/prod/pods/web/exec?command=sh', 'create', [ip], 101);

async function post(f: SinkFiles, sink: SinkProcess, events: unknown[]): Promise<void> {
  const res = await send(sink.url, clientOf(f), eventList(events));
  expect(res.status, res.body).toBe(200);
}

async function metrics(sink: SinkProcess): Promise<string> {
  return (await send(`${sink.opsUrl}/metrics`, undefined, undefined, { method: 'GET' })).body;
}
const sample = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(name + ' '))?.slice(name.length + 1) ?? NaN);

async function caughtUp(sink: SinkProcess): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const m = await metrics(sink);
    if (sample(m, 'audit_sink_rules_lag_events') === 0 && sample(m, 'audit_sink_rules_cursor') === sample(m, 'audit_sink_last_sequence')) return m;
    await sleep(25);
  }
  throw new Error('the rules did not catch up');
}

const alertLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { rule: string; user: string; auditID: string; unapprovedSourceIPs?: string[] });

describe('sink serve --rules', () => {
  it('writes alerts for durable events to stdout and counts them per rule; events that should not fire do not', async () => {
    const { f, rules } = await setup('rules-stdout');
    const sink = await startSink(f, ['--rules', rules]);
    const a = secretRead('alice');
    const outside = exec('203.0.113.5');
    const outsideV6 = exec('2001:db8::5');
    try {
      await post(f, sink, [a, secretRead('alice'), secretRead('bob', 'prod', 403), exec('10.1.1.1'), exec('fd00::1'), outside, outsideV6]);
      const m = await caughtUp(sink);
      expect(sample(m, 'audit_sink_alerts_total{rule="new-secret-reader"}')).toBe(1);
      expect(sample(m, 'audit_sink_alerts_total{rule="exec-outside"}')).toBe(2);
      expect(sample(m, 'audit_sink_rules_evaluated_events_total')).toBe(7);
      expect(sample(m, 'audit_sink_rules_first_seen_keys{rule="new-secret-reader"}')).toBe(1);
    } finally {
      expect(await stopSink(sink)).toBe(0);
    }
    expect(alertLines(sink.stdout()).map((x) => [x.rule, x.auditID, x.unapprovedSourceIPs])).toEqual([
      ['new-secret-reader', a.auditID, undefined],
      ['exec-outside', outside.auditID, ['203.0.113.5']],
      ['exec-outside', outsideV6.auditID, ['2001:db8::5']],
    ]);
    // The log says alerts were raised, never what was in the events.
    expect(sink.stderr()).toMatch(/"msg":"alerts raised"/);
    expect(sink.stderr()).not.toContain(a.auditID);
  });

  it('first-seen memory survives a restart and a kill -9; rewinding the cursor re-evaluates (at-least-once) with the memory of that point', async () => {
    const { f, rules } = await setup('rules-state');
    const alerts = join(f.dir, 'alerts.jsonl');
    const args = ['--rules', rules, '--alerts-file', alerts];
    let sink = await startSink(f, args);
    const first = secretRead('alice');
    await post(f, sink, [first]);
    await caughtUp(sink);
    expect(await stopSink(sink)).toBe(0);

    sink = await startSink(f, args);
    await post(f, sink, [secretRead('alice')]); // seen before the restart: no alert
    const bob = secretRead('bob');
    await post(f, sink, [bob]);
    await caughtUp(sink);
    sink.child.kill('SIGKILL');
    await sink.exited;

    sink = await startSink(f, args);
    await post(f, sink, [secretRead('bob'), secretRead('alice')]); // both remembered across kill -9
    await caughtUp(sink);
    expect(await stopSink(sink)).toBe(0);
    expect(alertLines(readFileSync(alerts, 'utf8')).map((x) => x.auditID)).toEqual([first.auditID, bob.auditID]);

    // Rewind the rules' cursor to record 1 (as a crash between evaluation and the cursor update would leave
    // it): events 2.. are evaluated again, and keys learnt from them are forgotten first — bob fires again.
    const cursorFile = join(f.store, 'state', 'rules.cursor.json');
    const cursor = JSON.parse(readFileSync(cursorFile, 'utf8'));
    expect(cursor.seq).toBe(5);
    writeFileSync(cursorFile, JSON.stringify({ ...cursor, seq: 1, hash: null }));
    sink = await startSink(f, args);
    await caughtUp(sink);
    expect(await stopSink(sink)).toBe(0);
    expect(alertLines(readFileSync(alerts, 'utf8')).map((x) => x.auditID)).toEqual([first.auditID, bob.auditID, bob.auditID]);
    expect((await runCli(['sink', 'verify', '--store', f.store, '--key', f.keyPath])).code).toBe(0);
  });

  it('the alert webhook retries a hung and a failing endpoint while ingestion goes on; credentials are never logged', async () => {
    const { f, rules } = await setup('rules-webhook');
    const serving = await issueServingCertificate(f.tls.ca, { ipAddresses: ['127.0.0.1'] });
    const token = `tok-${randomUUID()}`;
    const hook = await new FakeAlertWebhook({ tls: { certPem: serving.certPem, keyPem: serving.keyPem }, authorization: `Bearer ${token}` }).start();
    closers.push(() => hook.close());
    hook.failNext({ kind: 'hang' }, { kind: 'status', status: 503 });
    writeFileSync(join(f.dir, 'ca.crt'), f.tls.ca.certPem);
    writeFileSync(join(f.dir, 'token'), token);
    const sink = await startSink(f, ['--rules', rules, '--alerts-webhook', `${hook.url}/hook`, '--alerts-webhook-ca', join(f.dir, 'ca.crt'), '--alerts-webhook-bearer-token-file', join(f.dir, 'token'), '--forward-timeout', '500ms']);
    try {
      await post(f, sink, [exec('198.51.100.1')]);
      for (let i = 0; i < 200 && hook.hangingRequests === 0; i++) await sleep(25);
      expect(hook.hangingRequests).toBe(1);
      // The webhook is stuck; the sink still stores and acknowledges, and the rules keep evaluating.
      await post(f, sink, [exec('198.51.100.2'), secretRead('carol')]);
      const m = await caughtUp(sink);
      expect(sample(m, 'audit_sink_events_total')).toBe(3);
      for (let i = 0; i < 400 && hook.alerts.length < 3; i++) await sleep(25);
      const after = await metrics(sink);
      expect(sample(after, 'audit_sink_alert_webhook_sent_total')).toBe(3);
      expect(sample(after, 'audit_sink_alert_webhook_failed_attempts_total')).toBe(2);
      expect(sample(after, 'audit_sink_alert_webhook_dropped_total')).toBe(0);
    } finally {
      expect(await stopSink(sink)).toBe(0);
    }
    expect(hook.violations).toEqual([]);
    expect(hook.alerts.map((a) => a.rule).sort()).toEqual(['exec-outside', 'exec-outside', 'new-secret-reader']);
    expect(sink.stderr()).not.toContain(token);
  });

  it('checks its options: a bad rules file exits 1 naming the problem; conflicting outputs exit 2', async () => {
    const { f, rules } = await setup('rules-cli');
    const base = ['sink', 'serve', '--store', f.store, '--key', f.keyPath, '--tls-dir', f.tlsDir, '--listen', '127.0.0.1:0', '--ops-listen', 'off'];
    const bad = join(f.dir, 'bad.yaml');
    writeFileSync(bad, RULES.replace('key:', 'keys:'));
    const r = await runCli([...base, '--rules', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--rules: .*bad\.yaml: invalid alert rules \(1 problem\):\n {2}- rules\[0\] \(new-secret-reader\)\.keys: unknown field .*; fix: did you mean "key"\?/);
    expect((await runCli([...base, '--rules', join(f.dir, 'missing.yaml')])).stderr).toMatch(/--rules: cannot read .*missing\.yaml \(ENOENT\)/);
    expect((await runCli([...base, '--rules', rules, '--forward-stdout'])).stderr).toMatch(/--forward-stdout and --rules both write to stdout; give --alerts-file FILE/);
    expect((await runCli([...base, '--alerts-file', join(f.dir, 'a.jsonl')])).code).toBe(2);
    expect((await runCli([...base, '--rules', rules, '--alerts-webhook', 'http://127.0.0.1:1/x'])).code).toBe(2);
  });
});
