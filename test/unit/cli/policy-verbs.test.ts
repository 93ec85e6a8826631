import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Chart } from 'cdk8s';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli';
import { tempDir, testApp } from '../support/temp-dir';
import { DEFAULT_POLICY_FILE } from '../../../src/core/node-paths';
import { ClusterAudit } from '../../../src/gitops/cluster-audit';

// Not in beforeAll: tempDir's removal would never run if registered there.
const dir = tempDir('cli');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const header = 'apiVersion: audit.k8s.io/v1\nkind: Policy\n';
let good: string;
let typo: string;

beforeAll(() => {
  good = file('good.yaml', header + 'omitStages: [RequestReceived]\nomitManagedFields: true\nrules:\n  - level: None\n    nonResourceURLs: ["/healthz*"]\n  - level: Metadata\n    resources: [{group: "", resources: [secrets]}]\n  - level: Metadata\n');
  typo = file('typo.yaml', header + 'rules:\n  - level: Metdata\n    resource: [{group: ""}]\n');
});

describe('cdk8s-audit (top level)', () => {
  it('without arguments prints the verbs and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/validate .*lint .*explain .*evaluate/s);
  });
  it('an unknown verb exits 2', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
  });
  it.each(['validate', 'lint', 'explain', 'evaluate'])('%s --help exits 0 with usage', async (verb) => {
    const r = await runCli([verb, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: cdk8s-audit ${verb}`));
  });
});

describe('validate', () => {
  it('--help names the policy file where synth writes it', async () => {
    const example = /dist\/node\/\S+/.exec((await runCli(['validate', '--help'])).stdout)?.[0];
    expect(example).toBe(posix.join('dist/node/rootfs', DEFAULT_POLICY_FILE));
    const nodeFiles = new ClusterAudit(new Chart(testApp(), 'c'), 'audit', {}).nodeFiles().map((f) => posix.join('dist/node', f.path));
    expect(nodeFiles).toContain(example);
  });
  it('exits 0 for a valid policy', async () => {
    const r = await runCli(['validate', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid for kube-apiserver 1.37');
  });
  it('exits 1 naming path, value and fix', async () => {
    const r = await runCli(['validate', typo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rules[0].level: Unsupported value: "Metdata"');
    expect(r.stderr).toContain('fix: did you mean "Metadata"?');
    expect(r.stderr).toContain('rules[0].resource: unknown field "resource"');
  });
  it('--apiserver-verdict ignores dropped fields but not real errors', async () => {
    const dropped = file('dropped.yaml', header + 'rules:\n  - level: None\n    resource: [{group: ""}]\n');
    expect((await runCli(['validate', '--apiserver-verdict', dropped])).code).toBe(0);
    expect((await runCli(['validate', dropped])).code).toBe(1);
  });
  it('reads standard input', async () => {
    expect((await runCli(['validate', '-'], { input: header + 'rules: [{level: Metadata}]' })).code).toBe(0);
  });
  it.each<[string, string[], number, RegExp]>([
    ['missing file', ['validate', '/nonexistent/policy.yaml'], 1, /cannot read \/nonexistent\/policy.yaml: no such file/],
    ['invalid YAML', ['validate', '-'], 1, /not valid YAML or JSON/],
    ['wrong apiVersion', ['validate', '-'], 1, /apiVersion: "audit.k8s.io\/v1beta1" is not loaded/],
    ['no file', ['validate'], 2, /needs at least one FILE/],
    ['bad version', ['validate', '--kubernetes-version', '1.12', 'x'], 2, /not supported/],
    ['bad format', ['validate', '--format', 'xml', 'x'], 2, /--format "xml" is not one of: text, json/],
    ['unknown option', ['validate', '--strict', 'x'], 2, /unknown option '--strict'/],
  ])('%s', async (name, args, code, pattern) => {
    const input = name === 'invalid YAML' ? 'rules: [' : name === 'wrong apiVersion' ? 'apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules: [{level: None}]' : '';
    const r = await runCli(args, { input });
    expect(r.code).toBe(code);
    expect(r.stderr + r.stdout).toMatch(pattern);
  });
  it('--format json reports every file', async () => {
    const r = await runCli(['validate', '--format', 'json', good, typo]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { valid: boolean }) => x.valid)).toEqual([true, false]);
  });
});

describe('lint', () => {
  it('exits 0 on a clean policy', async () => {
    const r = await runCli(['lint', good]);
    expect(r.stdout).toContain('no findings');
    expect(r.code).toBe(0);
  });
  it('exits 1 with findings, and --fail-on error lets warnings pass', async () => {
    const p = file('warn.yaml', header + 'rules:\n  - level: Metadata\n');
    const r = await runCli(['lint', p]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('warning [request-received-not-omitted] policy');
    expect((await runCli(['lint', '--fail-on', 'error', p])).code).toBe(0);
    expect((await runCli(['lint', '--ignore', 'request-received-not-omitted', p])).code).toBe(0);
  });
  it('an invalid policy exits 1 before linting', async () => {
    const r = await runCli(['lint', typo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the kube-apiserver would refuse this policy');
  });
  it('--format json', async () => {
    const p = file('wrong-group.yaml', header + 'omitStages: [RequestReceived]\nrules:\n  - level: None\n    resources: [{group: "", resources: [deployments]}]\n  - level: Metadata\n');
    const r = await runCli(['lint', '--format', 'json', p]);
    expect(JSON.parse(r.stdout).findings).toEqual([expect.objectContaining({ id: 'resource-in-wrong-group', ruleIndex: 0, severity: 'error' })]);
  });
});

describe('explain', () => {
  it('explains a URL', async () => {
    const r = await runCli(['explain', good, '--verb', 'get', '--url', '/api/v1/namespaces/prod/secrets/db', '--user', 'alice']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rule 0 (None): no — the rule matches non-resource URLs and this is a resource request');
    expect(r.stdout).toContain('Decision: level Metadata by rule 1.');
  });
  it('explains parts, as JSON', async () => {
    const r = await runCli(['explain', good, '--verb', 'get', '--resource', 'pods/log', '--namespace', 'a', '--name', 'p', '--format', 'json']);
    expect(JSON.parse(r.stdout).decision).toEqual({ level: 'Metadata', omitStages: ['RequestReceived'], omitManagedFields: true, ruleIndex: 2 });
  });
  it('usage errors exit 2', async () => {
    expect((await runCli(['explain', good])).code).toBe(2);
    expect((await runCli(['explain', good, '--verb', 'get'])).code).toBe(2);
    expect((await runCli(['explain', good, '--verb', 'get', '--url', 'healthz'])).code).toBe(2);
  });
});

describe('evaluate', () => {
  it('JSONL in, JSONL out, bad lines reported with numbers and exit 1', async () => {
    const input = [
      JSON.stringify({ verb: 'get', resourceRequest: false, path: '/healthz/etcd' }),
      'not json',
      JSON.stringify({ kind: 'Event', auditID: 'a1', stage: 'ResponseComplete', verb: 'get', requestURI: '/api/v1/namespaces/x/secrets/s', user: { username: 'bob', groups: [] } }),
      '',
      JSON.stringify({ verb: 'get' }),
    ].join('\n');
    const r = await runCli(['evaluate', good], { input });
    expect(r.code).toBe(1);
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out).toEqual([
      { line: 1, level: 'None', omitStages: ['RequestReceived'], omitManagedFields: true, ruleIndex: 0 },
      { line: 3, auditID: 'a1', stage: 'ResponseComplete', level: 'Metadata', omitStages: ['RequestReceived'], omitManagedFields: true, ruleIndex: 1 },
    ]);
    expect(r.stderr).toContain('line 2: not valid JSON');
    expect(r.stderr).toContain('line 5: resourceRequest: required');
  });
  it('reads --input and exits 0 when every line evaluates', async () => {
    const p = file('in.jsonl', JSON.stringify({ verb: 'list', resourceRequest: true, path: '/api/v1/pods', resource: 'pods' }) + '\n');
    const r = await runCli(['evaluate', good, '--input', p]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ level: 'Metadata', ruleIndex: 2 });
  });
  it('a missing --input exits 1', async () => {
    const r = await runCli(['evaluate', good, '--input', '/nonexistent.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read --input /nonexistent.jsonl');
  });
});
