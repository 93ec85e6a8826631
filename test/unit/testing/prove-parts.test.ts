import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Level } from '../../../src/policy/model';
import { PROBES } from '../../../src/presets/probes';
import { AuditEvent, durationMs, parseAuditEvents, probeUri, secretValuesOf, waitForAuditEvents } from '../../../src/testing';
import { runCli } from '../../support/cli';
import { tempDir } from '../support/temp-dir';

describe('prove parts', () => {
  it('writes on a cluster prove does not own carry dryRun=All; reads never', () => {
    expect(probeUri(PROBES.createNamespace(), true)).toBe('/api/v1/namespaces?dryRun=All');
    expect(probeUri(PROBES.exec('ns'), true)).toBe('/api/v1/namespaces/ns/pods/web-0/exec?command=sh&stdin=true&dryRun=All');
    expect(probeUri(PROBES.readSecret('ns'), true)).toBe('/api/v1/namespaces/ns/secrets/db-credentials');
    expect(probeUri(PROBES.createNamespace(), false)).toBe('/api/v1/namespaces');
  });

  it('Secret values in a probe body are canaries', () => {
    expect(secretValuesOf(PROBES.createSecret('ns'))).toEqual(['probe-secret-value']);
    expect(secretValuesOf(PROBES.updateConfigMap('ns'))).toEqual([]);
    expect(PROBES.createSecret('ns').maxLevel).toBe(Level.METADATA);
  });

  it.each([['5s', 5000], ['1m30s', 90_000], ['250ms', 250], ['', 0], [undefined, 0]])('duration %s = %d ms', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  it('parseAuditEvents names the source line that is not an event', () => {
    expect(() => parseAuditEvents('{"kind":"Event","apiVersion":"audit.k8s.io/v1"}\nnot json', 'node:/log')).toThrow(/^node:\/log:2 is not a JSON audit event/);
    expect(() => parseAuditEvents('{"kind":"Status"}', 'f')).toThrow('f:1 is not an audit.k8s.io/v1 Event');
  });

  it('waitForAuditEvents returns once every request completed, or at the deadline with what is missing', async () => {
    const ev = (id: string, stage: string) => ({ auditID: id, stage }) as AuditEvent;
    let reads = 0;
    const done = await waitForAuditEvents(async () => (++reads < 3 ? [ev('a', 'RequestReceived')] : [ev('a', 'ResponseComplete')]), ['a'], { intervalMs: 1 });
    expect(done.missing).toEqual([]);
    expect(reads).toBe(3);
    const late = await waitForAuditEvents(async () => [ev('a', 'ResponseComplete')], ['a', 'b'], { timeoutMs: 20, intervalMs: 5 });
    expect(late.missing).toEqual(['b']);
  });
});

describe('cdk8s-audit prove (command line)', () => {
  it.each([
    [[], 'give exactly one of --kind'],
    [['--kind', '--kubeconfig', 'k'], 'give exactly one of --kind'],
    [['--kubeconfig', 'k', '--keep'], '--keep applies only with --kind'],
    [['--kind', '--audit-log', 'f'], '--audit-log applies only with --kubeconfig'],
    [['--kubeconfig', 'k', '--audit-log', 'f', '--audit-log-command', 'c'], 'not both'],
    [['extra', '--kind'], 'no positional arguments'],
  ])('%j is a usage error (exit 2)', async (args, text) => {
    const r = await runCli(['prove', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(text);
  });

  it('--help exits 0 and says what is checked', async () => {
    const r = await runCli(['prove', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('a canary Secret');
  });

  it('without dist/ it exits 1 saying to synth first', async () => {
    const dir = tempDir('prove-nodist');
    writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\n');
    const r = await runCli(['prove', '--kubeconfig', 'kubeconfig'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(dir, 'dist', 'node', 'files.yaml')} is missing; run \`npm run synth\``);
  });

  it('a dist/ with its own policy and no --preset exits 1 asking for --preset', async () => {
    const dir = tempDir('prove-nopreset');
    mkdirSync(join(dir, 'dist', 'node', 'rootfs'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'node', 'files.yaml'), 'presets: []\nfiles:\n  - file: dist/node/rootfs/policy.yaml\n    nodePath: /etc/kubernetes/audit/policy.yaml\n');
    writeFileSync(join(dir, 'dist', 'node', 'apiserver-args.txt'), '--audit-policy-file=/etc/kubernetes/audit/policy.yaml\n');
    writeFileSync(join(dir, 'dist', 'node', 'rootfs', 'policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n');
    writeFileSync(join(dir, 'dist', 'node', 'kind-cluster.yaml'), 'kind: Cluster\nnodes: []\n');
    const r = await runCli(['prove', '--kubeconfig', 'kubeconfig'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('give the requirement table with --preset NAME');
  });
});
