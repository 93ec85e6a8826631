import { describe, expect, it } from 'vitest';
import { LINT_RULES } from '../../../src/policy/lint-rules';
import { runCli } from '../../support/cli';

const V1 = 'apiVersion: audit.k8s.io/v1\n';
const POLICY = `${V1}kind: Policy\n`;
const QUIET = 'omitStages: [RequestReceived]\nomitManagedFields: true\n';

// One policy per rule that the rule reports, run through `cdk8s-audit lint` as a user would: the table is
// complete when every id has an example here and every example's finding carries the table's severity.
const EXAMPLES: Record<string, string> = {
  'unknown-field': `${POLICY}${QUIET}rules:\n  - level: Metadata\n    resource: [{group: ""}]\n`,
  'tolerated-by-apiserver': `${V1}${QUIET}rules:\n  - level: Metadata\n`,
  'shadowed-rule': `${POLICY}${QUIET}rules:\n  - level: Metadata\n  - level: None\n    nonResourceURLs: ["/healthz*"]\n`,
  'secret-body-logged': `${POLICY}${QUIET}rules:\n  - level: Request\n    resources: [{group: "", resources: ["secrets"]}]\n  - level: Metadata\n`,
  'unknown-verb': `${POLICY}${QUIET}rules:\n  - level: None\n    verbs: ["GET"]\n  - level: Metadata\n`,
  'resource-in-wrong-group': `${POLICY}${QUIET}rules:\n  - level: None\n    resources: [{group: "", resources: ["deployments"]}]\n  - level: Metadata\n`,
  'no-catch-all': `${POLICY}${QUIET}rules:\n  - level: Metadata\n    verbs: ["get"]\n`,
  'request-received-not-omitted': `${POLICY}omitManagedFields: true\nrules:\n  - level: Metadata\n`,
  'body-level-on-non-resource-url': `${POLICY}${QUIET}rules:\n  - level: Request\n    nonResourceURLs: ["/metrics"]\n  - level: Metadata\n`,
  'watch-request-response': `${POLICY}${QUIET}rules:\n  - level: RequestResponse\n    resources: [{group: "apps"}]\n  - level: Metadata\n`,
  'managed-fields-recorded': `${POLICY}omitStages: [RequestReceived]\nrules:\n  - level: Request\n    verbs: ["create"]\n  - level: Metadata\n`,
  'subresource-wildcard-matches-parent': `${POLICY}${QUIET}rules:\n  - level: Metadata\n    resources: [{group: "", resources: ["pods/*"]}]\n  - level: Metadata\n`,
};

describe('LINT_RULES, the one table of lint rules', () => {
  it('has one example per rule and no example without a rule', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(LINT_RULES.map((r) => r.id).sort());
  });

  it.each(LINT_RULES.map((r) => [r.id, r] as const))('%s: lint reports it with the severity of the table', async (id, rule) => {
    const r = await runCli(['lint', '--format', 'json', '--fail-on', 'info', '-'], { input: EXAMPLES[id] });
    expect(r.stderr).toBe('');
    const findings: { id: string; severity: string }[] = JSON.parse(r.stdout).findings;
    expect(findings.filter((f) => f.id === id).map((f) => f.severity)).toContain(rule.severity);
    // Every id lint reports, here and anywhere, is documented.
    for (const f of findings) expect(LINT_RULES.map((x) => x.id)).toContain(f.id);
  });

  it('lint --help lists every rule with its severity, from the table', async () => {
    const r = await runCli(['lint', '--help']);
    expect(r.code).toBe(0);
    for (const rule of LINT_RULES) expect(r.stdout).toMatch(new RegExp(`^  ${rule.id} +${rule.severity} +\\S`, 'm'));
  });
});

describe('lint --ignore takes only ids of the table', () => {
  it.each([
    ['shadowed-rul', /^cdk8s-audit: --ignore: "shadowed-rul" is not a lint rule id, so it would silence nothing; did you mean "shadowed-rule"\?/],
    ['xyzzy', /^cdk8s-audit: --ignore: "xyzzy" is not a lint rule id, so it would silence nothing; the ids are listed by cdk8s-audit lint --help/],
  ])('%s is a usage error (exit 2)', async (id, message) => {
    const r = await runCli(['lint', '--ignore', `request-received-not-omitted,${id}`, '-'], { input: EXAMPLES['no-catch-all'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
