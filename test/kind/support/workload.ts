/**
 * The kind suite's workload: requests auditors care about, sent to the kind cluster's apiserver, with
 * a Deployment whose pod really runs on the node. Each step records the RequestAttributes the
 * apiserver's policy checker should see — written by hand from the API conventions, not derived from
 * the audit events — in the shape test/e2e's agreement checks take.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import type { RequestAttributes } from '../../../src/policy/model';
import type { WorkloadStep } from '../../e2e/support/workload';
import { ApiClient, Identity, Response } from '../../../src/testing';

export interface KindWorkloadResult {
  readonly namespace: string;
  /** A random value stored only in a Secret: no audit output may contain it. */
  readonly secretCanary: string;
  /** A random value in a ConfigMap: the positive control for the canary search. */
  readonly configMapCanary: string;
  readonly steps: WorkloadStep[];
  /** Seconds from creating the Deployment to its pod being available. */
  readonly podReadySeconds: number;
}

interface Target {
  readonly group?: string;
  readonly version: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

type Who = { readonly identity: Identity; readonly user: RequestAttributes['user'] };

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

function resourceAttrs(verb: string, t: Target): Omit<RequestAttributes, 'user' | 'path'> {
  return compact({
    verb, resourceRequest: true, apiGroup: t.group, apiVersion: t.version, resource: t.resource,
    namespace: t.namespace, name: t.name, subresource: t.subresource,
  }) as Omit<RequestAttributes, 'user' | 'path'>;
}

/** The user the apiserver derives from a client certificate: CN = name, O = groups. */
export function userOfCertificate(certPem: string): { name: string; groups: string[] } {
  const subject = new X509Certificate(certPem).subject.split('\n');
  const name = subject.find((l) => l.startsWith('CN='))?.slice(3) ?? '';
  const groups = subject.filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
  return { name, groups: [...groups, 'system:authenticated'] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runKindWorkload(client: ApiClient, adminCert: { certPem: string; keyPem: string }, podImage: string): Promise<KindWorkloadResult> {
  const steps: WorkloadStep[] = [];
  const admin: Who = { identity: { kind: 'cert', ...adminCert }, user: userOfCertificate(adminCert.certPem) };
  const anonymous: Who = { identity: { kind: 'anonymous' }, user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } };
  const badToken: Who = { identity: { kind: 'token', token: 'not-a-valid-token' }, user: undefined };
  const suffix = randomBytes(4).toString('hex');
  const ns = `audit-kind-${suffix}`;
  const secretCanary = `secret-canary-${randomBytes(12).toString('hex')}`;
  const configMapCanary = `configmap-canary-${randomBytes(12).toString('hex')}`;
  const core = (resource: string, extra: Partial<Target> = {}): Target => ({ version: 'v1', resource, ...extra });
  const inNs = (resource: string, name?: string, subresource?: string): Target => core(resource, { namespace: ns, name, subresource });
  const apps = (name?: string, subresource?: string): Target => ({ group: 'apps', version: 'v1', resource: 'deployments', namespace: ns, name, subresource });

  async function send<T = any>(
    description: string, who: Who, method: string, uri: string, expected: Omit<RequestAttributes, 'user' | 'path'> | null,
    ok: readonly number[], body?: unknown, contentType?: string,
  ): Promise<Response<T>> {
    const res = await client.send<T>(who.identity, method, uri, body, contentType);
    const path = decodeURIComponent(new URL(uri, 'https://x').pathname);
    steps.push({
      description, method, uri, status: res.status, auditId: res.auditId,
      expected: compact({ ...(expected ?? { verb: method.toLowerCase(), resourceRequest: false }), user: who.user, path }) as RequestAttributes,
    });
    if (!ok.includes(res.status)) {
      throw new Error(`kind workload step "${description}": ${method} ${uri} returned HTTP ${res.status}, expected ${ok.join(' or ')}: ${res.text.slice(0, 300)}`);
    }
    return res;
  }

  // Non-resource URLs.
  await send('admin GET /version', admin, 'GET', '/version', { verb: 'get', resourceRequest: false }, [200]);
  await send('admin GET /apis', admin, 'GET', '/apis', { verb: 'get', resourceRequest: false }, [200]);
  await send('anonymous GET /version', anonymous, 'GET', '/version', { verb: 'get', resourceRequest: false }, [200]);

  // Namespace and an unprivileged service account (alice).
  await send('create namespace', admin, 'POST', '/api/v1/namespaces', resourceAttrs('create', core('namespaces')), [201],
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await send('create serviceaccount alice', admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, resourceAttrs('create', inNs('serviceaccounts')), [201],
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'alice' } });
  const tokenRes = await send<{ status: { token: string } }>('create serviceaccounts/token for alice', admin, 'POST',
    `/api/v1/namespaces/${ns}/serviceaccounts/alice/token`, resourceAttrs('create', inNs('serviceaccounts', 'alice', 'token')), [201],
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
  const alice: Who = {
    identity: { kind: 'token', token: tokenRes.body?.status.token ?? '' },
    user: { name: `system:serviceaccount:${ns}:alice`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] },
  };

  // Secrets (the canary only in the secret's data) and ConfigMaps.
  await send('create secret', admin, 'POST', `/api/v1/namespaces/${ns}/secrets`, resourceAttrs('create', inNs('secrets')), [201],
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db-password' }, stringData: { password: secretCanary } });
  await send('get secret', admin, 'GET', `/api/v1/namespaces/${ns}/secrets/db-password`, resourceAttrs('get', inNs('secrets', 'db-password')), [200]);
  await send('list secrets', admin, 'GET', `/api/v1/namespaces/${ns}/secrets`, resourceAttrs('list', inNs('secrets')), [200]);
  await send('alice get secret (forbidden)', alice, 'GET', `/api/v1/namespaces/${ns}/secrets/db-password`, resourceAttrs('get', inNs('secrets', 'db-password')), [403]);
  await send('create configmap', admin, 'POST', `/api/v1/namespaces/${ns}/configmaps`, resourceAttrs('create', inNs('configmaps')), [201],
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { mode: 'audit', control: configMapCanary } });
  await send('get configmap', admin, 'GET', `/api/v1/namespaces/${ns}/configmaps/app-config`, resourceAttrs('get', inNs('configmaps', 'app-config')), [200]);

  // A Deployment whose pod the scheduler places and the kubelet runs (an image preloaded in the node).
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' },
    spec: {
      replicas: 1, selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          automountServiceAccountToken: false, terminationGracePeriodSeconds: 1,
          containers: [{ name: 'api', image: podImage, imagePullPolicy: 'Never' }],
        },
      },
    },
  };
  const created = Date.now();
  await send('create deployment', admin, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, resourceAttrs('create', apps()), [201], deployment);
  let podReadySeconds = -1;
  for (let i = 0; ; i++) {
    const res = await send<{ status?: { availableReplicas?: number } }>(`get deployment (poll ${i})`, admin, 'GET',
      `/apis/apps/v1/namespaces/${ns}/deployments/api`, resourceAttrs('get', apps('api')), [200]);
    if ((res.body?.status?.availableReplicas ?? 0) >= 1) {
      podReadySeconds = (Date.now() - created) / 1000;
      break;
    }
    if (Date.now() - created > 180_000) throw new Error(`deployment ${ns}/api has no available pod after 180 s: ${res.text.slice(0, 500)}`);
    await sleep(1000);
  }
  const pods = await send<{ items: { metadata: { name: string } }[] }>('list pods', admin, 'GET', `/api/v1/namespaces/${ns}/pods?labelSelector=app%3Dapi`,
    resourceAttrs('list', inNs('pods')), [200]);
  const pod = pods.body?.items[0]?.metadata.name ?? 'missing';
  await send('get pods/log', admin, 'GET', `/api/v1/namespaces/${ns}/pods/${pod}/log`, resourceAttrs('get', inNs('pods', pod, 'log')), [200]);
  await send('patch deployments/scale', admin, 'PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/api/scale`, resourceAttrs('patch', apps('api', 'scale')), [200],
    { spec: { replicas: 2 } }, 'application/merge-patch+json');
  await send('alice list pods (forbidden)', alice, 'GET', `/api/v1/namespaces/${ns}/pods`, resourceAttrs('list', inNs('pods')), [403]);
  await send('anonymous list namespaces (forbidden)', anonymous, 'GET', '/api/v1/namespaces', resourceAttrs('list', core('namespaces')), [403]);
  await send('bad token (401)', badToken, 'GET', `/api/v1/namespaces/${ns}/pods`, resourceAttrs('list', inNs('pods')), [401]);

  // RBAC.
  const rbac = (resource: string, name?: string): Target => ({ group: 'rbac.authorization.k8s.io', version: 'v1', resource, namespace: ns, name });
  await send('create role', admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, resourceAttrs('create', rbac('roles')), [201],
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] });
  await send('create rolebinding', admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, resourceAttrs('create', rbac('rolebindings')), [201], {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'alice-reads-pods' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: ns }],
  });

  await send('delete deployment', admin, 'DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/api`, resourceAttrs('delete', apps('api')), [200]);
  await send('delete namespace', admin, 'DELETE', `/api/v1/namespaces/${ns}`, resourceAttrs('delete', core('namespaces', { namespace: ns, name: ns })), [200]);
  return { namespace: ns, secretCanary, configMapCanary, steps, podReadySeconds };
}
