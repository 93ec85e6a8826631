import { Detection, DetectionSource, WatchedRequest } from './model';

/**
 * SigmaHQ/sigma rules under rules/application/kubernetes/audit/ (logsource product kubernetes, service audit),
 * each read at the commit given in its source. Facts restated, not copied. Sigma's field names are the audit
 * event's own (verb, objectRef.*), except two rules that name a flattened body field ("capabilities",
 * "hostPath"): both live in the pod's requestObject, so they need Request. Sigma's verb "replace" is never
 * recorded by the apiserver (a PUT is recorded as "update"), so it is not listed.
 */
const src = (file: string, commit: string): DetectionSource => ({ file: `SigmaHQ/sigma rules/application/kubernetes/audit/${file}`, version: `commit ${commit}` });
const MODIFY = ['create', 'delete', 'patch', 'update'];
const w = (resource: string, verbs: string[], group = '', extra: Partial<WatchedRequest> = {}): WatchedRequest => ({ verbs, group, resource, ...extra });
const sigma = (name: string, source: DetectionSource, watches: WatchedRequest[], reads: string[], note?: string): Detection =>
  ({ ruleSet: 'sigma', name, source, watches, reads, ...(note ? { note } : {}) });
const BASE = ['verb', 'objectRef.resource'];

export const SIGMA_DETECTIONS: readonly Detection[] = [
  sigma('Privileged Container Deployed', src('kubernetes_audit_privileged_pod_creation.yml', '0252d8e0'), [w('pods', ['create'])],
    [...BASE, 'requestObject.spec.containers[].securityContext.capabilities'], 'the rule names a flattened field "capabilities": the container security context in the request body'),
  sigma('Container With A hostPath Mount Created', src('kubernetes_audit_hostpath_mount.yml', '0d03b118'), [w('pods', ['create'])],
    [...BASE, 'requestObject.spec.volumes[].hostPath'], 'the rule names a flattened field "hostPath": the pod volumes in the request body'),
  sigma('Potential Remote Command Execution In Pod Container', src('kubernetes_audit_exec_into_container.yml', '0252d8e0'), [w('pods', ['create'], '', { subresource: 'exec' })],
    [...BASE, 'objectRef.subresource']),
  sigma('Kubernetes Secrets Modified or Deleted', src('kubernetes_audit_secrets_modified_or_deleted.yml', '54d6b509'), [w('secrets', MODIFY)], BASE),
  sigma('Creation Of Pod In System Namespace', src('kubernetes_audit_pod_in_system_namespace.yml', '2f4101ae'), [w('pods', ['create'], '', { namespace: 'kube-system' })],
    [...BASE, 'objectRef.namespace']),
  sigma('Kubernetes Rolebinding Modification', src('kubernetes_audit_rolebinding_modification.yml', '0ec3877c'),
    [w('clusterrolebindings', MODIFY, 'rbac.authorization.k8s.io', { clusterScoped: true }), w('rolebindings', MODIFY, 'rbac.authorization.k8s.io')], [...BASE, 'objectRef.apiGroup']),
  sigma('Potential Sidecar Injection Into Running Deployment', src('kubernetes_audit_sidecar_injection.yml', '0d63f52f'), [w('deployments', ['patch'], 'apps')], BASE),
  sigma('Kubernetes Events Deleted', src('kubernetes_audit_events_deleted.yml', '0252d8e0'), [w('events', ['delete']), w('events', ['delete'], 'events.k8s.io')], BASE,
    'the rule does not test the group: core and events.k8s.io Events both count'),
  sigma('Kubernetes Admission Controller Modification', src('kubernetes_audit_change_admission_controller.yml', '0ec3877c'),
    [w('mutatingwebhookconfigurations', MODIFY, 'admissionregistration.k8s.io', { clusterScoped: true }), w('validatingwebhookconfigurations', MODIFY, 'admissionregistration.k8s.io', { clusterScoped: true })],
    [...BASE, 'objectRef.apiGroup']),
  sigma('Kubernetes CronJob/Job Modification', src('kubernetes_audit_cronjob_modification.yml', '08b3fd5f'), [w('cronjobs', MODIFY, 'batch'), w('jobs', MODIFY, 'batch')],
    [...BASE, 'objectRef.apiGroup']),
  sigma('New Kubernetes Service Account Created', src('kubernetes_audit_serviceaccount_creation.yml', '0e45bf61'), [w('serviceaccounts', ['create'])], BASE),
];
