/**
 * The example app end to end on the real kube-apiserver: `main.ts` is synthesised, its node files are
 * laid out as on a control-plane node (under a temporary root), certificates are provisioned as
 * files.yaml asks, and the apiserver starts with exactly the generated apiserver-args.txt. The only
 * change is the webhook server URL: the sink's ClusterIP becomes 127.0.0.1 (tests never send traffic
 * anywhere else). Then every logged event agrees with evaluatePolicy, the sink receives the same
 * events over mTLS, `sink verify` passes, and the secret canary is in neither.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createWebhookTlsBundle, parsePolicy, validatePolicy } from '../../src';
import { ROOT } from '../support/cli';
import { checkAllEvents, formatDisagreements } from './support/agreement';
import { brief, droppedEventsFromStderr, readJsonAuditLog } from './support/audit-events';
import { kubernetesVersions } from './support/binaries';
import { startControlPlane } from './support/control-plane';
import { freePort, makeTempDir, removeTempDir, stopProcess } from './support/processes';
import { SINK_CLIENT_NAME, startSinkProcess, verifySinkStore, writeSinkFiles } from './support/sink-process';
import { runWorkload } from './support/workload';

/** Synthesises main.ts the way `cdk8s synth` runs it, into `outdir`. */
function synthExampleApp(outdir: string): void {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'main.ts'], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: outdir }, timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`synth of main.ts failed (exit ${r.status}):\n${r.stderr}`);
}

describe.each(kubernetesVersions())('the example app on kube-apiserver %s', (version) => {
  it('loads the generated flags, files and certificates; log and sink agree with the policy', async () => {
    const dir = makeTempDir('example-app');
    try {
      const dist = join(dir, 'dist');
      synthExampleApp(dist);
      const files = parse(readFileSync(join(dist, 'node', 'files.yaml'), 'utf8'));
      // The node: the generated rootfs under a temporary root.
      const nodeRoot = join(dir, 'node-root');
      cpSync(join(dist, 'node', 'rootfs'), nodeRoot, { recursive: true });
      const onNode = (p: string) => join(nodeRoot, p);
      // Provision what files.yaml says to provision separately, as an operator would.
      const tls = await createWebhookTlsBundle({ sans: ['127.0.0.1'], clientUser: SINK_CLIENT_NAME });
      const provision: Record<string, string> = { 'ca.crt': tls.ca.certPem, 'apiserver-client.crt': tls.apiserverClient.certPem, 'apiserver-client.key': tls.apiserverClient.keyPem };
      for (const f of files.provisionSeparately as { nodePath: string }[]) {
        const name = f.nodePath.split('/').pop()!;
        expect(provision[name], `files.yaml asks for ${f.nodePath}, which this test does not know how to provision`).toBeDefined();
        writeFileSync(onNode(f.nodePath), provision[name], { mode: 0o600 });
      }
      // The sink on loopback instead of its ClusterIP.
      const sinkDir = join(dir, 'sink');
      writeSinkFiles(sinkDir, tls);
      const port = await freePort();
      const sink = await startSinkProcess(sinkDir, port);
      const kubeconfigPath = onNode('/etc/kubernetes/audit-webhook/kubeconfig.yaml');
      const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
      expect(kubeconfig).toContain('server: https://10.96.0.50:8443/audit');
      writeFileSync(kubeconfigPath, kubeconfig.replace('https://10.96.0.50:8443/audit', `https://127.0.0.1:${port}/audit`));

      const generated = readFileSync(join(dist, 'node', 'apiserver-args.txt'), 'utf8').trim().split('\n');
      const args = generated.map((a) => a.replace(/^(--[a-z-]+=)(\/.*)$/, (_m, flag: string, path: string) => `${flag}${onNode(path)}`));
      const policy = parsePolicy(readFileSync(onNode('/etc/kubernetes/audit/policy.yaml'), 'utf8'));
      expect(validatePolicy(policy, { kubernetesVersion: version, strict: true })).toEqual([]);

      const cp = await startControlPlane({ version, extraArgs: args });
      let stderr = '';
      let workload;
      try {
        workload = await runWorkload(cp);
      } finally {
        await cp.stop();
        stderr = cp.apiserver.stderr();
        await stopProcess(sink.proc, 30_000, 'SIGTERM');
      }
      const logPath = onNode('/var/log/kubernetes/audit/audit.log');
      expect(existsSync(logPath), `no audit log at ${logPath}; apiserver args: ${args.join(' ')}`).toBe(true);
      const log = readJsonAuditLog(logPath);
      const report = checkAllEvents(policy, log);
      expect(report.disagreements, formatDisagreements(policy, report.disagreements)).toEqual([]);

      const verified = verifySinkStore(sink);
      expect(verified.status, verified.stderr).toBe(0);
      const key = (e: { auditID: string; stage: string }) => `${e.auditID} ${e.stage}`;
      const inSink = new Set(verified.events.map(key));
      const dropped = new Set(droppedEventsFromStderr(stderr).filter((d) => d.reason === 'audit backend shut down').map((d) => `${d.auditID} ${d.stage}`));
      const missing = log.filter((e) => !inSink.has(key(e)) && !dropped.has(key(e)));
      expect(missing.map(brief).slice(0, 10), `${missing.length} logged events never reached the sink`).toEqual([]);
      expect(verified.events.length).toBeGreaterThan(50);

      const everything = readFileSync(logPath, 'utf8') + JSON.stringify(verified.events);
      expect(everything.includes(workload!.secretCanary)).toBe(false);
    } finally {
      removeTempDir(dir);
    }
  });
});
