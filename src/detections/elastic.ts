import { Level } from '../policy/model';
import { Detection, WatchedRequest } from './model';

/**
 * Elastic's prebuilt Kubernetes rules: all 45 files of elastic/detection-rules rules/integrations/kubernetes/ at
 * commit 14cf530f, each with its `rule_id` and `updated_date`. Facts restated in our words, not copied. Every rule
 * reads the Kubernetes integration's audit data stream, where an audit event's fields sit under
 * `kubernetes.audit.` and a few are copied to ECS names (elastic/integrations
 * packages/kubernetes/data_stream/audit_logs/elasticsearch/ingest_pipeline/default.yml, read at 084db005): user.name
 * (user.username), event.action (verb), user_agent.original (userAgent), source.ip (sourceIPs). That pipeline also
 * turns annotation keys' dots into underscores (`authorization_k8s_io/decision` is `authorization.k8s.io/decision`)
 * and drops requestObject.metadata and responseObject.metadata, which no rule here reads.
 *
 * `reads` lists the fields without which the rule cannot fire: fields its filter tests for a value or for
 * existence, the terms a new_terms rule keys on, the fields an ES|QL rule counts; in ES|QL a negated test on a
 * missing field drops the event, so those fields count too. Fields only in a negated KQL/EQL exclusion (image or
 * user allow lists) do not: without them the rule still fires. Thresholds over many events (ES|QL stats, sequences,
 * new terms) are noted, not modelled: the check asks whether each event carries what the rule reads.
 */
const COMMIT = '14cf530f';
const elastic = (name: string, id: string, file: string, updated: string, watches: WatchedRequest[], reads: string[], extra: Partial<Detection> = {}): Detection => ({
  ruleSet: 'elastic', name, id,
  source: { file: `elastic/detection-rules rules/integrations/kubernetes/${file}`, version: `commit ${COMMIT} (updated ${updated})` },
  watches, reads, ...extra,
});
const w = (resource: string, verbs: string[], group = '', extra: Partial<WatchedRequest> = {}): WatchedRequest => ({ verbs, group, resource, ...extra });
const c = (resource: string, verbs: string[], group = '', extra: Partial<WatchedRequest> = {}): WatchedRequest => w(resource, verbs, group, { clusterScoped: true, ...extra });

const DECISION = 'annotations[authorization.k8s.io/decision]';
const [VERB, RES, SUB, NAME, NS, USER, AGENT, IPS, URI, STAGE, CODE] = [
  'verb', 'objectRef.resource', 'objectRef.subresource', 'objectRef.name', 'objectRef.namespace', 'user.username', 'userAgent', 'sourceIPs', 'requestURI', 'stage', 'responseStatus.code',
];
const RBAC = 'rbac.authorization.k8s.io';
const WRITE = ['create', 'update', 'patch'];
const sa = (namespace: string, name: string) => ({ name: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] });
const ANONYMOUS = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
const APP_SA = sa('default', 'app');
const EXEC = w('pods', ['create'], '', { subresource: 'exec' });
const EXEC_NOTE = 'reads the command from the exec requestURI (command=… query parameters, which Metadata records); ' +
  'its pattern also needs a container, stdin, stdout or stderr parameter after the command';
const POD_WRITES = w('pods', WRITE);
const ANY = 'matches any request; the check evaluates one representative request';

export const ELASTIC_DETECTIONS: readonly Detection[] = [
  // Pod specs: the request body, so Request.
  elastic('Kubernetes Privileged Pod Created', 'c7908cac-337a-4f38-b50d-5eeb78bdb531', 'privilege_escalation_privileged_pod_created.toml', '2026/04/10',
    [w('pods', ['create'])], [DECISION, RES, VERB, 'requestObject.spec.containers[].securityContext.privileged']),
  elastic('Kubernetes Container Created with Excessive Linux Capabilities', '7164081a-3930-11ed-a261-0242ac120002',
    'privilege_escalation_container_created_with_excessive_linux_capabilities.toml', '2026/04/10',
    [w('pods', ['create'])], [DECISION, VERB, RES, 'requestObject.spec.containers[].securityContext.capabilities.add']),
  elastic('Kubernetes Pod Created With HostIPC', '764c8437-a581-4537-8060-1fdb0e92c92d', 'privilege_escalation_pod_created_with_hostipc.toml', '2026/04/10',
    [POD_WRITES], [DECISION, RES, VERB, 'requestObject.spec.hostIPC']),
  elastic('Kubernetes Pod Created With HostNetwork', '12cbf709-69e8-4055-94f9-24314385c27e', 'privilege_escalation_pod_created_with_hostnetwork.toml', '2026/04/10',
    [POD_WRITES], [DECISION, RES, VERB, 'requestObject.spec.hostNetwork']),
  elastic('Kubernetes Pod Created With HostPID', 'df7fda76-c92b-4943-bc68-04460a5ea5ba', 'privilege_escalation_pod_created_with_hostpid.toml', '2026/04/10',
    [POD_WRITES], [DECISION, RES, VERB, 'requestObject.spec.hostPID']),
  elastic('Kubernetes Pod Created with a Sensitive hostPath Volume', '2abda169-416b-4bb3-9a6b-f8d239fd78ba', 'privilege_escalation_pod_created_with_sensitive_hostpath_volume.toml', '2026/04/10',
    [POD_WRITES], [DECISION, RES, VERB, 'requestObject.spec.volumes[].hostPath.path']),
  elastic('Kubernetes Suspicious Assignment of Controller Service Account', '63c05204-339a-11ed-a261-0242ac120002',
    'privilege_escalation_suspicious_assignment_of_controller_service_account.toml', '2026/04/10',
    [w('pods', ['create'], '', { namespace: 'kube-system' })], [DECISION, VERB, RES, NS, 'requestObject.spec.serviceAccountName']),
  elastic('Kubernetes Exposed Service Created With Type NodePort', '65f9bccd-510b-40df-8263-334f03174fed', 'persistence_exposed_service_created_with_type_nodeport.toml', '2026/04/10',
    [w('services', WRITE)], [DECISION, RES, VERB, 'requestObject.spec.type']),
  elastic('Kubernetes Cluster-Admin Role Binding Created', 'a2951930-dd35-438c-b10e-1bbdc5881cb4', 'persistence_cluster_admin_rolebinding_created.toml', '2026/04/10',
    [c('clusterrolebindings', ['create'], RBAC), w('rolebindings', ['create'], RBAC)], [RES, VERB, 'requestObject.roleRef.name', DECISION, STAGE],
    { levels: [Level.REQUEST_RESPONSE], note: 'tests level = RequestResponse: at Request it does not fire although the field it reads is there' }),
  elastic('Kubernetes Creation of a RoleBinding Referencing a ServiceAccount', 'fd00769d-b18d-450a-a844-7a9f9c71995e', 'persistence_service_account_bound_to_clusterrole.toml', '2026/04/10',
    [c('clusterrolebindings', ['create'], RBAC), w('rolebindings', ['create'], RBAC)], [VERB, RES, DECISION],
    { note: 'its condition also requires requestObject.spec.serviceAccountName, which a RoleBinding never has (service accounts are in subjects): as written it fires at no level' }),
  // RBAC rule contents at RequestResponse (the rules test the level).
  elastic('Kubernetes Creation or Modification of Sensitive Role', '0fb25791-d8d4-42ab-8fc7-4954642de85f', 'persistence_sensitive_role_creation_or_modification.toml', '2026/04/27',
    [c('clusterroles', WRITE, RBAC), w('roles', WRITE, RBAC)], [RES, VERB, DECISION, STAGE, IPS, 'responseObject.rules[].verbs', 'responseObject.rules[].resources'],
    { levels: [Level.REQUEST_RESPONSE], note: 'tests level = RequestResponse and the rules in the request or the response body (a patch body may not hold them: the response always does)' }),
  elastic('Kubernetes RBAC Wildcard Elevation on Existing Role', 'c8f4a2e1-9b3d-4c7e-8f2a-1d0e5b6c7a89', 'privilege_escalation_role_patch_wildcard_verbs_resources_response.toml', '2026/04/27',
    [c('clusterroles', ['update', 'patch'], RBAC), w('roles', ['update', 'patch'], RBAC)], [RES, VERB, DECISION, STAGE, IPS, 'responseObject.rules[].verbs', 'responseObject.rules[].resources'],
    { levels: [Level.REQUEST_RESPONSE] }),
  // Metadata: who, what, where.
  elastic('Kubernetes Events Deleted', '33c27b4e-8ec6-406f-b8e5-345dc024aa97', 'defense_evasion_events_deleted.toml', '2026/04/10',
    [w('events', ['delete']), w('events', ['delete'], 'events.k8s.io')], [VERB, RES, STAGE]),
  elastic('Kubernetes Sensitive RBAC Change Followed by Workload Modification', '3c82bf84-5941-495b-ac41-0302f28e1a90',
    'privilege_escalation_sensitive_rbac_change_followed_by_workload_modification.toml', '2026/04/10',
    [w('roles', WRITE, RBAC), c('clusterroles', WRITE, RBAC), w('daemonsets', ['create', 'patch'], 'apps'), w('deployments', ['create', 'patch'], 'apps'), w('cronjobs', ['create', 'patch'], 'batch')],
    [USER, DECISION, RES, VERB], { note: 'a sequence: a Role change, then a workload write by the same user within 5 minutes' }),
  elastic('Unusual Kubernetes Sensitive Workload Modification', '78c6559d-47a7-4f30-91fe-7e2e983206c2', 'privilege_escalation_sensitive_workload_modification_by_user_agent.toml', '2026/04/10',
    [w('daemonsets', ['create', 'patch'], 'apps'), w('deployments', ['create', 'patch'], 'apps'), w('cronjobs', ['create', 'patch'], 'batch')],
    [AGENT, DECISION, RES, VERB, IPS, USER], { note: 'new terms: a user agent, source address and user not seen in 7 days' }),
  elastic('Kubernetes Service Account Modified RBAC Objects', 'f2e21713-1eac-4908-a782-1b49c7e9d53b', 'privilege_escalation_service_account_rbac_write_operation.toml', '2026/04/10',
    ['roles', 'rolebindings'].map((r) => w(r, ['create', 'delete', 'patch', 'update'], RBAC, { user: APP_SA }))
      .concat(['clusterroles', 'clusterrolebindings'].map((r) => c(r, ['create', 'delete', 'patch', 'update'], RBAC, { user: APP_SA }))),
    [DECISION, USER, RES, VERB]),
  elastic('Kubernetes Admission Webhook Created or Modified', '4f8f7c08-ffb5-443f-86c6-0884c964df7b', 'persistence_kubernetes_admission_webhook_created_or_modified.toml', '2026/05/26',
    [c('mutatingwebhookconfigurations', [...WRITE, 'delete'], 'admissionregistration.k8s.io'), c('validatingwebhookconfigurations', [...WRITE, 'delete'], 'admissionregistration.k8s.io')],
    [RES, VERB, DECISION, USER, NAME]),
  elastic('Kubernetes Client Certificate Signing Request Created or Approved', '0f5941c6-3db9-4d2f-91df-06c7c292ba45',
    'persistence_kubernetes_client_certificate_signing_request_created_or_approved.toml', '2026/05/05',
    [c('certificatesigningrequests', WRITE, 'certificates.k8s.io'), c('certificatesigningrequests', ['update'], 'certificates.k8s.io', { subresource: 'approval' })],
    [RES, VERB, DECISION], { note: 'the rule does not test the subresource: an approval (update certificatesigningrequests/approval) matches too' }),
  elastic('EKS Authentication Configuration Modified', '5202697c-313b-4bf0-9029-73fe78cd4b6d', 'persistence_kubernetes_eks_aws_auth_configmap_modified.toml', '2026/05/06',
    [w('configmaps', ['update', 'patch', 'delete'], '', { namespace: 'kube-system', name: 'aws-auth' })], [RES, NAME, VERB, NS, DECISION]),
  elastic('Kubernetes CoreDNS or Kube-DNS Configuration Modified', 'a643e6b8-ba2a-45f1-8d71-d265bfe2ae43', 'impact_kubernetes_coredns_or_kube_dns_configuration_modified.toml', '2026/05/07',
    [w('configmaps', ['update', 'patch', 'delete'], '', { namespace: 'kube-system', name: 'coredns' })], [RES, NAME, NS, VERB, DECISION],
    { note: 'also the kube-dns and coredns-custom ConfigMaps; the check evaluates coredns' }),
  elastic('Kubernetes Ephemeral Container Added to Pod', 'c62733ff-9373-4fdf-9733-3d992e148c93', 'privilege_escalation_kubernetes_ephemeral_container_added_to_pod.toml', '2026/05/07',
    [w('pods', ['update', 'patch'], '', { subresource: 'ephemeralcontainers' })], [RES, SUB, VERB, DECISION]),
  elastic('Kubernetes API Server Proxying Request to Kubelet', '332ecb5b-08b6-47e9-885b-3cee1de74bac', 'privilege_escalation_api_proxy_to_node.toml', '2026/05/05',
    [c('nodes', ['get', 'create'], '', { subresource: 'proxy' })], [SUB, RES]),
  elastic('Kubernetes API Request Impersonating Privileged Identity', 'abb7bc31-b865-4318-80a9-b9ee4edd57b6',
    'privilege_escalation_kubernetes_api_request_impersonating_privileged_identity.toml', '2026/05/05',
    [w('pods', ['get'])], ['impersonatedUser.username', DECISION, VERB],
    { note: `${ANY} (get pods); the policy sees the impersonating user, not the impersonated one` }),
  elastic('Kubernetes Service Account Token Created via TokenRequest API', '4df91789-7859-4bc4-9c5a-6b56bfa81a8b',
    'credential_access_kubernetes_service_account_token_created_via_tokenrequest.toml', '2026/05/05',
    [w('serviceaccounts', ['create'], '', { subresource: 'token' })], [VERB, RES, SUB, USER]),
  // Secrets: who reads them (never their bodies).
  elastic('Kubernetes Secret Access via Unusual User Agent', 'cbda9a0e-2be4-4eaa-9571-8d6a503e9828', 'credential_access_get_secrets_access.toml', '2026/04/10',
    [w('secrets', ['get', 'list'])], [RES, VERB, AGENT, IPS, USER], { note: 'new terms: source address, user and user agent' }),
  elastic('Kubernetes Secret get or list with Suspicious User Agent', 'a4c8e901-2b7f-4d6e-9a3c-8e1f0d5b6c2a', 'credential_access_kubernetes_secret_access_scripting_http_clients.toml', '2026/04/22',
    [w('secrets', ['get', 'list'])], [VERB, RES, AGENT, IPS]),
  elastic('Kubernetes Secret get or list from Node or Pod Service Account', 'f8a31c62-0d4e-4b9a-b7e1-6c2a9d4e8f10',
    'credential_access_kubernetes_secret_read_by_node_or_pod_service_account.toml', '2026/06/02',
    [w('secrets', ['get', 'list'], '', { user: APP_SA })], [VERB, RES, USER, IPS]),
  elastic('Kubernetes Secrets List Across Cluster or Sensitive Namespaces', '7e3f9a2b-1c4d-5e6f-8a0b-9c8d7e6f5a4b',
    'credential_access_kubernetes_secrets_list_cluster_and_sensitive_namespaces.toml', '2026/05/11',
    [c('secrets', ['list']), w('secrets', ['list'], '', { namespace: 'kube-system' }), w('secrets', ['list'])], [VERB, RES, URI, IPS]),
  elastic('Kubernetes Rapid Secret GET Activity Against Multiple Objects', 'b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c',
    'credential_access_kubernetes_multiple_secret_retrieval_burst.toml', '2026/05/15',
    [w('secrets', ['get'])], [VERB, RES, IPS, USER, NAME], { note: 'three or more distinct Secrets read by one user from one address' }),
  elastic('Kubernetes Secret or ConfigMap Access via Azure Arc Proxy', '220d92c6-479d-4a49-9cc0-3a29756dad0c', 'credential_access_azure_arc_proxy_secret_configmap_access.toml', '2026/03/24',
    ['secrets', 'configmaps'].map((r) => w(r, ['get', 'create', 'update', 'patch', 'delete'], '', { user: sa('azure-arc', 'proxy') })), [USER, RES, VERB, NS, NAME],
    { note: 'its name test drops events without an object name, so lists never fire it' }),
  // Exec commands in the requestURI.
  elastic('Kubernetes User Exec into Pod', '14de811c-d60f-11ec-9fd7-f661ea17fbce', 'execution_user_exec_to_pod.toml', '2026/04/10',
    [EXEC], [VERB, SUB, STAGE, DECISION],
    { levels: [Level.REQUEST], note: 'tests level = Request: an exec recorded at Metadata or RequestResponse does not fire it' }),
  elastic('Kubernetes Pod Exec Cloud Instance Metadata Access', 'a8e7d6c5-b4a3-2918-0f9e-8d7c6b5a4032', 'credential_access_kubernetes_pod_exec_cloud_instance_metadata.toml', '2026/04/23',
    [EXEC], [SUB, URI], { note: EXEC_NOTE }),
  elastic('Kubernetes Pod Exec Sensitive File or Credential Path Access', 'b2c3d4e5-f6a7-4890-b1c2-d3e4f5a60789', 'credential_access_kubernetes_pod_exec_sensitive_file_access.toml', '2026/04/23',
    [EXEC], [SUB, URI], { note: EXEC_NOTE }),
  elastic('Kubernetes Pod Exec with Curl or Wget to HTTPS', 'c9d4e8f1-2a3b-4c5d-8e9f-0a1b2c3d4e5f', 'execution_kubernetes_pod_exec_curl_wget_https.toml', '2026/04/23',
    [EXEC], [SUB, URI], { note: EXEC_NOTE }),
  elastic('Kubernetes Pod Exec Potential Reverse Shell', 'f1a2b3c4-d5e6-4789-a012-3456789abc01', 'execution_kubernetes_pod_exec_potential_reverse_shell.toml', '2026/04/23',
    [EXEC], [SUB, URI], { note: EXEC_NOTE }),
  // Denied, anonymous and unusual requests.
  elastic('Kubernetes Forbidden Creation Request', 'ec81962e-4bc8-48e6-bfb0-545fc97d8f6a', 'execution_forbidden_creation_request.toml', '2026/04/10',
    [w('pods', ['create'])], [VERB, STAGE, DECISION], { note: `matches any create the authorizer forbids; the check evaluates create pods` }),
  elastic('Kubernetes Forbidden Request from Unusual User Agent', '4b77d382-b78e-4aae-85a0-8841b80e4fc4', 'execution_forbidden_request_from_unsual_user_agent.toml', '2026/04/10',
    [w('pods', ['get'])], [STAGE, DECISION, AGENT], { note: `${ANY} (get pods); new terms: the user agent` }),
  elastic('Kubernetes Denied Service Account Request via Unusual User Agent', '63c056a0-339a-11ed-a261-0242ac120002', 'discovery_denied_service_account_request.toml', '2026/04/10',
    [w('pods', ['get'], '', { user: APP_SA })], [USER, DECISION, AGENT], { note: `${ANY} by a service account (get pods); new terms: the user agent` }),
  elastic('Kubernetes Unusual Decision by User Agent', '8a1db198-da6f-4500-b985-7fe2457300af', 'execution_unusual_request_response_by_user_agent.toml', '2026/04/10',
    [c('namespaces', ['list'])], [STAGE, AGENT, DECISION, USER], { note: `${ANY} (list namespaces); new terms: decision, user and user agent` }),
  elastic('Kubernetes Suspicious Self-Subject Review via Unusual User Agent', '12a2f15d-597e-4334-88ff-38a02cb1330b', 'discovery_suspicious_self_subject_review.toml', '2026/04/10',
    ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].map((r) => c(r, ['create'], 'authorization.k8s.io', { user: APP_SA })), [DECISION, VERB, RES, USER, AGENT]),
  elastic('Kubernetes Potential Endpoint Permission Enumeration Attempt Detected', 'a337c3f8-e264-4eb4-9998-22669ca52791', 'discovery_endpoint_permission_enumeration_by_user_and_srcip.toml', '2026/03/03',
    [w('pods', ['get', 'list']), w('secrets', ['get', 'list']), c('namespaces', ['get', 'list']), c('nodes', ['get', 'list'])], [STAGE, VERB, USER, IPS, DECISION, URI, RES],
    { note: 'per user and address: both decisions, more than 5 URIs and 3 resources in under 75 events; the check evaluates reads of four resources (pods, secrets, namespaces, nodes)' }),
  elastic('Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected', '2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0',
    'discovery_endpoint_permission_enumeration_by_anonymous_user.toml', '2026/03/24',
    [w('pods', ['get', 'list'], '', { user: ANONYMOUS }), w('services', ['get', 'list'], '', { user: ANONYMOUS }), c('namespaces', ['get', 'list'], '', { user: ANONYMOUS }),
      c('nodes', ['get', 'list'], '', { user: ANONYMOUS })],
    [URI, RES, CODE], {
      levels: [Level.REQUEST, Level.REQUEST_RESPONSE],
      note: 'tests level Request or RequestResponse (it also names "ResponseComplete", a stage, which no level equals): anonymous reads at Metadata never fire it. ' +
        'It needs more than 3 distinct resources per source, so the check evaluates reads of four (pods, services, namespaces, nodes); a Secret or ConfigMap read ' +
        'above Metadata is something this tool never proposes',
    }),
  elastic('Kubernetes Anonymous User Create/Update/Patch Pods Request', '3a01e5c6-ce01-46d7-ac9f-52dc349695fb', 'execution_anonymous_create_update_patch_pod_request.toml', '2026/04/10',
    [w('pods', WRITE, '', { user: ANONYMOUS })], [VERB, RES],
    { levels: [Level.REQUEST, Level.REQUEST_RESPONSE], note: 'tests level Request or RequestResponse (and names "ResponseComplete", a stage)' }),
  elastic('Kubernetes Anonymous Request Authorized by Unusual User Agent', '63c057cc-339a-11ed-a261-0242ac120002', 'initial_access_anonymous_request_authorized.toml', '2026/04/10',
    [w('pods', ['get'], '', { user: ANONYMOUS })], [DECISION, AGENT], { note: `${ANY} by system:anonymous except health URLs (get pods); new terms: the user agent` }),
  elastic('Kubernetes Multi-Resource Discovery', 'c2a91e88-4f4b-4e1d-9c7b-8fde112a9403', 'discovery_kubernetes_multi_resource_setup_recon.toml', '2026/05/15',
    [
      c('namespaces', ['get', 'list']), c('nodes', ['get', 'list']), w('pods', ['get', 'list']), w('configmaps', ['get', 'list']), w('serviceaccounts', ['get', 'list']),
      w('roles', ['get', 'list'], RBAC), w('rolebindings', ['get', 'list'], RBAC), c('clusterroles', ['get', 'list'], RBAC), c('clusterrolebindings', ['get', 'list'], RBAC),
    ],
    [VERB, RES, IPS, USER], { note: 'three or more of these resource kinds read by one user from one address within a minute' }),
];
