/**
 * kind suite: `cdk8s-audit static-pod apply` on a real node's /etc/kubernetes/manifests/kube-apiserver.yaml.
 *
 * A plain kind cluster (no audit) stands for an existing kubeadm cluster. Its manifest first gets earlier,
 * conflicting audit flags (an old log path and maxage) and the kubelet restarts the apiserver with them.
 * Then the verb runs twice with dist/node from a ClusterAudit app (writeNodeFiles, as `cdk8s synth` writes it):
 *   1st: reports what it replaced, writes the manifest (backup outside the manifests directory); the kubelet
 *        restarts the apiserver with exactly the generated flags; it serves and writes audit events for a
 *        request this test makes, at the level evaluatePolicy predicts.
 *   2nd: "no change", the manifest is byte for byte the same, and the apiserver is not restarted.
 * The verb edits the node's file from the host through the node container's /proc/PID/root (the node image
 * has no Node.js): `--root` points it there, as it would at a mounted disk.
 * Own cluster (cdk8s-audit-static-pod), deleted afterwards; run it alone: `npx vitest run --project kind test/kind/static-pod.test.ts`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Chart } from 'cdk8s';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesVersion } from '../../src/core/kubernetes-version';
import { ClusterAudit, writeNodeFiles } from '../../src/gitops';
import { Preset } from '../../src/presets/preset-names';
import { evaluatePolicy } from '../../src/policy/evaluate';
import { KindCluster, parseAuditEvents, requireDocker, run, sleep } from '../../src/testing';
import { runCli } from '../support/cli';
import { FailureRecorder, kindBinary, kubectlBinary, nodeImage } from './support/tools';

const CLUSTER = 'cdk8s-audit-static-pod';
const MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const timings: Record<string, number> = {};

let work = '';
let cluster: KindCluster | undefined;
let nodeRoot = '';
let audit: ClusterAudit;
const failures = new FailureRecorder();

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** The running kube-apiserver's process id and arguments, from the node's process table (the node image has no crictl). */
async function apiserverProcess(): Promise<{ pid: string; args: string[] } | undefined> {
  const out = await cluster!
    .exec(['sh', '-c', 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = kube-apiserver ] && echo "${p#/proc/}" && tr "\\0" "\\n" < $p/cmdline && echo "--end--"; done; true'])
    .catch(() => '');
  const [pid, ...args] = out.split('--end--\n')[0].trim().split('\n');
  return pid ? { pid, args } : undefined;
}

/** Waits until the kubelet runs an apiserver whose audit flags are exactly `flags`, and it is ready. */
async function waitForApiserver(flags: string[], timeoutMs = 240_000): Promise<number> {
  const start = Date.now();
  let last = '';
  while (Date.now() - start < timeoutMs) {
    const p = await apiserverProcess();
    const audit = p?.args.filter((a) => a.startsWith('--audit-')) ?? [];
    if (JSON.stringify(audit) === JSON.stringify(flags)) {
      const ready = await cluster!.kubectlRun(['get', '--raw', '/readyz'], { timeoutMs: 10_000 }).catch((e: Error) => e.message);
      if (ready.trim() === 'ok') return Math.round((Date.now() - start) / 100) / 10;
      last = `running with the flags, /readyz: ${ready.trim().split('\n').pop()}`;
    } else {
      last = `running audit flags: ${JSON.stringify(audit)}`;
    }
    await sleep(2_000);
  }
  throw new Error(`the kube-apiserver did not come back with ${JSON.stringify(flags)} within ${timeoutMs} ms (${last})`);
}

describe('kind: static-pod apply on the node\'s real kube-apiserver manifest, twice', () => {
  beforeAll(async () => {
    await requireDocker();
    work = mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-static-pod-'));
    cluster = new KindCluster(CLUSTER, { kind: kindBinary(), kubectl: kubectlBinary() });
    const config = join(work, 'kind.yaml');
    writeFileSync(config, 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n');
    const start = Date.now();
    await cluster.create({ configFile: config, image: nodeImage(), cwd: work });
    timings['kind create cluster'] = Math.round((Date.now() - start) / 1000);
    const pid = (await run('docker', ['inspect', '-f', '{{.State.Pid}}', cluster.node])).trim();
    nodeRoot = `/proc/${pid}/root`;
    if (!existsSync(join(nodeRoot, MANIFEST))) throw new Error(`cannot see the node's ${MANIFEST} at ${nodeRoot} (needs root on the Docker host)`);

    // dist/node as `cdk8s synth` of an AuditApp writes it: log backend, CIS preset.
    const app = new App({ outdir: join(work, 'dist') });
    audit = new ClusterAudit(new Chart(app, 'audit'), 'audit', { kubernetesVersion: KubernetesVersion.V1_37, presets: [Preset.CIS] });
    app.synth();
    writeNodeFiles(app, { cwd: work });
  });

  afterAll(async () => {
    if (cluster) {
      if (failures.failed) console.error(await cluster.diagnostics());
      await cluster.delete();
    }
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`static-pod kind timings (s): ${JSON.stringify(timings)}`);
  });

  const check = failures.check;

  it('earlier audit flags are replaced and reported; the apiserver comes back with the generated flags and writes audit events', check(async () => {
    // An existing cluster with earlier, conflicting audit settings.
    const original = readFileSync(join(nodeRoot, MANIFEST), 'utf8');
    const earlier = ['--audit-log-path=/var/log/old-audit.log', '--audit-log-maxage=7'];
    writeFileSync(join(nodeRoot, MANIFEST), original.replace(/^(\s*)- kube-apiserver\n/m, (m, sp: string) => m + earlier.map((f) => `${sp}- ${f}\n`).join('')));
    timings['restart with earlier flags'] = await waitForApiserver(earlier);

    // The node files go first: without the policy the apiserver would not start.
    for (const f of audit.nodeFiles().filter((n) => n.nodePath)) {
      await cluster!.exec(['mkdir', '-p', f.nodePath!.slice(0, f.nodePath!.lastIndexOf('/'))]);
      await cluster!.exec(['sh', '-c', `cat > ${f.nodePath}`], { input: readFileSync(join(work, 'dist', 'node', f.path)) });
    }
    const res = await runCli(['static-pod', 'apply', '--root', nodeRoot, '--from', join(work, 'dist', 'node')]);
    console.log(`static-pod apply (1st):\n${res.stdout}${res.stderr}`);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('replaced flag --audit-log-path: --audit-log-path=/var/log/old-audit.log -> --audit-log-path=/var/log/kubernetes/audit/audit.log');
    expect(res.stdout).toContain('replaced flag --audit-log-maxage: --audit-log-maxage=7 -> --audit-log-maxage=30');
    expect(res.stdout).toMatch(/^added flag --audit-policy-file: --audit-policy-file=\/etc\/kubernetes\/audit\/policy.yaml$/m);
    expect(res.stdout).toMatch(/^added volume audit-log: /m);
    // The backup is the earlier manifest, outside the manifests directory (the kubelet runs every file there).
    expect(readdirSync(join(nodeRoot, '/etc/kubernetes/manifests')).sort()).toEqual(['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']);
    const backups = readdirSync(join(nodeRoot, '/etc/kubernetes')).filter((f) => f.endsWith('.cdk8s-audit.bak'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(nodeRoot, '/etc/kubernetes', backups[0]), 'utf8')).toContain('--audit-log-path=/var/log/old-audit.log');

    timings['restart with generated flags'] = await waitForApiserver(audit.apiserver.commandLine());
    const args = (await apiserverProcess())!.args;
    for (const line of readFileSync(join(work, 'dist', 'node', 'apiserver-args.txt'), 'utf8').trim().split('\n')) expect(args).toContain(line);

    // It serves and audits: a request of this test's own is in the node's log at the predicted level.
    const name = `static-pod-proof-${Date.now()}`;
    await cluster!.kubectlRun(['create', 'namespace', name]);
    let events: ReturnType<typeof parseAuditEvents> = [];
    for (let i = 0; i < 30 && events.length === 0; i++) {
      const log = await cluster!.exec(['cat', '/var/log/kubernetes/audit/audit.log']).catch(() => '');
      events = parseAuditEvents(log, 'node audit log').filter((e) => e.verb === 'create' && e.objectRef?.resource === 'namespaces' && e.objectRef?.name === name);
      if (events.length === 0) await sleep(1_000);
    }
    expect(events.length, 'the namespace create is in /var/log/kubernetes/audit/audit.log').toBeGreaterThan(0);
    const e = events[0];
    const predicted = evaluatePolicy(audit.policy.toDocument(), {
      user: { name: e.user.username ?? '', groups: e.user.groups },
      verb: 'create',
      apiGroup: '',
      apiVersion: 'v1',
      resource: 'namespaces',
      name,
      resourceRequest: true,
      path: '/api/v1/namespaces',
    });
    expect(e.level).toBe(predicted.level);
  }));

  it('applied a second time: no change, the same manifest bytes, and the apiserver is not restarted', check(async () => {
    const before = readFileSync(join(nodeRoot, MANIFEST), 'utf8');
    const pid = (await apiserverProcess())?.pid;
    expect(pid).toBeDefined();
    const res = await runCli(['static-pod', 'apply', '--root', nodeRoot, '--from', join(work, 'dist', 'node'), '--format', 'json']);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ changed: false, changes: [] });
    expect(sha(readFileSync(join(nodeRoot, MANIFEST), 'utf8'))).toBe(sha(before));
    expect(readdirSync(join(nodeRoot, '/etc/kubernetes')).filter((f) => f.endsWith('.cdk8s-audit.bak'))).toHaveLength(1);
    await sleep(20_000); // the kubelet re-reads the manifests directory every 20 s
    expect((await apiserverProcess())?.pid, 'the same kube-apiserver process').toBe(pid);
    expect((await cluster!.kubectlRun(['get', '--raw', '/readyz'])).trim()).toBe('ok');
  }));
});
