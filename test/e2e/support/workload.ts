/**
 * The requests auditors care about, sent to a real apiserver. Every step records the RequestAttributes we
 * expect the apiserver's policy checker to see — written out by hand from the API conventions, NOT derived
 * from the audit events — so the tests can check both the event→attributes mapping and `evaluatePolicy`.
 */
import { randomBytes } from 'node:crypto';
import type { RequestAttributes } from '../../../src/policy/model';
import type { ControlPlane, TestUser } from './control-plane';
import type { Caller, KubeResponse } from './kube-client';
import { sleep } from './processes';

export interface WorkloadStep {
  readonly description: string;
  readonly method: string;
  readonly uri: string;
  readonly expected: RequestAttributes;
  readonly status: number;
  /** From the Audit-Id response header. */
  readonly auditId: string | undefined;
}

export interface WorkloadResult {
  readonly namespace: string;
  /** A random value stored only in a Secret; audit output under a Metadata-for-secrets policy must not contain it. */
  readonly secretCanary: string;
  /** A random value stored in a ConfigMap: a positive control for searches that look for the secret canary. */
  readonly configMapCanary: string;
  readonly steps: WorkloadStep[];
}

type Identity = { kind: 'user'; user: TestUser; impersonate?: { user: string; groups?: string[] } } | { kind: 'anonymous' } | { kind: 'bad-token' };

type ResourceTarget = {
  readonly group?: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
};

/** Attributes of a resource request (group "" = core, left out like the Go zero value). */
function resourceAttrs(verb: string, t: ResourceTarget): Omit<RequestAttributes, 'user' | 'path'> {
  return compact({
    verb,
    resourceRequest: true,
    apiGroup: t.group,
    apiVersion: t.version,
    resource: t.resource,
    namespace: t.namespace,
    name: t.name,
    subresource: t.subresource,
  }) as Omit<RequestAttributes, 'user' | 'path'>;
}

function nonResourceAttrs(verb: string): Omit<RequestAttributes, 'user' | 'path'> {
  return { verb, resourceRequest: false };
}

/** Removes undefined and empty-string fields, so attribute objects compare like Go zero values. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/** The identity the policy checker sees: the authenticated user, before impersonation. */
function userOf(identity: Identity): RequestAttributes['user'] {
  switch (identity.kind) {
    case 'user':
      return { name: identity.user.name, groups: [...identity.user.groups, 'system:authenticated'] };
    case 'anonymous':
      return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    case 'bad-token':
      return undefined; // authentication failed: evaluated with no user
  }
}

function callerOf(identity: Identity): Caller {
  switch (identity.kind) {
    case 'user':
      return { token: identity.user.token, impersonate: identity.impersonate };
    case 'anonymous':
      return { anonymous: true };
    case 'bad-token':
      return { token: 'not-a-valid-token' };
  }
}

class StepRunner {
  readonly steps: WorkloadStep[] = [];
  constructor(private readonly cp: ControlPlane) {}

  async send<T = any>(
    description: string,
    identity: Identity,
    method: string,
    uri: string,
    expected: Omit<RequestAttributes, 'user' | 'path'>,
    okStatuses: readonly number[],
    body?: unknown,
    contentType?: string,
  ): Promise<KubeResponse<T>> {
    const res = await this.cp.client.request<T>(method, uri, body, { caller: callerOf(identity), contentType });
    const path = decodeURIComponent(new URL(uri, 'https://x').pathname);
    this.steps.push({
      description,
      method,
      uri,
      expected: compact({ ...expected, user: userOf(identity), path }) as RequestAttributes,
      status: res.status,
      auditId: res.auditId,
    });
    if (!okStatuses.includes(res.status)) {
      throw new Error(`workload step "${description}": ${method} ${uri} returned HTTP ${res.status}, expected ${okStatuses.join(' or ')}: ${res.text.slice(0, 300)}`);
    }
    return res;
  }
}

const CRD_GROUP = 'e2e.cdk8s-audit.io';

export interface WorkloadOptions {
  /** Namespace to create and work in (must not exist yet). @default a random audit-e2e-xxxxxxxx */
  readonly namespace?: string;
  /** Adds this many extra ConfigMap writes of `padBytes` each (traffic for rotation tests). */
  readonly extraWrites?: number;
  readonly padBytes?: number;
}

/** Runs the scripted workload. Steps run one after another so the audit log order is easy to read. */
export async function runWorkload(cp: ControlPlane, options: WorkloadOptions = {}): Promise<WorkloadResult> {
  const run = new StepRunner(cp);
  const admin: Identity = { kind: 'user', user: cp.users.admin };
  const alice: Identity = { kind: 'user', user: cp.users.alice };
  const bob: Identity = { kind: 'user', user: cp.users.bob };
  const suffix = randomBytes(4).toString('hex');
  const ns = options.namespace ?? `audit-e2e-${suffix}`;
  const secretCanary = `secret-canary-${randomBytes(12).toString('hex')}`;
  const configMapCanary = `configmap-canary-${randomBytes(12).toString('hex')}`;
  const core = (resource: string, extra: Partial<ResourceTarget> = {}): ResourceTarget => ({ version: 'v1', resource, ...extra });
  const inNs = (resource: string, name?: string, subresource?: string): ResourceTarget => core(resource, { namespace: ns, name, subresource });

  // Non-resource URLs.
  for (const path of ['/healthz', '/version', '/api', '/apis', '/api/v1', '/apis/apps', '/metrics']) {
    await run.send(`admin GET ${path}`, admin, 'GET', path, nonResourceAttrs('get'), [200]);
  }
  await run.send('anonymous GET /healthz', { kind: 'anonymous' }, 'GET', '/healthz', nonResourceAttrs('get'), [200]);
  await run.send('anonymous GET /version', { kind: 'anonymous' }, 'GET', '/version', nonResourceAttrs('get'), [200]);
  await run.send('alice GET /metrics (forbidden)', alice, 'GET', '/metrics', nonResourceAttrs('get'), [403]);

  // Namespaces: note the apiserver reports a namespace's own name as its namespace (requestinfo.go).
  await run.send('create namespace', admin, 'POST', '/api/v1/namespaces', resourceAttrs('create', core('namespaces')), [201], {
    apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns },
  });
  await run.send('get namespace', admin, 'GET', `/api/v1/namespaces/${ns}`, resourceAttrs('get', core('namespaces', { namespace: ns, name: ns })), [200]);
  await run.send('list namespaces', admin, 'GET', '/api/v1/namespaces', resourceAttrs('list', core('namespaces')), [200]);

  // Service accounts (no controller-manager runs, so the "default" SA must be created for pods to be admitted).
  await run.send('create serviceaccount', admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, resourceAttrs('create', inNs('serviceaccounts')), [201], {
    apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' },
  });
  const tokenRes = await run.send<{ status: { token: string } }>(
    'create serviceaccounts/token (TokenRequest)', admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts/default/token`,
    resourceAttrs('create', inNs('serviceaccounts', 'default', 'token')), [201],
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
  );
  await run.send('create tokenreview', admin, 'POST', '/apis/authentication.k8s.io/v1/tokenreviews',
    resourceAttrs('create', { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' }), [201],
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: tokenRes.body?.status.token ?? '' } },
  );

  // Secrets, with the canary only in the secret's data.
  await run.send('create secret', admin, 'POST', `/api/v1/namespaces/${ns}/secrets`, resourceAttrs('create', inNs('secrets')), [201], {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password' }, stringData: { password: secretCanary },
  });
  await run.send('get secret', admin, 'GET', `/api/v1/namespaces/${ns}/secrets/db-password`, resourceAttrs('get', inNs('secrets', 'db-password')), [200]);
  await run.send('list secrets', admin, 'GET', `/api/v1/namespaces/${ns}/secrets`, resourceAttrs('list', inNs('secrets')), [200]);
  await run.send('alice get secret (forbidden)', alice, 'GET', `/api/v1/namespaces/${ns}/secrets/db-password`, resourceAttrs('get', inNs('secrets', 'db-password')), [403]);

  // ConfigMaps.
  const cm = await run.send<{ metadata: { resourceVersion: string } }>('create configmap', admin, 'POST', `/api/v1/namespaces/${ns}/configmaps`,
    resourceAttrs('create', inNs('configmaps')), [201],
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', labels: { app: 'e2e' } }, data: { mode: 'audit', control: configMapCanary } },
  );
  await run.send('update configmap', admin, 'PUT', `/api/v1/namespaces/${ns}/configmaps/app-config`, resourceAttrs('update', inNs('configmaps', 'app-config')), [200], {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', labels: { app: 'e2e' }, resourceVersion: cm.body?.metadata.resourceVersion },
    data: { mode: 'audit-v2', control: configMapCanary },
  });
  // A list narrowed to one name by field selector: the apiserver treats the selected name as the request's name.
  await run.send('list configmaps by field selector', admin, 'GET', `/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%3Dapp-config`,
    resourceAttrs('list', inNs('configmaps', 'app-config')), [200]);
  await run.send('watch configmaps (1s)', admin, 'GET', `/api/v1/namespaces/${ns}/configmaps?watch=true&timeoutSeconds=1`, resourceAttrs('watch', inNs('configmaps')), [200]);
  await run.send('bob create configmap (forbidden)', bob, 'POST', `/api/v1/namespaces/${ns}/configmaps`, resourceAttrs('create', inNs('configmaps')), [403], {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bobs' }, data: {},
  });
  const pad = 'x'.repeat(options.padBytes ?? 1024);
  for (let i = 0; i < (options.extraWrites ?? 0); i++) {
    await run.send(`create padding configmap ${i}`, admin, 'POST', `/api/v1/namespaces/${ns}/configmaps`, resourceAttrs('create', inNs('configmaps')), [201], {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `pad-${i}`, labels: { padding: 'true' } }, data: { pad },
    });
  }
  await run.send('deletecollection configmaps by label', admin, 'DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=padding%3Dtrue`,
    resourceAttrs('deletecollection', inNs('configmaps')), [200]);

  // Pods never run (no scheduler, no kubelet); the API objects and subresources are still real.
  await run.send('create pod', admin, 'POST', `/api/v1/namespaces/${ns}/pods`, resourceAttrs('create', inNs('pods')), [201], {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
  });
  await run.send('get pod', admin, 'GET', `/api/v1/namespaces/${ns}/pods/web`, resourceAttrs('get', inNs('pods', 'web')), [200]);
  await run.send('list pods (all namespaces)', admin, 'GET', '/api/v1/pods', resourceAttrs('list', core('pods')), [200]);
  await run.send('patch pod', admin, 'PATCH', `/api/v1/namespaces/${ns}/pods/web`, resourceAttrs('patch', inNs('pods', 'web')), [200],
    { metadata: { labels: { audited: 'yes' } } }, 'application/merge-patch+json');
  await run.send('get pods/status', admin, 'GET', `/api/v1/namespaces/${ns}/pods/web/status`, resourceAttrs('get', inNs('pods', 'web', 'status')), [200]);
  // Without a node there is no log (204) and nothing to exec into, but both are audited, and both are
  // long-running requests, so they also get a ResponseStarted event.
  await run.send('get pods/log', admin, 'GET', `/api/v1/namespaces/${ns}/pods/web/log`, resourceAttrs('get', inNs('pods', 'web', 'log')), [204]);
  await run.send('create pods/exec', admin, 'POST', `/api/v1/namespaces/${ns}/pods/web/exec?command=id&stdout=true`, resourceAttrs('create', inNs('pods', 'web', 'exec')), [400]);
  await run.send('get services/proxy', admin, 'GET', `/api/v1/namespaces/${ns}/services/missing/proxy/`, resourceAttrs('get', inNs('services', 'missing', 'proxy')), [404, 503]);
  await run.send('alice list pods (forbidden)', alice, 'GET', `/api/v1/namespaces/${ns}/pods`, resourceAttrs('list', inNs('pods')), [403]);
  await run.send('anonymous list namespaces (forbidden)', { kind: 'anonymous' }, 'GET', '/api/v1/namespaces', resourceAttrs('list', core('namespaces')), [403]);
  await run.send('bad token (401)', { kind: 'bad-token' }, 'GET', `/api/v1/namespaces/${ns}/pods`, resourceAttrs('list', inNs('pods')), [401]);

  // Impersonation: the policy sees the admin (the authenticated user), the event also records who was impersonated.
  await run.send('admin impersonates alice (forbidden)', { kind: 'user', user: cp.users.admin, impersonate: { user: 'alice' } }, 'GET',
    `/api/v1/namespaces/${ns}/pods`, resourceAttrs('list', inNs('pods')), [403]);
  await run.send('admin impersonates a master', { kind: 'user', user: cp.users.admin, impersonate: { user: 'carol', groups: ['system:masters'] } }, 'GET',
    `/api/v1/namespaces/${ns}/pods/web`, resourceAttrs('get', inNs('pods', 'web')), [200]);
  await run.send('delete pod', admin, 'DELETE', `/api/v1/namespaces/${ns}/pods/web`, resourceAttrs('delete', inNs('pods', 'web')), [200]);

  // Deployments (apps).
  const apps = (name?: string): ResourceTarget => ({ group: 'apps', version: 'v1', resource: 'deployments', namespace: ns, name });
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'registry.invalid/api:1' }] } } },
  };
  const created = await run.send<{ metadata: { resourceVersion: string } }>('create deployment', admin, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, resourceAttrs('create', apps()), [201], deployment);
  await run.send('update deployment', admin, 'PUT', `/apis/apps/v1/namespaces/${ns}/deployments/api`, resourceAttrs('update', apps('api')), [200], {
    ...deployment, metadata: { name: 'api', resourceVersion: created.body?.metadata.resourceVersion }, spec: { ...deployment.spec, replicas: 2 },
  });
  await run.send('delete deployment', admin, 'DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/api`, resourceAttrs('delete', apps('api')), [200]);

  // RBAC.
  const rbac = (resource: string, name?: string, namespace?: string): ResourceTarget => ({ group: 'rbac.authorization.k8s.io', version: 'v1', resource, name, namespace });
  await run.send('create role', admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, resourceAttrs('create', rbac('roles', undefined, ns)), [201], {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
  });
  await run.send('create rolebinding', admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, resourceAttrs('create', rbac('rolebindings', undefined, ns)), [201], {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-reads-pods' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' }, subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
  });
  const clusterRole = `e2e-auditor-${suffix}`;
  await run.send('create clusterrole', admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', resourceAttrs('create', rbac('clusterroles')), [201], {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: clusterRole }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  });
  await run.send('delete clusterrole', admin, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${clusterRole}`, resourceAttrs('delete', rbac('clusterroles', clusterRole)), [200]);

  // A CRD and a custom resource.
  const crdName = `widgets${suffix}.${CRD_GROUP}`;
  const plural = `widgets${suffix}`;
  const crdTarget = (name?: string): ResourceTarget => ({ group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', name });
  await run.send('create CRD', admin, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', resourceAttrs('create', crdTarget()), [201], {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crdName },
    spec: {
      group: CRD_GROUP, scope: 'Namespaced', names: { plural, singular: `widget${suffix}`, kind: `Widget${suffix}`, listKind: `Widget${suffix}List` },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  });
  const widgets = (name?: string): ResourceTarget => ({ group: CRD_GROUP, version: 'v1', resource: plural, namespace: ns, name });
  const widgetBody = { apiVersion: `${CRD_GROUP}/v1`, kind: `Widget${suffix}`, metadata: { name: 'w1' }, spec: { size: 3 } };
  // The custom resource endpoint appears asynchronously once the CRD is established; retry until it does.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await run.send('create custom resource', admin, 'POST', `/apis/${CRD_GROUP}/v1/namespaces/${ns}/${plural}`, resourceAttrs('create', widgets()), [201, 404], widgetBody);
    if (res.status === 201) break;
    if (Date.now() > deadline) throw new Error(`custom resource ${plural}.${CRD_GROUP} was not served 60 s after creating its CRD`);
    await sleep(250);
  }
  await run.send('get custom resource', admin, 'GET', `/apis/${CRD_GROUP}/v1/namespaces/${ns}/${plural}/w1`, resourceAttrs('get', widgets('w1')), [200]);
  await run.send('list custom resources', admin, 'GET', `/apis/${CRD_GROUP}/v1/namespaces/${ns}/${plural}`, resourceAttrs('list', widgets()), [200]);
  await run.send('delete CRD', admin, 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`, resourceAttrs('delete', crdTarget(crdName)), [200]);

  await run.send('delete namespace', admin, 'DELETE', `/api/v1/namespaces/${ns}`, resourceAttrs('delete', core('namespaces', { namespace: ns, name: ns })), [200]);
  return { namespace: ns, secretCanary, configMapCanary, steps: run.steps };
}
