/**
 * Policies the log and webhook tests run. POLICY_RULES exercises every rule feature (levels, omitStages at
 * policy and rule level, omitManagedFields override, users/groups/verbs/namespaces/resources/subresources/
 * resourceNames/nonResourceURLs, `*` and `x/*` forms); POLICY_GKE_STYLE is the shape big providers ship.
 */
import type { PolicyDocument } from '../../src/policy/model';

/** The workload's namespace in these tests (namespace rules need a fixed name). */
export const WORKLOAD_NAMESPACE = 'audit-e2e';
export const CRD_GROUP = 'e2e.cdk8s-audit.io';

export const POLICY_RULES: PolicyDocument = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitManagedFields: true,
  rules: [
    /* 0 */ { level: 'None', users: ['system:apiserver'], verbs: ['watch', 'get'] },
    /* 1 */ { level: 'None', nonResourceURLs: ['/healthz*', '/readyz*', '/livez*'] },
    /* 2 */ { level: 'Metadata', userGroups: ['system:unauthenticated'], omitStages: ['RequestReceived'] },
    /* 3 */ { level: 'Request', nonResourceURLs: ['/version', '/api*'] },
    /* 4 */ { level: 'Metadata', nonResourceURLs: ['*'], omitStages: ['ResponseComplete'] },
    /* 5 */ {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
    },
    /* 6 */ { level: 'RequestResponse', resources: [{ group: '', resources: ['pods/exec', 'services/proxy'] }], omitStages: ['ResponseStarted'] },
    /* 7 */ { level: 'Request', resources: [{ group: '', resources: ['pods/log'] }] },
    /* 8 */ { level: 'RequestResponse', verbs: ['patch', 'delete'], resources: [{ group: '', resources: ['pods'], resourceNames: ['web'] }], omitManagedFields: false },
    /* 9 */ { level: 'Metadata', resources: [{ group: '', resources: ['*/status'] }] },
    /* 10 */ { level: 'Request', resources: [{ group: '', resources: ['pods/*'] }] },
    /* 11 */ { level: 'RequestResponse', resources: [{ group: 'apps', resources: ['deployments'] }] },
    /* 12 */ { level: 'Metadata', users: ['alice', 'bob'] },
    /* 13 */ { level: 'RequestResponse', verbs: ['create', 'update', 'patch', 'delete'], resources: [{ group: 'rbac.authorization.k8s.io', resources: ['*'] }] },
    /* 14 */ { level: 'Request', namespaces: [WORKLOAD_NAMESPACE], resources: [{ group: CRD_GROUP }] },
    /* 15 */ { level: 'Request', verbs: ['get', 'list', 'watch'], namespaces: [WORKLOAD_NAMESPACE] },
    /* 16 */ { level: 'RequestResponse', namespaces: [''], verbs: ['create', 'delete'], omitStages: ['RequestReceived'] },
    /* 17 */ { level: 'Metadata', userGroups: ['system:masters'], namespaces: [WORKLOAD_NAMESPACE] },
    // No catch-all: whatever is left (the apiserver's own namespaced writes, …) matches nothing → None.
  ],
};

const KNOWN_GROUPS = ['', 'apps', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'authentication.k8s.io', CRD_GROUP].map((group) => ({ group }));

/** Like GKE's configure-helper.sh policy: drop noise, metadata for credentials, bodies for known groups. */
export const POLICY_GKE_STYLE: PolicyDocument = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [
    { level: 'None', users: ['system:kube-proxy'], verbs: ['watch'], resources: [{ group: '', resources: ['endpoints', 'services', 'services/status'] }] },
    { level: 'None', users: ['system:apiserver'], verbs: ['get'], resources: [{ group: '', resources: ['namespaces', 'namespaces/status', 'namespaces/finalize'] }] },
    { level: 'None', nonResourceURLs: ['/healthz*', '/version', '/swagger*'] },
    { level: 'None', resources: [{ group: '', resources: ['events'] }] },
    {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
      omitStages: ['RequestReceived'],
    },
    { level: 'Request', verbs: ['get', 'list', 'watch'], resources: KNOWN_GROUPS, omitStages: ['RequestReceived'] },
    { level: 'RequestResponse', resources: KNOWN_GROUPS, omitStages: ['RequestReceived'] },
    { level: 'Metadata', omitStages: ['RequestReceived'] },
  ],
};

/** Metadata for secrets (never their data), full bodies for everything else: the canary policy. */
export const POLICY_SECRETS_METADATA: PolicyDocument = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules: [
    { level: 'None', nonResourceURLs: ['/healthz*', '/readyz*', '/livez*'] },
    { level: 'Metadata', resources: [{ group: '', resources: ['secrets'] }] },
    { level: 'RequestResponse' },
  ],
};
