/**
 * Alert rules on real audit events: the real kube-apiserver's webhook delivers to the real `cdk8s-audit
 * sink serve --rules` (the built CLI, mutual TLS), with the rules the library gives the pci-dss preset
 * (`presetAlertRules`, approved networks = loopback, protected namespace = payments). Requests that must
 * fire (a new user reading a secret, exec from an unapproved source, writes in a protected namespace from
 * unapproved IPv4 and IPv6 addresses, an RBAC change attempted by a non-admin, an anonymous request that
 * succeeded) and requests that must not (the same reads again, a forbidden read, writes from approved
 * sources or outside protected namespaces, admins' RBAC changes, anonymous health/version requests) run
 * against the apiserver; after its shutdown flushed (one SIGTERM), the alert lines on the sink's stdout
 * are exactly the expected ones, tied to the requests by the Audit-Id header; the alert webhook (503 on
 * its first request) received the same alerts; audit_sink_alerts_total agrees; the store verifies.
 * Source addresses other than 127.0.0.1 come from X-Forwarded-For, which the apiserver records in
 * sourceIPs ahead of the connection's address.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { presetAlertRules } from '../../src/presets/alert-rules';
import { renderAlertRulesYaml } from '../../src/sink-contract/alert-rules';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { AlertReceiver } from './support/alert-receiver';
import { kubernetesVersions } from './support/binaries';
import type { ControlPlane } from './support/control-plane';
import { startControlPlaneForSink } from './support/sink-control-plane';
import type { Caller, KubeResponse } from './support/kube-client';
import { freePort, makeTempDir, removeTempDir, sleep, stopProcess } from './support/processes';
import { getText, metricValue, SINK_CLIENT_NAME, startSinkProcess, verifySinkStore, waitForRulesCaughtUp, writeSinkFiles } from './support/sink-process';
import { POLICY_SECRETS_METADATA } from './policies';

const PROTECTED = 'payments';
const OTHER = 'dev-e2e';
/** TEST-NET-3 and the IPv6 documentation prefix: only ever written into a header, never dialled. */
const OUTSIDE_V4 = '203.0.113.7';
const OUTSIDE_V6 = '2001:db8::7';

interface Expected {
  readonly rule: string;
  readonly step: string;
  readonly res: KubeResponse;
  readonly user: string;
  readonly verb: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly unapproved?: string[];
}

/** What the test compares of an alert line. */
function shape(a: Record<string, unknown>): Record<string, unknown> {
  const o = (a.object ?? {}) as Record<string, string>;
  return {
    rule: a.rule,
    auditID: a.auditID,
    code: a.code,
    user: a.user,
    verb: a.verb,
    resource: o.resource,
    subresource: o.subresource,
    ...(a.unapprovedSourceIPs ? { unapproved: a.unapprovedSourceIPs } : {}),
  };
}

function expectedShape(e: Expected): Record<string, unknown> {
  return {
    rule: e.rule,
    auditID: e.res.auditId,
    code: e.res.status,
    user: e.user,
    verb: e.verb,
    resource: e.resource,
    subresource: e.subresource ?? '',
    ...(e.unapproved ? { unapproved: e.unapproved } : {}),
  };
}

const byKey = (x: Record<string, unknown>) => `${x.auditID}/${x.rule}`;
const sorted = (xs: Record<string, unknown>[]) => [...xs].sort((a, b) => byKey(a).localeCompare(byKey(b)));

describe.each(kubernetesVersions())('sink serve --rules on real audit events, kube-apiserver v%s', (version) => {
  test('the preset rules fire exactly for the requests that should fire them, on stdout, the metrics and the webhook', async () => {
    const dir = makeTempDir('sink-rules');
    const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
    const sinkDir = join(dir, 'sink');
    mkdirSync(sinkDir);
    writeSinkFiles(sinkDir, tls);
    const all = presetAlertRules('pci-dss', { approvedSourceCidrs: ['127.0.0.0/8', '::1/128'], protectedNamespaces: [PROTECTED] });
    // The rate and location rules are about many requests and where they come from: gdpr-rules.test.ts runs them.
    const rules = { ...all, rules: all.rules.filter((r) => r.name !== 'new-user-object-burst' && r.name !== 'user-from-new-network') };
    writeFileSync(join(sinkDir, 'rules.yaml'), renderAlertRulesYaml(rules));
    writeFileSync(join(sinkDir, 'webhook-ca.crt'), tls.ca.certPem);
    const receiver = await AlertReceiver.start(tls.ca, 1);
    const port = await freePort();
    const sink = await startSinkProcess(sinkDir, port, [
      '--rules', join(sinkDir, 'rules.yaml'),
      '--alerts-webhook', receiver.url, '--alerts-webhook-ca', join(sinkDir, 'webhook-ca.crt'),
    ]);
    const expected: Expected[] = [];
    let cp: ControlPlane | undefined;
    try {
      cp = await startControlPlaneForSink({ dir, version, policy: POLICY_SECRETS_METADATA, port, tls });
      const c = cp;
      const admin = c.callerFor(c.users.admin);
      const alice = c.callerFor(c.users.alice);
      const bob = c.callerFor(c.users.bob);
      const anonymous: Caller = { anonymous: true };
      const from = (ip: string) => ({ 'X-Forwarded-For': ip });
      const call = async (caller: Caller, method: string, path: string, body?: unknown, headers?: Record<string, string>, status?: number[]): Promise<KubeResponse> => {
        const res = await c.client.request(method, path, body, { caller, headers });
        if (status && !status.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status}, expected ${status.join(' or ')}: ${res.text.slice(0, 300)}`);
        return res;
      };
      /** Repeats until the status is `want` (RBAC changes reach the authorizer's cache shortly after they are stored). */
      const until = async (want: number, fn: () => Promise<KubeResponse>): Promise<KubeResponse> => {
        for (let i = 0; i < 100; i++) {
          const res = await fn();
          if (res.status === want) return res;
          await sleep(100);
        }
        throw new Error(`never got HTTP ${want}`);
      };
      const fire = (rule: string, step: string, res: KubeResponse, rest: Omit<Expected, 'rule' | 'step' | 'res'>) => expected.push({ rule, step, res, ...rest });
      const ADMIN = c.users.admin.name;

      // Setup by the admin from 127.0.0.1: writes in the protected namespace from an approved source, RBAC by an admin — no alert.
      await call(admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PROTECTED } }, undefined, [201]);
      await call(admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OTHER } }, undefined, [201]);
      await call(admin, 'POST', `/api/v1/namespaces/${OTHER}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }, undefined, [201]);
      await call(admin, 'POST', `/api/v1/namespaces/${PROTECTED}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { password: Buffer.from('s3cret').toString('base64') } }, undefined, [201]);
      await call(admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${PROTECTED}/roles`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
      }, undefined, [201]);
      await call(admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${PROTECTED}/rolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-reads-secrets' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
      }, undefined, [201]);

      // new-secret-reader: alice's first successful read fires (forbidden attempts while RBAC propagates do not: outcome success).
      const aliceRead = await until(200, () => call(alice, 'GET', `/api/v1/namespaces/${PROTECTED}/secrets/db`));
      fire('new-secret-reader', 'alice reads the secret for the first time', aliceRead, { user: 'alice', verb: 'get', resource: 'secrets' });
      await call(alice, 'GET', `/api/v1/namespaces/${PROTECTED}/secrets/db`, undefined, undefined, [200]); // seen before: no alert
      await call(bob, 'GET', `/api/v1/namespaces/${PROTECTED}/secrets/db`, undefined, undefined, [403]); // failed: no alert
      const adminRead = await call(admin, 'GET', `/api/v1/namespaces/${PROTECTED}/secrets/db`, undefined, undefined, [200]);
      fire('new-secret-reader', 'the admin reads the secret for the first time', adminRead, { user: ADMIN, verb: 'get', resource: 'secrets' });

      // exec: from an unapproved source fires both exec rules; from 127.0.0.1 only exec-into-pod. (No node runs the pod: 400, still audited.)
      await call(admin, 'POST', `/api/v1/namespaces/${OTHER}/pods`, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
      }, undefined, [201]);
      const execOutside = await call(admin, 'POST', `/api/v1/namespaces/${OTHER}/pods/web/exec?command=id&stdout=true`, undefined, from(OUTSIDE_V4), [400]);
      fire('exec-into-pod', 'exec from outside', execOutside, { user: ADMIN, verb: 'create', resource: 'pods', subresource: 'exec' });
      fire('exec-from-unapproved-source', 'exec from outside', execOutside, { user: ADMIN, verb: 'create', resource: 'pods', subresource: 'exec', unapproved: [OUTSIDE_V4] });
      const execInside = await call(admin, 'POST', `/api/v1/namespaces/${OTHER}/pods/web/exec?command=id&stdout=true`, undefined, undefined, [400]);
      fire('exec-into-pod', 'exec from 127.0.0.1', execInside, { user: ADMIN, verb: 'create', resource: 'pods', subresource: 'exec' });

      // Writes in the protected namespace from unapproved IPv4 and IPv6 sources fire; from ::1, elsewhere, or reads do not.
      const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });
      const writeV4 = await call(admin, 'POST', `/api/v1/namespaces/${PROTECTED}/configmaps`, cm('from-outside-v4'), from(OUTSIDE_V4), [201]);
      fire('protected-namespace-write-from-unapproved-source', 'IPv4 write', writeV4, { user: ADMIN, verb: 'create', resource: 'configmaps', unapproved: [OUTSIDE_V4] });
      const writeV6 = await call(admin, 'PUT', `/api/v1/namespaces/${PROTECTED}/configmaps/from-outside-v4`, cm('from-outside-v4'), from(OUTSIDE_V6), [200]);
      fire('protected-namespace-write-from-unapproved-source', 'IPv6 write', writeV6, { user: ADMIN, verb: 'update', resource: 'configmaps', unapproved: [OUTSIDE_V6] });
      await call(admin, 'POST', `/api/v1/namespaces/${PROTECTED}/configmaps`, cm('from-loopback-v6'), from('::1'), [201]);
      await call(admin, 'POST', `/api/v1/namespaces/${OTHER}/configmaps`, cm('elsewhere'), from(OUTSIDE_V4), [201]);
      await call(admin, 'GET', `/api/v1/namespaces/${PROTECTED}/configmaps/from-outside-v4`, undefined, from(OUTSIDE_V4), [200]);

      // RBAC: a change attempted by a non-admin fires even though it is forbidden.
      const bobRole = await call(bob, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${OTHER}/roles`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'sneaky' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      }, undefined, [403]);
      fire('rbac-change-by-non-admin', 'bob creates a role', bobRole, { user: 'bob', verb: 'create', resource: 'roles' });

      // Anonymous: /version and forbidden requests do not fire; a successful resource read does.
      await call(anonymous, 'GET', '/version', undefined, undefined, [200]);
      await call(anonymous, 'GET', '/api/v1/namespaces', undefined, undefined, [403]);
      await call(admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'e2e-anonymous-namespace-reader' }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }],
      }, undefined, [201]);
      await call(admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'e2e-anonymous-namespace-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'e2e-anonymous-namespace-reader' },
        subjects: [{ kind: 'User', name: 'system:anonymous', apiGroup: 'rbac.authorization.k8s.io' }],
      }, undefined, [201]);
      const anonRead = await until(200, () => call(anonymous, 'GET', `/api/v1/namespaces/${PROTECTED}`));
      fire('anonymous-request-succeeded', 'anonymous namespace read', anonRead, { user: 'system:anonymous', verb: 'get', resource: 'namespaces' });
    } finally {
      await cp?.stop(); // one SIGTERM: the apiserver flushes its webhook buffer
    }
    let metrics = '';
    try {
      metrics = await waitForRulesCaughtUp(sink.opsUrl);
      for (let i = 0; i < 100 && receiver.alerts.length < expected.length; i++) await sleep(100);
      metrics = await getText(`${sink.opsUrl}/metrics`);
    } finally {
      await stopProcess(sink.proc, 30_000, 'SIGTERM');
      await receiver.close();
    }
    expect(await sink.proc.exited).toBe(0);
    try {
      const lines = readFileSync(sink.proc.stdoutPath, 'utf8').split('\n').filter(Boolean);
      const alerts = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(alerts.every((a) => a.kind === 'cdk8s-audit/alert')).toBe(true);
      // Exactly the expected alerts: no more (background traffic of the apiserver itself, the negative requests), no fewer.
      expect(sorted(alerts.map(shape))).toEqual(sorted(expected.map(expectedShape)));
      console.log(`v${version}: ${alerts.length} alerts on ${metricValue(metrics, 'audit_sink_rules_evaluated_events_total')} evaluated events: ${alerts.map((a) => a.rule).join(', ')}`);

      // Namespaces where the rule is about the namespace, and the severity and reason each alert carries.
      for (const a of alerts) {
        const e = expected.find((x) => x.res.auditId === a.auditID && x.rule === a.rule)!;
        if (e.rule !== 'anonymous-request-succeeded' && e.rule !== 'rbac-change-by-non-admin') expect((a.object as { namespace: string }).namespace, e.step).toBe(e.rule === 'new-secret-reader' || e.rule.startsWith('protected') ? PROTECTED : OTHER);
        expect(a.severity).toBe(rules.rules.find((r) => r.name === a.rule)!.severity);
        expect(typeof a.reason).toBe('string');
      }
      expect(alerts.find((a) => a.rule === 'new-secret-reader' && a.user === 'alice')!.firstSeen).toEqual({ user: 'alice', namespace: PROTECTED });
      // The secret's value is in no alert (alerts never carry bodies).
      expect(lines.join('\n')).not.toContain('s3cret');
      expect(lines.join('\n')).not.toContain(Buffer.from('s3cret').toString('base64'));

      // Metrics: per rule, exactly the alerts; every rule has a series (0 when it never fired).
      for (const r of rules.rules) {
        expect(metricValue(metrics, `audit_sink_alerts_total{rule="${r.name}"}`), r.name).toBe(expected.filter((e) => e.rule === r.name).length);
      }
      // The webhook's first answer was 503: the sink retried, and it received the same alerts.
      expect(receiver.statuses[0]).toBe(503);
      expect(receiver.alertLists.every((l) => l.kind === 'cdk8s-audit/AlertList')).toBe(true);
      expect(sorted(receiver.alerts.map(shape))).toEqual(sorted(expected.map(expectedShape)));
      expect(metricValue(metrics, 'audit_sink_alert_webhook_failed_attempts_total')).toBeGreaterThanOrEqual(1);
      expect(metricValue(metrics, 'audit_sink_alert_webhook_dropped_total')).toBe(0);

      // Each alert names the stored record it came from, and the store verifies.
      const verify = verifySinkStore(sink);
      expect(verify.status, verify.stderr).toBe(0);
      for (const a of alerts) expect(verify.events[(a.seq as number) - 1].auditID).toBe(a.auditID);
    } finally {
      removeTempDir(dir);
    }
  });
});
