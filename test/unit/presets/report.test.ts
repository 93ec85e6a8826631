import { describe, expect, it } from 'vitest';
import {
  EVIDENCE_REPORT_SCHEMA,
  EvidenceJudge,
  Level,
  PRESET_NAMES,
  evaluatePolicy,
  RequirementResult,
  getPreset,
  judgeEvidence,
  parsePolicy,
  renderReportHtml,
  renderReportJson,
  renderReportMarkdown,
  reportExitCode,
} from '../../../src';
import { PROBE_USERS, ProbeCaller, probeAttributes } from '../../../src/presets';
import { auditEvent } from './audit-events';

const secretRead = (level: string, ns = 'cde', id = 's1') => auditEvent({
  auditID: id, level, verb: 'get', requestURI: `/api/v1/namespaces/${ns}/secrets/db`,
  objectRef: { resource: 'secrets', namespace: ns, name: 'db', apiVersion: 'v1' },
  user: { username: 'alice', groups: ['dev'] }, responseObject: { data: { password: 'c3VwZXItc2VjcmV0' } },
});
const execInto = (ns: string, pod: string, id = 'x1') => auditEvent({
  auditID: id, verb: 'create', requestURI: `/api/v1/namespaces/${ns}/pods/${pod}/exec?command=cat&command=%2Fetc%2Fpassword-file`,
  objectRef: { resource: 'pods', subresource: 'exec', namespace: ns, name: pod }, responseStatus: { code: 101 },
});

const byId = (results: readonly RequirementResult[]) => Object.fromEntries(results.map((r) => [r.id, r]));

describe('evidence report: statuses from observed events', () => {
  const pci = getPreset('pci-dss');

  // Defect: a Secret read recorded at RequestResponse (its value in the log) marked 10.2.1.1 "evidenced", exit 0.
  it('a secret read recorded above Metadata violates 10.2.1.1, names the auditID, levels and fix, and never copies the body', () => {
    const r = judgeEvidence(pci, { kubernetesVersion: '1.35', events: [secretRead('RequestResponse')] });
    const req = byId(r.requirements)['10.2.1.1'];
    expect(req.status).toBe('violated');
    expect(req.evidence!.violations).toEqual([
      expect.objectContaining({ auditID: 's1', level: 'RequestResponse', required: 'exactly Metadata', fix: expect.stringContaining('recorded at Metadata') }),
    ]);
    expect(req.evidence!.violations[0].decidedBy).toMatch(/^rule #\d+ \(secrets-metadata\) gives Metadata today \(the event was recorded at RequestResponse\)$/);
    expect(reportExitCode(r)).toBe(1);
    expect(reportExitCode(r, { allowMissingEvidence: true })).toBe(1);
    for (const out of [renderReportMarkdown(r), renderReportHtml(r), renderReportJson(r)]) {
      expect(out).toContain('s1');
      expect(out).not.toContain('c3VwZXItc2VjcmV0');
    }
  });

  it('a secret read at Metadata is evidence for 10.2.1.1', () => {
    const r = judgeEvidence(pci, { kubernetesVersion: '1.35', events: [secretRead('Metadata')] });
    const req = byId(r.requirements)['10.2.1.1'];
    expect(req.status).toBe('evidenced');
    expect(req.evidence!.examples.map((e) => e.auditID)).toEqual(['s1']);
  });

  it('a write to RBAC recorded at Metadata is below 10.2.1.5\'s minimum (Request)', () => {
    const e = auditEvent({ auditID: 'rb', verb: 'patch', requestURI: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/x', objectRef: { resource: 'rolebindings', namespace: 'default', name: 'x', apiGroup: 'rbac.authorization.k8s.io' } });
    const req = byId(judgeEvidence(pci, { kubernetesVersion: '1.35', events: [e] }).requirements)['10.2.1.5'];
    expect(req.status).toBe('violated');
    expect(req.evidence!.violations[0]).toMatchObject({ auditID: 'rb', level: 'Metadata', required: 'at least Request' });
  });

  // Defect: an exec into default/web counted as evidence for "all access to audit logs".
  it('10.2.1.3 counts only the audit sink namespace and node log files', () => {
    const unrelated = byId(judgeEvidence(pci, { kubernetesVersion: '1.35', events: [execInto('default', 'web')] }).requirements)['10.2.1.3'];
    expect(unrelated.status).toBe('no-evidence');
    expect(unrelated.evidence!.count).toBe(0);
    const nodeLogs = auditEvent({ auditID: 'n1', verb: 'get', requestURI: '/api/v1/nodes/node-1/proxy/logs/audit/audit.log', objectRef: { resource: 'nodes', subresource: 'proxy', name: 'node-1' } });
    const nodeStats = auditEvent({ auditID: 'n2', verb: 'get', requestURI: '/api/v1/nodes/node-1/proxy/stats/summary', objectRef: { resource: 'nodes', subresource: 'proxy', name: 'node-1' } });
    const related = byId(judgeEvidence(pci, { kubernetesVersion: '1.35', events: [execInto('audit', 'sink-0', 'x2'), nodeLogs, nodeStats] }).requirements)['10.2.1.3'];
    expect(related.status).toBe('evidenced');
    expect(related.evidence!.examples.map((e) => e.auditID)).toEqual(['x2', 'n1']);
  });

  it('the audit namespace follows --audit-namespace', () => {
    const custom = getPreset('pci-dss', { auditNamespace: 'logging' });
    const r = byId(judgeEvidence(custom, { kubernetesVersion: '1.35', events: [execInto('logging', 'sink-0')] }).requirements)['10.2.1.3'];
    expect(r.status).toBe('evidenced');
  });

  it('the report never shows a request query (exec arguments can hold secrets)', () => {
    const r = judgeEvidence(pci, { kubernetesVersion: '1.35', events: [execInto('audit', 'sink-0')] });
    expect(renderReportMarkdown(r)).not.toContain('password-file');
    expect(renderReportJson(r)).not.toContain('password-file');
  });

  it('10.2.1.1 counts reads of objects, not of /version or other non-resource URLs', () => {
    const version = auditEvent({ auditID: 'v', verb: 'get', requestURI: '/version', user: { username: 'alice', groups: ['dev'] } });
    expect(byId(judgeEvidence(pci, { kubernetesVersion: '1.35', events: [version] }).requirements)['10.2.1.1'].status).toBe('no-evidence');
  });

  it('invalid access attempts: only 401/403 answers count', () => {
    const denied = auditEvent({ auditID: 'd', verb: 'list', requestURI: '/api/v1/namespaces', objectRef: { resource: 'namespaces' }, user: { username: 'system:anonymous' }, responseStatus: { code: 403 } });
    const ok = auditEvent({ auditID: 'o', verb: 'list', requestURI: '/api/v1/namespaces', objectRef: { resource: 'namespaces' } });
    const req = byId(judgeEvidence(pci, { kubernetesVersion: '1.35', events: [denied, ok] }).requirements)['10.2.1.4'];
    expect(req.evidence!.examples.map((e) => e.auditID)).toEqual(['d']);
  });

  it('counts requests by their final stage, judges levels at every stage', () => {
    const started = { ...execInto('audit', 'sink-0'), stage: 'ResponseStarted' };
    const r = judgeEvidence(pci, { kubernetesVersion: '1.35', events: [started, execInto('audit', 'sink-0')] });
    expect(byId(r.requirements)['10.2.1.3'].evidence!.count).toBe(1);
    expect(r.totals).toMatchObject({ events: 2, requests: 1 });
  });

  // Defect: it exited 0 with four requirements flagged "no observed evidence".
  it('with logs, a requirement without evidence fails the exit code unless --allow-missing-evidence', () => {
    const nodes = auditEvent({ auditID: 'n', verb: 'list', requestURI: '/api/v1/nodes', objectRef: { resource: 'nodes' } });
    const r = judgeEvidence(getPreset('cis'), { kubernetesVersion: '1.35', events: [nodes] });
    expect(r.requirements.some((x) => x.status === 'no-evidence')).toBe(true);
    expect(r.requirements.some((x) => x.status === 'violated' || x.status.startsWith('not-met'))).toBe(false);
    expect(reportExitCode(r)).toBe(1);
    expect(reportExitCode(r, { allowMissingEvidence: true })).toBe(0);
  });

  it('without logs: a policy-only report, exit 0 when the policy and settings meet every requirement', () => {
    const r = judgeEvidence(getPreset('cis'), { kubernetesVersion: '1.35' });
    expect(r.inputs).toBeUndefined();
    expect(new Set(r.requirements.map((x) => x.status))).toEqual(new Set(['not-checked', 'met-by-settings']));
    expect(reportExitCode(r)).toBe(0);
    expect(renderReportMarkdown(r)).toContain("Policy judged: **the preset's own policy**");
  });

  it('health checks are evidenced by their absence, violated when recorded', () => {
    const base = getPreset('baseline');
    expect(byId(judgeEvidence(base, { kubernetesVersion: '1.35', events: [secretRead('Metadata')] }).requirements).B3.status).toBe('evidenced');
    const health = auditEvent({ auditID: 'h', verb: 'get', requestURI: '/healthz', user: { username: 'system:anonymous' } });
    expect(byId(judgeEvidence(base, { kubernetesVersion: '1.35', events: [health] }).requirements).B3.status).toBe('violated');
  });
});

describe('evidence report: the deployed policy', () => {
  // Defect: report could not be given the deployed policy; it reported on the preset.
  it('a deployed policy that records secrets with bodies is "not met by the policy", naming request, rule and level', () => {
    const wrong = parsePolicy(`apiVersion: audit.k8s.io/v1
kind: Policy
rules:
  - level: RequestResponse
    resources: [{ group: "", resources: [secrets] }]
  - level: Metadata
`);
    const r = judgeEvidence(getPreset('pci-dss'), { kubernetesVersion: '1.35', policy: { source: 'policy.yaml', document: wrong } });
    const req = byId(r.requirements)['10.2.1.1'];
    expect(req.status).toBe('not-met-by-policy');
    expect(req.reasons).toContain('not met by the deployed policy: GET /api/v1/namespaces/cde/secrets/db-credentials (read a Secret in cde): rule #0 gives RequestResponse, needs exactly Metadata');
    expect(reportExitCode(r)).toBe(1);
    expect(renderReportMarkdown(r)).toContain('Policy judged: the deployed policy `policy.yaml`');
  });
});

describe('evidence report: settings', () => {
  const pci = getPreset('pci-dss');
  const flags = { ...pci.logFlags };

  // Defect: 10.5.1 said "met by backend settings … the sink keeps 365 days" for a sink with only a byte limit.
  it.each([
    ['a sink with a byte limit only', { maxAgeDays: 0, maxBytes: 10 * 2 ** 30 }, false],
    ['a sink with 365 days and a byte limit', { maxAgeDays: 365, maxBytes: 10 * 2 ** 30 }, false],
    ['a sink keeping 90 days', { maxAgeDays: 90, maxBytes: 0 }, false],
    ['a sink keeping 365 days, no byte limit', { maxAgeDays: 365, maxBytes: 0 }, true],
  ])('10.5.1 with %s', (_t, sink, ok) => {
    const r = judgeEvidence(pci, { kubernetesVersion: '1.35', settings: { source: 'test', apiserverFlags: flags, sink } });
    expect(byId(r.requirements)['10.5.1'].status).toBe(ok ? 'met-by-settings' : 'not-met-by-settings');
  });

  it.each([
    ['maxage 365, maxbackup 0', { 'audit-log-maxage': 365, 'audit-log-maxbackup': 0 }, '1.35', true],
    ['maxage 0, maxbackup 0 (keep all)', { 'audit-log-maxage': 0, 'audit-log-maxbackup': 0 }, '1.35', true],
    ['maxage 365, maxbackup 100 (deletes by count)', { 'audit-log-maxage': 365, 'audit-log-maxbackup': 100 }, '1.35', false],
    ['maxage 90', { 'audit-log-maxage': 90, 'audit-log-maxbackup': 0 }, '1.35', false],
    ['maxbackup unset on 1.36 (default 100)', { 'audit-log-maxage': 400 }, '1.36', false],
    ['maxbackup unset on 1.35 (default 0)', { 'audit-log-maxage': 400 }, '1.35', true],
  ])('the node log guarantees retention only without deletion by count: %s', (_t, f, version, ok) => {
    const { 'audit-log-maxbackup': _b, ...rest } = flags;
    const r = judgeEvidence(pci, { kubernetesVersion: version, settings: { source: 'test', apiserverFlags: { ...rest, ...f } } });
    expect(byId(r.requirements)['10.5.1'].status).toBe(ok ? 'met-by-settings' : 'not-met-by-settings');
  });

  it('protection needs a verified sink store among the inputs', () => {
    const onlyLog = judgeEvidence(pci, { kubernetesVersion: '1.35', events: [secretRead('Metadata')] });
    expect(byId(onlyLog.requirements)['10.3'].status).toBe('not-met-by-settings');
    const withStore = judgeEvidence(pci, {
      kubernetesVersion: '1.35', events: [secretRead('Metadata')],
      inputs: [{ source: 'sink store s', kind: 'sink-store', events: 1, otherLines: 0, verified: { segments: 1, records: 1, firstSeq: 1, lastSeq: 1, keyId: 'k' } }],
    });
    expect(byId(withStore.requirements)['10.3'].status).toBe('met-by-settings');
  });
});

describe('evidence report: JSON', () => {
  it('carries the versioned schema and no event bodies', () => {
    const r = judgeEvidence(getPreset('pci-dss'), { kubernetesVersion: '1.35', events: [secretRead('Request')], now: new Date('2026-12-01T00:00:00Z') });
    const j = JSON.parse(renderReportJson(r));
    expect(j.schema).toBe(EVIDENCE_REPORT_SCHEMA);
    expect(j.generatedAt).toBe('2026-12-01T00:00:00.000Z');
    expect(Object.keys(j.requirements[0])).toEqual(expect.arrayContaining(['preset', 'id', 'summary', 'status', 'reasons', 'probes', 'settings']));
    expect(j.counts.violated).toBeGreaterThan(0);
  });

  it('HTML escapes what comes from the log', () => {
    const r = judgeEvidence(getPreset('pci-dss'), { kubernetesVersion: '1.35', events: [auditEvent({ auditID: '<b>', verb: 'get', requestURI: '/api/v1/namespaces/audit/pods/<script>', objectRef: { resource: 'pods', namespace: 'audit', name: '<script>' } })] });
    const html = renderReportHtml(r);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});

describe('every requirement\'s own example requests are evidence for it', () => {
  // The event the apiserver writes for a probe: the level the preset gives it, 403/401 for callers without grants.
  it.each(PRESET_NAMES)('%s', (name) => {
    const preset = getPreset(name);
    for (const req of preset.requirements) {
      const judge = new EvidenceJudge({ ...preset, requirements: [req] }, { kubernetesVersion: '1.35' });
      for (const probe of req.probes) {
        const a = probeAttributes(probe);
        const level = evaluatePolicy(preset.policy, a).level;
        if (level === Level.NONE) continue;
        const user = PROBE_USERS[probe.as]!;
        judge.add(auditEvent({
          auditID: `${req.id}-${probe.description}`, level, verb: a.verb, requestURI: probe.path, user: { username: user.name, groups: user.groups },
          ...(a.resourceRequest ? { objectRef: { resource: a.resource, subresource: a.subresource || undefined, namespace: a.namespace || undefined, name: a.name || undefined, apiGroup: a.apiGroup || undefined } } : {}),
          responseStatus: { code: probe.as === ProbeCaller.ADMIN ? 200 : probe.as === ProbeCaller.USER ? 403 : 401 },
        }));
      }
      const r = judge.finish([]).requirements[0];
      if (!r.evidence) continue;
      expect(r.evidence.violations, `${name} ${req.id}`).toEqual([]);
      expect(r.evidence.count > 0 || r.evidence.byAbsence, `${name} ${req.id}: none of its example requests matches ${r.evidence.matches.join(' / ')}`).toBe(true);
    }
  });
});
