import { describe, expect, it } from 'vitest';
import { explainRequest, formatExplanation, parsePolicy, requestAttributesFromEvent } from '../../../src';
import { parseRequestPath, toRequestAttributes } from '../../../src/policy';

describe('parseRequestPath (the apiserver RequestInfoFactory)', () => {
  it.each<[string, object]>([
    ['/api/v1/namespaces/default/pods/busybox', { resourceRequest: true, apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'pods', name: 'busybox' }],
    ['/api/v1/namespaces/default/pods/busybox/exec?command=ls', { resource: 'pods', subresource: 'exec', name: 'busybox', path: '/api/v1/namespaces/default/pods/busybox/exec' }],
    ['/apis/apps/v1/namespaces/prod/deployments', { apiGroup: 'apps', namespace: 'prod', resource: 'deployments' }],
    ['/apis/rbac.authorization.k8s.io/v1/clusterroles/edit', { apiGroup: 'rbac.authorization.k8s.io', namespace: '', resource: 'clusterroles', name: 'edit' }],
    // A namespace object's own requests carry the namespace as both namespace and name.
    ['/api/v1/namespaces/team-a', { namespace: 'team-a', resource: 'namespaces', name: 'team-a' }],
    ['/api/v1/namespaces/team-a/finalize', { namespace: 'team-a', resource: 'namespaces', name: 'team-a', subresource: 'finalize' }],
    ['/api/v1/watch/namespaces/default/pods', { namespace: 'default', resource: 'pods' }],
    ['/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dcfg', { resource: 'configmaps', name: 'cfg' }],
    ['/healthz', { resourceRequest: false, path: '/healthz' }],
    ['/apis/apps', { resourceRequest: false, path: '/apis/apps' }],
    ['/api/v1', { resourceRequest: false }],
  ])('%s', (uri, expected) => {
    expect(parseRequestPath(uri)).toMatchObject(expected);
  });

  it('a create has no name in its attributes even when the event objectRef has one', () => {
    const r = requestAttributesFromEvent({
      verb: 'create', requestURI: '/api/v1/namespaces/default/pods', user: { username: 'alice', groups: ['dev'] },
      objectRef: { resource: 'pods' },
    });
    expect(r).toEqual({ resourceRequest: true, path: '/api/v1/namespaces/default/pods', apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'pods', verb: 'create', user: { name: 'alice', groups: ['dev'] } });
  });

  it('toRequestAttributes names the bad field', () => {
    expect(() => toRequestAttributes({ verb: 'get', resourceRequest: 'yes', path: '/' })).toThrow(/resourceRequest: required, true or false/);
    expect(() => toRequestAttributes({ verb: 'get', resourceRequest: false, path: '/', ressource: 'x' })).toThrow(/unknown field "ressource"/);
    expect(() => toRequestAttributes({ verb: 'get', resourceRequest: false, path: '/', user: { name: 'a', groups: 'g' } })).toThrow(/user.groups/);
  });
});

describe('explain', () => {
  const policy = parsePolicy(`apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    users: ["system:kube-proxy"]
  - level: Metadata
    resources: [{group: "", resources: ["secrets"]}]
  - level: RequestResponse
`);
  it('says why earlier rules missed and which rule decides', () => {
    const req = { user: { name: 'alice', groups: ['dev'] }, verb: 'get', ...parseRequestPath('/api/v1/namespaces/prod/configmaps/app') };
    const e = explainRequest(policy, req);
    expect(e.trace).toEqual([
      { ruleIndex: 0, matched: false, reason: 'user "alice" is not in users ["system:kube-proxy"]' },
      { ruleIndex: 1, matched: false, reason: '"configmaps" named "app" in the core group ("") matches none of the rule\'s resources' },
      { ruleIndex: 2, matched: true },
    ]);
    expect(formatExplanation(policy, req, e)).toMatch(/Decision: level RequestResponse by rule 2/);
  });
});
