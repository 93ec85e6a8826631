import { HEALTH_URLS, SECRET_RESOURCES } from '../policy/audit-rule';
import { GroupResources, Level } from '../policy/model';
import { BodyLevel, CatalogueRule, PresetRuleChoice } from './types';

export const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_VERBS = ['get', 'list', 'watch'];

const bodyLevelFor = (b: BodyLevel): Level =>
  b === BodyLevel.ALL_BODIES ? Level.REQUEST_RESPONSE : b === BodyLevel.WRITE_BODIES ? Level.REQUEST : Level.METADATA;

const copy = (grs: readonly GroupResources[]): GroupResources[] => grs.map((g) => ({ ...g, ...(g.resources ? { resources: [...g.resources] } : {}) }));

/** Objects that define who may do what: changes to them are credential and privilege changes. */
export const CREDENTIAL_RESOURCES: readonly GroupResources[] = [
  { group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'] },
  { group: '', resources: ['serviceaccounts'] },
  { group: 'certificates.k8s.io', resources: ['certificatesigningrequests', 'certificatesigningrequests/approval'] },
];

/** Cluster-level objects whose creation or deletion changes the system itself (PCI 10.2.1.7). */
export const SYSTEM_RESOURCES: readonly GroupResources[] = [
  { group: '', resources: ['namespaces', 'nodes', 'persistentvolumes'] },
  { group: 'apiextensions.k8s.io', resources: ['customresourcedefinitions'] },
  { group: 'admissionregistration.k8s.io' },
  { group: 'apiregistration.k8s.io', resources: ['apiservices'] },
  { group: 'scheduling.k8s.io', resources: ['priorityclasses'] },
  { group: 'storage.k8s.io', resources: ['storageclasses', 'csidrivers'] },
  { group: 'node.k8s.io', resources: ['runtimeclasses'] },
  { group: 'flowcontrol.apiserver.k8s.io' },
];

/** Interactive access into workloads. */
export const INTERACTIVE_RESOURCES: readonly GroupResources[] = [
  { group: '', resources: ['pods/exec', 'pods/attach', 'pods/portforward', 'pods/proxy', 'services/proxy', 'nodes/proxy'] },
];

/** Workload objects (CIS 3.2.2 "pod and deployment changes"). */
export const WORKLOAD_RESOURCES: readonly GroupResources[] = [
  { group: '', resources: ['pods', 'replicationcontrollers'] },
  { group: 'apps', resources: ['deployments', 'daemonsets', 'statefulsets', 'replicasets'] },
  { group: 'batch', resources: ['jobs', 'cronjobs'] },
];

/**
 * Every rule a preset can use, in evaluation order. Presets choose entries; composing presets keeps
 * this order, so the result does not depend on the order presets are combined in.
 */
export const CATALOGUE: readonly CatalogueRule[] = [
  {
    id: 'ignore-health-checks',
    description: 'health, readiness, version and metrics endpoints are not recorded',
    build: () => ({ level: Level.NONE, nonResourceURLs: [...HEALTH_URLS] }),
  },
  {
    id: 'ignore-events',
    description: 'Event objects are not recorded (high volume, no audit value)',
    build: () => ({ level: Level.NONE, resources: [{ group: '', resources: ['events'] }, { group: 'events.k8s.io', resources: ['events'] }] }),
  },
  {
    id: 'ignore-leases',
    description: 'leader-election and node heartbeat leases are not recorded',
    build: () => ({ level: Level.NONE, resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }] }),
  },
  {
    id: 'ignore-system-reads',
    description: 'reads by control-plane components and kubelets are not recorded',
    build: () => ({
      level: Level.NONE,
      users: ['system:kube-proxy', 'system:kube-scheduler', 'system:kube-controller-manager', 'system:apiserver'],
      verbs: [...READ_VERBS],
    }),
  },
  {
    id: 'ignore-node-status',
    description: 'kubelet status updates for nodes and pods are not recorded',
    build: () => ({
      level: Level.NONE,
      userGroups: ['system:nodes'],
      verbs: ['update', 'patch'],
      resources: [{ group: '', resources: ['nodes/status', 'pods/status'] }],
    }),
  },
  {
    id: 'secrets-metadata',
    description: 'secrets, configmaps, TokenReviews and TokenRequests at Metadata: never a body',
    secret: true,
    build: () => ({ level: Level.METADATA, resources: copy(SECRET_RESOURCES) }),
  },
  {
    id: 'interactive-access',
    description: 'exec, attach, port-forward and proxy into pods, services and nodes',
    build: () => ({ level: Level.METADATA, resources: copy(INTERACTIVE_RESOURCES) }),
  },
  {
    id: 'audit-namespace-writes',
    description: 'changes in the audit sink namespace (stopping, starting or reconfiguring audit) with bodies',
    build: (o) => ({ level: Level.REQUEST, verbs: [...WRITE_VERBS], namespaces: [o.auditNamespace] }),
  },
  {
    id: 'audit-namespace-access',
    description: 'any access in the audit sink namespace (access to audit logs)',
    build: (o) => ({ level: Level.METADATA, namespaces: [o.auditNamespace] }),
  },
  {
    id: 'credential-changes',
    description: 'changes to RBAC, service accounts and certificate requests, with request and response bodies',
    build: () => ({ level: Level.REQUEST_RESPONSE, verbs: [...WRITE_VERBS], resources: copy(CREDENTIAL_RESOURCES) }),
  },
  {
    id: 'system-object-changes',
    description: 'changes to cluster-level objects (namespaces, nodes, CRDs, admission, API services…) with bodies',
    build: () => ({ level: Level.REQUEST_RESPONSE, verbs: [...WRITE_VERBS], resources: copy(SYSTEM_RESOURCES) }),
  },
  {
    id: 'personal-data-namespaces',
    description: 'every request in the namespaces declared to hold personal data, at Metadata: never a body (GDPR data minimisation)',
    secret: true,
    build: (o) => (o.personalDataNamespaces?.length ? { level: Level.METADATA, namespaces: [...o.personalDataNamespaces] } : undefined),
  },
  {
    id: 'personal-data-resources',
    description: 'every request for the resources declared to hold personal data, at Metadata: never a body (GDPR data minimisation)',
    secret: true,
    build: (o) => (o.personalDataResources?.length ? { level: Level.METADATA, resources: copy(o.personalDataResources) } : undefined),
  },
  {
    id: 'workload-changes',
    description: 'changes to pods and workload controllers, at the preset body level',
    build: (o) => ({ level: bodyLevelFor(o.bodyLevel), verbs: [...WRITE_VERBS], resources: copy(WORKLOAD_RESOURCES) }),
  },
  {
    id: 'writes',
    description: 'every other change, at the preset body level',
    build: (o) => ({ level: bodyLevelFor(o.bodyLevel), verbs: [...WRITE_VERBS] }),
  },
  {
    id: 'reads-metadata',
    description: 'reads (get, list, watch) at Metadata',
    build: () => ({ level: Level.METADATA, verbs: [...READ_VERBS] }),
  },
  {
    id: 'catch-all',
    description: 'everything else (non-resource URLs, other verbs, anonymous and failed requests) at Metadata',
    build: () => ({ level: Level.METADATA }),
  },
];

export function catalogueRule(id: string): CatalogueRule {
  const rule = CATALOGUE.find((r) => r.id === id);
  if (!rule) throw new Error(`unknown catalogue rule ${JSON.stringify(id)}; known: ${CATALOGUE.map((r) => r.id).join(', ')}`);
  return rule;
}

const choose = (...ids: string[]): readonly PresetRuleChoice[] => ids.map((id) => ({ id }));
const NOISE = ['ignore-health-checks', 'ignore-events', 'ignore-leases', 'ignore-system-reads', 'ignore-node-status'];

/** Rule sets several presets share. */
export const RULE_SETS = {
  /** Every access recorded: reads at Metadata, the audit namespace watched (PCI DSS, HIPAA, NIST). */
  EVERY_ACCESS: choose(...NOISE, 'secrets-metadata', 'interactive-access', 'audit-namespace-writes', 'audit-namespace-access',
    'credential-changes', 'system-object-changes', 'workload-changes', 'writes', 'reads-metadata', 'catch-all'),
  /**
   * Changes and access control, reads only through the catch-all (SOC 2, ISO 27001). workload-changes names
   * pods and deployments in a rule of their own: kubescape C-0161 (CIS 3.2.2) looks for them by name.
   */
  CHANGES_AND_ACCESS: choose(...NOISE, 'secrets-metadata', 'interactive-access', 'credential-changes', 'system-object-changes', 'workload-changes', 'writes', 'catch-all'),
};
