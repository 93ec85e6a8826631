import { Stage } from '../policy/model';
import { Detection, DetectionSource, WatchedRequest } from './model';

/**
 * Falco's Kubernetes audit rules, read from falcosecurity/plugins at commit 029593e3 (the file declares
 * required_engine_version 15 and k8saudit plugin ≥ 0.7.0). Facts restated, not copied: per rule, the requests
 * its condition selects and the event fields its condition reads, translated from Falco's `ka.*` fields to
 * audit-event paths (the k8saudit plugin's mapping: ka.user.name = user.username, ka.verb = verb,
 * ka.target.* = objectRef.*, ka.response.code = responseStatus.code, ka.auth.decision = the
 * authorization.k8s.io/decision annotation, ka.uri = requestURI, ka.req.* = requestObject.*).
 *
 * A field the condition tests for absence (the `pod` macro's "no subresource") is not listed: its absence
 * is what the rule wants. Nearly every rule reads only ResponseComplete events (the `kevt` macro).
 */
const SOURCE: DetectionSource = { file: 'falcosecurity/plugins plugins/k8saudit/rules/k8s_audit_rules.yaml', version: 'commit 029593e3 (k8saudit ≥ 0.7.0)' };

const RBAC = 'rbac.authorization.k8s.io';
const BASE = ['verb', 'objectRef.resource'];
const OK = [...BASE, 'responseStatus.code'];
const IMAGES = 'requestObject.spec.containers[].image';

const ns = (resource: string, verbs: string[], group = '', extra: Partial<WatchedRequest> = {}): WatchedRequest => ({ verbs, group, resource, ...extra });
const cluster = (resource: string, verbs: string[], group = ''): WatchedRequest => ({ verbs, group, resource, clusterScoped: true });
const falco = (name: string, watches: WatchedRequest[], reads: string[], extra: Partial<Detection> = {}): Detection => ({ ruleSet: 'falco', name, source: SOURCE, watches, reads, ...extra });

/** "K8s X Created" / "K8s X Deleted": the activity rules, which read only metadata and the response code. */
function activity(kind: string, watch: (verbs: string[]) => WatchedRequest, reads: string[] = OK): Detection[] {
  return [falco(`K8s ${kind} Created`, [watch(['create'])], reads), falco(`K8s ${kind} Deleted`, [watch(['delete'])], reads)];
}

export const FALCO_DETECTIONS: readonly Detection[] = [
  falco('Disallowed K8s User', [cluster('namespaces', ['list'])], ['user.username'], {
    note: 'matches every request by a user outside its allow list; the check evaluates one representative request (list namespaces)',
  }),
  falco('Create Disallowed Pod', [ns('pods', ['create'])], [...BASE, IMAGES], {
    note: 'fires only once the allowed_k8s_containers macro is overridden with an image list (by default every image is allowed)',
  }),
  falco('Create Privileged Pod', [ns('pods', ['create'])], [...BASE, 'requestObject.spec.containers[].securityContext.privileged', IMAGES]),
  falco('Create Sensitive Mount Pod', [ns('pods', ['create'])], [...BASE, 'requestObject.spec.volumes[].hostPath.path', IMAGES]),
  falco('Create HostNetwork Pod', [ns('pods', ['create'])], [...BASE, 'requestObject.spec.hostNetwork', IMAGES]),
  falco('Create HostPid Pod', [ns('pods', ['create'])], [...BASE, 'requestObject.spec.hostPID', IMAGES]),
  falco('Create HostIPC Pod', [ns('pods', ['create'])], [...BASE, 'requestObject.spec.hostIPC', IMAGES]),
  falco('Create NodePort Service', [ns('services', ['create'])], [...BASE, 'requestObject.spec.type']),
  falco('Create/Modify Configmap With Private Credentials', [ns('configmaps', ['create', 'update', 'patch'])], [...BASE, 'requestObject.data'], {
    note: 'reads configmap bodies, which can hold credentials: recording them is a choice this project never makes for you',
  }),
  falco('Anonymous Request Allowed', [ns('pods', ['get'], '', { user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } })],
    ['user.username', 'annotations[authorization.k8s.io/decision]', 'requestURI'], {
      note: 'matches any request by system:anonymous except health URLs; the check evaluates one (get pods)',
    }),
  falco('Attach/Exec Pod', [ns('pods', ['create'], '', { subresource: 'exec' }), ns('pods', ['create'], '', { subresource: 'attach' })],
    [...BASE, 'objectRef.subresource'], { stage: Stage.RESPONSE_STARTED, note: 'reads the ResponseStarted event of the long-running request' }),
  falco('port-forward', [ns('pods', ['create', 'get'], '', { subresource: 'portforward' })], ['objectRef.subresource'], {
    note: 'its condition has no stage test: any recorded stage fires it',
  }),
  falco('EphemeralContainers Created', [ns('pods', ['update', 'patch'], '', { subresource: 'ephemeralcontainers' })], [...BASE, 'objectRef.subresource']),
  falco('Create Disallowed Namespace', [cluster('namespaces', ['create'])], [...BASE, 'objectRef.name']),
  falco('Pod Created in Kube Namespace', [ns('pods', ['create'], '', { namespace: 'kube-system' })], [...BASE, 'objectRef.namespace', IMAGES]),
  falco('Service Account Created in Kube Namespace', [ns('serviceaccounts', ['create'], '', { namespace: 'kube-system' })],
    [...OK, 'objectRef.namespace', 'objectRef.name']),
  falco('System ClusterRole Modified/Deleted', [cluster('clusterroles', ['create', 'update', 'patch', 'delete'], RBAC), ns('roles', ['create', 'update', 'patch', 'delete'], RBAC)],
    [...BASE, 'objectRef.name']),
  falco('Attach to cluster-admin Role', [cluster('clusterrolebindings', ['create'], RBAC)], [...BASE, 'requestObject.roleRef.name']),
  falco('ClusterRole With Wildcard Created', [cluster('clusterroles', ['create'], RBAC), ns('roles', ['create'], RBAC)],
    [...BASE, 'requestObject.rules[].resources', 'requestObject.rules[].verbs']),
  falco('ClusterRole With Write Privileges Created', [cluster('clusterroles', ['create'], RBAC), ns('roles', ['create'], RBAC)], [...BASE, 'requestObject.rules[].verbs']),
  falco('ClusterRole With Pod Exec Created', [cluster('clusterroles', ['create'], RBAC), ns('roles', ['create'], RBAC)], [...BASE, 'requestObject.rules[].resources']),
  ...activity('Deployment', (v) => ns('deployments', v, 'apps')),
  ...activity('Service', (v) => ns('services', v)),
  ...activity('ConfigMap', (v) => ns('configmaps', v)),
  ...activity('Namespace', (v) => cluster('namespaces', v)),
  ...activity('Serviceaccount', (v) => ns('serviceaccounts', v)),
  ...activity('Role', (v) => ns('roles', v, RBAC)),
  ...activity('ClusterRole', (v) => cluster('clusterroles', v, RBAC)),
  ...activity('RoleBinding', (v) => ns('rolebindings', v, RBAC)),
  ...activity('ClusterRoleBinding', (v) => cluster('clusterrolebindings', v, RBAC)),
  ...activity('Secret', (v) => ns('secrets', v), [...OK, 'objectRef.namespace', 'user.username']),
  falco('K8s Secret Get Successfully', [ns('secrets', ['get'])], OK),
  falco('K8s Secret Get Unsuccessfully Tried', [ns('secrets', ['get'])], OK),
  falco('Full K8s Administrative Access', [cluster('namespaces', ['list'])], ['user.username'], {
    note: 'disabled by default (allowed_full_admin_users is always true); matches every request by the listed admin names',
  }),
  falco('Ingress Object without TLS Certificate Created', [ns('ingresses', ['create'], 'networking.k8s.io')], [...OK, 'requestObject.spec'], {
    note: 'tests that requestObject.spec.tls is absent: without the request body it fires on every Ingress created',
  }),
  falco('Untrusted Node Successfully Joined the Cluster', [cluster('nodes', ['create'])], [...OK, 'objectRef.name'], { note: 'disabled by default (allow_all_k8s_nodes is always true)' }),
  // Its condition also tests the node's name (objectRef.name), but a create the apiserver denies is never decoded,
  // so that name is absent at every level (seen on the real apiserver, test/e2e/detections.test.ts): not a level matter.
  falco('Untrusted Node Unsuccessfully Tried to Join the Cluster', [cluster('nodes', ['create'])], OK, {
    note: 'disabled by default (allow_all_k8s_nodes is always true); the node name it tests is absent from denied creates at every level',
  }),
];
