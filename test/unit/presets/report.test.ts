import { describe, expect, it } from 'vitest';
import { buildEvidenceReport, getPreset, parseAuditLog, renderReportHtml, renderReportMarkdown } from '../../../src';

const event = (over: Record<string, unknown>) => JSON.stringify({
  kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', stageTimestamp: '2026-11-23T10:00:00Z',
  user: { username: 'e2e-admin', groups: ['system:masters', 'system:authenticated'] }, responseStatus: { code: 200 }, ...over,
});

describe('evidence report', () => {
  const pci = getPreset('pci-dss');
  const log = [
    event({ auditID: '1', verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', level: 'RequestResponse', requestObject: { secret: 'must-not-appear' } }),
    event({ auditID: '2', verb: 'get', requestURI: '/api/v1/namespaces/kube-system/secrets/admin-token', user: { username: 'alice', groups: ['dev'] }, responseStatus: { code: 403 } }),
    event({ auditID: '3', verb: 'create', requestURI: '/api/v1/namespaces', level: 'RequestResponse' }),
    'not an event',
  ].join('\n');

  it('follows each requirement to rules and observed events, and flags the unevidenced ones', () => {
    const r = buildEvidenceReport(pci, { kubernetesVersion: '1.37', log: { source: 'audit.log', text: log } });
    const byId = Object.fromEntries(r.results.map((x) => [x.requirement.id, x]));
    expect(r.log).toMatchObject({ events: 3, unreadableLines: 1 });
    expect(byId['10.2.1.5'].evidenceCount).toBe(1); // the ClusterRoleBinding, by credential-changes
    expect(byId['10.2.1.4'].evidence.map((e) => e.auditID)).toEqual(['2']); // by response code
    expect(byId['10.2.1.7'].evidence.map((e) => e.auditID)).toEqual(['3']);
    expect(byId['10.2.1.6'].status).toBe('no-evidence');
    expect(byId['10.5.1'].status).toBe('settings');
    const cr = byId['10.2.1.2'].probes.find((p) => p.probe.path === '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')!;
    expect(cr.observed).toEqual(['RequestResponse']);
    const md = renderReportMarkdown(r);
    expect(md).toContain('⚠ no observed evidence');
    expect(md).toContain('## pci-dss 10.2.1.5: Changes to identification and authentication credentials are logged');
    expect(md).not.toContain('must-not-appear');
    const html = renderReportHtml(r);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toContain('must-not-appear');
    expect(html).toContain('<code>POST /api/v1/namespaces</code>');
  });

  it('without a log every requirement is "covered by rules" or met by settings', () => {
    const r = buildEvidenceReport(getPreset('hipaa'), { kubernetesVersion: '1.37' });
    expect(new Set(r.results.map((x) => x.status))).toEqual(new Set(['not-checked', 'settings']));
  });

  it('parseAuditLog counts what it cannot read', () => {
    expect(parseAuditLog('{"kind":"Event"}\n{"kind":"EventList"}\n{\n')).toEqual({ events: [{ kind: 'Event' }], unreadableLines: 2 });
  });

  it('HTML escapes what comes from the log', () => {
    const r = buildEvidenceReport(pci, { kubernetesVersion: '1.37', log: { source: '<x>', text: event({ auditID: '9', verb: 'get', requestURI: '/api/v1/namespaces/a/pods/<script>' }) } });
    const html = renderReportHtml(r);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});
