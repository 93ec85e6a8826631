// Table-driven port of k8s.io/apiserver pkg/apis/audit/validation/validation_test.go and
// pkg/audit/policy/reader_test.go, plus cdk8s-audit's version rules and messages.
import { describe, expect, it } from 'vitest';
import { Level, PolicyRule, Stage, parsePolicy, policyIssues, parseKubernetesVersion, validatePolicy } from '../../../src';
import { semanticIssues } from '../../../src/policy';

const doc = (rules: PolicyRule[], extra: Record<string, unknown> = {}) => ({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', ...extra, rules });
const v137 = parseKubernetesVersion('1.37');

const validRules: PolicyRule[] = [
  { level: Level.METADATA },
  { level: Level.NONE, userGroups: ['system:serviceaccounts', 'system:nodes'] },
  { level: Level.REQUEST_RESPONSE, verbs: ['get'], resources: [{ group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings'] }], namespaces: ['kube-system'] },
  { level: Level.METADATA, userGroups: ['developers'], nonResourceURLs: ['/logs*', '/healthz*', '/metrics', '*'] },
  { level: Level.METADATA, omitStages: [Stage.REQUEST_RECEIVED] },
];

const invalidRules: [string, PolicyRule][] = [
  ['empty rule (missing level)', {} as PolicyRule],
  ['missing level', { verbs: ['get'], resources: [{ resources: ['secrets'] }], namespaces: ['kube-system'] } as unknown as PolicyRule],
  ['invalid level', { level: 'FooBar' }],
  ['nonResourceURLs + namespaces', { level: Level.METADATA, namespaces: ['default'], nonResourceURLs: ['/logs*'] }],
  ['nonResourceURLs + resources', { level: Level.METADATA, resources: [{ resources: ['secrets'] }], nonResourceURLs: ['/logs*'] }],
  ['invalid group name', { level: Level.METADATA, resources: [{ group: 'rbac.authorization.k8s.io/v1beta1', resources: ['roles'] }] }],
  ['non-resource URL without /', { level: Level.METADATA, nonResourceURLs: ['logs', '/healthz*'] }],
  ['empty non-resource URL', { level: Level.METADATA, nonResourceURLs: ['', '/healthz*'] }],
  ['two * in a URL', { level: Level.METADATA, nonResourceURLs: ['/logs/*/*', '/metrics'] }],
  ['* not last in a URL', { level: Level.METADATA, nonResourceURLs: ['/logs/*.log', '/metrics'] }],
  ['resourceNames without resources', { level: Level.METADATA, verbs: ['get'], resources: [{ resourceNames: ['leader'] }], namespaces: ['kube-system'] }],
  ['invalid omitStages in rule', { level: Level.METADATA, omitStages: ['foo'] }],
];

describe('ValidatePolicy (upstream table)', () => {
  it.each(validRules.map((r, i) => [i, r] as const))('valid rule %i', (_i, rule) => {
    expect(semanticIssues(doc([rule]) as never, v137)).toEqual([]);
    expect(validatePolicy(doc([rule]))).toEqual([]);
  });
  it('several valid rules, and policy-level omitStages, are valid', () => {
    expect(validatePolicy(doc(validRules, { omitStages: ['RequestReceived'] }))).toEqual([]);
  });
  it('an empty policy passes ValidatePolicy but the loader refuses 0 rules', () => {
    expect(semanticIssues(doc([]) as never, v137)).toEqual([]);
    expect(validatePolicy(doc([]))).toEqual([expect.stringContaining('loaded illegal policy with 0 rules')]);
  });
  it.each(invalidRules)('%s is invalid', (_name, rule) => {
    expect(validatePolicy(doc([rule]))).not.toEqual([]);
  });
  it('a bad rule among valid ones is reported with its index', () => {
    expect(validatePolicy(doc([...validRules, {} as PolicyRule]))).toEqual([expect.stringMatching(/^rules\[5\]\.level: Required value/)]);
  });
  it('invalid policy-level omitStages', () => {
    expect(validatePolicy(doc([{ level: Level.METADATA }], { omitStages: ['foo'] }))).toEqual([expect.stringMatching(/^omitStages\[0\]: "foo": allowed stages are/)]);
  });
});

describe('group "*" is version-dependent', () => {
  const p = doc([{ level: Level.METADATA, resources: [{ group: '*', resources: ['*/status'] }] }]);
  it.each(['1.30', '1.34', '1.35', '1.35.4'])('refused by %s', (v) => {
    expect(validatePolicy(p, { kubernetesVersion: v })).toEqual([expect.stringContaining('only accepted from Kubernetes 1.36')]);
  });
  it.each(['1.36', '1.37', 'v1.37.2'])('accepted by %s', (v) => {
    expect(validatePolicy(p, { kubernetesVersion: v })).toEqual([]);
  });
  it('unsupported versions are refused with the supported range', () => {
    expect(() => validatePolicy(p, { kubernetesVersion: '1.29' })).toThrow(/1\.30 to 1\.37/);
    expect(() => validatePolicy(p, { kubernetesVersion: 'latest' })).toThrow(/not a Kubernetes version/);
  });
});

const readerPolicy = `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: None
    nonResourceURLs:
      - /healthz*
      - /version
  - level: RequestResponse
    users: ["tim"]
    userGroups: ["testers", "developers"]
    verbs: ["patch", "delete", "create"]
    resources:
      - group: ""
      - group: "rbac.authorization.k8s.io"
        resources: ["clusterroles", "clusterrolebindings"]
    namespaces: ["default", "kube-system"]
  - level: Metadata
`;

describe('policy loader (upstream reader_test)', () => {
  it('parses the reference policy', () => {
    const p = parsePolicy(readerPolicy);
    expect(p.rules).toHaveLength(3);
    expect(p.rules[1]).toEqual({
      level: 'RequestResponse', users: ['tim'], userGroups: ['testers', 'developers'], verbs: ['patch', 'delete', 'create'],
      resources: [{ group: '' }, { group: 'rbac.authorization.k8s.io', resources: ['clusterroles', 'clusterrolebindings'] }],
      namespaces: ['default', 'kube-system'],
    });
    expect(validatePolicy(readerPolicy)).toEqual([]);
  });
  it('refuses a policy without apiVersion and kind', () => {
    const text = readerPolicy.replace('apiVersion: audit.k8s.io/v1\nkind: Policy\n', '');
    expect(validatePolicy(text)).toEqual([expect.stringContaining("Object 'apiVersion' is missing")]);
  });
  const unknownField = `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources:
  - group: coordination.k8s.io
    resources:
    - "leases"
    verbs: ["watch", "get", "list"] # invalid indentation on verbs
`;
  it('loads a policy with an unknown field (the apiserver drops it) but cdk8s-audit reports it', () => {
    expect(validatePolicy(unknownField)).toEqual([]);
    expect(validatePolicy(unknownField, { strict: true })).toEqual([expect.stringMatching(/^rules\[0\]\.resources\[0\]\.verbs: unknown field "verbs" in GroupResources.*silently drops/)]);
    expect(() => parsePolicy(unknownField)).toThrow(/unknown field "verbs"/);
  });
  it.each([
    ['no rules', 'apiVersion: audit.k8s.io/v1\nkind: Policy'],
    ['empty file', ''],
  ])('refuses %s', (_n, text) => {
    expect(validatePolicy(text)).not.toEqual([]);
  });
});

describe('decoding like the apiserver', () => {
  it.each<[string, string, RegExp]>([
    ['wrong version', 'apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]', /removed in Kubernetes 1.24/],
    ['wrong kind', 'apiVersion: audit.k8s.io/v1\nkind: Polcy\nrules: [{level: None}]', /no kind "Polcy" is registered/],
    ['rules not a list', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: {level: None}', /^rules: cannot decode object/],
    ['users not a list', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, users: bob}]', /^rules\[0\]\.users: cannot decode string "bob" into a list of strings/],
    ['quoted boolean', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: "true"\nrules: [{level: None}]', /^omitManagedFields: cannot decode string "true" into a boolean/],
    ['numeric level', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: 3}]', /^rules\[0\]\.level: cannot decode number 3 into a string/],
    ['YAML syntax', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [', /not valid YAML or JSON/],
    ['two documents', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None}]\n---\nkind: Policy', /2 YAML documents/],
    ['a list at the top', '- level: None', /expected a Policy object, got array/],
  ])('%s', (_n, text, pattern) => {
    const issues = validatePolicy(text);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatch(pattern);
  });
  it('YAML 1.1 booleans are booleans, as in the apiserver', () => {
    expect(validatePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nomitManagedFields: yes\nrules: [{level: None}]')).toEqual([]);
  });
  it('a missing kind is loaded (the decoder takes it from the target type); strict mode says so', () => {
    const text = 'apiVersion: audit.k8s.io/v1\nrules: [{level: Metadata}]';
    expect(validatePolicy(text)).toEqual([]);
    expect(validatePolicy(text, { strict: true })).toEqual([expect.stringMatching(/^kind: missing: the apiserver assumes Policy/)]);
    expect(parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]').kind).toBe('Policy');
  });
  it('duplicate keys load leniently with the last value winning; strict mode reports them with their line', () => {
    const lastValid = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Bogus\n  level: Metadata\n';
    expect(validatePolicy(lastValid)).toEqual([]);
    expect(validatePolicy(lastValid, { strict: true })).toEqual([expect.stringMatching(/^line 5, column 3: duplicate key "level"/)]);
    expect(() => parsePolicy(lastValid)).toThrow(/duplicate key "level"/);
    const lastInvalid = '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","rules":[{"level":"Metadata","level":"Bogus"}]}';
    expect(validatePolicy(lastInvalid)).toEqual([expect.stringMatching(/^rules\[0\]\.level: Unsupported value: "Bogus"/)]);
  });
  it('JSON is accepted', () => {
    expect(validatePolicy(JSON.stringify(doc([{ level: Level.METADATA }])))).toEqual([]);
  });
  it('null fields decode to their zero value', () => {
    expect(validatePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata, users: null, omitStages: null}]')).toEqual([]);
  });
});

describe('messages name the path, the value, the rule and the fix', () => {
  it.each<[string, PolicyRule, RegExp]>([
    ['level typo', { level: 'Metdata' }, /rules\[0\]\.level: Unsupported value: "Metdata".*fix: did you mean "Metadata"\?/],
    ['versioned group', { level: 'Metadata', resources: [{ group: 'apps/v1', resources: ['deployments'] }] }, /rules\[0\]\.resources\[0\]\.group: "apps\/v1".*fix: drop the version: group "apps"/],
    ['upper-case group', { level: 'Metadata', resources: [{ group: 'Apps' }] }, /fix: write "apps"/],
    ['URL without slash', { level: 'Metadata', nonResourceURLs: ['healthz'] }, /nonResourceURLs\[0\]: "healthz".*fix: write "\/healthz"/],
    ['stage typo', { level: 'Metadata', omitStages: ['RequestRecieved'] }, /omitStages\[0\]: "RequestRecieved".*fix: did you mean "RequestReceived"\?/],
  ])('%s', (_n, rule, pattern) => {
    expect(validatePolicy(doc([rule])).join('\n')).toMatch(pattern);
  });
  it('an unknown field suggests the right one', () => {
    const issues = policyIssues({ ...doc([{ level: 'Metadata' }]), rules: [{ level: 'Metadata', resource: [{ resources: ['secrets'] }] }] }, { strict: true });
    expect(issues).toEqual([expect.objectContaining({ path: 'rules[0].resource', fix: 'did you mean "resources"?' })]);
  });
});
