import { Level } from '../policy/model';
import { ProbeCaller, RequirementProbe } from './types';

/** Shared example requests; presets pick the ones that demonstrate their requirements. */
export const AUDIT_NAMESPACE_DEFAULT = 'audit';

export function probe(description: string, as: ProbeCaller, method: RequirementProbe['method'], path: string, minLevel: Level, extra: Partial<RequirementProbe> = {}): RequirementProbe {
  return { description, as, method, path, minLevel, ...extra };
}

const A = ProbeCaller.ADMIN;
const U = ProbeCaller.USER;

export const PROBES = {
  readSecret: (ns: string) => probe(`read a Secret in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/secrets/db-credentials`, Level.METADATA, { maxLevel: Level.METADATA }),
  createSecret: (ns: string) =>
    probe(`create a Secret in ${ns}`, A, 'POST', `/api/v1/namespaces/${ns}/secrets`, Level.METADATA, {
      maxLevel: Level.METADATA,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'probe-secret' }, stringData: { password: 'probe-secret-value' } },
    }),
  listConfigMaps: (ns: string) => probe(`list ConfigMaps in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/configmaps`, Level.METADATA, { maxLevel: Level.METADATA }),
  tokenReview: () =>
    probe('review a bearer token (TokenReview)', A, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews', Level.METADATA, {
      maxLevel: Level.METADATA,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'not-a-real-token' } },
    }),
  tokenRequest: () =>
    probe('issue a service-account token (TokenRequest)', A, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', Level.METADATA, {
      maxLevel: Level.METADATA,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    }),
  createClusterRoleBinding: () =>
    probe('grant cluster-admin (create a ClusterRoleBinding)', A, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', Level.REQUEST, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'probe-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'probe-user' }],
      },
    }),
  patchRoleBinding: () =>
    probe('change a RoleBinding', A, 'PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/probe-binding', Level.REQUEST, {
      body: { metadata: { labels: { changed: 'true' } } },
    }),
  createNamespace: () =>
    probe('create a Namespace', A, 'POST', '/api/v1/namespaces', Level.REQUEST, { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'probe-ns' } } }),
  deleteCrd: () => probe('delete a CustomResourceDefinition', A, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com', Level.REQUEST),
  createWebhookConfig: () =>
    probe('create a ValidatingWebhookConfiguration', A, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', Level.REQUEST, {
      body: { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'probe-webhook' }, webhooks: [] },
    }),
  getNodes: () => probe('list Nodes', A, 'GET', '/api/v1/nodes', Level.METADATA),
  createPod: (ns: string) =>
    probe(`create a Pod in ${ns}`, A, 'POST', `/api/v1/namespaces/${ns}/pods`, Level.METADATA, {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'probe-pod' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    }),
  patchDeployment: (ns: string) =>
    probe(`change a Deployment in ${ns}`, A, 'PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, Level.METADATA, { body: { spec: { replicas: 2 } } }),
  deleteDeployment: (ns: string, name = 'web') => probe(`delete Deployment ${name} in ${ns}`, A, 'DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`, Level.METADATA),
  exec: (ns: string, pod = 'web-0') => probe(`exec into pod ${pod} in ${ns}`, A, 'POST', `/api/v1/namespaces/${ns}/pods/${pod}/exec?command=sh&stdin=true`, Level.METADATA),
  portForward: (ns: string) => probe(`port-forward to a pod in ${ns}`, A, 'POST', `/api/v1/namespaces/${ns}/pods/web-0/portforward`, Level.METADATA),
  podProxy: (ns: string) => probe(`proxy to a pod in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/pods/web-0/proxy/`, Level.METADATA),
  serviceProxy: (ns: string) => probe(`proxy to a service in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/services/web/proxy/`, Level.METADATA),
  nodeLogs: () => probe("read a node's log files through nodes/proxy", A, 'GET', '/api/v1/nodes/node-1/proxy/logs/', Level.METADATA),
  podLogs: (ns: string) => probe(`read pod logs in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/pods/sink-0/log`, Level.METADATA),
  forbiddenSecretRead: () => probe('a user without grants reads a Secret (forbidden)', U, 'GET', '/api/v1/namespaces/kube-system/secrets/admin-token', Level.METADATA, { maxLevel: Level.METADATA }),
  anonymousList: () => probe('an anonymous request lists namespaces (forbidden)', ProbeCaller.ANONYMOUS, 'GET', '/api/v1/namespaces', Level.METADATA),
  healthCheck: () => probe('a load balancer probes /healthz', ProbeCaller.ANONYMOUS, 'GET', '/healthz', Level.NONE, { maxLevel: Level.NONE }),
  getPod: (ns: string) => probe(`read a Pod in ${ns}`, A, 'GET', `/api/v1/namespaces/${ns}/pods/web-0`, Level.METADATA),
  updateConfigMap: (ns: string) =>
    probe(`change a ConfigMap in ${ns}`, A, 'PUT', `/api/v1/namespaces/${ns}/configmaps/app-config`, Level.METADATA, {
      maxLevel: Level.METADATA,
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { key: 'value' } },
    }),
};
