/**
 * kind suite: the example app's synthesized output on a real kind cluster.
 *   cdk8s synth → webhook TLS files → kind create cluster --config dist/node/kind-cluster.yaml
 *   → the apiserver runs with the generated flags and mounts → a workload → every request in the
 *   node's audit log at the level evaluatePolicy predicts, no secret canary → cluster deleted.
 * Prerequisites come from `npm run test:kind` (scripts/kind-prepare.sh); a missing one fails with
 * the command that provides it.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluatePolicy } from '../../src/policy/evaluate';
import type { PolicyDocument } from '../../src/policy/model';
import { parsePolicy } from '../../src/policy/parse';
import { checkAllEvents, checkWorkloadSteps, formatDisagreements } from '../e2e/support/agreement';
import { AuditEvent, parseJsonAuditLines } from '../e2e/support/audit-events';
import { ApiClient } from './support/client';
import { KindCluster } from './support/cluster';
import { REPO, nodeImage, requireDocker, run } from './support/tools';
import { SinkManifests, SinkStore, buildAndLoadImage, deploySink, findSink, readSinkStore } from './support/sink';
import { KindWorkloadResult, runKindWorkload } from './support/workload';

const DIST = join(REPO, 'dist');
const NODE_DIR = join(DIST, 'node');
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

interface FilesManifest {
  files: { file: string; nodePath?: string }[];
  provisionSeparately?: { nodePath: string }[];
}

interface KindConfig {
  nodes: { role: string; extraMounts?: { hostPath: string; containerPath: string }[] }[];
}

/** `--name=value` lines of dist/node/apiserver-args.txt. */
function flagValue(args: readonly string[], name: string): string | undefined {
  const line = args.find((a) => a.startsWith(`--${name}=`));
  return line?.slice(name.length + 3);
}

let cluster: KindCluster | undefined;
let sinkNamespace: string | undefined;
let failed = false;
let args: string[] = [];
let policy: PolicyDocument;
let policyText = '';
let image = '';
let certDir = '';

describe('kind: the synthesized example app on a real cluster', () => {
  beforeAll(async () => {
    await requireDocker();
    image = nodeImage();
    cluster = new KindCluster(CLUSTER);

    // 1. cdk8s synth, as a user runs it.
    await timed('synth', () => run('npx', ['cdk8s', 'synth'], { timeoutMs: 300_000 }));
    args = readFileSync(join(NODE_DIR, 'apiserver-args.txt'), 'utf8').split('\n').filter(Boolean);
    const manifest = parse(readFileSync(join(NODE_DIR, 'files.yaml'), 'utf8')) as FilesManifest;
    const kindConfigFile = join(NODE_DIR, 'kind-cluster.yaml');
    const kindConfig = parse(readFileSync(kindConfigFile, 'utf8')) as KindConfig;
    const policyNodePath = flagValue(args, 'audit-policy-file');
    const policyEntry = manifest.files.find((f) => f.nodePath === policyNodePath);
    if (!policyEntry) throw new Error(`dist/node/files.yaml lists no file for --audit-policy-file=${policyNodePath}`);
    policyText = readFileSync(join(REPO, policyEntry.file), 'utf8');
    policy = parsePolicy(policyText);

    // 2. The files synth leaves to the operator (webhook CA and client certificate), from `cdk8s-audit certs`,
    //    copied into the host directories the kind config mounts.
    const separately = manifest.provisionSeparately ?? [];
    if (separately.length) {
      const kubeconfigPath = flagValue(args, 'audit-webhook-config-file');
      const kubeconfigEntry = manifest.files.find((f) => f.nodePath === kubeconfigPath);
      const server: string = parse(readFileSync(join(REPO, kubeconfigEntry!.file), 'utf8')).clusters[0].cluster.server;
      certDir = mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-certs-'));
      {
        await timed('certs', () => run('node', [join(REPO, 'lib/cli/main.js'), 'certs', '--out', certDir, '--sans', new URL(server).hostname]));
        const mounts = kindConfig.nodes[0].extraMounts ?? [];
        for (const item of separately) {
          const mount = mounts.find((m) => m.containerPath === dirname(item.nodePath));
          if (!mount) throw new Error(`no extraMount in ${kindConfigFile} for ${item.nodePath}`);
          const src = join(certDir, basename(item.nodePath));
          if (!existsSync(src)) throw new Error(`cdk8s-audit certs wrote no ${basename(item.nodePath)} (needed at ${item.nodePath})`);
          copyFileSync(src, join(REPO, mount.hostPath, basename(item.nodePath)));
        }
      }
    }

    // 3. The cluster, from the generated kind config.
    try {
      await timed('kind create cluster', () => cluster!.create({ name: CLUSTER, configFile: kindConfigFile, image }));
    } catch (error) {
      failed = true;
      throw error;
    }
  });

  afterAll(async () => {
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    if (!cluster) return;
    if (failed) console.error(await cluster.diagnostics(sinkNamespace));
    await timed('kind delete cluster', () => cluster!.delete());
    console.log(`kind suite timings (s): ${JSON.stringify(timings)}`);
  });

  const check = <T>(fn: () => Promise<T>) => async () => {
    try {
      return await fn();
    } catch (error) {
      failed = true;
      throw error;
    }
  };

  it('the node is Ready and the apiserver runs with the generated audit flags and directory mounts', check(async () => {
    const nodes = JSON.parse(await cluster!.kubectlRun(['get', 'nodes', '-o', 'json']));
    const ready = nodes.items[0].status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('True');

    const pod = JSON.parse(await cluster!.kubectlRun(['-n', 'kube-system', 'get', 'pod', `kube-apiserver-${cluster!.node}`, '-o', 'json']));
    const container = pod.spec.containers[0];
    for (const flag of args) expect(container.command).toContain(flag);
    // Every audit directory is a hostPath volume of type Directory/DirectoryOrCreate, mounted at the same path.
    const dirs = new Set(args.filter((a) => /^--audit-(policy-file|log-path|webhook-config-file)=/.test(a)).map((a) => dirname(a.split('=')[1])));
    for (const dir of dirs) {
      const volume = pod.spec.volumes.find((v: { hostPath?: { path: string } }) => v.hostPath?.path === dir);
      expect(volume, `a hostPath volume for ${dir}`).toBeDefined();
      expect(['Directory', 'DirectoryOrCreate']).toContain(volume.hostPath.type);
      expect(container.volumeMounts.find((m: { name: string }) => m.name === volume.name).mountPath).toBe(dir);
    }
    // The policy the apiserver loaded is the synthesized file, byte for byte.
    expect(await cluster!.readNodeFile(flagValue(args, 'audit-policy-file')!)).toBe(policyText);
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
      await new Promise((r) => setTimeout(r, 2000));
    } while (Date.now() < deadline);
    expect(notRunning).toEqual([]);
  }));

  let sink: SinkManifests;

  it('the sink from dist/*.k8s.yaml runs: image built and loaded, Secrets created, manifests applied, rollout complete', check(async () => {
    sink = findSink(DIST);
    sinkNamespace = sink.namespace;
    await timed('sink image build + kind load', () => buildAndLoadImage(cluster!, sink.image));
    if (sink.pullAlways.length) {
      console.warn(`the sink Deployment pulls ${sink.image} with imagePullPolicy Always (containers ${sink.pullAlways.join(', ')}): no registry serves it offline, so the suite applies it with IfNotPresent`);
    }
    await timed('sink deploy', () => deploySink(cluster!, sink, certDir));
    const svc = sink.docs.find((d) => d.kind === 'Service' && d.metadata.namespace === sink.namespace);
    const server = new URL(parse(readFileSync(join(REPO, kubeconfigFile()), 'utf8')).clusters[0].cluster.server);
    // The webhook kubeconfig the apiserver loaded points at the sink Service's fixed ClusterIP and port.
    expect(svc, `a Service in namespace ${sink.namespace}`).toBeDefined();
    expect(svc!.spec.clusterIP).toBe(server.hostname);
    expect(svc!.spec.ports.map((p: { port: number }) => String(p.port))).toContain(server.port);
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
    const logPath = flagValue(args, 'audit-log-path')!;
    events = parseJsonAuditLines(await cluster!.readNodeFile(logPath), `${cluster!.node}:${logPath}`);

    const steps = checkWorkloadSteps(policy, workload.steps, events);
    expect(steps, formatDisagreements(policy, steps)).toEqual([]);
    const all = checkAllEvents(policy, events);
    console.log(`node audit log: ${all.requests} requests, ${all.events} events, by level ${JSON.stringify(all.byLevel)}; pod available after ${workload.podReadySeconds}s`);
    expect(all.disagreements, formatDisagreements(policy, all.disagreements)).toEqual([]);
    // Requests from every part of a real cluster reached the log, not only the workload's.
    const users = new Set(events.map((e) => e.user?.username));
    for (const u of ['system:kube-scheduler', 'system:kube-controller-manager', `system:node:${cluster!.node}`]) expect(users).toContain(u);
  }));

  let store: SinkStore;

  it('the sink received the workload over mTLS at the predicted levels, and `sink verify` passes on its store', check(async () => {
    // The webhook backend batches (max wait from the generated flags); poll until every workload event arrived.
    const wanted = new Set(events.filter((e) => workload.steps.some((s) => s.auditId === e.auditID)).map((e) => `${e.auditID}/${e.stage}`));
    const deadline = Date.now() + 120_000;
    let missing: string[] = [];
    await timed('sink delivery', async () => {
      for (;;) {
        store = await readSinkStore(cluster!, sink);
        const have = new Set(store.events.map((e) => `${e.auditID}/${e.stage}`));
        missing = [...wanted].filter((k) => !have.has(k));
        if (!missing.length || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
    console.log(`sink: ${store.events.length} events verified (${store.verifySummary.split('\n')[0]})`);
    expect(missing, 'workload events in the node log but not in the sink').toEqual([]);
    const steps = checkWorkloadSteps(policy, workload.steps, store.events);
    expect(steps, formatDisagreements(policy, steps)).toEqual([]);
    // Both backends apply one policy: an event in both has the same level. Requests whose stages all reached the
    // sink (batches sent before the sink was up were dropped after the apiserver's retries) agree with evaluatePolicy.
    const stagesOf = (list: readonly AuditEvent[]) => {
      const m = new Map<string, string[]>();
      for (const e of list) m.set(e.auditID, [...(m.get(e.auditID) ?? []), `${e.stage}:${e.level}`].sort());
      return m;
    };
    const inLog = stagesOf(events);
    const inSink = stagesOf(store.events);
    const levelDiffs = store.events.filter((e) => events.some((l) => l.auditID === e.auditID && l.stage === e.stage && l.level !== e.level));
    expect(levelDiffs.map((e) => `${e.auditID} ${e.stage} ${e.level}`)).toEqual([]);
    const complete = store.events.filter((e) => inLog.get(e.auditID)?.join() === inSink.get(e.auditID)?.join());
    const all = checkAllEvents(policy, complete);
    console.log(`sink: ${all.requests} complete requests checked against evaluatePolicy, by level ${JSON.stringify(all.byLevel)}`);
    expect(all.disagreements, formatDisagreements(policy, all.disagreements)).toEqual([]);
    expect(all.requests).toBeGreaterThan(workload.steps.length / 2);
  }));

  it('the secret canary is in neither the node audit log nor the sink store; the configmap control is there exactly when its level records bodies', check(async () => {
    const logText = events.map((e) => JSON.stringify(e)).join('\n');
    const cmStep = workload.steps.find((s) => s.description === 'create configmap')!;
    const level = evaluatePolicy(policy, cmStep.expected).level;
    const bodies = level === 'Request' || level === 'RequestResponse';
    for (const [where, text] of [['node audit log', logText], ['sink store', store.raw]] as const) {
      expect(text.includes(workload.secretCanary), `secret canary in the ${where}`).toBe(false);
      expect(text.includes(workload.configMapCanary), `configmap control in the ${where} (create configmap at ${level})`).toBe(bodies);
    }
  }));
});

function kubeconfigFile(): string {
  const manifest = parse(readFileSync(join(NODE_DIR, 'files.yaml'), 'utf8')) as FilesManifest;
  const path = flagValue(args, 'audit-webhook-config-file');
  const entry = manifest.files.find((f) => f.nodePath === path);
  if (!entry) throw new Error(`dist/node/files.yaml lists no file for --audit-webhook-config-file=${path}`);
  return entry.file;
}

/** The pause image kubeadm uses: preloaded in every kind node image, so the workload's pod runs offline. */
async function pauseImage(c: KindCluster): Promise<string> {
  const version = (await c.readNodeFile('/kind/version')).trim();
  const list = await c.exec(['kubeadm', 'config', 'images', 'list', '--kubernetes-version', version]);
  const image = list.split('\n').find((l) => /\/pause:/.test(l));
  if (!image) throw new Error(`kubeadm names no pause image: ${list}`);
  return image.trim();
}
