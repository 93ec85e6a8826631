/**
 * `prove`: replay every requirement's example requests on a cluster, read back what the node's audit
 * log and the sink recorded, and judge it (judge.ts). Built from the same parts users get from
 * `cdk8s-audit/testing`: a kind cluster from dist/, requests as a given identity, waiting for events.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { renderGoYamlDocuments } from '../core/go-yaml';
import { parseGoDuration } from '../core/go-values';
import { getPreset } from '../presets';
import type { ComposedPreset } from '../presets/compose';
import { ProbeCaller, RequirementProbe } from '../presets/types';
import { ApiClient, Identity } from './client';
import { SynthesizedAudit, flagValue, readSynthesizedAudit } from './dist';
import { AuditEvent, parseAuditEvents } from '../evidence/events';
import { waitForAuditEvents } from './wait';
import { run, sleep } from './exec';
import { KindToolOptions, KubeconfigAccess, accessFromKubeconfig, kindBinary, kubectlBinary } from './kind';
import { KindFromDist, createKindClusterFromDist } from './kind-from-dist';
import { Observed, ProveVerdict, SentProbe, judgeProve } from '../evidence/prove-judge';
import { SinkManifests, SinkStore, deploySink, findSink, loadLocalImage, readManifests, readSinkStore } from './sink';
import { KubernetesVersion } from '../core/kubernetes-version';

export type ProveTarget =
  | { readonly kind: true; readonly name?: string; readonly image?: string; readonly keep?: boolean }
  | { readonly kind?: false; readonly kubeconfig: string; readonly auditLog?: string; readonly auditLogCommand?: string };

export interface ProveOptions {
  readonly appDir: string;
  /** @default `<appDir>/dist` */
  readonly distDir?: string;
  /** @default the presets dist/node/files.yaml names */
  readonly presets?: readonly string[];
  readonly target: ProveTarget;
  readonly tools?: KindToolOptions;
  /** How to build the sink image when Docker lacks it (printed in the error). */
  readonly sinkImageHint?: string;
  /** One line per finished step. */
  readonly progress?: (line: string) => void;
  /** How long to wait for events in each backend. @default 60 s for the log, the webhook's batch max wait + 120 s for the sink */
  readonly logWaitMs?: number;
  readonly sinkWaitMs?: number;
}

export interface ProveStep {
  readonly step: string;
  readonly seconds: number;
  readonly note?: string;
}

export interface ProveRun {
  readonly verdict: ProveVerdict;
  readonly composed: ComposedPreset;
  readonly audit: SynthesizedAudit;
  readonly probes: SentProbe[];
  readonly steps: ProveStep[];
  readonly cluster: string;
  /** The node audit log as read (for `report`-style evidence), when observed. */
  readonly nodeLogText?: string;
  readonly nodeLogSource?: string;
  /** The sink's store as read and verified, when observed. */
  readonly sinkStore?: SinkStore;
  /** Set when --keep left the cluster running. */
  readonly kept?: { readonly name: string; readonly node: string; readonly kubeconfig: string; readonly kindConfigFile: string };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Go duration like `5s`, `1m30s`, `250ms` in milliseconds (0 when absent or unreadable). */
export function durationMs(text: string | undefined): number {
  const ns = text ? parseGoDuration(text) : undefined;
  return ns === undefined ? 0 : ns / 1e6;
}

/** The URI a probe is sent to: writes on a cluster prove does not own carry dryRun=All, so nothing changes. */
export function probeUri(probe: RequirementProbe, dryRun: boolean): string {
  if (!dryRun || !WRITE_METHODS.has(probe.method)) return probe.path;
  return `${probe.path}${probe.path.includes('?') ? '&' : '?'}dryRun=All`;
}

/** Values in a probe's Secret body that no backend may record. */
export function secretValuesOf(probe: RequirementProbe): string[] {
  const body = probe.body as { kind?: string; stringData?: Record<string, string> } | undefined;
  return body?.kind === 'Secret' ? Object.values(body.stringData ?? {}) : [];
}

export async function prove(options: ProveOptions): Promise<ProveRun> {
  const steps: ProveStep[] = [];
  const say = options.progress ?? (() => undefined);
  async function step<T>(name: string, fn: () => Promise<T>, note?: (v: T) => string): Promise<T> {
    const start = Date.now();
    const value = await fn();
    const seconds = Math.round((Date.now() - start) / 100) / 10;
    const n = note?.(value);
    steps.push({ step: name, seconds, ...(n ? { note: n } : {}) });
    say(`[${seconds.toFixed(1).padStart(6)}s] ${name}${n ? `: ${n}` : ''}`);
    return value;
  }

  const audit = await step('read dist/', async () => readSynthesizedAudit(options.appDir, options.distDir), (a) => `presets ${a.manifest.presets?.join(', ') || '(none)'}, Kubernetes ${a.manifest.kubernetesVersion ?? '?'}`);
  const presetNames = options.presets?.length ? [...options.presets] : audit.manifest.presets ?? [];
  if (!presetNames.length) throw new Error('dist/node/files.yaml names no preset (the ClusterAudit was given its own policy); give the requirement table with --preset NAME');
  // the options the ClusterAudit composed with (gdpr with a longer minimum refuses to compose without them)
  const manifestVersion = audit.manifest.kubernetesVersion;
  const composed = getPreset(presetNames, { ...audit.manifest.presetOptions, kubernetesVersion: manifestVersion === undefined ? undefined : KubernetesVersion.of(manifestVersion) });
  const sink = findSink(audit.distDir);
  const target = options.target;

  let kind: KindFromDist | undefined;
  let kubectl: { kubectl: string; kubeconfig: string };
  let creds: KubeconfigAccess;
  let clusterName: string;
  let ownsCluster = false;
  let keepIt = false;
  let stopCleanupOnSignal = () => undefined as void;
  try {
    if (target.kind) {
      ownsCluster = true;
      keepIt = !!target.keep;
      if (!keepIt) {
        const name = target.name ?? (typeof audit.kindConfig.name === 'string' ? audit.kindConfig.name : 'cdk8s-audit');
        stopCleanupOnSignal = deleteClusterOnSignal(kindBinary(options.tools?.kind), name, say);
      }
      kind = await step('kind create cluster (dist/node/kind-cluster.yaml, fresh webhook certificates)', () =>
        createKindClusterFromDist({ appDir: options.appDir, distDir: options.distDir, name: target.name, image: target.image, ...options.tools }), (k) => k.cluster.name);
      const k = kind;
      kubectl = k.cluster;
      const c = k.cluster.credentials();
      creds = { server: c.server, caPem: c.caPem, user: { certPem: c.certPem, keyPem: c.keyPem } };
      clusterName = `kind cluster ${k.cluster.name}`;
      if (sink) {
        await step(`load the sink image ${sink.image}`, () => loadLocalImage(k.cluster, sink.image, options.sinkImageHint ?? 'build it first'));
        await step(`create the sink Secrets, apply dist/, roll out ${sink.namespace}/${sink.deployment}`, () => deploySink(k.cluster, sink, k.tls));
      } else {
        await step('apply dist/', () => applyAll(k.cluster, audit.distDir));
      }
    } else {
      // kubectl only reads the sink (kubectl exec); without a sink it is not needed.
      kubectl = { kubectl: sink ? kubectlBinary(options.tools?.kubectl) : 'kubectl', kubeconfig: target.kubeconfig };
      creds = accessFromKubeconfig(readFileSync(target.kubeconfig, 'utf8'));
      clusterName = `the cluster of ${target.kubeconfig} (${creds.server})`;
    }

    const client = new ApiClient(creds.server, creds.caPem);
    let adminIdentity: Identity | undefined;
    let createdNamespace: string | undefined;
    try {
      const ns = `cdk8s-audit-prove-${randomBytes(4).toString('hex')}`;
      const canary = `prove-canary-${randomBytes(16).toString('hex')}`;
      const admin: Identity = 'token' in creds.user ? { kind: 'token', token: creds.user.token } : { kind: 'cert', ...creds.user };
      adminIdentity = admin;
      const adminName = 'token' in creds.user ? "the kubeconfig's user (bearer token)" : `${subjectCommonName(creds.user.certPem)} (client certificate)`;
      const ids: string[] = [];
      const must = async (what: string, identity: Identity, method: string, uri: string, body?: unknown, ok = [200, 201]) => {
        const res = await client.send(identity, method, uri, body);
        if (res.auditId) ids.push(res.auditId);
        if (!ok.includes(res.status)) throw new Error(`${what}: ${method} ${uri} returned HTTP ${res.status}: ${res.text.slice(0, 300)}`);
        return res;
      };
      const identities = await step(`identities and canary Secret (namespace ${ns})`, async () => {
        await must('create the prove namespace', admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, [201]);
        createdNamespace = ns;
        await must('create the unprivileged service account', admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'prove-user' } }, [201]);
        const token = await must('issue its token', admin, 'POST', `/api/v1/namespaces/${ns}/serviceaccounts/prove-user/token`,
          { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } }, [201]);
        await must('create the canary Secret', admin, 'POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'prove-canary' }, stringData: { value: canary } }, [201]);
        await must('read the canary Secret back', admin, 'GET', `/api/v1/namespaces/${ns}/secrets/prove-canary`, undefined, [200]);
        const byCaller: Record<ProbeCaller, { identity: Identity; name: string }> = {
          [ProbeCaller.ADMIN]: { identity: admin, name: adminName },
          [ProbeCaller.USER]: { identity: { kind: 'token', token: (token.body as { status: { token: string } }).status.token }, name: `system:serviceaccount:${ns}:prove-user (service-account token, no grants)` },
          [ProbeCaller.ANONYMOUS]: { identity: { kind: 'anonymous' }, name: 'anonymous (no credentials)' },
        };
        return byCaller;
      });

      const dryRun = !ownsCluster;
      const probes = await step('replay every requirement\'s example requests', async () => {
        const sent: SentProbe[] = [];
        for (const req of composed.requirements) {
          for (const probe of req.probes) {
            const who = identities[probe.as];
            const uri = probeUri(probe, dryRun);
            const res = await client.send(who.identity, probe.method, uri, probe.body, probe.method === 'PATCH' ? 'application/merge-patch+json' : undefined);
            sent.push({ requirement: `${req.preset} ${req.id}`, probe, method: probe.method, uri, identity: who.name, status: res.status, auditId: res.auditId });
            if (res.auditId) ids.push(res.auditId);
          }
        }
        return sent;
      }, (s) => `${s.length} requests for ${composed.requirements.length} requirements${dryRun ? ' (writes with dryRun=All)' : ''}`);
      const expectIds = [...ids.filter((id) => !probes.some((p) => p.auditId === id)), ...probes.filter((p) => p.probe.minLevel !== 'None' && p.auditId).map((p) => p.auditId!)];

      const nodeLog = await step('read the node audit log', () => readNodeLog(options, audit, kind, expectIds), (o) => (o.observed ? `${o.value.events.length} events from ${o.source}` : `not observed: ${o.why}`));

      let window: { from: string; to: string } | undefined;
      if (nodeLog.observed) {
        const mine = nodeLog.value.events.filter((e) => ids.includes(e.auditID)).map((e) => e.requestReceivedTimestamp).sort();
        if (mine.length) window = { from: mine[0], to: mine[mine.length - 1] };
      }
      const sinkObs = await step('read the sink store (sink verify --events in the pod)', () => readSink(options, audit, sink, kubectl, nodeLog, window, expectIds), (o) => (o.observed ? `${o.value.events.length} events, verify exit ${o.value.verifyCode}` : `not observed: ${o.why}`));

      const canaries = [{ name: `canary Secret ${ns}/prove-canary`, value: canary }, ...[...new Set(probes.flatMap((p) => secretValuesOf(p.probe)))].map((v) => ({ name: `Secret value "${v}" of a requirement's example request`, value: v }))];
      const verdict = judgeProve({ probes, nodeLog, sink: sinkObs, canaries, window, sinkRequired: !!audit.webhookServer });
      return {
        verdict, composed, audit, probes, steps, cluster: clusterName,
        nodeLogText: nodeLog.observed ? nodeLog.value.text : undefined,
        nodeLogSource: nodeLog.observed ? nodeLog.source : undefined,
        sinkStore: sinkObs.observed ? sinkObs.value : undefined,
        kept: kind && keepIt ? { name: kind.cluster.name, node: kind.cluster.node, kubeconfig: kind.cluster.kubeconfig, kindConfigFile: kind.configFile } : undefined,
      };
    } finally {
      // On a cluster prove does not own, remove what it made (the namespace holds the service account and the canary).
      if (!ownsCluster && createdNamespace) await client.send(adminIdentity!, 'DELETE', `/api/v1/namespaces/${createdNamespace}`).catch(() => undefined);
      client.close();
    }
  } catch (error) {
    if (kind && !keepIt) {
      const diag = await kind.cluster.diagnostics(sink?.namespace);
      (error as Error).message += `\n${diag}`;
    }
    throw error;
  } finally {
    stopCleanupOnSignal();
    if (kind && !keepIt) await step(`kind delete cluster`, () => kind!.delete());
  }
}

/**
 * An interrupted run (Ctrl-C, a cancelled CI job) must not leave the cluster behind: on SIGINT or SIGTERM
 * the cluster is deleted (synchronously: the process is about to end), then the signal is raised again.
 * Returns the function that removes the handlers.
 */
function deleteClusterOnSignal(kindBin: string, name: string, say: (line: string) => void): () => void {
  const handler = (signal: NodeJS.Signals) => {
    remove();
    say(`${signal}: deleting kind cluster ${name}`);
    spawnSync(kindBin, ['delete', 'cluster', '--name', name], { stdio: 'ignore', timeout: 120_000 });
    process.kill(process.pid, signal);
  };
  const remove = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return remove;
}

async function applyAll(cluster: { kubectlRun(args: readonly string[], o?: { input?: string }): Promise<string> }, distDir: string): Promise<void> {
  const { docs } = readManifests(distDir);
  if (docs.length) await cluster.kubectlRun(['apply', '-f', '-'], { input: renderGoYamlDocuments(docs) });
}

function subjectCommonName(certPem: string): string {
  try {
    return /CN=([^\n,]+)/.exec(new X509Certificate(certPem).subject)?.[1] ?? 'admin';
  } catch {
    return 'admin';
  }
}

async function readNodeLog(options: ProveOptions, audit: SynthesizedAudit, kind: KindFromDist | undefined, ids: string[]): Promise<Observed<{ events: AuditEvent[]; text: string }>> {
  const logPath = flagValue(audit.args, 'audit-log-path');
  const target = options.target;
  let source: string;
  let readText: () => Promise<string>;
  if (kind) {
    if (!logPath || logPath === '-') return { observed: false, why: `dist/node/apiserver-args.txt has ${logPath ? '--audit-log-path=- (standard output)' : 'no --audit-log-path'}: no log file in the node` };
    source = `${kind.cluster.node}:${logPath} (docker exec)`;
    readText = () => kind.cluster.readNodeFile(logPath);
  } else if (!target.kind && target.auditLog) {
    const file = target.auditLog;
    source = file;
    readText = async () => readFileSync(file, 'utf8');
  } else if (!target.kind && target.auditLogCommand) {
    const cmd = target.auditLogCommand;
    source = `the output of \`${cmd}\``;
    readText = () => run('sh', ['-c', cmd], { timeoutMs: 120_000 });
  } else {
    return { observed: false, why: 'with --kubeconfig the node is out of reach: give --audit-log FILE or --audit-log-command CMD to read its log' };
  }
  let text = '';
  const { events } = await waitForAuditEvents(async () => parseAuditEvents((text = await readText()), source), ids, { timeoutMs: options.logWaitMs ?? 60_000 });
  return { observed: true, source, value: { events, text } };
}

async function readSink(
  options: ProveOptions, audit: SynthesizedAudit, sink: SinkManifests | undefined, kubectl: { kubectl: string; kubeconfig: string },
  nodeLog: Observed<{ events: AuditEvent[] }>, window: { from: string; to: string } | undefined, ids: string[],
): Promise<Observed<SinkStore>> {
  if (!sink) {
    return { observed: false, why: audit.webhookServer ? `the webhook sends to ${audit.webhookServer.host}, but dist/*.k8s.yaml deploys no sink (no Deployment running \`sink serve\`)` : 'no webhook backend and no sink in dist/' };
  }
  // Wanted: every node-log event of the replay window, else the replayed requests' completions.
  const wanted = nodeLog.observed && window
    ? nodeLog.value.events.filter((e) => e.requestReceivedTimestamp >= window.from && e.requestReceivedTimestamp <= window.to).map((e) => `${e.auditID}/${e.stage}`)
    : ids.map((id) => `${id}/ResponseComplete`);
  const deadline = Date.now() + (options.sinkWaitMs ?? durationMs(flagValue(audit.args, 'audit-webhook-batch-max-wait')) + 120_000);
  let store: SinkStore;
  for (;;) {
    store = await readSinkStore(kubectl, sink);
    const have = new Set(store.events.map((e) => `${e.auditID}/${e.stage}`));
    if (store.verifyCode !== 0 || wanted.every((k) => have.has(k)) || Date.now() >= deadline) break;
    await sleep(3000);
  }
  return { observed: true, source: `${sink.namespace}/deployment/${sink.deployment}`, value: store };
}
