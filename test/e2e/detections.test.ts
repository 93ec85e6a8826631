/**
 * The detection table and check against the real kube-apiserver: for every Falco, Sigma and Elastic rule in the
 * table, requests that should trigger it are sent under two policies, one apiserver each (pci-dss, which the check
 * says silences some rules of every set, and pci-dss with `detections: ['falco', 'sigma', 'elastic']`). From the real
 * audit log, every field the rule's condition reads (and, for rules that test it, an accepted level) must be in the
 * event of the stage the rule reads exactly when the check calls that request covered, and something must be
 * missing when it reports a gap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyDocument, Stage, getPreset } from '../../src';
import {
  DETECTIONS, DETECTION_RULE_SETS, Detection, FALCO_DETECTIONS, WatchedRequest, checkDetection, estimateGapVolume, fieldValues, watchedAttributes,
} from '../../src/detections';
import { writePolicyFile, logBackendArgs } from './support/audit-files';
import { AuditEvent, groupByAuditId, readJsonAuditLog } from './support/audit-events';
import { kubernetesVersions } from './support/binaries';
import { ControlPlane } from './support/control-plane';
import { Caller } from './support/kube-client';
import { cleanUpAfterEach } from './support/teardown';

const [newest] = kubernetesVersions();
const perTest = cleanUpAfterEach();
const ALL_DETECTIONS: Detection[] = DETECTION_RULE_SETS.flatMap((s) => DETECTIONS[s]);

type As = 'admin' | 'alice' | 'anonymous' | 'impersonating' | 'bad-token';
interface Step {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly as?: As;
  readonly contentType?: string;
  /** Rules this request should trigger (with their default lists, or a documented override), by name in any set. */
  readonly triggers: string[];
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const RULES = [{ apiGroups: [''], resources: ['pods/exec', '*'], verbs: ['*', 'create'] }];
const IMAGE = 'registry.example.com/tool:1';
const container = { name: 'c', image: IMAGE, securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } };
const hostPod = (name: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { hostNetwork: true, hostPID: true, hostIPC: true, containers: [container], volumes: [{ name: 'etc', hostPath: { path: '/etc' } }] },
});
// Exec commands are query parameters of the requestURI: a shell fetching the cloud metadata endpoint.
const EXEC_QUERY = 'command=%2Fbin%2Fsh&command=-c&command=curl+https%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data&container=c&stdout=true';
const POD_RULES = ['Kubernetes Privileged Pod Created', 'Kubernetes Container Created with Excessive Linux Capabilities', 'Kubernetes Pod Created With HostIPC',
  'Kubernetes Pod Created With HostNetwork', 'Kubernetes Pod Created With HostPID', 'Kubernetes Pod Created with a Sensitive hostPath Volume'];
const EXEC_RULES = ['Kubernetes User Exec into Pod', 'Kubernetes Pod Exec Cloud Instance Metadata Access', 'Kubernetes Pod Exec Sensitive File or Credential Path Access',
  'Kubernetes Pod Exec with Curl or Wget to HTTPS', 'Kubernetes Pod Exec Potential Reverse Shell', 'Potential Remote Command Execution In Pod Container', 'Kubernetes Potential Enumeration Activity'];
const SECRET_READS = ['Kubernetes Secret Access via Unusual User Agent', 'Kubernetes Secret get or list with Suspicious User Agent', 'Kubernetes Secret get or list from Node or Pod Service Account'];
const SECRET_WRITES = ['Kubernetes Secrets Modified or Deleted', 'Kubernetes Secret or ConfigMap Access via Azure Arc Proxy'];
const RBAC_WRITES = ['Kubernetes Service Account Modified RBAC Objects'];
const ROLE_CREATES = [...RBAC_WRITES, 'Kubernetes Creation or Modification of Sensitive Role', 'Kubernetes Sensitive RBAC Change Followed by Workload Modification'];
const BINDING_CREATES = [...RBAC_WRITES, 'Kubernetes Rolebinding Modification', 'Kubernetes Creation of a RoleBinding Referencing a ServiceAccount', 'Kubernetes Cluster-Admin Role Binding Created'];
const WORKLOAD_WRITES = ['Kubernetes Sensitive RBAC Change Followed by Workload Modification', 'Unusual Kubernetes Sensitive Workload Modification'];
const DISCOVERY = ['Kubernetes Multi-Resource Discovery', 'Kubernetes Potential Endpoint Permission Enumeration Attempt Detected'];
const ANONYMOUS_READ = ['Kubernetes Anonymous Request Authorized by Unusual User Agent', 'Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected'];
const DENIED = ['Kubernetes Unauthorized or Unauthenticated Access', 'Kubernetes Forbidden Request from Unusual User Agent', 'Kubernetes Denied Service Account Request via Unusual User Agent'];
const WEBHOOKS = ['Kubernetes Admission Controller Modification', 'Kubernetes Admission Webhook Created or Modified'];
const ADMISSION = '/apis/admissionregistration.k8s.io/v1';
const CSR = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

const STEPS: Step[] = [
  { method: 'POST', path: '/api/v1/namespaces', body: { metadata: { name: 'dt' } }, triggers: ['K8s Namespace Created', 'Create Disallowed Namespace'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods', body: hostPod('dt-pod'),
    triggers: ['Create Disallowed Pod', 'Create Privileged Pod', 'Create Sensitive Mount Pod', 'Create HostNetwork Pod', 'Create HostPid Pod', 'Create HostIPC Pod',
      'Privileged Container Deployed', 'Container With A hostPath Mount Created', ...POD_RULES] },
  { method: 'POST', path: '/api/v1/namespaces/kube-system/pods',
    body: { metadata: { name: 'dt-kube' }, spec: { serviceAccountName: 'dt-controller', containers: [{ name: 'c', image: IMAGE }] } },
    triggers: ['Pod Created in Kube Namespace', 'Creation Of Pod In System Namespace', 'Kubernetes Suspicious Assignment of Controller Service Account'] },
  { method: 'POST', path: `/api/v1/namespaces/default/pods/dt-pod/exec?${EXEC_QUERY}`, triggers: ['Attach/Exec Pod', ...EXEC_RULES] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods/dt-pod/attach?stdout=true', triggers: ['Attach/Exec Pod'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods/dt-pod/portforward?ports=80', triggers: ['port-forward'] },
  { method: 'PATCH', path: '/api/v1/namespaces/default/pods/dt-pod/ephemeralcontainers', contentType: 'application/strategic-merge-patch+json',
    body: { spec: { ephemeralContainers: [{ name: 'debug', image: IMAGE }] } }, triggers: ['EphemeralContainers Created', 'Kubernetes Ephemeral Container Added to Pod'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods', as: 'alice', body: { metadata: { name: 'dt-denied' }, spec: { containers: [{ name: 'c', image: IMAGE }] } },
    triggers: ['Kubernetes Forbidden Creation Request'] },
  { method: 'POST', path: '/api/v1/namespaces/default/pods', as: 'anonymous', body: { metadata: { name: 'dt-anon' }, spec: { containers: [{ name: 'c', image: IMAGE }] } },
    triggers: ['Kubernetes Anonymous User Create/Update/Patch Pods Request'] },
  { method: 'GET', path: '/api/v1/namespaces/default/pods/dt-pod', as: 'alice', triggers: DENIED },
  // The 401 half of Sigma's unauthorized rule: not a watched request of the table (no user to evaluate), checked below.
  { method: 'GET', path: '/api/v1/namespaces/default/pods/dt-pod', as: 'bad-token', triggers: [] },
  { method: 'GET', path: '/api/v1/namespaces/default/pods/dt-pod', as: 'impersonating', triggers: ['Kubernetes API Request Impersonating Privileged Identity', ...DISCOVERY] },
  { method: 'POST', path: '/api/v1/namespaces/default/services', body: { metadata: { name: 'dt-svc' }, spec: { type: 'NodePort', ports: [{ port: 80 }] } },
    triggers: ['Create NodePort Service', 'K8s Service Created', 'Kubernetes Exposed Service Created With Type NodePort'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/services/dt-svc', triggers: ['K8s Service Deleted'] },
  { method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { metadata: { name: 'dt-cm' }, data: { password: 'not-a-real-one' } },
    triggers: ['Create/Modify Configmap With Private Credentials', 'K8s ConfigMap Created', 'Kubernetes Secret or ConfigMap Access via Azure Arc Proxy'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/dt-cm', triggers: ['K8s ConfigMap Deleted', 'Kubernetes Secret or ConfigMap Access via Azure Arc Proxy'] },
  // Both ConfigMaps are absent here: the 404 is audited like a change.
  { method: 'PATCH', path: '/api/v1/namespaces/kube-system/configmaps/aws-auth', contentType: 'application/merge-patch+json', body: { data: { mapRoles: '' } },
    triggers: ['EKS Authentication Configuration Modified'] },
  { method: 'PATCH', path: '/api/v1/namespaces/kube-system/configmaps/coredns', contentType: 'application/merge-patch+json', body: { data: { Corefile: '' } },
    triggers: ['Kubernetes CoreDNS or Kube-DNS Configuration Modified'] },
  { method: 'GET', path: '/api/v1/namespaces/default/pods/dt-pod', as: 'anonymous', triggers: ['Anonymous Request Allowed', ...ANONYMOUS_READ] },
  { method: 'POST', path: '/api/v1/namespaces/kube-system/serviceaccounts', body: { metadata: { name: 'dt-sa' } },
    triggers: ['Service Account Created in Kube Namespace', 'K8s Serviceaccount Created', 'New Kubernetes Service Account Created'] },
  { method: 'POST', path: '/api/v1/namespaces/kube-system/serviceaccounts/dt-sa/token', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} },
    triggers: ['Kubernetes Service Account Token Created via TokenRequest API'] },
  { method: 'DELETE', path: '/api/v1/namespaces/kube-system/serviceaccounts/dt-sa', triggers: ['K8s Serviceaccount Deleted'] },
  { method: 'POST', path: `${RBAC}/clusterroles`, body: { metadata: { name: 'system:dt-role' }, rules: RULES },
    triggers: ['System ClusterRole Modified/Deleted', 'ClusterRole With Wildcard Created', 'ClusterRole With Write Privileges Created', 'ClusterRole With Pod Exec Created', 'K8s ClusterRole Created',
      ...ROLE_CREATES] },
  { method: 'DELETE', path: `${RBAC}/clusterroles/system:dt-role`, triggers: ['System ClusterRole Modified/Deleted', 'K8s ClusterRole Deleted', ...RBAC_WRITES] },
  { method: 'POST', path: `${RBAC}/namespaces/default/roles`, body: { metadata: { name: 'dt-role' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
    triggers: ['ClusterRole With Write Privileges Created', 'K8s Role Created', ...ROLE_CREATES] },
  { method: 'PATCH', path: `${RBAC}/namespaces/default/roles/dt-role`, contentType: 'application/merge-patch+json', body: { rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
    triggers: ['Kubernetes RBAC Wildcard Elevation on Existing Role', 'Kubernetes Creation or Modification of Sensitive Role', ...RBAC_WRITES] },
  { method: 'DELETE', path: `${RBAC}/namespaces/default/roles/dt-role`, triggers: ['K8s Role Deleted', ...RBAC_WRITES] },
  { method: 'POST', path: `${RBAC}/clusterrolebindings`,
    body: { metadata: { name: 'dt-crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }] },
    triggers: ['Attach to cluster-admin Role', 'K8s ClusterRoleBinding Created', ...BINDING_CREATES] },
  { method: 'DELETE', path: `${RBAC}/clusterrolebindings/dt-crb`, triggers: ['K8s ClusterRoleBinding Deleted', 'Kubernetes Rolebinding Modification', ...RBAC_WRITES] },
  { method: 'POST', path: `${RBAC}/namespaces/default/rolebindings`,
    body: { metadata: { name: 'dt-rb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] },
    triggers: ['K8s RoleBinding Created', ...BINDING_CREATES] },
  { method: 'DELETE', path: `${RBAC}/namespaces/default/rolebindings/dt-rb`, triggers: ['K8s RoleBinding Deleted', 'Kubernetes Rolebinding Modification', ...RBAC_WRITES] },
  { method: 'POST', path: '/apis/apps/v1/namespaces/default/deployments',
    body: { metadata: { name: 'dt-deploy' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: IMAGE }] } } } },
    triggers: ['K8s Deployment Created', ...WORKLOAD_WRITES] },
  { method: 'PATCH', path: '/apis/apps/v1/namespaces/default/deployments/dt-deploy', contentType: 'application/strategic-merge-patch+json',
    body: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: IMAGE }] } } } }, triggers: ['Potential Sidecar Injection Into Running Deployment', ...WORKLOAD_WRITES] },
  { method: 'DELETE', path: '/apis/apps/v1/namespaces/default/deployments/dt-deploy', triggers: ['K8s Deployment Deleted', 'Deployment Deleted From Kubernetes Cluster'] },
  { method: 'POST', path: '/apis/batch/v1/namespaces/default/jobs',
    body: { metadata: { name: 'dt-job' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: IMAGE }] } } } }, triggers: ['Kubernetes CronJob/Job Modification'] },
  { method: 'DELETE', path: '/apis/batch/v1/namespaces/default/cronjobs/dt-cron', triggers: ['Kubernetes CronJob/Job Modification'] },
  { method: 'POST', path: '/api/v1/namespaces/default/secrets', body: { metadata: { name: 'dt-secret' }, stringData: { k: 'detection-secret-value' } },
    triggers: ['K8s Secret Created', ...SECRET_WRITES] },
  { method: 'GET', path: '/api/v1/namespaces/default/secrets/dt-secret',
    triggers: ['K8s Secret Get Successfully', ...SECRET_READS, 'Kubernetes Rapid Secret GET Activity Against Multiple Objects', 'Kubernetes Secret or ConfigMap Access via Azure Arc Proxy',
      'Kubernetes Potential Endpoint Permission Enumeration Attempt Detected'] },
  { method: 'GET', path: '/api/v1/namespaces/default/secrets/dt-missing', triggers: ['K8s Secret Get Unsuccessfully Tried'] },
  { method: 'GET', path: '/api/v1/namespaces/default/secrets', triggers: ['Kubernetes Secrets Enumeration', 'Kubernetes Secrets List Across Cluster or Sensitive Namespaces', ...SECRET_READS] },
  { method: 'GET', path: '/api/v1/namespaces/kube-system/secrets', triggers: ['Kubernetes Secrets List Across Cluster or Sensitive Namespaces'] },
  { method: 'GET', path: '/api/v1/secrets', triggers: ['Kubernetes Secrets Enumeration', 'Kubernetes Secrets List Across Cluster or Sensitive Namespaces'] },
  { method: 'DELETE', path: '/api/v1/namespaces/default/secrets/dt-secret', triggers: ['K8s Secret Deleted', ...SECRET_WRITES] },
  // Events: pci-dss records none of them; deleting an Event that is not there is audited like any delete.
  { method: 'DELETE', path: '/api/v1/namespaces/default/events/dt-event', triggers: ['Kubernetes Events Deleted'] },
  { method: 'DELETE', path: '/apis/events.k8s.io/v1/namespaces/default/events/dt-event', triggers: ['Kubernetes Events Deleted'] },
  { method: 'POST', path: `${ADMISSION}/validatingwebhookconfigurations`, body: { metadata: { name: 'dt-vwc' } }, triggers: WEBHOOKS },
  { method: 'DELETE', path: `${ADMISSION}/validatingwebhookconfigurations/dt-vwc`, triggers: WEBHOOKS },
  { method: 'POST', path: `${ADMISSION}/mutatingwebhookconfigurations`, body: { metadata: { name: 'dt-mwc' } }, triggers: WEBHOOKS },
  { method: 'DELETE', path: `${ADMISSION}/mutatingwebhookconfigurations/dt-mwc`, triggers: WEBHOOKS },
  // An empty CSR is refused by validation (422) and an approval of a missing one is a 404: both audited with their object.
  { method: 'POST', path: CSR, body: { metadata: { name: 'dt-csr' }, spec: { request: '', signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] } },
    triggers: ['Kubernetes Client Certificate Signing Request Created or Approved'] },
  { method: 'PUT', path: `${CSR}/dt-csr/approval`, body: { metadata: { name: 'dt-csr' }, spec: { request: '', signerName: 'kubernetes.io/kube-apiserver-client' } },
    triggers: ['Kubernetes Client Certificate Signing Request Created or Approved'] },
  { method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', body: { spec: { namespace: 'default' } },
    triggers: ['RBAC Permission Enumeration Attempt', 'Kubernetes Suspicious Self-Subject Review via Unusual User Agent'] },
  { method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body: { spec: { resourceAttributes: { verb: 'get', resource: 'secrets', namespace: 'default' } } },
    triggers: ['Kubernetes Suspicious Self-Subject Review via Unusual User Agent'] },
  { method: 'POST', path: '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
    body: { metadata: { name: 'dt-ing' }, spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'x', port: { number: 80 } } } }] } }] } },
    triggers: ['Ingress Object without TLS Certificate Created'] },
  { method: 'POST', path: '/api/v1/nodes', body: { metadata: { name: 'dt-node' } }, triggers: ['Untrusted Node Successfully Joined the Cluster'] },
  { method: 'GET', path: '/api/v1/nodes/dt-node/proxy/pods', triggers: ['Kubernetes API Server Proxying Request to Kubelet'] },
  { method: 'POST', path: '/api/v1/nodes', body: { metadata: { name: 'dt-node-2' } }, as: 'alice', triggers: ['Untrusted Node Unsuccessfully Tried to Join the Cluster'] },
  { method: 'GET', path: '/api/v1/namespaces', triggers: ['Disallowed K8s User', 'Full K8s Administrative Access', 'Kubernetes Unusual Decision by User Agent', ...DISCOVERY] },
  { method: 'DELETE', path: '/api/v1/namespaces/dt', triggers: ['K8s Namespace Deleted'] },
];

function callerFor(cp: ControlPlane, as: As | undefined): Caller {
  if (as === 'anonymous') return { anonymous: true };
  if (as === 'alice') return cp.callerFor(cp.users.alice);
  if (as === 'bad-token') return { token: 'not-a-token-the-apiserver-knows' };
  if (as === 'impersonating') return cp.callerFor(cp.users.admin, { user: 'system:kube-controller-manager' });
  return cp.callerFor(cp.users.admin);
}

interface Sent { readonly step: Step; readonly status: number; readonly events: AuditEvent[]; readonly body: string }

/** Sends every step under the policy to one apiserver; returns the log and the audit events of each step. */
async function run(policy: PolicyDocument, label: string): Promise<{ log: string; results: Sent[] }> {
  const dir = perTest.tempDir(`detections-${label}`);
  const logPath = join(dir, 'audit.log');
  const cp = await perTest.startControlPlane({ version: newest, extraArgs: logBackendArgs(writePolicyFile(dir, policy), logPath) });
  const sent = [];
  for (const step of STEPS) {
    // A scripted HTTP client, as the user-agent rules look for (the apiserver records the header as userAgent).
    const res = await cp.client.request(step.method, step.path, step.body, { caller: callerFor(cp, step.as), contentType: step.contentType, headers: { 'User-Agent': 'curl/8.5.0' } });
    sent.push({ step, status: res.status, auditId: res.auditId, body: res.text });
  }
  await cp.stop();
  const byId = groupByAuditId(readJsonAuditLog(logPath));
  return { log: readFileSync(logPath, 'utf8'), results: sent.map(({ auditId, ...r }) => ({ ...r, events: byId.get(auditId ?? '') ?? [] })) };
}

/** Whether a recorded request is one the watched request describes (its namespace only when the detection names one). */
function watches(w: WatchedRequest, e: AuditEvent): boolean {
  const ref = e.objectRef ?? {};
  if (!w.verbs.includes(e.verb ?? '') || (ref.apiGroup ?? '') !== w.group || ref.resource !== w.resource || (ref.subresource ?? '') !== (w.subresource ?? '')) return false;
  if (w.name !== undefined && ref.name !== w.name) return false;
  // A request for one Namespace (/api/v1/namespaces/NAME) is recorded with that name as its namespace too.
  if (w.clusterScoped) return !ref.namespace || (w.resource === 'namespaces' && ref.namespace === ref.name);
  return w.namespace === undefined ? Boolean(ref.namespace) : ref.namespace === w.namespace;
}

/** Problems where the real log disagrees with the check: fields missing from a covered request, or all present despite a gap. */
function judge(policy: PolicyDocument, results: readonly Sent[]): string[] {
  const problems: string[] = [];
  for (const d of ALL_DETECTIONS) {
    const coverage = checkDetection(policy, d);
    const stage = d.stage ?? Stage.RESPONSE_COMPLETE;
    for (const { step, status, events } of results.filter((r) => r.step.triggers.includes(d.name))) {
      const label = `${d.ruleSet} "${d.name}" ← ${step.method} ${step.path} (HTTP ${status})`;
      const event = events.find((e) => e.stage === stage);
      // What the request was, from any of its events; with none (level None), from the step itself.
      const any = event ?? events[0];
      const watched = any ? d.watches.find((w) => watches(w, any)) : d.watches[0];
      if (!watched) {
        problems.push(`${label}: the request is none of the requests the table says the rule watches`);
        continue;
      }
      const verb = any?.verb ?? watched.verbs[0];
      const path = watchedAttributes(watched, verb).path;
      const gap = coverage.gaps.find((g) => g.attributes.verb === verb && g.attributes.path === path);
      const missing = d.reads.filter((f) => !event || fieldValues(event, f).length === 0);
      if (event && d.levels && !d.levels.includes(event.level as never)) missing.push(`level ∈ {${d.levels.join(', ')}} (recorded ${event.level})`);
      if (!gap && missing.length) problems.push(`${label}: the check calls it covered, but the ${stage} event ${event ? `lacks ${missing.join(', ')}` : 'is missing'}`);
      if (gap && missing.length === 0) problems.push(`${label}: the check reports a gap (${gap.fix}), yet everything it reads was recorded`);
    }
  }
  return problems;
}

const notCovered = (policy: PolicyDocument) => Object.fromEntries(DETECTION_RULE_SETS.map((s) => [s, DETECTIONS[s].filter((d) => checkDetection(policy, d).status === 'not-covered').length]));

describe('Falco, Sigma and Elastic detections on the real kube-apiserver', () => {
  it.each(DETECTION_RULE_SETS)('every %s rule in the table has a request that triggers it, and every trigger names a tabled rule', (set) => {
    const triggered = new Set(STEPS.flatMap((s) => s.triggers));
    expect(DETECTIONS[set].map((d) => d.name).filter((n) => !triggered.has(n))).toEqual([]);
    expect([...triggered].filter((n) => !ALL_DETECTIONS.some((d) => d.name === n))).toEqual([]);
  });

  const pci = getPreset('pci-dss').policy;
  it.each([
    ['pci-dss', pci, { falco: 9, sigma: 3, elastic: 12 }],
    ["pci-dss with detections: ['falco', 'sigma', 'elastic']", getPreset('pci-dss', { detections: ['falco', 'sigma', 'elastic'] }).policy, { falco: 0, sigma: 0, elastic: 0 }],
  ])(`${newest}, %s: each rule's fields are in the log exactly when the check calls the request covered`, async (label, policy, expected) => {
    expect(notCovered(policy)).toEqual(expected);
    const { log, results } = await run(policy, label.replace(/\W+/g, '-'));
    // Covering detections never records secret material: not the Secret's value, the ConfigMap's "password" or an issued token.
    expect(log).not.toContain('detection-secret-value');
    expect(log).not.toContain('not-a-real-one');
    const problems = judge(policy, results);
    expect(problems, problems.join('\n')).toEqual([]);
    // A token that fails authentication: one event, at ResponseStarted, without a user (the table's note on Sigma's rule).
    const unauthenticated = results.find((r) => r.step.as === 'bad-token');
    expect(unauthenticated?.status).toBe(401);
    expect(unauthenticated?.events.map((e) => ({ stage: e.stage, user: e.user?.username, code: e.responseStatus?.code }))).toEqual([
      { stage: Stage.RESPONSE_STARTED, user: undefined, code: 401 },
    ]);
    const tokenStep = results.find((r) => r.step.path.endsWith('/token'));
    const token = (JSON.parse(tokenStep?.body ?? '{}') as { status?: { token?: string } }).status?.token;
    expect(token, `the TokenRequest step issues a token: HTTP ${tokenStep?.status} ${tokenStep?.body}`).toBeDefined();
    expect(log).not.toContain(token as string);
    if (expected.falco === 0) {
      // This log has the bodies pci-dss omits: every rule proposed for pci-dss's Falco gaps gets a measured volume from it,
      // and so does every Sigma and Elastic gap whose kind of request the steps sent (a GET or an exec adds 0 bytes).
      const sample = results.flatMap((r) => r.events);
      const gaps = FALCO_DETECTIONS.flatMap((d) => checkDetection(pci, d).gaps).filter((g) => g.fixRule);
      expect(gaps.length).toBeGreaterThan(0);
      const unmeasured = gaps.filter((g) => estimateGapVolume(g, sample).addedBytes === 0).map((g) => g.request);
      expect(unmeasured).toEqual([]);
      const others = [...DETECTIONS.sigma, ...DETECTIONS.elastic].flatMap((d) => checkDetection(pci, d).gaps).filter((g) => g.fixRule);
      const estimates = others.map((g) => ({ request: g.request, ...estimateGapVolume(g, sample) })).filter((v) => v.events > 0);
      expect(estimates.length).toBeGreaterThan(10);
      expect(estimates.filter((v) => v.measured < v.events)).toEqual([]);
    }
  });
});
