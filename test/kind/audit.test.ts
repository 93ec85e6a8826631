/**
 * kind suite: the user journey from the packed tarball, on one real kind cluster.
 *   npm pack → cdk8s-audit init --package TARBALL → npm install → npm run synth → sink image
 *   → `cdk8s-audit prove --kind --keep` (creates the cluster from dist/, deploys the sink, replays every
 *     requirement's requests, judges both backends; exit 0)
 *   → on the cluster prove kept: the apiserver runs the generated flags and mounts, system pods run, a
 *     workload's every request (and every request in the log) is at the level evaluatePolicy predicts,
 *     the sink has them at the same levels and `sink verify` passes, no secret canary in either backend
 *   → the app given a wrong policy (Secrets at RequestResponse): `prove --kubeconfig` exits 1 naming the
 *     requirement and the auditID → cluster deleted.
 * Prerequisites come from `npm run test:kind` (scripts/kind-prepare.sh); a missing one fails with the
 * command that provides it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { evaluatePolicy } from '../../src/policy/evaluate';
import { KindCluster, KindConfig, canaryForms, SinkManifests, SinkStore, SynthesizedAudit, findSink, flagValue, parseAuditEvents, readSinkStore, readSynthesizedAudit, requireDocker, run, sleep, tryRun } from '../../src/testing';
import { checkAllEvents, checkWorkloadSteps, formatDisagreements } from '../e2e/support/agreement';
import type { AuditEvent } from '../e2e/support/audit-events';
import { ApiClient } from '../../src/testing';
import { FailureRecorder, REPO, kindBinary, kubectlBinary, nodeImage, toolEnv } from './support/tools';
import { KindWorkloadResult, runKindWorkload } from './support/workload';

const CLUSTER = 'cdk8s-audit-kind-test';
const timings: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round((Date.now() - start) / 100) / 10;
  }
}

interface ProveJson {
  ok: boolean;
  checks: { kind: string; title: string; status: string; details: string[]; requirement?: string; auditId?: string }[];
  steps: { step: string; seconds: number; note?: string }[];
  kept?: { name: string; node: string; kubeconfig: string; kindConfigFile: string };
}

let work = '';
let app = '';
let env: NodeJS.ProcessEnv = {};
let proveResult: { code: number; stdout: string; stderr: string };
let proof: ProveJson;
let cluster: KindCluster | undefined;
let audit: SynthesizedAudit;
let sink: SinkManifests | undefined;
const failures = new FailureRecorder();

/** The installed package's CLI in the scaffolded app, as `npx cdk8s-audit` runs it. */
const appCli = (args: string[], timeoutMs = 600_000) => tryRun(process.execPath, [join(app, 'node_modules', 'cdk8s-audit', 'lib', 'cli', 'main.js'), ...args], { cwd: app, env, timeoutMs });

/** The sink image the scaffold's AuditSink names: from the installed package when it can build one offline, else the repo's script. */
async function buildSinkImage(tag: string): Promise<string> {
  const help = await appCli(['sink', 'image', '--help'], 60_000);
  if (help.code === 0 && /--base/.test(help.stdout) && process.env.KIND_NODE_IMAGE !== 'official') {
    const base = (await run('bash', [join(REPO, 'scripts', 'kind-sink-image.sh'), '--node-base'], { cwd: REPO, timeoutMs: 900_000 }).catch(() => '')).trim().split('\n').pop();
    if (base) {
      const res = await appCli(['sink', 'image', '--tag', tag, '--base', base], 900_000);
      if (res.code !== 0) throw new Error(`cdk8s-audit sink image --tag ${tag} --base ${base} exited ${res.code}: ${res.stderr}`);
      return 'cdk8s-audit sink image (from the installed package)';
    }
  }
  await run('bash', [join(REPO, 'scripts', 'kind-sink-image.sh'), tag], { cwd: REPO, timeoutMs: 900_000 });
  return 'scripts/kind-sink-image.sh (the package has no offline `sink image --base`)';
}

describe('kind: init → install from the tarball → synth → prove --kind, on one cluster', () => {
  beforeAll(async () => {
    await requireDocker();
    env = toolEnv();
    const image = nodeImage();
    work = mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-journey-'));
    app = join(work, 'audit-app');

    // 1. The package as users get it.
    const packed = await timed('npm pack', () => run('npm', ['pack', '--silent', '--pack-destination', work], { cwd: REPO, timeoutMs: 300_000 }));
    const tarball = join(work, packed.trim().split('\n').pop()!);
    // 2. init (this checkout's CLI: the same code as the tarball's) → install from the tarball → synth.
    await timed('init', () => run(process.execPath, [join(REPO, 'lib', 'cli', 'main.js'), 'init', app, '--preset', 'pci-dss', '--package', tarball], { cwd: work, env }));
    await timed('npm install', () => run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app, env, timeoutMs: 900_000 }));
    await timed('npm run synth', () => run('npm', ['run', 'synth'], { cwd: app, env, timeoutMs: 300_000 }));
    audit = readSynthesizedAudit(app);
    sink = findSink(audit.distDir);
    if (!sink) throw new Error(`the scaffold's dist/ deploys no sink (no Deployment running \`sink serve\` in ${audit.distDir})`);
    const how = await timed('sink image', () => buildSinkImage(sink!.image));
    console.log(`sink image ${sink.image} built by ${how}`);

    // 3. prove --kind, kept for the checks below.
    proveResult = await timed('prove --kind', () => appCli(['prove', '--kind', '--keep', '--name', CLUSTER, '--image', image, '--out', 'audit-proof'], 1_800_000));
    console.log(`prove --kind (exit ${proveResult.code}):\n${proveResult.stdout}${proveResult.stderr}`);
    const proofFile = join(app, 'audit-proof', 'prove.json');
    if (!existsSync(proofFile)) {
      failures.fail();
      await tryRun(kindBinary(), ['delete', 'cluster', '--name', CLUSTER]);
      throw new Error(`prove --kind wrote no ${proofFile} (exit ${proveResult.code}):\n${proveResult.stdout}\n${proveResult.stderr}`);
    }
    proof = JSON.parse(readFileSync(proofFile, 'utf8')) as ProveJson;
    if (!proof.kept) throw new Error('prove --kind --keep did not say which cluster it kept');
    cluster = new KindCluster(proof.kept.name, { kind: kindBinary(), kubectl: kubectlBinary() }, proof.kept.kubeconfig);
  });

  afterAll(async () => {
    if (cluster) {
      if (failures.failed) console.error(await cluster.diagnostics(sink?.namespace));
      await timed('kind delete cluster', () => cluster!.delete());
    }
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`kind suite timings (s): ${JSON.stringify(timings)}`);
  });

  const check = failures.check;

  it('prove --kind exits 0: every requirement\'s requests at their level in the node log and the sink, no canary, all delivered, sink verified', check(async () => {
    expect(proveResult.code, proveResult.stdout + proveResult.stderr).toBe(0);
    expect(proof.ok).toBe(true);
    const probes = proof.checks.filter((c) => c.kind === 'probe');
    expect(probes.length).toBeGreaterThan(15);
    expect(probes.filter((c) => c.status !== 'pass')).toEqual([]);
    // Both backends were observed for every request (nothing passed by being unseen).
    for (const p of probes) expect(p.details.map((d) => d.split(':')[0])).toEqual(['node audit log', 'sink']);
    for (const kind of ['log', 'canary', 'sink-verify', 'sink-delivery']) expect(proof.checks.filter((c) => c.kind === kind).map((c) => c.status), kind).not.toContain('fail');
    expect(proof.checks.filter((c) => c.status === 'not-observed')).toEqual([]);
    // One progress line per step, with its time; the reports are written.
    for (const s of proof.steps) expect(proveResult.stdout).toContain(s.step);
    console.log(`prove --kind steps (s): ${proof.steps.map((s) => `${s.step} ${s.seconds}`).join('; ')}`);
    for (const f of ['prove.md', 'prove.html', 'prove.json', 'report.md', 'report.html', 'report.json']) expect(existsSync(join(app, 'audit-proof', f)), f).toBe(true);
    expect(readFileSync(join(app, 'audit-proof', 'prove.md'), 'utf8')).toContain('every observed fact holds');
  }));

  it('the apiserver runs with the generated audit flags and directory mounts; the node\'s policy is dist\'s byte for byte', check(async () => {
    const nodes = JSON.parse(await cluster!.kubectlRun(['get', 'nodes', '-o', 'json']));
    expect(nodes.items[0].status.conditions.find((c: { type: string }) => c.type === 'Ready').status).toBe('True');
    const pod = JSON.parse(await cluster!.kubectlRun(['-n', 'kube-system', 'get', 'pod', `kube-apiserver-${cluster!.node}`, '-o', 'json']));
    const container = pod.spec.containers[0];
    for (const flag of audit.args) expect(container.command).toContain(flag);
    const dirs = new Set(audit.args.filter((a) => /^--audit-(policy-file|log-path|webhook-config-file)=/.test(a)).map((a) => dirname(a.split('=')[1])));
    for (const dir of dirs) {
      const volume = pod.spec.volumes.find((v: { hostPath?: { path: string } }) => v.hostPath?.path === dir);
      expect(volume, `a hostPath volume for ${dir}`).toBeDefined();
      expect(['Directory', 'DirectoryOrCreate']).toContain(volume.hostPath.type);
      expect(container.volumeMounts.find((m: { name: string }) => m.name === volume.name).mountPath).toBe(dir);
    }
    expect(await cluster!.readNodeFile(flagValue(audit.args, 'audit-policy-file')!)).toBe(audit.policyText);
  }));

  it('system pods run: CNI, kube-proxy, CoreDNS, control plane', check(async () => {
    const deadline = Date.now() + 180_000;
    let notRunning: string[] = [];
    do {
      const pods = JSON.parse(await cluster!.kubectlRun(['-n', 'kube-system', 'get', 'pods', '-o', 'json']));
      notRunning = pods.items
        .filter((p: any) => p.status.phase !== 'Running' || !(p.status.containerStatuses ?? []).every((c: any) => c.ready))
        .map((p: any) => `${p.metadata.name} ${p.status.phase}`);
      if (!notRunning.length && pods.items.length >= 6) break;
      await sleep(2000);
    } while (Date.now() < deadline);
    expect(notRunning).toEqual([]);
  }));

  it('the sink from dist/*.k8s.yaml runs behind the fixed ClusterIP and port the webhook kubeconfig names', check(async () => {
    if (sink!.pullAlways.length) console.warn(`the sink Deployment pulls ${sink!.image} with imagePullPolicy Always (containers ${sink!.pullAlways.join(', ')}): no registry serves it offline, so it is applied with IfNotPresent`);
    const deployment = JSON.parse(await cluster!.kubectlRun(['-n', sink!.namespace, 'get', 'deployment', sink!.deployment, '-o', 'json']));
    expect(deployment.status.availableReplicas).toBeGreaterThanOrEqual(1);
    const svc = sink!.docs.find((d) => d.kind === 'Service' && d.metadata.namespace === sink!.namespace);
    expect(svc, `a Service in namespace ${sink!.namespace}`).toBeDefined();
    const live = JSON.parse(await cluster!.kubectlRun(['-n', sink!.namespace, 'get', 'service', svc!.metadata.name, '-o', 'json']));
    expect(live.spec.clusterIP).toBe(audit.webhookServer!.hostname);
    expect(live.spec.ports.map((p: { port: number }) => String(p.port))).toContain(audit.webhookServer!.port);
  }));

  let workload: KindWorkloadResult;
  let events: AuditEvent[] = [];

  it('every request in the node audit log is at the level evaluatePolicy predicts, workload included', check(async () => {
    const creds = cluster!.credentials();
    const client = new ApiClient(creds.server, creds.caPem);
    const podImage = await pauseImage(cluster!);
    try {
      workload = await timed('workload', () => runKindWorkload(client, creds, podImage));
    } finally {
      client.close();
    }
    const logPath = flagValue(audit.args, 'audit-log-path')!;
    events = parseAuditEvents(await cluster!.readNodeFile(logPath), `${cluster!.node}:${logPath}`) as AuditEvent[];
    const steps = checkWorkloadSteps(audit.policy, workload.steps, events);
    expect(steps, formatDisagreements(audit.policy, steps)).toEqual([]);
    const all = checkAllEvents(audit.policy, events);
    console.log(`node audit log: ${all.requests} requests, ${all.events} events, by level ${JSON.stringify(all.byLevel)}; pod available after ${workload.podReadySeconds}s`);
    expect(all.disagreements, formatDisagreements(audit.policy, all.disagreements)).toEqual([]);
    const users = new Set(events.map((e) => e.user?.username));
    for (const u of ['system:kube-scheduler', 'system:kube-controller-manager', `system:node:${cluster!.node}`]) expect(users).toContain(u);
  }));

  let store: SinkStore;

  it('the sink received the workload over mTLS at the predicted levels, and `sink verify` passes on its store', check(async () => {
    const wanted = new Set(events.filter((e) => workload.steps.some((s) => s.auditId === e.auditID)).map((e) => `${e.auditID}/${e.stage}`));
    const deadline = Date.now() + 120_000;
    let missing: string[] = [];
    await timed('sink delivery', async () => {
      for (;;) {
        store = await readSinkStore(cluster!, sink!);
        const have = new Set(store.events.map((e) => `${e.auditID}/${e.stage}`));
        missing = [...wanted].filter((k) => !have.has(k));
        if (!missing.length || store.verifyCode !== 0 || Date.now() > deadline) break;
        await sleep(2000);
      }
    });
    expect(store.verifyCode, store.verifySummary).toBe(0);
    console.log(`sink: ${store.events.length} events verified (${store.verifySummary.split('\n')[0]})`);
    expect(missing, 'workload events in the node log but not in the sink').toEqual([]);
    const sinkEvents = store.events as AuditEvent[];
    const steps = checkWorkloadSteps(audit.policy, workload.steps, sinkEvents);
    expect(steps, formatDisagreements(audit.policy, steps)).toEqual([]);
    const stagesOf = (list: readonly AuditEvent[]) => {
      const m = new Map<string, string[]>();
      for (const e of list) m.set(e.auditID, [...(m.get(e.auditID) ?? []), `${e.stage}:${e.level}`].sort());
      return m;
    };
    const inLog = stagesOf(events);
    const inSink = stagesOf(sinkEvents);
    const levelDiffs = sinkEvents.filter((e) => events.some((l) => l.auditID === e.auditID && l.stage === e.stage && l.level !== e.level));
    expect(levelDiffs.map((e) => `${e.auditID} ${e.stage} ${e.level}`)).toEqual([]);
    // Requests whose stages all reached the sink (batches sent before the sink was up were dropped after the apiserver's retries).
    const complete = sinkEvents.filter((e) => inLog.get(e.auditID)?.join() === inSink.get(e.auditID)?.join());
    const all = checkAllEvents(audit.policy, complete);
    expect(all.disagreements, formatDisagreements(audit.policy, all.disagreements)).toEqual([]);
    expect(all.requests).toBeGreaterThan(workload.steps.length / 2);
  }));

  it('the secret canary is in neither the node audit log nor the sink store; the configmap control is there exactly when its level records bodies', check(async () => {
    const logText = events.map((e) => JSON.stringify(e)).join('\n');
    const cmStep = workload.steps.find((s) => s.description === 'create configmap')!;
    const level = evaluatePolicy(audit.policy, cmStep.expected).level;
    const bodies = level === 'Request' || level === 'RequestResponse';
    for (const [where, text] of [['node audit log', logText], ['sink store', store.raw]] as const) {
      // The Secret's stringData comes back base64 in data: both forms are searched.
      expect(canaryForms(workload.secretCanary).filter((f) => text.includes(f)), `secret canary in the ${where}`).toEqual([]);
      expect(text.includes(workload.configMapCanary), `configmap control in the ${where} (create configmap at ${level})`).toBe(bodies);
    }
  }));

  it('given a wrong policy (Secrets at RequestResponse), prove exits 1 naming the requirement and the auditID', check(async () => {
    // The app's policy, edited by hand: a first rule records Secrets with bodies (synth refuses this from presets).
    const policyNodePath = flagValue(audit.args, 'audit-policy-file')!;
    const policyFile = join(app, audit.manifest.files.find((f) => f.nodePath === policyNodePath)!.file);
    const policy = parse(readFileSync(policyFile, 'utf8'));
    policy.rules.unshift({ level: 'RequestResponse', resources: [{ group: '', resources: ['secrets'] }] });
    const wrong = stringify(policy);
    writeFileSync(policyFile, wrong);
    // The kept cluster gets it the way a node does: the file in its mounted directory, then an apiserver restart.
    const kindConfig = parse(readFileSync(proof.kept!.kindConfigFile, 'utf8')) as KindConfig;
    const mount = kindConfig.nodes[0].extraMounts!.find((m) => m.containerPath === dirname(policyNodePath))!;
    writeFileSync(join(mount.hostPath, policyNodePath.slice(dirname(policyNodePath).length + 1)), wrong);
    await timed('apiserver restart with the wrong policy', () => restartApiserver(cluster!));
    expect(await cluster!.readNodeFile(policyNodePath)).toBe(wrong);

    const logPath = flagValue(audit.args, 'audit-log-path')!;
    const res = await timed('prove --kubeconfig (wrong policy)', () => appCli(['prove', '--kubeconfig', cluster!.kubeconfig, '--audit-log-command', `docker exec ${cluster!.node} cat ${logPath}`, '--out', 'audit-proof-wrong'], 900_000));
    console.log(`prove --kubeconfig with the wrong policy (exit ${res.code}):\n${res.stdout}${res.stderr}`);
    expect(res.code).toBe(1);
    const failing = JSON.parse(readFileSync(join(app, 'audit-proof-wrong', 'prove.json'), 'utf8')) as ProveJson;
    const secretRead = failing.checks.find((c) => c.kind === 'probe' && c.status === 'fail' && c.requirement === 'pci-dss 10.2.1.1');
    expect(secretRead, JSON.stringify(failing.checks.filter((c) => c.status !== 'pass'), null, 2)).toBeDefined();
    expect(secretRead!.details.join()).toContain('recorded RequestResponse');
    expect(res.stdout).toMatch(new RegExp(`FAIL: pci-dss 10\\.2\\.1\\.1: .*\\[auditID ${secretRead!.auditId}\\]`));
    // The canary Secret is now in both backends, and prove says so.
    expect(failing.checks.find((c) => c.kind === 'canary' && c.title.startsWith('canary Secret'))!.status).toBe('fail');
  }));
});

/**
 * Restarts the kube-apiserver static pod so it reads the policy file anew: its manifest moved out of
 * /etc/kubernetes/manifests (the kubelet stops the pod), then back (the kubelet starts it again).
 */
async function restartApiserver(c: KindCluster): Promise<void> {
  const readyz = () => tryRun(c.kubectl, ['--kubeconfig', c.kubeconfig, 'get', '--raw', '/readyz', '--request-timeout=5s'], { timeoutMs: 15_000 });
  const wait = async (what: string, done: (code: number) => boolean) => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const res = await readyz();
      if (done(res.code)) return;
      if (Date.now() > deadline) throw new Error(`kube-apiserver: ${what} within 180 s (last /readyz: exit ${res.code} ${res.stderr.trim()})`);
      await sleep(1000);
    }
  };
  await c.exec(['mv', '/etc/kubernetes/manifests/kube-apiserver.yaml', '/etc/kubernetes/kube-apiserver.yaml.restarting']);
  await wait('not stopped', (code) => code !== 0);
  await c.exec(['mv', '/etc/kubernetes/kube-apiserver.yaml.restarting', '/etc/kubernetes/manifests/kube-apiserver.yaml']);
  await wait('not ready again', (code) => code === 0);
}

/** The pause image kubeadm uses: preloaded in every kind node image, so the workload's pod runs offline. */
async function pauseImage(c: KindCluster): Promise<string> {
  const version = (await c.readNodeFile('/kind/version')).trim();
  const list = await c.exec(['kubeadm', 'config', 'images', 'list', '--kubernetes-version', version]);
  const image = list.split('\n').find((l) => /\/pause:/.test(l));
  if (!image) throw new Error(`kubeadm names no pause image: ${list}`);
  return image.trim();
}
