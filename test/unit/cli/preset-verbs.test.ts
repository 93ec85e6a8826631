import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, parsePolicy, validatePolicy } from '../../../src';
import { cli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

describe('preset', () => {
  it('--list names every preset', () => {
    const r = cli(['preset', '--list']);
    expect(r.code).toBe(0);
    for (const n of PRESET_NAMES) expect(r.stdout).toMatch(new RegExp(`^${n} `, 'm'));
  });
  it.each(PRESET_NAMES)('%s prints a policy the apiserver loads', (name) => {
    const r = cli(['preset', name]);
    expect(r.code).toBe(0);
    expect(validatePolicy(r.stdout, { strict: true })).toEqual([]);
  });
  it('composes presets and customisations', () => {
    const r = cli(['preset', 'pci-dss,hipaa', '--exclude-user', 'system:serviceaccount:ci:deployer', '--body-level', 'write-bodies', '--format', 'json']);
    expect(r.code).toBe(0);
    const p = parsePolicy(r.stdout);
    expect(p.metadata?.name).toBe('pci-dss+hipaa');
    expect(p.rules[0]).toEqual({ level: 'None', users: ['system:serviceaccount:ci:deployer'] });
  });
  it('prints the requirement table', () => {
    const r = cli(['preset', 'cis', '--format', 'requirements']);
    expect(r.stdout).toContain('id: 1.2.17');
    expect(r.stdout).toContain('POST /api/v1/namespaces/default/pods/web-0/exec');
  });
  it('an unknown preset exits 1 listing the valid ones', () => {
    const r = cli(['preset', 'pci']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`valid presets: ${PRESET_NAMES.join(', ')}`);
  });
  it('a conflicting customisation exits 1 naming the conflict', () => {
    const r = cli(['preset', 'pci-dss', '--exclude-namespace', 'audit']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('10.2.1.3');
    expect(r.stderr).toContain('excluded namespaces: audit');
  });
  it('usage errors exit 2', () => {
    expect(cli(['preset']).code).toBe(2);
    expect(cli(['preset', 'cis', '--body-level', 'everything']).code).toBe(2);
  });
});

describe('report', () => {
  it('writes Markdown and HTML, and uses a real-shaped audit log', () => {
    const dir = tempDir('report');
    const log = join(dir, 'audit.log');
    writeFileSync(log, JSON.stringify({ kind: 'Event', auditID: 'x', level: 'Metadata', verb: 'get', requestURI: '/api/v1/namespaces/kube-system/secrets/admin-token', user: { username: 'alice' }, responseStatus: { code: 403 } }) + '\n');
    const r = cli(['report', '--preset', 'pci-dss', '--audit-log', log, '--out', join(dir, 'out')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no evidence: pci-dss 10.2.1.7');
    expect(existsSync(join(dir, 'out', 'report.html'))).toBe(true);
    expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toContain('Audit log: `' + log);
  });
  it('needs --preset (exit 2) and a readable log (exit 1)', () => {
    expect(cli(['report']).code).toBe(2);
    const r = cli(['report', '--preset', 'cis', '--audit-log', '/nonexistent/audit.log']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read /nonexistent/audit.log');
  });
});
