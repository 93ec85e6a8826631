import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, parsePolicy, validatePolicy } from '../../../src';
import { runCli } from '../../support/cli';

describe('preset', () => {
  it('--list names every preset', async () => {
    const r = await runCli(['preset', '--list']);
    expect(r.code).toBe(0);
    for (const n of PRESET_NAMES) expect(r.stdout).toMatch(new RegExp(`^${n} `, 'm'));
  });
  it.each(PRESET_NAMES)('%s prints a policy the apiserver loads', async (name) => {
    const r = await runCli(['preset', name]);
    expect(r.code).toBe(0);
    expect(validatePolicy(r.stdout, { strict: true })).toEqual([]);
  });
  it('composes presets and customisations', async () => {
    const r = await runCli(['preset', 'pci-dss,hipaa', '--exclude-user', 'system:serviceaccount:ci:deployer', '--body-level', 'write-bodies', '--format', 'json']);
    expect(r.code).toBe(0);
    const p = parsePolicy(r.stdout);
    expect(p.metadata?.name).toBe('pci-dss+hipaa');
    expect(p.rules[0]).toEqual({ level: 'None', users: ['system:serviceaccount:ci:deployer'] });
  });
  it('prints the requirement table', async () => {
    const r = await runCli(['preset', 'cis', '--format', 'requirements']);
    expect(r.stdout).toContain('id: 1.2.17');
    expect(r.stdout).toContain('POST /api/v1/namespaces/default/pods/web-0/exec');
  });
  it('an unknown preset exits 1 listing the valid ones', async () => {
    const r = await runCli(['preset', 'pci']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`valid presets: ${PRESET_NAMES.join(', ')}`);
  });
  it('a conflicting customisation exits 1 naming the conflict', async () => {
    const r = await runCli(['preset', 'pci-dss', '--exclude-namespace', 'audit']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('10.2.1.3');
    expect(r.stderr).toContain('excluded namespaces: audit');
  });
  it('usage errors exit 2', async () => {
    expect((await runCli(['preset'])).code).toBe(2);
    expect((await runCli(['preset', 'cis', '--body-level', 'everything'])).code).toBe(2);
  });
});

// report: see test/unit/presets/report-cli.test.ts
