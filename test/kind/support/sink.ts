/**
 * The in-cluster sink from the synthesized manifests: find it in dist/*.k8s.yaml, build and load its
 * image, create the Secrets it mounts (TLS from `cdk8s-audit certs`, a fresh signing key), apply the
 * manifests, and read its store back through `cdk8s-audit sink verify --events` run inside the pod.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { AuditEvent } from '../../e2e/support/audit-events';
import type { KindCluster } from './cluster';
import { REPO, run, tryRun } from './tools';

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

/** The sink Deployment (a container running `sink serve`) and everything it needs, from dist/. */
export function findSink(distDir: string): SinkManifests {
  const files = readdirSync(distDir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  const docs: Doc[] = [];
  for (const f of files) {
    for (const d of parseAllDocuments(readFileSync(join(distDir, f), 'utf8'))) {
      const v = d.toJS();
      if (v) docs.push(v);
    }
  }
  docs.sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  const deployment = docs.find((d) => d.kind === 'Deployment' && d.spec.template.spec.containers.some((c: Doc) => c.args?.[0] === 'sink' && c.args?.[1] === 'serve'));
  if (!deployment) throw new Error(`no Deployment running \`sink serve\` in ${files.map((f) => `dist/${f}`).join(', ') || 'dist/ (no *.k8s.yaml)'}; the example app (main.ts) must synthesize the AuditSink`);
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c: Doc) => c.args?.[0] === 'sink');
  const secretOf = (mountPath: string): Doc => {
    const mount = container.volumeMounts.find((m: Doc) => m.mountPath === mountPath);
    const volume = pod.volumes.find((v: Doc) => v.name === mount?.name);
    if (!volume?.secret) throw new Error(`the sink mounts no Secret at ${mountPath}`);
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

/** Builds the sink image (scripts/kind-sink-image.sh) and loads it into the cluster's node. */
export async function buildAndLoadImage(cluster: KindCluster, image: string): Promise<void> {
  await run('bash', [join(REPO, 'scripts', 'kind-sink-image.sh'), image], { timeoutMs: 900_000 });
  await run(cluster.kind, ['load', 'docker-image', image, '--name', cluster.name], { timeoutMs: 600_000 });
}

/**
 * Creates the Secrets and applies the manifests. An imagePullPolicy of Always for the sink image is
 * changed to IfNotPresent: with Always the kubelet asks a registry for the image even though it is
 * loaded in the node, and no registry is reachable offline (findSink lists such containers in pullAlways
 * so the suite can report it).
 */
export async function deploySink(cluster: KindCluster, sink: SinkManifests, certDir: string): Promise<void> {
  const namespaces = sink.docs.filter((d) => d.kind === 'Namespace');
  if (namespaces.length) await cluster.kubectlRun(['apply', '-f', '-'], { input: namespaces.map((d) => stringify(d)).join('---\n') });
  await cluster.kubectlRun(['-n', sink.namespace, 'create', 'secret', 'generic', sink.tlsSecret, '--type', 'kubernetes.io/tls',
    `--from-file=tls.crt=${join(certDir, 'sink.crt')}`, `--from-file=tls.key=${join(certDir, 'sink.key')}`, `--from-file=ca.crt=${join(certDir, 'ca.crt')}`]);
  const key = join(certDir, 'signing.key');
  writeFileSync(key, randomBytes(32), { mode: 0o600 });
  await cluster.kubectlRun(['-n', sink.namespace, 'create', 'secret', 'generic', sink.signingSecret, `--from-file=${sink.signingKeyItem}=${key}`]);
  const rest = sink.docs.filter((d) => d.kind !== 'Namespace').map((d) => {
    if (d.kind === 'Deployment' && d.metadata.name === sink.deployment) {
      for (const c of d.spec.template.spec.containers) if (c.image === sink.image && c.imagePullPolicy === 'Always') c.imagePullPolicy = 'IfNotPresent';
    }
    return stringify(d);
  });
  await cluster.kubectlRun(['apply', '-f', '-'], { input: rest.join('---\n') });
  await cluster.kubectlRun(['-n', sink.namespace, 'rollout', 'status', `deployment/${sink.deployment}`, '--timeout=180s'], { timeoutMs: 200_000 });
}

export interface SinkStore {
  readonly events: AuditEvent[];
  /** The raw store files (segments, digests, head) concatenated: for the canary search. */
  readonly raw: string;
  readonly verifySummary: string;
}

/** `sink verify --events` inside the sink pod (exit 0 = the store is intact), plus the raw store bytes. */
export async function readSinkStore(cluster: KindCluster, sink: SinkManifests): Promise<SinkStore> {
  const store = sink.args[sink.args.indexOf('--store') + 1];
  const key = sink.args[sink.args.indexOf('--key') + 1];
  const target = ['-n', sink.namespace, 'exec', `deployment/${sink.deployment}`, '--'];
  const res = await tryRun(cluster.kubectl, ['--kubeconfig', cluster.kubeconfig, ...target, 'node', '/app/lib/cli/main.js', 'sink', 'verify', '--store', store, '--key', key, '--events']);
  if (res.code !== 0) throw new Error(`sink verify failed (exit ${res.code}): ${res.stderr}`);
  const events = res.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
  const raw = await cluster.kubectlRun([...target, 'sh', '-c', `cat ${store}/*`]);
  return { events, raw, verifySummary: res.stderr.trim() };
}
