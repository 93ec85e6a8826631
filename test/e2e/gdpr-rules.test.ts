/**
 * The gdpr preset's rate and location rules on real audit events: the real kube-apiserver, with the gdpr
 * preset's policy, delivers to the real `cdk8s-audit sink serve --rules` (built CLI, mutual TLS) running
 * `presetAlertRules('gdpr')`. Checked, from the sink's alert lines and its verified store:
 *
 * - what the apiserver records in sourceIPs for a request with forged X-Forwarded-For and X-Real-Ip headers:
 *   the forged entries first, the connection's address last — so the location key reads the last;
 * - new-user-object-burst: a new user's 30 creates in a few seconds fire once, on the 21st; the admin's usual
 *   traffic (a dozen creates) does not;
 * - user-from-new-network: fires once per user and network; forged headers neither move a known user nor
 *   hide a new network. A second network is real: the client connects from 127.0.1.5 (another /24 of
 *   loopback), so the apiserver sees another peer address.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KubernetesVersion } from '../../src/core/kubernetes-version';
import { getPreset } from '../../src/presets';
import { presetAlertRules } from '../../src/presets/alert-rules';
import { renderAlertRulesYaml } from '../../src/sink-contract/alert-rules';
import { createWebhookTlsBundle } from '../../src/tls/certs';
import { kubernetesVersions } from './support/binaries';
import type { ControlPlane } from './support/control-plane';
import { startControlPlaneForSink } from './support/sink-control-plane';
import type { Caller, KubeResponse } from './support/kube-client';
import { freePort, makeTempDir, removeTempDir, sleep, stopProcess } from './support/processes';
import { metricValue, SINK_CLIENT_NAME, startSinkProcess, verifySinkStore, waitForRulesCaughtUp, writeSinkFiles } from './support/sink-process';

/** The admin's user name in the control plane's token file. */
const ADMIN = 'e2e-admin';
const PEOPLE = 'people-e2e';
const OPS = 'ops-e2e';
/** Documentation addresses: only ever written into headers, never dialled. */
const FORGED_XFF = '203.0.113.7';
const FORGED_REAL_IP = '198.51.100.9';
/** Another /24 of loopback: a real second network for the client's end of the connection. */
const OTHER_LOCAL = '127.0.1.5';

describe.each(kubernetesVersions())('gdpr rate and location rules on real audit events, kube-apiserver v%s', (version) => {
  test('a new user burst fires once, the admin does not; locations key on the connecting address, forged headers change nothing', async () => {
    const dir = makeTempDir('gdpr-rules');
    const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
    const sinkDir = join(dir, 'sink');
    mkdirSync(sinkDir);
    writeSinkFiles(sinkDir, tls);
    const rules = presetAlertRules('gdpr', { approvedSourceCidrs: ['127.0.0.0/8', '::1/128'] });
    const burstRule = rules.rules.find((r) => r.name === 'new-user-object-burst')!;
    expect(burstRule).toMatchObject({ type: 'rate', threshold: 20, window: '1m', newKeysWithin: '24h' });
    writeFileSync(join(sinkDir, 'rules.yaml'), renderAlertRulesYaml(rules));
    const port = await freePort();
    const sink = await startSinkProcess(sinkDir, port, ['--rules', join(sinkDir, 'rules.yaml')]);
    let cp: ControlPlane | undefined;
    const aliceCreates: KubeResponse[] = [];
    const steps: Record<string, KubeResponse> = {};
    try {
      cp = await startControlPlaneForSink({ dir, version, policy: getPreset('gdpr', { kubernetesVersion: KubernetesVersion.of(version) }).policy, port, tls });
      const c = cp;
      const admin = c.callerFor(c.users.admin);
      const alice = c.callerFor(c.users.alice);
      const call = async (caller: Caller, method: string, path: string, body?: unknown, opts: { headers?: Record<string, string>; localAddress?: string } = {}, status?: number[]): Promise<KubeResponse> => {
        const res = await c.client.request(method, path, body, { caller, ...opts });
        if (status && !status.includes(res.status)) throw new Error(`${method} ${path}: HTTP ${res.status}, expected ${status.join(' or ')}: ${res.text.slice(0, 300)}`);
        return res;
      };
      const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });

      // The admin's usual traffic from 127.0.0.1: a dozen creates, some reads, RBAC for alice.
      steps.adminFirst = await call(admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PEOPLE } }, {}, [201]);
      await call(admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPS } }, {}, [201]);
      for (let i = 0; i < 8; i++) await call(admin, 'POST', `/api/v1/namespaces/${OPS}/configmaps`, cm(`usual-${i}`), {}, [201]);
      await call(admin, 'GET', `/api/v1/namespaces/${OPS}/configmaps`, undefined, {}, [200]);
      await call(admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${PEOPLE}/roles`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'configmap-writer' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'list'] }],
      }, {}, [201]);
      await call(admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${PEOPLE}/rolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-writes' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-writer' }, subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
      }, {}, [201]);

      // Forged X-Forwarded-For and X-Real-Ip from the admin's known network: no location alert.
      steps.adminForged = await call(admin, 'GET', `/api/v1/namespaces/${OPS}`, undefined, { headers: { 'X-Forwarded-For': FORGED_XFF, 'X-Real-Ip': FORGED_REAL_IP } }, [200]);

      // alice: wait for her grant with reads (not counted), then 30 creates in a few seconds.
      for (let i = 0; ; i++) {
        const r = await call(alice, 'GET', `/api/v1/namespaces/${PEOPLE}/configmaps`);
        if (r.status === 200) {
          steps.aliceFirst = r;
          break;
        }
        if (i > 100) throw new Error(`alice never got list access: HTTP ${r.status}`);
        await sleep(100);
      }
      for (let i = 0; i < 30; i++) aliceCreates.push(await call(alice, 'POST', `/api/v1/namespaces/${PEOPLE}/configmaps`, cm(`burst-${i}`), {}, [201]));
      // alice claims another network in headers: still her known one.
      steps.aliceForged = await call(alice, 'GET', `/api/v1/namespaces/${PEOPLE}/configmaps`, undefined, { headers: { 'X-Forwarded-For': '192.0.2.1' } }, [200]);
      // A real second network: both fire; the admin's header claiming the known network does not hide it.
      steps.aliceOther = await call(alice, 'GET', `/api/v1/namespaces/${PEOPLE}/configmaps`, undefined, { localAddress: OTHER_LOCAL }, [200]);
      steps.adminOther = await call(admin, 'GET', `/api/v1/namespaces/${OPS}`, undefined, { localAddress: OTHER_LOCAL, headers: { 'X-Forwarded-For': '127.0.0.1' } }, [200]);
      await call(admin, 'GET', `/api/v1/namespaces/${OPS}/configmaps`, undefined, { localAddress: '127.0.1.77' }, [200]); // same /24: quiet
    } finally {
      await cp?.stop(); // one SIGTERM: the apiserver flushes its webhook buffer
    }
    let metrics = '';
    try {
      metrics = await waitForRulesCaughtUp(sink.opsUrl);
    } finally {
      await stopProcess(sink.proc, 30_000, 'SIGTERM');
    }
    expect(await sink.proc.exited).toBe(0);
    try {
      const verify = verifySinkStore(sink);
      expect(verify.status, verify.stderr).toBe(0);
      const recorded = (res: KubeResponse) => verify.events.find((e) => e.auditID === res.auditId && e.stage === 'ResponseComplete');

      // What the apiserver really records: forged entries first, in header order, the connection's address last.
      expect(recorded(steps.adminForged)?.sourceIPs).toEqual([FORGED_XFF, FORGED_REAL_IP, '127.0.0.1']);
      expect(recorded(steps.adminOther)?.sourceIPs).toEqual(['127.0.0.1', OTHER_LOCAL]);
      expect(recorded(steps.aliceOther)?.sourceIPs).toEqual([OTHER_LOCAL]);

      const alerts = readFileSync(sink.proc.stdoutPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const of = (rule: string) => alerts.filter((a) => a.rule === rule);

      // The burst: one alert, alice's 21st create, nothing for the admin's usual traffic.
      const bursts = of('new-user-object-burst');
      expect(bursts.map((a) => [a.user, a.auditID])).toEqual([['alice', aliceCreates[20].auditId]]);
      expect(bursts[0].rate).toMatchObject({ key: { user: 'alice' }, count: 21, threshold: 20, window: '1m' });
      // Two keys have windows: the admin's and alice's (the only users who created anything).
      expect(metricValue(metrics, 'audit_sink_rules_rate_keys{rule="new-user-object-burst"}')).toBe(2);

      // Locations: once per user and network, on the requests that first came from it.
      const locations = of('user-from-new-network').map((a) => ({ user: a.user, auditID: a.auditID, firstSeen: a.firstSeen }));
      expect(locations).toEqual([
        { user: ADMIN, auditID: steps.adminFirst.auditId, firstSeen: { user: ADMIN, sourceNetwork: '127.0.0.0/24' } },
        { user: 'alice', auditID: steps.aliceFirst.auditId, firstSeen: { user: 'alice', sourceNetwork: '127.0.0.0/24' } },
        { user: 'alice', auditID: steps.aliceOther.auditId, firstSeen: { user: 'alice', sourceNetwork: '127.0.1.0/24' } },
        { user: ADMIN, auditID: steps.adminOther.auditId, firstSeen: { user: ADMIN, sourceNetwork: '127.0.1.0/24' } },
      ]);
      console.log(`v${version}: ${alerts.length} alerts (${[...new Set(alerts.map((a) => a.rule))].join(', ')}) on ${verify.events.length} stored events`);
    } finally {
      removeTempDir(dir);
    }
  });
});

