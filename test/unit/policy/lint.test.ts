import { describe, expect, it } from 'vitest';
import { LintFinding, lintPolicy, parsePolicy } from '../../../src';
import { covers, decodePolicy, readPolicyText, unknownFieldFindings } from '../../../src/policy';

const header = 'apiVersion: audit.k8s.io/v1\nkind: Policy\n';
const lint = (body: string, version?: string): LintFinding[] => lintPolicy(parsePolicy(header + body), { kubernetesVersion: version });
const ids = (findings: LintFinding[]) => findings.map((f) => `${f.id}@${f.ruleIndex}`);

// A clean policy in the shape of GKE's: used as the negative control for every rule.
const clean = `omitStages: [RequestReceived]
omitManagedFields: true
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources: [{group: "", resources: ["endpoints", "services"]}]
  - level: Metadata
    resources:
      - {group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"]}
      - {group: "authentication.k8s.io", resources: ["tokenreviews"]}
  - level: Request
    verbs: ["get", "list", "watch"]
    resources: [{group: ""}, {group: "apps"}]
  - level: RequestResponse
    verbs: ["create", "update", "patch", "delete"]
    resources: [{group: ""}, {group: "apps"}, {group: "rbac.authorization.k8s.io"}]
  - level: Metadata
`;

describe('lint', () => {
  it('a GKE-shaped policy is clean', () => {
    expect(lint(clean)).toEqual([]);
  });

  it('shadowed-rule: a specific rule after a catch-all never fires', () => {
    // The mistake in many blog posts: the catch-all first.
    const f = lint('omitStages: [RequestReceived]\nrules:\n  - level: Metadata\n  - level: None\n    nonResourceURLs: ["/healthz*"]\n');
    expect(ids(f)).toContain('shadowed-rule@1');
    expect(f.find((x) => x.id === 'shadowed-rule')!.message).toMatch(/rule 1 .* never fires: rule 0/);
  });

  it.each<[string, object, object, boolean]>([
    ['broader verbs cover narrower', { level: 'None', verbs: ['get', 'list'] }, { level: 'Metadata', verbs: ['get'] }, true],
    ['a verb-limited rule does not cover an unlimited one', { level: 'None', verbs: ['get'] }, { level: 'Metadata' }, false],
    ['a whole group covers one of its resources', { level: 'None', resources: [{ group: 'apps' }] }, { level: 'Metadata', resources: [{ group: 'apps', resources: ['deployments'] }] }, true],
    ['another group does not', { level: 'None', resources: [{ group: 'batch' }] }, { level: 'Metadata', resources: [{ group: 'apps', resources: ['deployments'] }] }, false],
    ['*/status covers pods/status', { level: 'None', resources: [{ group: '', resources: ['*/status'] }] }, { level: 'Metadata', resources: [{ group: '', resources: ['pods/status'] }] }, true],
    ['pods/* covers pods and pods/exec', { level: 'None', resources: [{ group: '', resources: ['pods/*'] }] }, { level: 'Metadata', resources: [{ group: '', resources: ['pods', 'pods/exec'] }] }, true],
    ['URL prefix covers longer prefix', { level: 'None', nonResourceURLs: ['/healthz*'] }, { level: 'Metadata', nonResourceURLs: ['/healthz/etcd', '/healthz/ping*'] }, true],
    ['resource rule never covers URL rule', { level: 'None', resources: [{ group: '' }] }, { level: 'Metadata', nonResourceURLs: ['/metrics'] }, false],
    ['names narrow the earlier rule', { level: 'None', resources: [{ group: '', resources: ['configmaps'], resourceNames: ['a'] }] }, { level: 'Metadata', resources: [{ group: '', resources: ['configmaps'] }] }, false],
    ['userGroups do not cover users', { level: 'None', userGroups: ['system:nodes'] }, { level: 'Metadata', users: ['kubelet'] }, false],
  ])('covers(): %s', (_n, a, b, want) => {
    expect(covers(a as never, b as never)).toBe(want);
  });

  it('secret-body-logged: the Kubernetes docs example logs kube-system configmap bodies', () => {
    const f = lint(`omitStages: [RequestReceived]
omitManagedFields: true
rules:
  - level: Request
    resources: [{group: "", resources: ["configmaps"]}]
    namespaces: ["kube-system"]
  - level: Metadata
`);
    expect(ids(f)).toEqual(['secret-body-logged@0']);
    expect(f[0].fix).toMatch(/level: Metadata.*configmaps/);
  });

  it('secret-body-logged: RequestResponse for everything exposes all four kinds of secret material', () => {
    const f = lint('omitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n  - level: RequestResponse\n    verbs: [get, list, create, update, patch, delete]\n');
    expect(f.filter((x) => x.id === 'secret-body-logged').map((x) => x.message)).toEqual([
      expect.stringContaining('core/secrets'),
      expect.stringContaining('core/configmaps'),
      expect.stringContaining('authentication.k8s.io/tokenreviews'),
      expect.stringContaining('core/serviceaccounts/token'),
    ]);
  });

  it('secret-body-logged: not reported when an earlier rule takes secrets at Metadata', () => {
    const f = lint('omitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n  - level: Metadata\n    resources: [{group: "", resources: [secrets, configmaps, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]\n  - level: RequestResponse\n    verbs: [create]\n  - level: Metadata\n');
    expect(ids(f)).toEqual([]);
  });

  it('no-catch-all: a policy ending in specific rules drops everything else', () => {
    expect(ids(lint('omitStages: [RequestReceived]\nrules:\n  - level: Metadata\n    resources: [{group: ""}]\n'))).toEqual(['no-catch-all@null']);
  });

  it('request-received-not-omitted: the default doubles every event', () => {
    expect(ids(lint('rules:\n  - level: Metadata\n'))).toEqual(['request-received-not-omitted@null']);
    expect(ids(lint('rules:\n  - level: None\n    users: [x]\n  - level: Metadata\n    omitStages: [RequestReceived]\n'))).toEqual([]);
  });

  it('body-level-on-non-resource-url', () => {
    expect(ids(lint('omitStages: [RequestReceived]\nrules:\n  - level: RequestResponse\n    nonResourceURLs: ["/api*", "/version"]\n  - level: Metadata\n'))).toEqual(['body-level-on-non-resource-url@0']);
  });

  it('unknown-verb: upper-case verbs never match', () => {
    const f = lint('omitStages: [RequestReceived]\nrules:\n  - level: None\n    verbs: ["GET", "watch"]\n  - level: Metadata\n');
    expect(ids(f)).toEqual(['unknown-verb@0']);
    expect(f[0].fix).toBe('did you mean "get"?');
  });

  it('watch-request-response and managed-fields-recorded', () => {
    const f = lint('omitStages: [RequestReceived]\nrules:\n  - level: Metadata\n    resources: [{group: "", resources: [secrets, configmaps, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]\n  - level: RequestResponse\n    resources: [{group: apps}]\n  - level: Metadata\n');
    expect(ids(f)).toEqual(['watch-request-response@1', 'managed-fields-recorded@1']);
  });

  it('subresource-wildcard-matches-parent: pods/* also matches pods', () => {
    const f = lint('omitStages: [RequestReceived]\nrules:\n  - level: None\n    resources: [{group: "", resources: ["pods/*"]}]\n  - level: Metadata\n');
    expect(ids(f)).toEqual(['subresource-wildcard-matches-parent@0']);
  });

  it('resource-in-wrong-group: deployments under the core group never match apps/deployments', () => {
    const f = lint('omitStages: [RequestReceived]\nrules:\n  - level: None\n    resources: [{group: "", resources: ["deployments", "pods"]}]\n  - level: Metadata\n');
    expect(ids(f)).toEqual(['resource-in-wrong-group@0']);
    expect(f[0].message).toMatch(/served by "apps"/);
  });

  it('resource-in-wrong-group is version aware (servicecidrs are in networking.k8s.io from 1.33)', () => {
    const body = 'omitStages: [RequestReceived]\nrules:\n  - level: None\n    resources: [{group: "", resources: ["servicecidrs"]}]\n  - level: Metadata\n';
    expect(ids(lint(body, '1.33'))).toEqual(['resource-in-wrong-group@0']);
    expect(ids(lint(body, '1.32'))).toEqual([]);
  });

  it('unknown-field: the OpenShift-style "resource:" typo', () => {
    const text = header + 'rules:\n  - level: None\n    resource: [{group: ""}]\n  - level: Metadata\n';
    const findings = unknownFieldFindings(decodePolicy(readPolicyText(text).value).unknownFields);
    expect(findings).toEqual([expect.objectContaining({ id: 'unknown-field', ruleIndex: 0, fix: 'did you mean "resources"?' })]);
  });

  it('ignore drops findings by id', () => {
    expect(lintPolicy(parsePolicy(header + 'rules:\n  - level: Metadata\n'), { ignore: ['request-received-not-omitted'] })).toEqual([]);
  });
});

describe('lint uses earlier rules', () => {
  it('watch-request-response is not reported when an earlier rule takes every watch', () => {
    const body = 'omitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n  - level: Metadata\n    verbs: [get, list, watch]\n  - level: Metadata\n    resources: [{group: "", resources: [secrets, configmaps, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]\n  - level: RequestResponse\n    resources: [{group: apps}]\n  - level: Metadata\n';
    expect(ids(lint(body))).toEqual([]);
    expect(ids(lint(body.replace('verbs: [get, list, watch]', 'verbs: [get, list]')))).toEqual(['watch-request-response@2']);
  });
});
