/**
 * `cdk8s-audit prove --kubeconfig` on the real kube-apiserver (no Docker): an app synthesized with the
 * pci-dss preset and the log backend, the apiserver started with dist/'s policy, prove given the log file.
 * Every requirement's requests are replayed (admin token, a real service-account token without grants,
 * anonymous) and judged from the log; a wrong policy (Secrets at RequestResponse) makes prove exit 1
 * naming the requirement and the auditID.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdk8s';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ClusterAudit, writeNodeFiles } from '../../src/gitops';
import { ApiClient, AuditAssertionError, assertAuditEvent, flagValue, parseAuditEvents, readSynthesizedAudit, waitForAuditEvents } from '../../src/testing';
import { cli } from '../support/cli';
import { logBackendArgs } from './support/audit-files';
import { ControlPlane, startControlPlane } from './support/control-plane';
import { makeTempDir, removeTempDir } from './support/processes';
import { KubernetesVersion } from '../../src/core/kubernetes-version';
import { Preset } from '../../src/presets/preset-names';

interface ProveJson {
  ok: boolean;
  checks: { kind: string; status: string; requirement?: string; auditId?: string; details: string[]; title: string }[];
  probes: { as: string; status: number; auditId?: string }[];
}

let running: ControlPlane | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await running?.stop();
  running = undefined;
  for (const d of dirs.splice(0)) removeTempDir(d);
});

/** An app dir with dist/ as `cdk8s synth` writes it (ClusterAudit with the presets, log backend only). */
function synthesizedApp(preset: string): string {
  const appDir = makeTempDir('prove-app');
  dirs.push(appDir);
  const app = new App({ outdir: join(appDir, 'dist') });
  new ClusterAudit(app, 'cluster-audit', { kubernetesVersion: KubernetesVersion.V1_37, presets: [preset as Preset] });
  app.synth();
  writeNodeFiles(app, { cwd: appDir });
  return appDir;
}

/** Starts the apiserver with dist/'s policy file and a local log; a kubeconfig for its admin token. */
async function startWith(appDir: string): Promise<{ kubeconfig: string; log: string }> {
  const audit = readSynthesizedAudit(appDir);
  const policyFile = join(appDir, audit.manifest.files.find((f) => f.nodePath === flagValue(audit.args, 'audit-policy-file'))!.file);
  const log = join(appDir, 'audit.log');
  running = await startControlPlane({ extraArgs: logBackendArgs(policyFile, log) });
  const certDir = running.args.find((a) => a.startsWith('--cert-dir='))!.slice('--cert-dir='.length);
  const kubeconfig = join(appDir, 'kubeconfig');
  writeFileSync(kubeconfig, stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'e2e',
    clusters: [{ name: 'e2e', cluster: { server: running.url, 'certificate-authority-data': readFileSync(join(certDir, 'apiserver.crt')).toString('base64') } }],
    users: [{ name: 'admin', user: { token: running.users.admin.token } }],
    contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: 'admin' } }],
  }));
  return { kubeconfig, log };
}

/** Each request was sent as the caller its probe names: the admin, a service account without grants (403), nobody. */
function expectCallersAsNamed(proof: ProveJson, log: string): void {
  const byId = new Map(readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((e) => [e.auditID, e]));
  const users = proof.probes.filter((p) => p.auditId && byId.has(p.auditId)).map((p) => `${p.as} ${byId.get(p.auditId!).user.username} ${p.status}`);
  expect(users.length).toBeGreaterThan(0);
  for (const u of users) expect(u).toMatch(/^(admin e2e-admin \d+|user system:serviceaccount:cdk8s-audit-prove-[0-9a-f]+:prove-user 403|anonymous system:anonymous (403|200))$/);
  expect(new Set(users.map((u) => u.split(' ')[0])).size).toBe(new Set(proof.probes.filter((p) => p.auditId && byId.has(p.auditId)).map((p) => p.as)).size);
}

describe('prove --kubeconfig on the real kube-apiserver', () => {
  // CIS: its requirements are about the policy and the log flags. (PCI DSS 10.3 needs the records protected
  // off the node — a verified sink store — so a log-only app rightly does not pass it; the kind suite proves that.)
  it('cis: exits 0: every requirement\'s example requests recorded at their level in the log, the canary absent, the sink reported as not observed', async () => {
    const appDir = synthesizedApp('cis');
    const { kubeconfig, log } = await startWith(appDir);
    const r = cli(['prove', '--kubeconfig', kubeconfig, '--audit-log', log, '--out', 'proof'], { cwd: appDir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const proof = JSON.parse(readFileSync(join(appDir, 'proof', 'prove.json'), 'utf8')) as ProveJson;
    const probes = proof.checks.filter((c) => c.kind === 'probe');
    expect(probes.length).toBeGreaterThan(8);
    expect(probes.filter((c) => c.status !== 'pass')).toEqual([]);
    for (const p of probes) expect(p.details).toHaveLength(1); // the node log only
    expect(proof.checks.find((c) => c.kind === 'canary')!.status).toBe('pass');
    // No webhook in this app: the sink is not observed, and prove says so instead of passing it.
    expect(proof.checks.find((c) => c.kind === 'sink-verify')!.status).toBe('not-observed');
    expect(r.stdout).toMatch(/^PROVEN: .*not observed: the sink store/m);
    // One progress line per step, with its time.
    expect(r.stdout).toMatch(/^\[ *\d+\.\ds\] replay every requirement's example requests: \d+ requests for \d+ requirements \(writes with dryRun=All\)$/m);
    expectCallersAsNamed(proof, log);
    // What prove made on a cluster it does not own is deleted again (no namespace controller here: Terminating).
    const list = await running!.client.request('GET', '/api/v1/namespaces');
    const mine = (list.body as { items: { metadata: { name: string }; status: { phase: string } }[] }).items.filter((n) => n.metadata.name.startsWith('cdk8s-audit-prove-'));
    expect(mine.map((n) => n.status.phase)).toEqual(['Terminating']);
  });

  it('pci-dss with a wrong policy (Secrets at RequestResponse) exits 1 naming the requirement and the auditID', async () => {
    const appDir = synthesizedApp('pci-dss');
    const audit = readSynthesizedAudit(appDir);
    const policyFile = join(appDir, audit.manifest.files.find((f) => f.nodePath === flagValue(audit.args, 'audit-policy-file'))!.file);
    const policy = parse(readFileSync(policyFile, 'utf8'));
    policy.rules.unshift({ level: 'RequestResponse', resources: [{ group: '', resources: ['secrets'] }] });
    writeFileSync(policyFile, stringify(policy));
    const { kubeconfig, log } = await startWith(appDir);
    const r = cli(['prove', '--kubeconfig', kubeconfig, '--audit-log', log, '--out', 'proof'], { cwd: appDir });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const proof = JSON.parse(readFileSync(join(appDir, 'proof', 'prove.json'), 'utf8')) as ProveJson;
    const failed = proof.checks.find((c) => c.kind === 'probe' && c.status === 'fail' && c.requirement === 'pci-dss 10.2.1.1')!;
    expect(failed.details.join()).toContain('expected at most Metadata, recorded RequestResponse');
    expect(r.stdout).toContain(`FAIL: pci-dss 10.2.1.1`);
    expect(r.stdout).toContain(`[auditID ${failed.auditId}]`);
    expect(r.stdout).toMatch(/^FAIL: canary Secret cdk8s-audit-prove-[0-9a-f]+\/prove-canary: its value is in no audit backend \[auditID [0-9a-f-]+\]: node audit log: FOUND ✗/m);
    expect(r.stdout).toMatch(/^NOT PROVEN/m);
    expectCallersAsNamed(proof, log);
  });

  it('cdk8s-audit/testing: a request as an impersonated user, waited for and asserted on; a wrong expectation names each difference', async () => {
    const appDir = synthesizedApp('cis');
    const { log } = await startWith(appDir);
    const certDir = running!.args.find((a) => a.startsWith('--cert-dir='))!.slice('--cert-dir='.length);
    const client = new ApiClient(running!.url, readFileSync(join(certDir, 'apiserver.crt'), 'utf8'));
    try {
      const res = await client.send({ kind: 'impersonate', by: { kind: 'token', token: running!.users.admin.token }, user: 'alice', groups: ['dev'] }, 'GET', '/api/v1/namespaces/default/secrets/db');
      expect(res.status).toBe(403); // alice has no grants
      const { events, missing } = await waitForAuditEvents(async () => parseAuditEvents(readFileSync(log, 'utf8'), log), [res.auditId!], { timeoutMs: 10_000 });
      expect(missing).toEqual([]);
      // The policy sees the authenticated user; the impersonated one is recorded beside it.
      assertAuditEvent(events, res.auditId!, {
        level: 'Metadata', stages: ['ResponseComplete'], user: 'e2e-admin', impersonatedUser: 'alice', verb: 'get',
        objectRef: { resource: 'secrets', namespace: 'default', name: 'db' }, responseCode: 403,
      });
      let error: unknown;
      try {
        assertAuditEvent(events, res.auditId!, { level: 'Request', user: 'alice', objectRef: { resource: 'configmaps' } });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AuditAssertionError);
      expect((error as AuditAssertionError).differences).toEqual([
        'level: expected Request, recorded Metadata',
        'ResponseComplete: user.username: expected alice, recorded e2e-admin',
        'ResponseComplete: objectRef.resource: expected "configmaps", recorded "secrets"',
      ]);
    } finally {
      client.close();
    }
  });
});
