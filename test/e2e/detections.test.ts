/**
 * The detection table and check against the real kube-apiserver: for every Falco rule, requests that should
 * trigger it are sent under two policies (pci-dss, which the check says silences some rules, and pci-dss with
 * `detections: ['falco']`); from the real audit log, every field the rule's condition reads must be present
 * in the event of the stage the rule reads exactly when the check calls that request covered, and some field
 * must be missing when it reports a gap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FALCO_DETECTIONS, PolicyDocument, Stage, checkDetection, estimateGapVolume, fieldValues, getPreset } from '../../src';
import { writePolicyFile, logBackendArgs } from './support/audit-files';
import { AuditEvent, groupByAuditId, readJsonAuditLog } from './support/audit-events';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';

const [newest] = kubernetesVersions();
let running: ControlPlane | undefined;
let dirs: string[] = [];
afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const d of dirs) removeTempDir(d);
  dirs = [];
});

type As = 'admin' | 'alice' | 'anonymous';
interface Step {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly as?: As;
  readonly contentType?: string;
  /** Falco rules this request should trigger (with the rule's default lists and macros, or its documented override). */
  readonly triggers: string[];
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const RULES = [{ apiGroups: [''], resources: ['pods/exec', '*'], verbs: ['*', 'create'] }];
const container = { name: 'c', image: 'registry.example.com/tool:1', securityContext: { privileged: true } };
const hostPod = (name: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { hostNetwork: true, hostPID: true, hostIPC: true, containers: [container], volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] },
});

const STEPS: Step[] = [
  { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'dt' } }, triggers: ['K8s Namespace Created', 'Create Disallowed Namespace'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods', body: hostPod('dt-pod'),
    triggers: ['Create Disallowed Pod', 'Create Privileged Pod', 'Create Sensitive Mount Pod', 'Create HostNetwork Pod', 'Create HostPid Pod', 'Create HostIPC Pod'] },
  { method: 'POST', path: '/api/v1/namespaces/kube-system/pods', body: { metadata: { name: 'dt-kube' }, spec: { containers: [{ name: 'c', image: 'registry.example.com/tool:1' }] } },
    triggers: ['Pod Created in Kube Namespace'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods/dt-pod/exec?command=ls&stdout=true', triggers: ['Attach/Exec Pod'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods/dt-pod/attach?stdout=true', triggers: ['Attach/Exec Pod'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods/dt-pod/portforward?ports=80', triggers: ['port-forward'] },
  { method: 'PATCH', path: '/api/v1/namespaces/default/pods/dt-pod/ephemeralcontainers', contentType: 'application/strategic-merge-patch+json',
    body: { spec: { ephemeralContainers: [{ name: 'debug', image: 'registry.example.com/tool:1' }] } }, triggers: ['EphemeralContainers Created'] },
  { method: 'POST', path: '/api/v1/namespaces/default/services', body: { metadata: { name: 'dt-svc' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } },
    triggers: ['Create NodePort Service', 'K8s Service Created'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/services/dt-svc', triggers: ['K8s Service Deleted'] },
  { method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { metadata: { name: 'dt-cm' }, data: { password: 'not-a-real-one' } },
    triggers: ['Create/Modify Configmap With Private Credentials', 'K8s ConfigMap Created'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/dt-cm', triggers: ['K8s ConfigMap Deleted'] },
  { method: 'GET', path: '/api/v1/namespaces/default/pods', as: 'anonymous', triggers: ['Anonymous Request Allowed'] },
  { method: 'POST', path: '/api/v1/namespaces/kube-system/serviceaccounts', body: { metadata: { name: 'dt-sa' } },
    triggers: ['Service Account Created in Kube Namespace', 'K8s Serviceaccount Created'] },
  { method: 'DELETE', path: '/api/v1/namespaces/kube-system/serviceaccounts/dt-sa', triggers: ['K8s Serviceaccount Deleted'] },
  { method: 'POST', path: `${RBAC}/clusterroles`, body: { metadata: { name: 'system:dt-role' }, rules: RULES },
    triggers: ['System ClusterRole Modified/Deleted', 'ClusterRole With Wildcard Created', 'ClusterRole With Write Privileges Created', 'ClusterRole With Pod Exec Created', 'K8s ClusterRole Created'] },
  { method: 'DELETE', path: `${RBAC}/clusterroles/system:dt-role`, triggers: ['System ClusterRole Modified/Deleted', 'K8s ClusterRole Deleted'] },
  { method: 'POST', path: `${RBAC}/namespaces/default/roles`, body: { metadata: { name: 'dt-role' }, rules: RULES },
    triggers: ['ClusterRole With Wildcard Created', 'ClusterRole With Write Privileges Created', 'ClusterRole With Pod Exec Created', 'K8s Role Created'] },
  { method: 'DELETE', path: `${RBAC}/namespaces/default/roles/dt-role`, triggers: ['K8s Role Deleted'] },
  { method: 'POST', path: `${RBAC}/clusterrolebindings`,
    body: { metadata: { name: 'dt-crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] },
    triggers: ['Attach to cluster-admin Role', 'K8s ClusterRoleBinding Created'] },
  { method: 'DELETE', path: `${RBAC}/clusterrolebindings/dt-crb`, triggers: ['K8s ClusterRoleBinding Deleted'] },
  { method: 'POST', path: `${RBAC}/namespaces/default/rolebindings`,
    body: { metadata: { name: 'dt-rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] },
    triggers: ['K8s RoleBinding Created'] },
  { method: 'DELETE', path: `${RBAC}/namespaces/default/rolebindings/dt-rb`, triggers: ['K8s RoleBinding Deleted'] },
  { method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments',
    body: { metadata: { name: 'dt-deploy' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'registry.example.com/tool:1' }] } } } },
    triggers: ['K8s Deployment Created'] },
  { method: 'DELETE', path: '/apis/apps/v1/namespaces/default/deployments/dt-deploy', triggers: ['K8s Deployment Deleted'] },
  { method: 'POST', path: '/api/v1/namespaces/default/secrets', body: { metadata: { name: 'dt-secret' }, stringData: { k: 'detection-secret-value' } }, triggers: ['K8s Secret Created'] },
  { method: 'GET', path: '/api/v1/namespaces/default/secrets/dt-secret', triggers: ['K8s Secret Get Successfully'] },
  { method: 'GET', path: '/api/v1/namespaces/default/secrets/dt-missing', triggers: ['K8s Secret Get Unsuccessfully Tried'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/secrets/dt-secret', triggers: ['K8s Secret Deleted'] },
  { method: 'POST', path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
    body: { metadata: { name: 'dt-ing' }, spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'x', port: { number: 80 } } } }] } }] } },
    triggers: ['Ingress Object without TLS Certificate Created'] },
  { method: 'POST', path: '/api/v1/nodes', body: { metadata: { name: 'dt-node' } }, triggers: ['Untrusted Node Successfully Joined the Cluster'] },
  { method: 'POST', path: '/api/v1/nodes', body: { metadata: { name: 'dt-node-2' } }, as: 'alice', triggers: ['Untrusted Node Unsuccessfully Tried to Join the Cluster'] },
  { method: 'GET', path: '/api/v1/namespaces', triggers: ['Disallowed K8s User', 'Full K8s Administrative Access'] },
  { method: 'DELETE', path: '/api/v1/namespaces/dt', triggers: ['K8s Namespace Deleted'] },
];

/** Sends every step under the policy; returns the audit events of each step, by step index. */
async function run(policy: PolicyDocument, label: string): Promise<{ log: string; results: { step: Step; status: number; events: AuditEvent[] }[] }> {
  const dir = makeTempDir(`detections-${label}`);
  dirs.push(dir);
  const logPath = join(dir, 'audit.log');
  const cp = await startControlPlane({ version: newest, extraArgs: logBackendArgs(writePolicyFile(dir, policy), logPath) });
  running = cp;
  const sent = [];
  for (const step of STEPS) {
    const caller = step.as === 'anonymous' ? { anonymous: true as const } : { token: (step.as === 'alice' ? cp.users.alice : cp.users.admin).token };
    const res = await cp.client.request(step.method, step.path, step.body, { caller, contentType: step.contentType });
    sent.push({ step, status: res.status, auditId: res.auditId });
  }
  await cp.stop();
  running = undefined;
  const byId = groupByAuditId(readJsonAuditLog(logPath));
  return { log: readFileSync(logPath, 'utf8'), results: sent.map(({ step, status, auditId }) => ({ step, status, events: byId.get(auditId ?? '') ?? [] })) };
}

/** Problems where the real log disagrees with the check: fields missing from a covered request, or all present despite a gap. */
function judge(policy: PolicyDocument, results: Awaited<ReturnType<typeof run>>['results']): string[] {
  const problems: string[] = [];
  for (const d of FALCO_DETECTIONS) {
    const coverage = checkDetection(policy, d);
    const stage = d.stage ?? Stage.RESPONSE_COMPLETE;
    for (const { step, status, events } of results.filter((r) => r.step.triggers.includes(d.name))) {
      const label = `"${d.name}" ← ${step.method} ${step.path} (HTTP ${status})`;
      const event = events.find((e) => e.stage === stage);
      const ref = event?.objectRef ?? events[0]?.objectRef;
      const gap = coverage.gaps.find((g) => g.attributes.verb === (event ?? events[0])?.verb && g.attributes.resource === ref?.resource && (g.attributes.subresource ?? '') === (ref?.subresource ?? ''));
      const missing = d.reads.filter((f) => !event || fieldValues(event, f).length === 0);
      if (!gap && missing.length) problems.push(`${label}: the check calls it covered, but the ${stage} event ${event ? `lacks ${missing.join(', ')}` : 'is missing'}`);
      if (gap && missing.length === 0) problems.push(`${label}: the check reports a gap (${gap.fix}), yet every field it reads was recorded`);
    }
  }
  return problems;
}

describe('Falco detections on the real kube-apiserver', () => {
  it('every Falco rule in the table has a request that triggers it', () => {
    const triggered = new Set(STEPS.flatMap((s) => s.triggers));
    expect(FALCO_DETECTIONS.map((d) => d.name).filter((n) => !triggered.has(n))).toEqual([]);
    expect([...triggered].filter((n) => !FALCO_DETECTIONS.some((d) => d.name === n))).toEqual([]);
  });

  it.each([
    ['pci-dss', getPreset('pci-dss').policy, 9],
    ["pci-dss with detections: ['falco']", getPreset('pci-dss', { detections: ['falco'] }).policy, 0],
  ])(`${newest}, %s: each rule's fields are in the log exactly when the check calls the request covered`, async (label, policy, notCovered) => {
    const coverage = FALCO_DETECTIONS.map((d) => checkDetection(policy, d));
    expect(coverage.filter((c) => c.status === 'not-covered').length).toBe(notCovered);
    const { log, results } = await run(policy, label.replace(/\W+/g, '-'));
    // Covering detections never records secret material: neither the Secret's value nor the ConfigMap's "password".
    expect(log).not.toContain('detection-secret-value');
    expect(log).not.toContain('not-a-real-one');
    const unsent = results.filter((r) => r.events.length === 0).map((r) => `${r.step.method} ${r.step.path} → HTTP ${r.status}, no audit event`);
    expect(unsent, unsent.join('\n')).toEqual([]);
    const problems = judge(policy, results);
    expect(problems, problems.join('\n')).toEqual([]);
    if (notCovered === 0) {
      // This log has the bodies pci-dss omits: every rule proposed for pci-dss's gaps gets a measured volume from it.
      const sample = results.flatMap((r) => r.events);
      const gaps = FALCO_DETECTIONS.flatMap((d) => checkDetection(getPreset('pci-dss').policy, d).gaps).filter((g) => g.fixRule);
      expect(gaps.length).toBeGreaterThan(0);
      const unmeasured = gaps.filter((g) => estimateGapVolume(g, sample).addedBytes === 0).map((g) => g.request);
      expect(unmeasured).toEqual([]);
    }
  });
});
