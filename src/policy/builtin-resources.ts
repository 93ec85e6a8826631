/**
 * Built-in Kubernetes resources by API group, for the `resource-in-wrong-group` lint.
 * Each entry says from which minor the resource is served by default (GA or beta-on-by-default);
 * the e2e suite checks this table against the real apiserver's discovery for the built versions
 * (1.35 and 1.37). Entries marked 37 may already be served by 1.36, which is not built here: a too
 * late "since" only makes the lint quieter, never wrong.
 */
export interface BuiltinGroup {
  /** "" is the core group. */
  readonly group: string;
  /** resource → first minor it is served by default (30 means "1.30 or earlier"). */
  readonly resources: Readonly<Record<string, number>>;
  /** Subresources, `resource/sub`. */
  readonly subresources?: readonly string[];
}

const all = (names: string[], since = 30): Record<string, number> => Object.fromEntries(names.map((n) => [n, since]));

export const BUILTIN_GROUPS: readonly BuiltinGroup[] = [
  {
    group: '',
    resources: all([
      'bindings', 'componentstatuses', 'configmaps', 'endpoints', 'events', 'limitranges', 'namespaces', 'nodes',
      'persistentvolumeclaims', 'persistentvolumes', 'pods', 'podtemplates', 'replicationcontrollers', 'resourcequotas',
      'secrets', 'serviceaccounts', 'services',
    ]),
    subresources: [
      'namespaces/finalize', 'namespaces/status', 'nodes/proxy', 'nodes/status', 'persistentvolumeclaims/status',
      'persistentvolumes/status', 'pods/attach', 'pods/binding', 'pods/ephemeralcontainers', 'pods/eviction', 'pods/exec',
      'pods/log', 'pods/portforward', 'pods/proxy', 'pods/resize', 'pods/status', 'replicationcontrollers/scale',
      'replicationcontrollers/status', 'resourcequotas/status', 'serviceaccounts/token', 'services/proxy', 'services/status',
    ],
  },
  {
    group: 'apps',
    resources: all(['controllerrevisions', 'daemonsets', 'deployments', 'replicasets', 'statefulsets']),
    subresources: ['daemonsets/status', 'deployments/scale', 'deployments/status', 'replicasets/scale', 'replicasets/status', 'statefulsets/scale', 'statefulsets/status'],
  },
  { group: 'batch', resources: all(['cronjobs', 'jobs']), subresources: ['cronjobs/status', 'jobs/status'] },
  { group: 'autoscaling', resources: all(['horizontalpodautoscalers']), subresources: ['horizontalpodautoscalers/status'] },
  { group: 'policy', resources: all(['poddisruptionbudgets']), subresources: ['poddisruptionbudgets/status'] },
  { group: 'rbac.authorization.k8s.io', resources: all(['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles']) },
  { group: 'authentication.k8s.io', resources: all(['selfsubjectreviews', 'tokenreviews']) },
  {
    group: 'authorization.k8s.io',
    resources: all(['localsubjectaccessreviews', 'selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'subjectaccessreviews']),
  },
  {
    group: 'certificates.k8s.io',
    resources: { ...all(['certificatesigningrequests']), ...all(['clustertrustbundles', 'podcertificaterequests'], 37) },
    subresources: ['certificatesigningrequests/approval', 'certificatesigningrequests/status'],
  },
  { group: 'coordination.k8s.io', resources: all(['leases']) },
  { group: 'discovery.k8s.io', resources: all(['endpointslices']) },
  { group: 'events.k8s.io', resources: all(['events']) },
  {
    group: 'networking.k8s.io',
    resources: { ...all(['ingressclasses', 'ingresses', 'networkpolicies']), ...all(['ipaddresses', 'servicecidrs'], 33) },
    subresources: ['ingresses/status', 'servicecidrs/status'],
  },
  { group: 'node.k8s.io', resources: all(['runtimeclasses']) },
  { group: 'scheduling.k8s.io', resources: all(['priorityclasses']) },
  {
    group: 'storage.k8s.io',
    resources: { ...all(['csidrivers', 'csinodes', 'csistoragecapacities', 'storageclasses', 'volumeattachments']), volumeattributesclasses: 34 },
    subresources: ['volumeattachments/status'],
  },
  {
    group: 'admissionregistration.k8s.io',
    resources: {
      ...all(['mutatingwebhookconfigurations', 'validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'validatingwebhookconfigurations']),
      ...all(['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'], 37),
    },
    subresources: ['validatingadmissionpolicies/status'],
  },
  { group: 'apiextensions.k8s.io', resources: all(['customresourcedefinitions']), subresources: ['customresourcedefinitions/status'] },
  { group: 'apiregistration.k8s.io', resources: all(['apiservices']), subresources: ['apiservices/status'] },
  {
    group: 'flowcontrol.apiserver.k8s.io',
    resources: all(['flowschemas', 'prioritylevelconfigurations']),
    subresources: ['flowschemas/status', 'prioritylevelconfigurations/status'],
  },
  {
    group: 'resource.k8s.io',
    resources: { ...all(['deviceclasses', 'resourceclaims', 'resourceclaimtemplates', 'resourceslices'], 34), devicetaintrules: 37 },
    subresources: ['resourceclaims/status'],
  },
];

/** The built-in groups that serve `resource` (plain name, no subresource) at `minor`. */
export function groupsServing(resource: string, minor: number): string[] {
  return BUILTIN_GROUPS.filter((g) => g.resources[resource] !== undefined && g.resources[resource] <= minor).map((g) => g.group);
}

/** Whether `group` is a built-in group cdk8s-audit knows (so its resource list is complete). */
export function isBuiltinGroup(group: string): boolean {
  return BUILTIN_GROUPS.some((g) => g.group === group);
}

/** Request verbs the apiserver puts into audit events (resource verbs and lower-case HTTP methods). */
export const RESOURCE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
export const NON_RESOURCE_VERBS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
export const KNOWN_VERBS: readonly string[] = [...new Set<string>([...RESOURCE_VERBS, ...NON_RESOURCE_VERBS])];
