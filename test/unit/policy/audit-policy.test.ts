import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ApiResources, AuditPolicy, AuditRule, Level, Severity, Stage, evaluatePolicy, parsePolicy, renderPolicyYaml } from '../../../src';
import { testApp } from '../support/temp-dir';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

function chart(): Chart {
  return new Chart(testApp(), 'test');
}

describe('AuditPolicy construct', () => {
  it('renders rules in order with sensible defaults', () => {
    const c = chart();
    const policy = new AuditPolicy(c, 'policy', { policyName: 'cluster-audit' })
      .addRule(AuditRule.ignoreHealthChecks())
      .addRule(AuditRule.secretsAtMetadata())
      .addRule(AuditRule.forResources(Level.REQUEST_RESPONSE, [ApiResources.group('rbac.authorization.k8s.io')], { verbs: ['create', 'update', 'patch', 'delete'] }))
      .addRule(AuditRule.catchAll());
    const doc = policy.toDocument();
    expect(doc.omitStages).toEqual([Stage.REQUEST_RECEIVED]);
    expect(doc.omitManagedFields).toBe(true);
    expect(doc.metadata).toEqual({ name: 'cluster-audit' });
    expect(doc.rules.map((r) => r.level)).toEqual(['None', 'Metadata', 'RequestResponse', 'Metadata']);
    expect(policy.lint()).toEqual([]);
    // Synth runs the validations: a clean policy synthesises without error.
    expect(() => Testing.synth(c)).not.toThrow();
  });

  it('prependRule puts a rule first', () => {
    const p = new AuditPolicy(chart(), 'p', { rules: [AuditRule.catchAll()] });
    p.prependRule(AuditRule.ignoreUsers(['system:kube-scheduler']));
    expect(p.rules[0]).toEqual({ level: 'None', users: ['system:kube-scheduler'] });
  });

  it('fails synth naming the path and the version when the apiserver would refuse the policy', () => {
    const c = chart();
    new AuditPolicy(c, 'p', { kubernetesVersion: KubernetesVersion.V1_35 }).addRule({ level: Level.METADATA, resources: [{ group: '*', resources: ['*/status'] }] }).addRule(AuditRule.catchAll());
    expect(() => Testing.synth(c)).toThrow(/Kubernetes 1\.35: rules\[0\]\.resources\[0\]\.group: "\*": group "\*" is only accepted from Kubernetes 1\.36/);
  });

  it('fails synth on lint errors, unless ignored', () => {
    const c = chart();
    new AuditPolicy(c, 'p').addRule(AuditRule.catchAll()).addRule(AuditRule.secretsAtMetadata());
    expect(() => Testing.synth(c)).toThrow(/lint error \[shadowed-rule\]/);
    const c2 = chart();
    new AuditPolicy(c2, 'p', { lintIgnore: ['shadowed-rule'] }).addRule(AuditRule.catchAll()).addRule(AuditRule.secretsAtMetadata());
    expect(() => Testing.synth(c2)).not.toThrow();
  });

  it('lintFailOn warning makes warnings fail synth', () => {
    const c = chart();
    new AuditPolicy(c, 'p', { lintFailOn: Severity.WARNING }).addRule(AuditRule.secretsAtMetadata());
    expect(() => Testing.synth(c)).toThrow(/no-catch-all/);
  });

  it('constructor errors name the prop', () => {
    expect(() => new AuditPolicy(chart(), 'p', { kubernetesVersion: KubernetesVersion.of('1.12') })).toThrow(/AuditPolicy p: props.kubernetesVersion "1.12" is not supported/);
    expect(() => AuditRule.ignoreUsers([])).toThrow(/users is empty/);
  });

  it('fromYaml imports an existing policy without semantic change and renders it back', () => {
    const gkeLike = `apiVersion: audit.k8s.io/v1
kind: Policy
metadata:
  name: gke-like
rules:
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
    resources:
      - group: ""
        resources: ["endpoints", "services", "services/status"]
  - level: None
    nonResourceURLs: ["/healthz*", "/version", "/swagger*"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps", "serviceaccounts/token"]
      - group: authentication.k8s.io
        resources: ["tokenreviews"]
    omitStages: ["RequestReceived"]
  - level: Request
    verbs: ["get", "list", "watch"]
    resources: [{group: ""}, {group: "apps"}]
    omitStages: ["RequestReceived"]
  - level: RequestResponse
    omitManagedFields: false
    resources: [{group: ""}, {group: "apps"}]
    omitStages: ["RequestReceived"]
  - level: Metadata
    omitStages: ["RequestReceived"]
`;
    const c = chart();
    const imported = AuditPolicy.fromYaml(c, 'gke', gkeLike, { lintIgnore: ['watch-request-response', 'managed-fields-recorded'] });
    const original = parsePolicy(gkeLike);
    const roundTrip = parsePolicy(imported.toYaml());
    expect(roundTrip).toEqual(original);
    // No defaults were added on import: no policy-level omitStages/omitManagedFields appeared.
    expect(roundTrip.omitStages).toBeUndefined();
    expect(roundTrip.omitManagedFields).toBeUndefined();
    // Same decisions for a sample of requests.
    const requests = [
      { user: { name: 'system:kube-proxy' }, verb: 'watch', resourceRequest: true, path: '/api/v1/services', apiGroup: '', resource: 'services' },
      { user: { name: 'alice' }, verb: 'get', resourceRequest: true, path: '/api/v1/namespaces/a/secrets/s', apiGroup: '', resource: 'secrets', namespace: 'a', name: 's' },
      { user: { name: 'alice' }, verb: 'create', resourceRequest: true, path: '/apis/apps/v1/namespaces/a/deployments', apiGroup: 'apps', resource: 'deployments', namespace: 'a' },
      { verb: 'get', resourceRequest: false, path: '/healthz/etcd' },
    ];
    for (const r of requests) expect(evaluatePolicy(roundTrip, r)).toEqual(evaluatePolicy(original, r));
    expect(() => Testing.synth(c)).not.toThrow();
  });

  it('fromYaml refuses unknown fields with a fix', () => {
    expect(() => AuditPolicy.fromYaml(chart(), 'x', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n    resource: [{group: ""}]\n')).toThrow(
      /rules\[0\]\.resource: unknown field "resource".*did you mean "resources"/,
    );
  });

  it('renderPolicyYaml quotes strings YAML 1.1 would misread', () => {
    const yaml = renderPolicyYaml({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'Metadata', users: ['yes', 'on', '0123'] }] });
    expect(parsePolicy(yaml).rules[0].users).toEqual(['yes', 'on', '0123']);
  });

  it('is usable inside an App', () => {
    const app = testApp();
    const c = new Chart(app, 'c');
    new AuditPolicy(c, 'p', { rules: [AuditRule.catchAll()] });
    expect(() => app.synth()).not.toThrow();
  });
});
