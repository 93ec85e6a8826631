import { Detection, WatchedRequest } from './model';

/**
 * The Kubernetes audit rules of SigmaHQ/sigma (rules/application/kubernetes/audit/, logsource product kubernetes,
 * service audit): all 16 files of that folder at commit 8eaafff1, each with its Sigma `id` and `date` (none has a
 * `modified` date). Facts restated in our words, not copied.
 *
 * Sigma names the audit event's own fields (verb, objectRef.*, requestURI, userAgent, responseStatus.code), with
 * three exceptions, read here as what the rule means: two rules name a bare `apiGroup` (the event has it only as
 * objectRef.apiGroup), and two name a flattened body field (`capabilities`, `hostPath`) that lives in the pod's
 * requestObject, so they need Request. Sigma's verb "replace" is never recorded by the apiserver (a PUT is recorded
 * as "update"), so it is not listed.
 *
 * Not tabled: two files that exist only on unmerged branches (the search index lists them under the same folder):
 * "Detect Compiler Execution Within Kubernetes Containers" reads a `file_path` field no audit event has, and
 * "Suspicious Kubernetes Enumeration or Attack" was merged, with the same id, as "Kubernetes Potential
 * Enumeration Activity" (tabled below).
 */
const COMMIT = '8eaafff1';
const sigma = (name: string, id: string, file: string, date: string, watches: WatchedRequest[], reads: string[], note?: string): Detection => ({
  ruleSet: 'sigma', name, id,
  source: { file: `SigmaHQ/sigma rules/application/kubernetes/audit/${file}`, version: `commit ${COMMIT} (rule date ${date})` },
  watches, reads, ...(note ? { note } : {}),
});
const MODIFY = ['create', 'delete', 'patch', 'update'];
const w = (resource: string, verbs: string[], group = '', extra: Partial<WatchedRequest> = {}): WatchedRequest => ({ verbs, group, resource, ...extra });
const BASE = ['verb', 'objectRef.resource'];
const GROUP = 'objectRef.apiGroup';

export const SIGMA_DETECTIONS: readonly Detection[] = [
  sigma('Privileged Container Deployed', 'c5cd1b20-36bb-488d-8c05-486be3d0cb97', 'kubernetes_audit_privileged_pod_creation.yml', '2024-03-26',
    [w('pods', ['create'])], [...BASE, 'requestObject.spec.containers[].securityContext.capabilities'],
    'the rule names a flattened field "capabilities": the container security context in the request body'),
  sigma('Container With A hostPath Mount Created', '402b955c-8fe0-4a8c-b635-622b4ac5f902', 'kubernetes_audit_hostpath_mount.yml', '2024-03-26',
    [w('pods', ['create'])], [...BASE, 'requestObject.spec.volumes[].hostPath'], 'the rule names a flattened field "hostPath": the pod volumes in the request body'),
  sigma('Potential Remote Command Execution In Pod Container', 'a1b0ca4e-7835-413e-8471-3ff2b8a66be6', 'kubernetes_audit_exec_into_container.yml', '2024-03-26',
    [w('pods', ['create'], '', { subresource: 'exec' })], [...BASE, 'objectRef.subresource']),
  sigma('Kubernetes Secrets Modified or Deleted', '58d31a75-a4f8-4c40-985b-373d58162ca2', 'kubernetes_audit_secrets_modified_or_deleted.yml', '2024-07-11',
    [w('secrets', MODIFY)], BASE),
  sigma('Kubernetes Secrets Enumeration', 'eeb3e9e1-b685-44e4-9232-6bb701f925b5', 'kubernetes_audit_secrets_enumeration.yml', '2024-03-26',
    [w('secrets', ['list']), w('secrets', ['list'], '', { clusterScoped: true })], BASE, 'any list of Secrets, in a namespace or across all'),
  sigma('Creation Of Pod In System Namespace', 'a80d927d-ac6e-443f-a867-e8d6e3897318', 'kubernetes_audit_pod_in_system_namespace.yml', '2024-03-26',
    [w('pods', ['create'], '', { namespace: 'kube-system' })], [...BASE, 'objectRef.namespace']),
  sigma('Kubernetes Rolebinding Modification', '10b97915-ec8d-455f-a815-9a78926585f6', 'kubernetes_audit_rolebinding_modification.yml', '2024-07-11',
    [w('clusterrolebindings', MODIFY, 'rbac.authorization.k8s.io', { clusterScoped: true }), w('rolebindings', MODIFY, 'rbac.authorization.k8s.io')], [...BASE, GROUP]),
  sigma('Potential Sidecar Injection Into Running Deployment', 'ad9012a6-e518-4432-9890-f3b82b8fc71f', 'kubernetes_audit_sidecar_injection.yml', '2024-03-26',
    [w('deployments', ['patch'], 'apps')], [...BASE, GROUP], 'the rule names a bare "apiGroup": the event has it as objectRef.apiGroup'),
  sigma('Deployment Deleted From Kubernetes Cluster', '40967487-139b-4811-81d9-c9767a92aa5a', 'kubernetes_audit_deployment_deleted.yml', '2024-03-26',
    [w('deployments', ['delete'], 'apps')], BASE, 'the rule does not test the group'),
  sigma('Kubernetes Events Deleted', '3132570d-cab2-4561-9ea6-1743644b2290', 'kubernetes_audit_events_deleted.yml', '2024-03-26',
    [w('events', ['delete']), w('events', ['delete'], 'events.k8s.io')], BASE, 'the rule does not test the group: core and events.k8s.io Events both count'),
  sigma('Kubernetes Admission Controller Modification', 'eed82177-38f5-4299-8a76-098d50d225ab', 'kubernetes_audit_change_admission_controller.yml', '2024-07-11',
    [w('mutatingwebhookconfigurations', MODIFY, 'admissionregistration.k8s.io', { clusterScoped: true }),
      w('validatingwebhookconfigurations', MODIFY, 'admissionregistration.k8s.io', { clusterScoped: true })], [...BASE, GROUP]),
  sigma('Kubernetes CronJob/Job Modification', '0c9b3bda-41a6-4442-9345-356ae86343dc', 'kubernetes_audit_cronjob_modification.yml', '2024-07-11',
    [w('cronjobs', MODIFY, 'batch'), w('jobs', MODIFY, 'batch')], [...BASE, GROUP]),
  sigma('New Kubernetes Service Account Created', 'e31bae15-83ed-473e-bf31-faf4f8a17d36', 'kubernetes_audit_serviceaccount_creation.yml', '2024-03-26',
    [w('serviceaccounts', ['create'])], BASE),
  sigma('RBAC Permission Enumeration Attempt', '84b777bd-c946-4d17-aa2e-c39f5a454325', 'kubernetes_audit_rbac_permisions_listing.yml', '2024-03-26',
    [w('selfsubjectrulesreviews', ['create'], 'authorization.k8s.io', { clusterScoped: true })], [...BASE, GROUP],
    'the rule names a bare "apiGroup": the event has it as objectRef.apiGroup'),
  sigma('Kubernetes Unauthorized or Unauthenticated Access', '0d933542-1f1f-420d-97d4-21b2c3c492d9', 'kubernetes_audit_unauthorized_unauthenticated_actions.yml', '2024-04-12',
    [w('pods', ['get'])], ['responseStatus.code'],
    'matches any request answered 401 or 403; the check evaluates one representative 403 (get pods). A request whose token fails authentication (401) ' +
      'is recorded as one ResponseStarted event without a user (seen on the real apiserver): only policy rules without users or userGroups decide it, ' +
      'and a policy omitting ResponseStarted drops it'),
  sigma('Kubernetes Potential Enumeration Activity', '597a7e84-187d-458b-9e4f-2f5a0e676711', 'kubernetes_audit_potential_enumeration_activity.yml', '2026-04-28',
    [w('pods', ['create'], '', { subresource: 'exec' })], ['responseStatus.code', 'requestURI', 'userAgent'],
    'shells and tools in the requestURI (an exec command), or scanner user agents on any request; as written it also requires responseStatus.code to equal "ALLOW", ' +
      'which no audit event has (the code is a number), so it fires only where a pipeline rewrites that field'),
];
