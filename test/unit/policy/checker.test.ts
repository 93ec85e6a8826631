// Table-driven port of k8s.io/apiserver pkg/audit/policy/checker_test.go (TestChecker,
// TestCheckerPolicyOmitStages, TestUnionStages, TestOmitManagedFields).
import { describe, expect, it } from 'vitest';
import { Level, PolicyDocument, PolicyRule, RequestAttributes, Stage, evaluatePolicy } from '../../../src';

const tim = { name: 'tim@k8s.io', groups: ['humans', 'developers'] };

const attrs: Record<string, RequestAttributes> = {
  namespaced: { user: tim, verb: 'get', namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'pods', name: 'busybox', resourceRequest: true, path: '/api/v1/namespaces/default/pods/busybox' },
  cluster: { user: tim, verb: 'get', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1beta1', resource: 'clusterroles', name: 'edit', resourceRequest: true, path: '/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit' },
  nonResource: { user: tim, verb: 'get', resourceRequest: false, path: '/logs/kubelet.log' },
  subresource: { user: tim, verb: 'get', namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'pods', subresource: 'log', name: 'busybox', resourceRequest: true, path: '/api/v1/namespaces/default/pods/busybox' },
  Unauthorized: { verb: 'get', namespace: 'default', apiGroup: '', apiVersion: 'v1', resource: 'pods', name: 'busybox', resourceRequest: true, path: '/api/v1/namespaces/default/pods/busybox' },
  ClusterRoleUpdate: { user: tim, verb: 'update', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1beta1', resource: 'clusterroles', subresource: 'status', name: 'somerole', resourceRequest: true, path: '/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/somerole' },
};

const rules: Record<string, PolicyRule> = {
  default: { level: Level.METADATA },
  create: { level: Level.REQUEST, verbs: ['create'] },
  tims: { level: Level.METADATA, users: ['tim@k8s.io'] },
  humans: { level: Level.METADATA, userGroups: ['humans'] },
  serviceAccounts: { level: Level.REQUEST, userGroups: ['system:serviceaccounts'] },
  getPods: { level: Level.REQUEST_RESPONSE, verbs: ['get'], resources: [{ resources: ['pods'] }] },
  getPodLogs: { level: Level.REQUEST, verbs: ['get'], resources: [{ resources: ['pods/log'] }] },
  getPodWildcardMatching: { level: Level.REQUEST, verbs: ['get'], resources: [{ resources: ['*'] }] },
  getPodResourceWildcardMatching: { level: Level.REQUEST, verbs: ['get'], resources: [{ resources: ['*/log'] }] },
  getPodSubResourceWildcardMatching: { level: Level.REQUEST, verbs: ['get'], resources: [{ resources: ['pods/*'] }] },
  getClusterRoles: { level: Level.REQUEST_RESPONSE, verbs: ['get'], resources: [{ group: 'rbac.authorization.k8s.io', resources: ['clusterroles'] }], namespaces: [''] },
  getGroupWildCardMatchingWithSubresourceWildcardMatching: { level: Level.REQUEST_RESPONSE, verbs: ['update'], resources: [{ group: '*', resources: ['*/status'] }] },
  getLogs: { level: Level.REQUEST_RESPONSE, verbs: ['get'], nonResourceURLs: ['/logs*'] },
  getMetrics: { level: Level.REQUEST, verbs: ['get'], nonResourceURLs: ['/metrics'] },
  clusterRoleEdit: { level: Level.REQUEST, resources: [{ group: 'rbac.authorization.k8s.io', resources: ['clusterroles'], resourceNames: ['edit'] }] },
  'omit RequestReceived': { level: Level.REQUEST, omitStages: [Stage.REQUEST_RECEIVED] },
  'only audit panic': { level: Level.REQUEST, omitStages: [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.RESPONSE_COMPLETE] },
};

type Case = [request: string, level: Level, ...ruleNames: string[]];

const levelCases: Case[] = [
  ['namespaced', Level.METADATA, 'default'],
  ['namespaced', Level.NONE, 'create'],
  ['namespaced', Level.METADATA, 'tims'],
  ['namespaced', Level.METADATA, 'humans'],
  ['namespaced', Level.NONE, 'serviceAccounts'],
  ['namespaced', Level.REQUEST_RESPONSE, 'getPods'],
  ['namespaced', Level.NONE, 'getClusterRoles'],
  ['namespaced', Level.NONE, 'getLogs'],
  ['namespaced', Level.NONE, 'getMetrics'],
  ['namespaced', Level.METADATA, 'getMetrics', 'serviceAccounts', 'default'],
  ['namespaced', Level.REQUEST_RESPONSE, 'getMetrics', 'getPods', 'default'],
  ['namespaced', Level.REQUEST_RESPONSE, 'getPodLogs', 'getPods'],
  ['cluster', Level.METADATA, 'default'],
  ['cluster', Level.NONE, 'create'],
  ['cluster', Level.METADATA, 'tims'],
  ['cluster', Level.METADATA, 'humans'],
  ['cluster', Level.NONE, 'serviceAccounts'],
  ['cluster', Level.NONE, 'getPods'],
  ['cluster', Level.REQUEST_RESPONSE, 'getClusterRoles'],
  ['cluster', Level.REQUEST, 'clusterRoleEdit', 'getClusterRoles'],
  ['cluster', Level.NONE, 'getLogs'],
  ['cluster', Level.NONE, 'getMetrics'],
  ['cluster', Level.METADATA, 'getMetrics', 'serviceAccounts', 'default'],
  ['cluster', Level.REQUEST_RESPONSE, 'getMetrics', 'getClusterRoles', 'default'],
  ['cluster', Level.NONE, 'getPodLogs', 'getPods'],
  ['nonResource', Level.METADATA, 'default'],
  ['nonResource', Level.NONE, 'create'],
  ['nonResource', Level.METADATA, 'tims'],
  ['nonResource', Level.METADATA, 'humans'],
  ['nonResource', Level.NONE, 'serviceAccounts'],
  ['nonResource', Level.NONE, 'getPods'],
  ['nonResource', Level.NONE, 'getClusterRoles'],
  ['nonResource', Level.REQUEST_RESPONSE, 'getLogs'],
  ['nonResource', Level.NONE, 'getMetrics'],
  ['nonResource', Level.METADATA, 'getMetrics', 'serviceAccounts', 'default'],
  ['nonResource', Level.REQUEST_RESPONSE, 'getLogs', 'getClusterRoles', 'default'],
  ['nonResource', Level.NONE, 'getPodLogs', 'getPods'],
  ['subresource', Level.REQUEST, 'getPodLogs', 'getPods'],
  ['subresource', Level.REQUEST, 'getPodWildcardMatching'],
  ['subresource', Level.REQUEST, 'getPodResourceWildcardMatching'],
  ['subresource', Level.REQUEST, 'getPodSubResourceWildcardMatching'],
  ['Unauthorized', Level.NONE, 'tims'],
  ['Unauthorized', Level.METADATA, 'tims', 'default'],
  ['Unauthorized', Level.NONE, 'humans'],
  ['Unauthorized', Level.METADATA, 'humans', 'default'],
  ['ClusterRoleUpdate', Level.REQUEST_RESPONSE, 'getGroupWildCardMatchingWithSubresourceWildcardMatching'],
];

function policyOf(ruleNames: string[], omitStages?: Stage[]): PolicyDocument {
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages, rules: ruleNames.map((n) => rules[n]) };
}

const sorted = (s: Stage[]) => [...new Set(s)].sort();

describe.each([
  ['no policy omitStages', undefined],
  ['policy omitStages RequestReceived+ResponseStarted', [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED]],
])('checker levels (%s)', (_name, policyStages) => {
  it.each(levelCases)('%s gets %s from rules %s', (request, level, ...ruleNames) => {
    const decision = evaluatePolicy(policyOf(ruleNames, policyStages), attrs[request]);
    expect(decision.level).toBe(level);
    expect(decision.omitStages).toEqual(sorted(policyStages ?? []));
  });
});

describe('checker omitStages union', () => {
  const allButPanic = [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.RESPONSE_COMPLETE];
  const cases: [string, Stage[] | undefined, Level, Stage[], string[]][] = [
    ['namespaced', undefined, Level.REQUEST, [Stage.REQUEST_RECEIVED], ['omit RequestReceived', 'getPods', 'default']],
    ['namespaced', undefined, Level.REQUEST, allButPanic, ['only audit panic', 'getPods', 'default']],
    ['cluster', undefined, Level.REQUEST, [Stage.REQUEST_RECEIVED], ['omit RequestReceived', 'getPods', 'default']],
    ['cluster', undefined, Level.REQUEST, allButPanic, ['only audit panic', 'getPods', 'default']],
    ['nonResource', undefined, Level.REQUEST, [Stage.REQUEST_RECEIVED], ['omit RequestReceived', 'getPods', 'default']],
    ['nonResource', undefined, Level.REQUEST, allButPanic, ['only audit panic', 'getPods', 'default']],
    ['namespaced', [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], Level.REQUEST, [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], ['omit RequestReceived', 'getPods', 'default']],
    ['namespaced', [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], Level.REQUEST, allButPanic, ['only audit panic', 'getPods', 'default']],
    ['nonResource', [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], Level.METADATA, [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], ['default', 'omit RequestReceived', 'getPods']],
  ];
  it.each(cases)('%s with policy stages %j → %s omitting %j', (request, policyStages, level, stages, ruleNames) => {
    const decision = evaluatePolicy(policyOf(ruleNames, policyStages), attrs[request]);
    expect(decision.level).toBe(level);
    expect(decision.omitStages).toEqual(sorted(stages));
  });

  const unions: [Stage[], Stage[], Stage[]][] = [
    [[], [], []],
    [[Stage.REQUEST_RECEIVED], [], [Stage.REQUEST_RECEIVED]],
    [[Stage.REQUEST_RECEIVED], [Stage.REQUEST_RECEIVED], [Stage.REQUEST_RECEIVED]],
    [[Stage.REQUEST_RECEIVED], [Stage.RESPONSE_STARTED], [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED]],
    [[Stage.REQUEST_RECEIVED, Stage.REQUEST_RECEIVED], [Stage.REQUEST_RECEIVED, Stage.REQUEST_RECEIVED], [Stage.REQUEST_RECEIVED]],
    [[Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED], [Stage.PANIC, Stage.REQUEST_RECEIVED], [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.PANIC]],
  ];
  it.each(unions)('union of %j and %j is %j, sorted and de-duplicated', (p, r, exp) => {
    const d = evaluatePolicy({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: p, rules: [{ level: Level.METADATA, omitStages: r }] }, attrs.namespaced);
    expect(d.omitStages).toEqual(sorted(exp));
  });
});

describe('checker omitManagedFields precedence', () => {
  const request: RequestAttributes = { verb: 'get', resourceRequest: false, path: '/' };
  const cases: [string, boolean, boolean | undefined, boolean][] = [
    ['policy false, rule unset', false, undefined, false],
    ['policy true, rule unset', true, undefined, true],
    ['policy true, rule false', true, false, false],
    ['policy false, rule true', false, true, true],
  ];
  it.each(cases)('%s', (_n, policyValue, ruleValue, want) => {
    const rule: PolicyRule = { level: Level.REQUEST_RESPONSE, verbs: ['get'], ...(ruleValue === undefined ? {} : { omitManagedFields: ruleValue }) };
    const d = evaluatePolicy({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitManagedFields: policyValue, rules: [rule] }, request);
    expect(d.omitManagedFields).toBe(want);
    expect(d.ruleIndex).toBe(0);
  });

  it('no match gives level None, the policy defaults and ruleIndex null', () => {
    const d = evaluatePolicy({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitManagedFields: true, omitStages: [Stage.PANIC], rules: [{ level: Level.METADATA, verbs: ['create'] }] }, request);
    expect(d).toEqual({ level: Level.NONE, omitStages: [Stage.PANIC], omitManagedFields: true, ruleIndex: null });
  });
});

describe('checker details beyond the upstream table', () => {
  const pods: RequestAttributes = { ...attrs.namespaced, subresource: undefined };
  const rule = (r: Partial<PolicyRule>): PolicyDocument => ({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: Level.METADATA, ...r }] });
  it.each<[string, Partial<PolicyRule>, RequestAttributes, boolean]>([
    ['pods/* matches plain pods (upstream compares only the resource)', { resources: [{ resources: ['pods/*'] }] }, pods, true],
    ['*/log does not match plain pods', { resources: [{ resources: ['*/log'] }] }, pods, false],
    ['empty resources list matches the whole group', { resources: [{ group: '' }] }, attrs.subresource, true],
    ['namespace "" matches cluster-scoped requests', { namespaces: [''] }, attrs.cluster, true],
    ['namespaces never match non-resource requests', { namespaces: [''] }, attrs.nonResource, false],
    ['resourceNames filter by name', { resources: [{ resources: ['pods'], resourceNames: ['other'] }] }, pods, false],
    ['prefix URL matches', { nonResourceURLs: ['/logs/*'] }, attrs.nonResource, true],
    ['URL without * is exact', { nonResourceURLs: ['/logs'] }, attrs.nonResource, false],
    ['URL rules never match resource requests', { nonResourceURLs: ['*'] }, pods, false],
    ['group * matches any group (1.36+)', { resources: [{ group: '*', resources: ['clusterroles'] }] }, attrs.cluster, true],
    ['userGroups need a user', { userGroups: ['system:unauthenticated'] }, attrs.Unauthorized, false],
  ])('%s', (_name, r, request, matched) => {
    expect(evaluatePolicy(rule(r), request).ruleIndex).toBe(matched ? 0 : null);
  });
});
