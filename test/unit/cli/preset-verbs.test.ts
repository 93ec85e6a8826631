import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, parsePolicy, validatePolicy } from '../../../src';
import { cli } from '../../support/cli';

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

// report: see test/unit/presets/report-cli.test.ts
