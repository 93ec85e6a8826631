/**
 * The in-cluster sink from the synthesized manifests: find it in dist/*.k8s.yaml, load its image,
 * create the Secrets it mounts, apply the manifests, and read its store back through
 * `cdk8s-audit sink verify --events` run inside the pod.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderGoYamlDocuments } from '../core/go-yaml';
import type { AuditEvent } from '../evidence/events';
import { tryRun } from './exec';
import type { KindCluster } from './kind';
import type { TlsFiles } from './kind-from-dist';

type Doc = Record<string, any>;

export interface SinkManifests {
  /** Every object of dist/*.k8s.yaml, namespaces first. */
  readonly docs: Doc[];
  readonly namespace: string;
  readonly deployment: string;
  readonly image: string;
  readonly tlsSecret: string;
  readonly signingSecret: string;
  readonly signingKeyItem: string;
  /** Container args: --store, --key … */
  readonly args: string[];
  /** Containers whose imagePullPolicy is Always for the locally loaded image (no registry can answer). */
  readonly pullAlways: string[];
}

/** Every object in dist/*.k8s.yaml, namespaces first. */
export function readManifests(distDir: string): { files: string[]; docs: Doc[] } {
  const files = readdirSync(distDir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  const docs: Doc[] = [];
  for (const f of files) {
    for (const d of parseAllDocuments(readFileSync(join(distDir, f), 'utf8'))) {
      const v = d.toJS();
      if (v) docs.push(v);
    }
  }
  docs.sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  return { files, docs };
}

/** The sink Deployment (a container running `sink serve`) and what it needs; undefined when dist/ has none. */
export function findSink(distDir: string): SinkManifests | undefined {
  const { docs } = readManifests(distDir);
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.spec?.template?.spec?.containers?.some((c: Doc) => c.args?.[0] === 'sink' && c.args?.[1] === 'serve'));
  if (!deployment) return undefined;
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: Doc) => c.args?.[0] === 'sink');
  const secretOf = (mountPath: string): Doc => {
    const mount = container.volumeMounts?.find((m: Doc) => m.mountPath === mountPath);
    const volume = pod.volumes?.find((v: Doc) => v.name === mount?.name);
    if (!volume?.secret) throw new Error(`the sink Deployment ${deployment.metadata.name} mounts no Secret at ${mountPath}`);
    return volume.secret;
  };
  const argValue = (name: string): string => {
    const i = container.args.indexOf(name);
    if (i < 0) throw new Error(`the sink container has no ${name} argument`);
    return container.args[i + 1];
  };
  const tlsDir = argValue('--tls-dir');
  const keyFile = argValue('--key');
  const signing = secretOf(keyFile.slice(0, keyFile.lastIndexOf('/')));
  return {
    docs,
    namespace: deployment.metadata.namespace ?? 'default',
    deployment: deployment.metadata.name,
    image: container.image,
    tlsSecret: secretOf(tlsDir).secretName,
    signingSecret: signing.secretName,
    signingKeyItem: signing.items?.[0]?.key ?? keyFile.slice(keyFile.lastIndexOf('/') + 1),
    args: container.args,
    pullAlways: pod.containers.filter((c: Doc) => c.image === container.image && c.imagePullPolicy === 'Always').map((c: Doc) => c.name),
  };
}

/** Loads a local Docker image into the kind node; fails naming how to build it when Docker has no such image. */
export async function loadLocalImage(cluster: KindCluster, image: string, buildHint: string): Promise<void> {
  const res = await tryRun('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 60_000 });
  if (res.code !== 0) throw new Error(`the Docker engine has no image ${image} (the sink Deployment's image); ${buildHint}`);
  await cluster.loadImage(image);
}

/**
 * Creates the Secrets (TLS from `tls`, a fresh 32-byte signing key) and applies every manifest. An
 * imagePullPolicy of Always for the sink image becomes IfNotPresent: the image was loaded into the node
 * and with Always the kubelet would ask a registry for it (findSink lists such containers in pullAlways).
 */
export async function deploySink(cluster: KindCluster, sink: SinkManifests, tls: TlsFiles): Promise<void> {
  const namespaces = sink.docs.filter((d) => d.kind === 'Namespace');
  if (namespaces.length) await cluster.kubectlRun(['apply', '-f', '-'], { input: renderGoYamlDocuments(namespaces) });
  const dir = mkdtempSync(join(tmpdir(), 'cdk8s-audit-sink-secrets-'));
  try {
    const file = (name: string, content: string | Buffer) => {
      const p = join(dir, name);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    };
    await cluster.kubectlRun(['-n', sink.namespace, 'create', 'secret', 'generic', sink.tlsSecret, '--type', 'kubernetes.io/tls',
      `--from-file=tls.crt=${file('tls.crt', tls['sink.crt'])}`, `--from-file=tls.key=${file('tls.key', tls['sink.key'])}`, `--from-file=ca.crt=${file('ca.crt', tls['ca.crt'])}`]);
    await cluster.kubectlRun(['-n', sink.namespace, 'create', 'secret', 'generic', sink.signingSecret, `--from-file=${sink.signingKeyItem}=${file('signing.key', randomBytes(32))}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rest = sink.docs.filter((d) => d.kind !== 'Namespace').map((d) => {
    if (d.kind === 'Deployment' && d.metadata.name === sink.deployment) {
      for (const c of d.spec.template.spec.containers) if (c.image === sink.image && c.imagePullPolicy === 'Always') c.imagePullPolicy = 'IfNotPresent';
    }
    return d;
  });
  await cluster.kubectlRun(['apply', '-f', '-'], { input: renderGoYamlDocuments(rest) });
  await cluster.kubectlRun(['-n', sink.namespace, 'rollout', 'status', `deployment/${sink.deployment}`, '--timeout=180s'], { timeoutMs: 200_000 });
}

export interface SinkStore {
  /** `sink verify` exit code: 0 = chain and signatures intact. */
  readonly verifyCode: number;
  /** What `sink verify` established (its JSON summary), when it printed one. */
  readonly verify?: { readonly ok: boolean; readonly segments: number; readonly records: number; readonly firstSeq?: number; readonly lastSeq?: number; readonly problem?: string };
  /** One line: the store is intact with N records, or where it is not. */
  readonly verifySummary: string;
  readonly events: AuditEvent[];
  /** The raw store files (segments, digests, head) concatenated: for the canary search. */
  readonly raw: string;
  /** Where it was read: `namespace/deployment:store-dir`. */
  readonly source: string;
}

/** `sink verify --events --format json` inside the sink pod, plus the raw store bytes. Never throws for a failing verify. */
export async function readSinkStore(cluster: { kubectl: string; kubeconfig: string }, sink: SinkManifests): Promise<SinkStore> {
  const store = sink.args[sink.args.indexOf('--store') + 1];
  const key = sink.args[sink.args.indexOf('--key') + 1];
  const kubectl = (args: string[]) => tryRun(cluster.kubectl, ['--kubeconfig', cluster.kubeconfig, '-n', sink.namespace, 'exec', `deployment/${sink.deployment}`, '--', ...args], { timeoutMs: 300_000 });
  const res = await kubectl(['node', '/app/lib/cli/main.js', 'sink', 'verify', '--store', store, '--key', key, '--events', '--format', 'json']);
  // The summary is the last JSON line on stderr; without one, kubectl exec itself failed.
  const summaryLine = res.stderr.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  let verify: SinkStore['verify'];
  try {
    const v = summaryLine ? JSON.parse(summaryLine) : undefined;
    if (v) verify = { ok: v.ok === true, segments: v.segments, records: v.records, firstSeq: v.firstSeq, lastSeq: v.lastSeq, problem: v.problem?.text };
  } catch {
    verify = undefined;
  }
  if (!verify) throw new Error(`kubectl exec into ${sink.namespace}/deployment/${sink.deployment} to run \`sink verify\` failed (exit ${res.code}): ${res.stderr.trim().slice(0, 500)}`);
  const events = res.stdout.split('\n').filter(Boolean).flatMap((l) => {
    try {
      return [JSON.parse(l) as AuditEvent];
    } catch {
      return [];
    }
  });
  const raw = await kubectl(['sh', '-c', `cat ${store}/* 2>/dev/null || true`]);
  const verifySummary = verify.ok
    ? `intact: ${verify.records} records (seq ${verify.firstSeq ?? '-'}–${verify.lastSeq ?? '-'}) in ${verify.segments} segment(s)`
    : `NOT intact: ${verify.problem ?? 'no reason given'}`;
  return { verifyCode: res.code, verify, verifySummary, events, raw: raw.stdout, source: `${sink.namespace}/deployment/${sink.deployment}:${store}` };
}
