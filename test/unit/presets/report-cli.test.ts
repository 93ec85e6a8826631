import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterAudit, EVIDENCE_REPORT_SCHEMA, writeNodeFiles } from '../../../src';
import { signingKeyFromBytes } from '../../../src/sink-server/signing';
import { Store } from '../../../src/sink-server/store';
import { runCli } from '../../support/cli';
import { tempDir, testApp } from '../support/temp-dir';
import { auditEvent } from './audit-events';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';
import { Preset } from '../../../src/presets/preset-names';

const line = (o: object) => JSON.stringify(o) + '\n';
const secretRead = (level: string, id: string) => auditEvent({
  auditID: id, level, verb: 'get', requestURI: '/api/v1/namespaces/cde/secrets/db',
  objectRef: { resource: 'secrets', namespace: 'cde', name: 'db', apiVersion: 'v1' }, user: { username: 'alice', groups: ['dev'] },
});
const nsCreate = (id: string) => auditEvent({
  auditID: id, level: 'RequestResponse', verb: 'create', requestURI: '/api/v1/namespaces', objectRef: { resource: 'namespaces', name: 'team-a' },
});

/** Runs report with --format json to stdout and returns the parsed report. */
async function reportJson(args: string[], input?: string) {
  const r = await runCli(['report', '--format', 'json', '--out', '-', ...args], { input });
  return { ...r, json: r.stdout ? JSON.parse(r.stdout) : undefined };
}
const status = (j: { requirements: { id: string; status: string }[] }, id: string) => j.requirements.find((r) => r.id === id)!.status;

describe('report: inputs', () => {
  // Defect: a second --audit-log silently replaced the first.
  it('reads every --audit-log given', async () => {
    const dir = tempDir('report');
    writeFileSync(join(dir, 'a.log'), line(secretRead('Metadata', 'a1')));
    writeFileSync(join(dir, 'b.log'), line(nsCreate('b1')));
    const { json } = await reportJson(['--preset', 'pci-dss', '--audit-log', join(dir, 'a.log'), '--audit-log', join(dir, 'b.log')]);
    expect(json.schema).toBe(EVIDENCE_REPORT_SCHEMA);
    expect(json.inputs.map((i: { events: number }) => i.events)).toEqual([1, 1]);
    expect(status(json, '10.2.1.1')).toBe('evidenced');
    expect(status(json, '10.2.1.7')).toBe('evidenced');
  });

  // Defect: a rotation compressed by --audit-log-compress gave "0 requests, 2 lines skipped" and exit 0.
  it('reads a directory of rotated logs, .gz rotations included, and counts lines that are not events', async () => {
    const dir = join(tempDir('report'), 'audit');
    mkdirSync(dir);
    writeFileSync(join(dir, 'audit-2026-11-22T10-00-00.000.log.gz'), gzipSync(line(secretRead('Metadata', 'old')) + line(nsCreate('old2'))));
    writeFileSync(join(dir, 'audit.log'), line(secretRead('Metadata', 'new')) + 'not json\n' + line({ kind: 'Status' }));
    const { json, code } = await reportJson(['--preset', 'pci-dss', '--audit-log', dir]);
    expect(json.inputs[0]).toMatchObject({ source: dir, events: 3, otherLines: 2 });
    expect(status(json, '10.2.1.7')).toBe('evidenced'); // only in the .gz rotation
    expect(code).toBe(1); // e.g. 10.3 needs a verified sink store
  });

  it('reads standard input', async () => {
    const { json } = await reportJson(['--preset', 'pci-dss', '--audit-log', '-'], line(secretRead('RequestResponse', 'in1')));
    expect(json.inputs[0]).toMatchObject({ source: '(stdin)', events: 1 });
    expect(status(json, '10.2.1.1')).toBe('violated');
  });

  it('an input with no audit event at all is an error (exit 1), naming the flag and the fix', async () => {
    const dir = tempDir('report');
    writeFileSync(join(dir, 'empty.log'), 'garbage\n{"kind":"Status"}\n');
    const r = await runCli(['report', '--preset', 'cis', '--audit-log', join(dir, 'empty.log'), '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--audit-log ${join(dir, 'empty.log')}: no audit event in it (2 lines that are not audit.k8s.io/v1 Events)`);
    const missing = await runCli(['report', '--preset', 'cis', '--audit-log', '/nonexistent/audit.log']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--audit-log /nonexistent/audit.log: cannot be read (ENOENT)');
  });

  it('the sink store is verified first and its events cite chain positions; a tampered store is refused', async () => {
    const dir = join(tempDir('report'), 'store');
    const keyFile = join(dir, '..', 'key');
    const secret = randomBytes(32);
    writeFileSync(keyFile, secret);
    const key = signingKeyFromBytes(secret, keyFile);
    const store = await Store.open({ dir, key, minFreeBytes: 0 });
    const events = [secretRead('Metadata', 's1'), nsCreate('s2')];
    // As the webhook delivers them: EventList items, which carry no kind of their own.
    await store.append(events.map(({ kind: _k, ...item }) => ({ auditID: item.auditID!, stage: item.stage!, raw: Buffer.from(JSON.stringify(item)) })));
    await store.close();
    const { json } = await reportJson(['--preset', 'pci-dss', '--sink-store', dir, '--key', keyFile]);
    expect(json.inputs[0]).toMatchObject({ kind: 'sink-store', events: 2, verified: { records: 2, firstSeq: 1, lastSeq: 2 } });
    const r101 = json.requirements.find((r: { id: string }) => r.id === '10.2.1.1');
    expect(r101.evidence.examples[0].position).toEqual({ source: dir, seq: 1 });
    expect(status(json, '10.3')).toBe('met-by-settings');
    // change one byte of a stored event
    const seg = join(dir, 'segment-0000000000000001.jsonl');
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('team-a', 'team-b'));
    const bad = await runCli(['report', '--preset', 'pci-dss', '--sink-store', dir, '--key', keyFile, '--out', join(dir, '..')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`--sink-store ${dir}: does not verify, so nothing in it is evidence`);
  });

  it('usage errors exit 2', async () => {
    expect((await runCli(['report'])).code).toBe(2);
    expect((await runCli(['report', '--preset', 'cis', '--sink-store', '/tmp'])).code).toBe(2);
    expect((await runCli(['report', '--preset', 'cis', '--format', 'pdf'])).code).toBe(2);
    expect((await runCli(['report', '--preset', 'cis', '--format', 'md,html', '--out', '-'])).code).toBe(2);
  });
});

describe('report: the deployed policy and settings from dist/node/files.yaml', () => {
  it('judges the synthesized policy file and apiserver-args.txt', async () => {
    const a = testApp();
    new ClusterAudit(new Chart(a, 'c'), 'audit', { presets: [Preset.PCI_DSS], kubernetesVersion: KubernetesVersion.V1_35 });
    a.synth();
    writeNodeFiles(a, { cwd: a.outdir });
    const files = join(a.outdir, 'node', 'files.yaml');
    const { json, code } = await reportJson(['--preset', 'pci-dss', '--policy', files, '--kubernetes-version', '1.35']);
    expect(json.policy).toMatchObject({ judged: 'deployed', source: join(a.outdir, 'node', 'rootfs', 'etc/kubernetes/audit/policy.yaml') });
    expect(json.settings).toMatchObject({ judged: 'deployed', source: join(a.outdir, 'node', 'apiserver-args.txt') });
    expect(json.settings.apiserverFlags['audit-log-maxage']).toBe('90');
    // The node log alone (maxbackup 100) cannot guarantee 12 months, and no sink retention was given.
    expect(status(json, '10.5.1')).toBe('not-met-by-settings');
    expect(status(json, '10.2.1.1')).toBe('not-checked');
    expect(code).toBe(1);
    const withSink = await reportJson(['--preset', 'pci-dss', '--policy', files, '--sink-retention-days', '365']);
    expect(status(withSink.json, '10.5.1')).toBe('met-by-settings');
  });

  it('a policy file given directly is judged; without --policy the report says it judged the preset', async () => {
    const dir = tempDir('report');
    writeFileSync(join(dir, 'policy.yaml'), 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: RequestResponse\n');
    const r = await runCli(['report', '--preset', 'pci-dss', '--policy', join(dir, 'policy.yaml'), '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('✗ not met by the policy: pci-dss 10.2.1.1');
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toContain('rule #0 gives RequestResponse, needs exactly Metadata');
    const preset = await runCli(['report', '--preset', 'pci-dss', '--out', dir]);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain("Policy judged: **the preset's own policy**");
    expect(preset.code).toBe(0);
  });

  it('--allow-missing-evidence relaxes only missing evidence', async () => {
    const dir = tempDir('report');
    writeFileSync(join(dir, 'a.log'), line(auditEvent({ auditID: 'n', verb: 'list', requestURI: '/api/v1/nodes', objectRef: { resource: 'nodes' } })));
    const args = ['--preset', 'cis', '--audit-log', join(dir, 'a.log')];
    expect((await reportJson(args)).code).toBe(1);
    expect((await reportJson([...args, '--allow-missing-evidence'])).code).toBe(0);
    writeFileSync(join(dir, 'b.log'), line(secretRead('Request', 'b1')));
    expect((await reportJson(['--preset', 'cis', '--audit-log', join(dir, 'b.log'), '--allow-missing-evidence'])).code).toBe(1);
  });
});
