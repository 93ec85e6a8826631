import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  AuditPolicy,
  Level,
  PRESETS,
  PRESET_NAMES,
  PresetConflictError,
  SUPPORTED_KUBERNETES_MINORS,
  evaluatePolicy,
  getPreset,
  lintPolicy,
  parsePolicy,
  renderPolicyYaml,
  validatePolicy,
} from '../../../src';
import { levelRank } from '../../../src/policy';
import { BodyLevel, CATALOGUE, probeAttributes } from '../../../src/presets';
import { testApp } from '../support/temp-dir';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

const versions = SUPPORTED_KUBERNETES_MINORS.map((m) => `1.${m}`);

describe('every preset', () => {
  it.each(PRESET_NAMES.flatMap((name) => versions.map((v) => [name, v])))('%s validates strictly and lints clean for %s', (name, version) => {
    const { policy } = getPreset(name, { kubernetesVersion: KubernetesVersion.of(version) });
    expect(validatePolicy(policy, { kubernetesVersion: version, strict: true })).toEqual([]);
    expect(lintPolicy(policy, { kubernetesVersion: version })).toEqual([]);
  });

  it.each(PRESET_NAMES)('%s: every probe gets its required level and every requirement names known rules', (name) => {
    const composed = getPreset(name);
    const ids = CATALOGUE.map((c) => c.id);
    for (const req of composed.requirements) {
      for (const r of req.rules) expect(ids, `${name} ${req.id} names unknown rule ${r}`).toContain(r);
      for (const probe of req.probes) {
        const level = evaluatePolicy(composed.policy, probeAttributes(probe)).level;
        expect(levelRank(level), `${name} ${req.id} ${probe.description}`).toBeGreaterThanOrEqual(levelRank(probe.minLevel));
        if (probe.maxLevel) expect(levelRank(level)).toBeLessThanOrEqual(levelRank(probe.maxLevel));
      }
    }
  });

  it.each(PRESET_NAMES)('%s: the rendered YAML parses back to the same policy', (name) => {
    const { policy } = getPreset(name);
    expect(parsePolicy(renderPolicyYaml(policy))).toEqual(JSON.parse(JSON.stringify(policy)));
  });

  it.each(PRESET_NAMES)('%s: node log rotation keeps at least the online retention', (name) => {
    const p = getPreset(name);
    expect(Number(p.logFlags['audit-log-maxage'])).toBeGreaterThanOrEqual(Math.min(p.retention.onlineDays, 90));
  });
});

describe('CIS preset', () => {
  it('meets kube-bench 1.2.16–1.2.19', () => {
    const f = getPreset('cis').logFlags;
    expect(f['audit-log-path']).toBeTruthy();
    expect(Number(f['audit-log-maxage'])).toBeGreaterThanOrEqual(30);
    expect(Number(f['audit-log-maxbackup'])).toBeGreaterThanOrEqual(10);
    expect(Number(f['audit-log-maxsize'])).toBeGreaterThanOrEqual(100);
  });
});

describe('body-level knob', () => {
  const secretWrite = { user: { name: 'a', groups: [] }, verb: 'update', resourceRequest: true, path: '/api/v1/namespaces/x/secrets/s', apiGroup: '', resource: 'secrets', namespace: 'x', name: 's' };
  const deployWrite = { ...secretWrite, path: '/apis/apps/v1/namespaces/x/deployments/d', apiGroup: 'apps', resource: 'deployments', name: 'd' };
  it.each<[BodyLevel, Level]>([
    [BodyLevel.METADATA, Level.METADATA],
    [BodyLevel.WRITE_BODIES, Level.REQUEST],
    [BodyLevel.ALL_BODIES, Level.REQUEST_RESPONSE],
  ])('%s records workload writes at %s and secrets at Metadata', (bodyLevel, level) => {
    const { policy } = getPreset('pci-dss', { bodyLevel });
    expect(evaluatePolicy(policy, deployWrite).level).toBe(level);
    expect(evaluatePolicy(policy, secretWrite).level).toBe(Level.METADATA);
    expect(lintPolicy(policy)).toEqual([]);
  });
});

describe('composition', () => {
  it('is independent of order and takes the longer retention and rotation', () => {
    const a = getPreset(['pci-dss', 'hipaa']);
    const b = getPreset(['hipaa', 'pci-dss']);
    expect(a.policy.rules).toEqual(b.policy.rules);
    expect(a.retention.totalDays).toBe(2190);
    expect(a.retention.onlineDays).toBe(90);
    expect(a.logFlags['audit-log-maxbackup']).toBe(100);
  });
  it('takes the more detailed body level, and secrets stay at Metadata', () => {
    const c = getPreset(['pci-dss', 'baseline']);
    expect(c.bodyLevel).toBe(BodyLevel.WRITE_BODIES);
    expect(lintPolicy(c.policy)).toEqual([]);
  });
  it('exclusions and extra rules are placed and validated', () => {
    const c = getPreset('cis', {
      excludeUsers: ['system:serviceaccount:flux-system:kustomize-controller'],
      excludeNamespaces: ['load-test'],
      rulesAfter: [{ level: Level.REQUEST, resources: [{ group: 'batch' }] }],
    });
    expect(c.origins[0].kind).toBe('exclude');
    expect(c.origins[c.origins.length - 2].kind).toBe('after');
    expect(c.policy.rules[c.policy.rules.length - 1]).toEqual({ level: 'Metadata' });
    expect(validatePolicy(c.policy)).toEqual([]);
  });
  it('a customisation that breaks a requirement is refused naming the requirement and the rule', () => {
    expect(() => getPreset('pci-dss', { excludeUsers: ['e2e-admin'] })).toThrow(PresetConflictError);
    expect(() => getPreset('pci-dss', { excludeUsers: ['e2e-admin'] })).toThrow(/10\.2\.1\.2 .* gets level None from rule 0 \(excluded users: e2e-admin\), but needs at least/);
    expect(() => getPreset('cis', { rulesBefore: [{ level: Level.REQUEST, resources: [{ group: '', resources: ['secrets'] }] }] })).toThrow(/3\.2\.2 .* may be recorded at most at Metadata/);
  });
  it('unknown names list the valid choices', () => {
    expect(() => getPreset('pci')).toThrow(`unknown preset "pci"; valid presets: ${PRESET_NAMES.join(', ')}`);
  });
});

describe('AuditPolicy.fromPreset', () => {
  it('synthesises and keeps the requirement table', () => {
    const c = new Chart(testApp(), 'test');
    const p = AuditPolicy.fromPreset(c, 'pci', [Preset.PCI_DSS], { kubernetesVersion: KubernetesVersion.V1_35 });
    expect(p.preset?.requirements.map((r) => r.id)).toContain('10.2.1.7');
    expect(p.kubernetesVersion).toBe('1.35');
    expect(() => Testing.synth(c)).not.toThrow();
  });
});

it('PRESETS and PRESET_NAMES agree', () => {
  expect(PRESETS.map((p) => p.name)).toEqual(PRESET_NAMES);
});
