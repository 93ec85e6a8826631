/**
 * Every preset and every composition of two presets, on every supported Kubernetes version, against checks
 * other people publish and users already run — restated here in our own words from the published sources:
 *
 * - kubescape control C-0161 "Audit policy content" (maps to CIS 3.2.2), rule `audit-policy-content`
 *   (kubescape/regolibrary rules/audit-policy-content/raw.rego, read 2026-12): the apiserver command line must
 *   name --audit-policy-file; then, for each of secrets, configmaps, tokenreviews, pods, deployments,
 *   pods/exec, pods/portforward, pods/proxy and services/proxy, the rules whose `resources[].resources` list
 *   that exact string (no wildcard, any group) must be at least one, and every one of them must have level
 *   exactly Metadata (the first three) or any level but None (the rest).
 * - kube-bench cfg/cis-1.10/master.yaml and controlplane.yaml (CIS Kubernetes Benchmark v1.10; the same checks
 *   carry these ids in cis-1.9): 1.2.16 --audit-log-path set; 1.2.17 --audit-log-maxage ≥ 30;
 *   1.2.18 --audit-log-maxbackup ≥ 10; 1.2.19 --audit-log-maxsize ≥ 100; 3.2.1 --audit-policy-file set.
 *   kube-bench reads the flags from the running process's command line (`ps -ef`).
 * Plus the project's own: the flags verb, the report's settings checks, synth, and the retention claim.
 */
import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterAudit, PRESET_NAMES, PolicyDocument, SUPPORTED_KUBERNETES_MINORS, getPreset, judgeEvidence, parsePolicy, reportExitCode, sinkRetentionFor } from '../../../src';
import { RetentionPrecedence } from '../../../src/presets';
import { runCli } from '../../support/cli';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

const VERSIONS = SUPPORTED_KUBERNETES_MINORS.map((m) => `1.${m}`);
/**
 * gdpr's maximum retention is below the minimums of pci-dss, hipaa and nist-800-53: such a composition is refused
 * unless the user says which wins (test/unit/presets/gdpr.test.ts). Here the longer minimum wins; a no-op elsewhere.
 */
const OPTIONS = { retentionPrecedence: RetentionPrecedence.MINIMUM };
const COMBINATIONS: string[][] = [
  ...PRESET_NAMES.map((p) => [p]),
  ...PRESET_NAMES.flatMap((a, i) => PRESET_NAMES.slice(i + 1).map((b) => [a, b])),
];

/** C-0161: which resource names it looks for, and what the level of every rule naming one must be. */
const C0161: readonly { resource: string; ok: (level: string) => boolean; want: string }[] = [
  ...['secrets', 'configmaps', 'tokenreviews'].map((resource) => ({ resource, ok: (l: string) => l === 'Metadata', want: 'exactly Metadata' })),
  ...['pods', 'deployments', 'pods/exec', 'pods/portforward', 'pods/proxy', 'services/proxy'].map((resource) => ({ resource, ok: (l: string) => l !== 'None', want: 'not None' })),
];

/** The C-0161 findings for a command line and policy; [] = passes. */
export function c0161Findings(commandLine: readonly string[], policy: PolicyDocument): string[] {
  if (!commandLine.some((a) => a.startsWith('--audit-policy-file'))) return ['the command line has no --audit-policy-file'];
  const out: string[] = [];
  for (const c of C0161) {
    const naming = policy.rules.filter((r) => (r.resources ?? []).some((g) => (g.resources ?? []).includes(c.resource)));
    if (naming.length === 0) out.push(`no rule names ${c.resource}`);
    for (const r of naming.filter((x) => !c.ok(x.level))) out.push(`a rule names ${c.resource} at ${r.level}, needs ${c.want}`);
  }
  return out;
}

/** kube-bench's flag checks: [id, flag, test]. */
const KUBE_BENCH: readonly [string, string, (v: string | undefined) => boolean][] = [
  ['1.2.16', '--audit-log-path', (v) => v !== undefined],
  ['1.2.17', '--audit-log-maxage', (v) => Number(v) >= 30],
  ['1.2.18', '--audit-log-maxbackup', (v) => Number(v) >= 10],
  ['1.2.19', '--audit-log-maxsize', (v) => Number(v) >= 100],
  ['3.2.1', '--audit-policy-file', (v) => v !== undefined],
];

export function kubeBenchFindings(commandLine: readonly string[]): string[] {
  const value = (flag: string) => {
    const arg = commandLine.find((a) => a === flag || a.startsWith(`${flag}=`));
    return arg === undefined ? undefined : arg.slice(flag.length + 1);
  };
  return KUBE_BENCH.filter(([, flag, ok]) => !ok(value(flag))).map(([id, flag]) => `${id}: ${flag}=${value(flag) ?? '(unset)'}`);
}

function build(presets: string[], kubernetesVersion: string) {
  const app = Testing.app();
  const audit = new ClusterAudit(new Chart(app, 'c'), 'audit', { presets: presets as Preset[], kubernetesVersion: KubernetesVersion.of(kubernetesVersion), presetOptions: OPTIONS });
  return { app, audit, commandLine: audit.apiserver.commandLine(), policy: parsePolicy(audit.policy.toYaml()) };
}

describe.each(VERSIONS)('third-party checks on Kubernetes %s', (version) => {
  it.each(COMBINATIONS.map((c) => [c.join('+'), c] as const))('%s passes kubescape C-0161 and kube-bench 1.2.16–1.2.19, 3.2.1', (_n, presets) => {
    const { commandLine, policy } = build([...presets], version);
    expect(c0161Findings(commandLine, policy)).toEqual([]);
    expect(kubeBenchFindings(commandLine)).toEqual([]);
  });
});

describe('the checks themselves can fail', () => {
  it('C-0161 fails a policy that reaches pods only through a catch-all, or secrets above Metadata', () => {
    const cmd = ['--audit-policy-file=/etc/kubernetes/audit/policy.yaml'];
    const catchAll = parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n  resources: [{group: "", resources: [secrets, configmaps]}, {group: authentication.k8s.io, resources: [tokenreviews]}]\n- level: Metadata\n');
    expect(c0161Findings(cmd, catchAll)).toContain('no rule names pods');
    const body = parsePolicy('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n  resources: [{group: "", resources: [secrets]}]\n');
    expect(c0161Findings(cmd, body)).toContain('a rule names secrets at RequestResponse, needs exactly Metadata');
    expect(c0161Findings([], body)).toEqual(['the command line has no --audit-policy-file']);
  });
  it('kube-bench flags', () => {
    expect(kubeBenchFindings(['--audit-log-path=/x', '--audit-log-maxage=7', '--audit-log-maxbackup=10', '--audit-log-maxsize=100'])).toEqual(['1.2.17: --audit-log-maxage=7', '3.2.1: --audit-policy-file=(unset)']);
  });
});

describe.each(COMBINATIONS.map((c) => [c.join(','), c] as const))('preset %s: its own checks', (names, presets) => {
  it('flags: exits 0 (no contradiction between the preset\'s flags and its retention)', async () => {
    const r = await runCli(['flags', '--preset', names, '--webhook', '--retention-precedence', 'minimum']);
    expect(r.stderr).not.toMatch(/short of/);
    expect(r.code).toBe(0);
  });
  it('report: the settings and the policy meet every requirement (exit 0 without logs)', () => {
    const report = judgeEvidence(getPreset([...presets], OPTIONS), { kubernetesVersion: '1.35' });
    const failing = report.requirements.filter((r) => r.status !== 'not-checked' && r.status !== 'met-by-settings');
    expect(failing.map((r) => `${r.preset} ${r.id}: ${r.reasons.join('; ')}`)).toEqual([]);
    expect(reportExitCode(report)).toBe(0);
  });
  it('synth: the ClusterAudit synthesizes', () => {
    const { app } = build([...presets], '1.35');
    expect(() => app.synth()).not.toThrow();
  });
  it('retention: what it claims is what its flags and sink retention enforce', () => {
    const p = getPreset([...presets], OPTIONS);
    const { commandLine } = build([...presets], '1.35');
    expect(commandLine).toContain(`--audit-log-maxage=${p.retention.onlineDays}`);
    expect(sinkRetentionFor(p.retention)).toEqual({ maxAgeDays: p.retention.totalDays, maxBytes: 0 });
    for (const req of p.requirements) {
      if (req.settings?.retainDays !== undefined) expect(p.retention.totalDays, `${req.preset} ${req.id}`).toBeGreaterThanOrEqual(req.settings.retainDays);
      if (req.settings?.retainAtMostDays !== undefined) expect(p.retention.totalDays, `${req.preset} ${req.id}`).toBeLessThanOrEqual(req.settings.retainAtMostDays);
    }
  });
});
