/**
 * The gdpr preset: personal data at Metadata (never bodies), access-control changes with bodies, a maximum
 * retention that composition refuses to break silently and the report does not overstate.
 */
import { describe, expect, it } from 'vitest';
import {
  Level,
  PresetConflictError,
  evaluatePolicy,
  getPreset,
  judgeEvidence,
  reportExitCode,
} from '../../../src';
import { levelRank } from '../../../src/policy';
import { BodyLevel, GDPR_MAX_RETENTION_DAYS, RetentionPrecedence, probeAttributes } from '../../../src/presets';
import { requestAttributesFromHttp } from '../../../src/policy/request-attributes';
import { runCli } from '../../support/cli';
import { Chart } from 'cdk8s';
import { parse } from 'yaml';
import { ClusterAudit, Preset } from '../../../src';
import { testApp } from '../support/temp-dir';

const admin = { name: 'e2e-admin', groups: ['system:masters'] };
const levelOf = (preset: ReturnType<typeof getPreset>, method: string, path: string) => evaluatePolicy(preset.policy, requestAttributesFromHttp(method, path, admin)).level;
const maxReq = (p: ReturnType<typeof getPreset>) => p.requirements.find((r) => r.preset === 'gdpr' && r.id === 'Art. 5(1)(e)')!;

describe('gdpr preset', () => {
  it('records personal data at Metadata, RBAC changes with bodies, reads through the catch-all', () => {
    const p = getPreset('gdpr');
    expect(levelOf(p, 'GET', '/api/v1/namespaces/x/secrets/s')).toBe(Level.METADATA);
    expect(levelOf(p, 'PUT', '/api/v1/namespaces/x/configmaps/c')).toBe(Level.METADATA);
    expect(levelOf(p, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')).toBe(Level.REQUEST_RESPONSE);
    expect(levelOf(p, 'PATCH', '/apis/apps/v1/namespaces/x/deployments/d')).toBe(Level.METADATA);
    expect(levelOf(p, 'GET', '/api/v1/namespaces/x/pods')).toBe(Level.METADATA);
  });

  it.each([BodyLevel.METADATA, BodyLevel.ALL_BODIES])('declared namespaces and resources stay at Metadata even with body level %s; RBAC in them keeps bodies', (bodyLevel) => {
    const p = getPreset('gdpr', { bodyLevel, personalDataNamespaces: ['customers'], personalDataResources: [{ group: 'crm.example.com', resources: ['contacts'] }] });
    expect(levelOf(p, 'PATCH', '/apis/apps/v1/namespaces/customers/deployments/web')).toBe(Level.METADATA);
    expect(levelOf(p, 'POST', '/apis/crm.example.com/v1/namespaces/sales/contacts')).toBe(Level.METADATA);
    expect(levelOf(p, 'PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/customers/rolebindings/b')).toBe(Level.REQUEST_RESPONSE);
    // elsewhere the body level applies
    expect(levelOf(p, 'PATCH', '/apis/apps/v1/namespaces/web/deployments/web')).toBe(bodyLevel === BodyLevel.ALL_BODIES ? Level.REQUEST_RESPONSE : Level.METADATA);
    const probes = p.requirements.filter((r) => r.personalDataProbes).flatMap((r) => r.probes);
    expect(probes.map((x) => `${x.method} ${x.path}`)).toEqual(expect.arrayContaining(['GET /api/v1/namespaces/customers/pods', 'POST /apis/crm.example.com/v1/namespaces/default/contacts']));
    for (const probe of probes) {
      const level = evaluatePolicy(p.policy, probeAttributes(probe)).level;
      expect(levelRank(level), probe.description).toBeGreaterThanOrEqual(levelRank(probe.minLevel));
      expect(levelRank(level), probe.description).toBeLessThanOrEqual(levelRank(probe.maxLevel ?? Level.REQUEST_RESPONSE));
    }
  });

  it('without declarations the preset has no personal-data rule, and declarations need a preset that uses them', () => {
    expect(getPreset('gdpr').origins.some((o) => o.kind === 'catalogue' && o.id.startsWith('personal-data'))).toBe(false);
    expect(() => getPreset('pci-dss', { personalDataNamespaces: ['customers'] })).toThrow(/personalDataNamespaces: none of the presets \(pci-dss\) records personal data/);
    expect(() => getPreset('pci-dss', { maxRetentionDays: 30 })).toThrow(/maxRetentionDays: none of the presets \(pci-dss\) has a maximum retention/);
    expect(() => getPreset('gdpr', { maxRetentionDays: 0 })).toThrow(/maxRetentionDays: 0 is not a whole number/);
  });

  it(`claims at most ${GDPR_MAX_RETENTION_DAYS} days and rotates the node log within it`, () => {
    const p = getPreset('gdpr');
    expect(p.retention.totalDays).toBe(GDPR_MAX_RETENTION_DAYS);
    expect(Number(p.logFlags['audit-log-maxage'])).toBeLessThanOrEqual(GDPR_MAX_RETENTION_DAYS);
    expect(maxReq(p).settings?.retainAtMostDays).toBe(GDPR_MAX_RETENTION_DAYS);
    const short = getPreset('gdpr', { maxRetentionDays: 20 });
    expect(short.retention).toMatchObject({ onlineDays: 20, totalDays: 20 });
    expect(short.logFlags['audit-log-maxage']).toBe(20);
  });

  it('caps a composed retention that is only a convention (iso-27001 one year)', () => {
    const p = getPreset(['gdpr', 'iso-27001']);
    expect(p.retention.totalDays).toBe(GDPR_MAX_RETENTION_DAYS);
  });

  it.each([
    [['gdpr', 'pci-dss'], 'pci-dss 10.5.1 needs records kept at least 365 days'],
    [['gdpr', 'hipaa'], 'hipaa 164.316(b)(2)(i) needs records kept at least 2190 days'],
  ])('%j: a maximum below a minimum is refused, naming both requirements', (presets, other) => {
    let err: unknown;
    try {
      getPreset(presets);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PresetConflictError);
    expect((err as Error).message).toContain(`gdpr Art. 5(1)(e) keeps audit records at most ${GDPR_MAX_RETENTION_DAYS} days, but ${other}`);
    expect((err as Error).message).toContain('--retention-precedence minimum');
  });

  it('cis 1.2.17 (--audit-log-maxage ≥ 30) conflicts with a 20-day maximum', () => {
    expect(() => getPreset(['gdpr', 'cis'], { maxRetentionDays: 20 })).toThrow(/gdpr Art\. 5\(1\)\(e\) keeps audit records at most 20 days, but cis 1\.2\.17 needs --audit-log-maxage at least 30/);
  });

  it('retentionPrecedence minimum: the longer minimum wins, the maximum is raised and says why; the report meets both', () => {
    const p = getPreset(['gdpr', 'pci-dss'], { retentionPrecedence: RetentionPrecedence.MINIMUM });
    expect(p.retention.totalDays).toBe(365);
    expect(maxReq(p).settings?.retainAtMostDays).toBe(365);
    expect(maxReq(p).note).toContain('raised to 365 days');
    const report = judgeEvidence(p, { kubernetesVersion: '1.35', settings: { apiserverFlags: p.webhookFlags, sink: { maxAgeDays: 365, maxBytes: 0 } } });
    const byId = Object.fromEntries(report.requirements.map((r) => [`${r.preset} ${r.id}`, r.status]));
    expect(byId['gdpr Art. 5(1)(e)']).toBe('met-by-settings');
    expect(byId['pci-dss 10.5.1']).toBe('met-by-settings');
  });

  it('retentionPrecedence maximum: records deleted at the maximum, and the minimum is reported not met', () => {
    const p = getPreset(['gdpr', 'pci-dss'], { retentionPrecedence: RetentionPrecedence.MAXIMUM });
    expect(p.retention.totalDays).toBe(GDPR_MAX_RETENTION_DAYS);
    const report = judgeEvidence(p, { kubernetesVersion: '1.35', settings: { apiserverFlags: p.webhookFlags, sink: { maxAgeDays: GDPR_MAX_RETENTION_DAYS, maxBytes: 0 } } });
    const pci = report.requirements.find((r) => r.id === '10.5.1')!;
    expect(pci.status).toBe('not-met-by-settings');
    expect(report.requirements.find((r) => r.id === 'Art. 5(1)(e)')!.status).toBe('met-by-settings');
    expect(reportExitCode(report)).toBe(1);
  });
});

describe('report: the maximum retention is not overstated', () => {
  const p = getPreset('gdpr');
  const status = (settings: Parameters<typeof judgeEvidence>[1]['settings'], extra: Partial<Parameters<typeof judgeEvidence>[1]> = {}) => {
    const r = judgeEvidence(p, { kubernetesVersion: '1.35', settings, ...extra }).requirements.find((x) => x.id === 'Art. 5(1)(e)')!;
    return { status: r.status, actual: r.settings.find((s) => s.setting === 'maximum retention')!.actual };
  };
  it.each([
    ['webhook only, sink 183d', { apiserverFlags: { 'audit-webhook-config-file': '/x' }, sink: { maxAgeDays: 183, maxBytes: 0 } }, 'met-by-settings', /^enforced — no log backend/],
    ['sink keeps forever', { apiserverFlags: {}, sink: { maxAgeDays: 0, maxBytes: 0 } }, 'not-met-by-settings', /not enforced — .*keeps segments forever/],
    ['sink 365d', { apiserverFlags: {}, sink: { maxAgeDays: 365, maxBytes: 0 } }, 'not-met-by-settings', /not enforced/],
    ['node log without maxage (1.35 keeps forever)', { apiserverFlags: { 'audit-log-path': '/var/log/a.log' }, sink: { maxAgeDays: 183, maxBytes: 0 } }, 'not-met-by-settings', /--audit-log-maxage 0 keeps rotated files forever/],
    ['node log maxage 30: only at rotation', { apiserverFlags: { 'audit-log-path': '/var/log/a.log', 'audit-log-maxage': 30 }, sink: { maxAgeDays: 183, maxBytes: 0 } }, 'not-checked', /not guaranteed — .*rotation happens only by size/],
    ['sink unknown', { apiserverFlags: {} }, 'not-checked', /not guaranteed — .*sink retention unknown/],
  ] as const)('%s → %s', (_n, settings, want, actual) => {
    const r = status(settings);
    expect(r.status).toBe(want);
    expect(r.actual).toMatch(actual);
  });

  it('an input holding a record older than the maximum is not met, whatever the flags say', () => {
    const settings = { apiserverFlags: {}, sink: { maxAgeDays: 183, maxBytes: 0 } };
    const inputs = [{ source: 'old.log', kind: 'log' as const, events: 1, otherLines: 0, from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }];
    const old = status(settings, { inputs, events: [], now: new Date('2026-12-01T00:00:00Z') });
    expect(old.status).toBe('not-met-by-settings');
    expect(old.actual).toMatch(/old\.log holds a record from 2026-01-01T00:00:00Z, older than 183 days/);
    const recent = status(settings, { inputs: [{ ...inputs[0], from: '2026-11-01T00:00:00Z' }], events: [], now: new Date('2026-12-01T00:00:00Z') });
    expect(recent.status).toBe('met-by-settings');
  });

  it('a node log the flags cannot bound is judged by the log files given: evidenced (observed now), never met by settings', () => {
    const settings = { apiserverFlags: { 'audit-log-path': '/var/log/a.log', 'audit-log-maxage': 30 }, sink: { maxAgeDays: 183, maxBytes: 0 } };
    const now = new Date('2026-12-01T00:00:00Z');
    const log = { source: 'audit.log', kind: 'log' as const, events: 1, otherLines: 0, from: '2026-11-20T00:00:00Z', to: '2026-11-30T00:00:00Z' };
    const seen = status(settings, { inputs: [log], events: [], now });
    expect(seen.status).toBe('evidenced');
    expect(seen.actual).toMatch(/^observed — .*the node log given \(audit\.log\) holds nothing older than 183 days \(oldest record 2026-11-20T00:00:00Z\): observed now, not guaranteed/);
    // a sink store says nothing about the node's files
    const storeOnly = status(settings, { inputs: [{ ...log, source: 'store', kind: 'sink-store' }], events: [], now });
    expect(storeOnly.status).toBe('not-checked');
  });
});

describe('preset verb (as the user runs it)', () => {
  it('refuses gdpr,pci-dss naming both requirements (exit 1); --retention-precedence minimum composes it', async () => {
    const refused = await runCli(['preset', 'gdpr,pci-dss']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('gdpr Art. 5(1)(e) keeps audit records at most 183 days, but pci-dss 10.5.1 needs records kept at least 365 days');
    const ok = await runCli(['preset', 'gdpr,pci-dss', '--retention-precedence', 'minimum', '--format', 'requirements']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('retainAtMostDays: 365');
  });
  it('declares personal data from the command line; bad values are usage errors naming the flag', async () => {
    const r = await runCli(['preset', 'gdpr', '--personal-data-namespace', 'customers', '--personal-data-resource', 'contacts.crm.example.com', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).rules).toEqual(expect.arrayContaining([{ level: 'Metadata', namespaces: ['customers'] }, { level: 'Metadata', resources: [{ group: 'crm.example.com', resources: ['contacts'] }] }]));
    expect(await runCli(['preset', 'gdpr', '--personal-data-resource', 'Contacts'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--personal-data-resource "Contacts" is not RESOURCE or RESOURCE.GROUP') });
    expect(await runCli(['preset', 'gdpr', '--max-retention-days', '0'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--max-retention-days "0"') });
    expect(await runCli(['preset', 'gdpr', '--retention-precedence', 'longest'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--retention-precedence "longest" is not one of: minimum, maximum') });
    expect(await runCli(['preset', 'cis', '--personal-data-namespace', 'x'])).toMatchObject({ code: 1, stderr: expect.stringContaining('personalDataNamespaces: none of the presets (cis)') });
  });
});

describe('dist/node/files.yaml carries the options prove needs to compose the same table', () => {
  const manifest = (presets: Preset[], presetOptions?: Parameters<typeof getPreset>[1]) =>
    parse(new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { presets, presetOptions }).manifest('dist/node')) as { presets: string[]; presetOptions?: Record<string, unknown> };
  it('gdpr + pci-dss with the minimum winning and declared personal data: written, and they compose again', () => {
    const m = manifest([Preset.GDPR, Preset.PCI_DSS], { retentionPrecedence: RetentionPrecedence.MINIMUM, personalDataNamespaces: ['customers'], excludeUsers: ['ci'] });
    expect(m.presetOptions).toEqual({ retentionPrecedence: 'minimum', personalDataNamespaces: ['customers'] });
    expect(() => getPreset(m.presets)).toThrow(/gdpr Art\. 5\(1\)\(e\)/);
    const again = getPreset(m.presets, m.presetOptions);
    expect(again.requirements.flatMap((r) => r.probes).some((p) => p.path === '/api/v1/namespaces/customers/pods')).toBe(true);
  });
  it('without such options nothing is written (manifests of other apps unchanged)', () => {
    expect(manifest([Preset.PCI_DSS], { excludeUsers: ['ci'] })).not.toHaveProperty('presetOptions');
  });
});
