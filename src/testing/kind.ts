/**
 * A kind cluster for tests and `prove --kind`: create it from a kind config, run commands in the
 * control-plane node container, talk to the apiserver on its 127.0.0.1 port, collect what a failure
 * report needs, delete it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RunOptions, findTool, run, tail, tryRun } from './exec';

export interface KubeconfigCredentials {
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface KindToolOptions {
  /** The kind binary. @default $CDK8S_AUDIT_KIND, else `kind` on PATH */
  readonly kind?: string;
  /** The kubectl binary. @default $CDK8S_AUDIT_KUBECTL, else `kubectl` on PATH */
  readonly kubectl?: string;
}

export interface KindCreateOptions {
  readonly configFile: string;
  /** Node image. @default the config's, else kind's default */
  readonly image?: string;
  /** Working directory for `kind create` (relative extraMounts resolve against it). */
  readonly cwd?: string;
  readonly waitSeconds?: number;
}

export function kindBinary(explicit?: string): string {
  return findTool('kind', explicit, 'CDK8S_AUDIT_KIND', 'Install kind (https://kind.sigs.k8s.io) or set CDK8S_AUDIT_KIND to its path.');
}

export function kubectlBinary(explicit?: string): string {
  return findTool('kubectl', explicit, 'CDK8S_AUDIT_KUBECTL', 'Install kubectl or set CDK8S_AUDIT_KUBECTL to its path.');
}

export class KindCluster {
  readonly kind: string;
  readonly kubectl: string;
  /** The temp directory holding the kubeconfig, when this object made it. */
  private readonly dir: string | undefined;
  readonly kubeconfig: string;

  /** `kubeconfig`: attach to a running cluster (e.g. one `prove --kind --keep` left) instead of a new temp kubeconfig. */
  constructor(readonly name: string, tools: KindToolOptions = {}, kubeconfig?: string) {
    this.kind = kindBinary(tools.kind);
    this.kubectl = kubectlBinary(tools.kubectl);
    this.dir = kubeconfig ? undefined : mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-'));
    this.kubeconfig = kubeconfig ?? join(this.dir!, 'kubeconfig');
  }

  /** The control-plane node container. */
  get node(): string {
    return `${this.name}-control-plane`;
  }

  /** `kind create cluster`; a cluster of the same name left by an interrupted run is deleted first. */
  async create(options: KindCreateOptions): Promise<void> {
    await tryRun(this.kind, ['delete', 'cluster', '--name', this.name]);
    await run(this.kind, [
      'create', 'cluster', '--name', this.name, '--config', options.configFile, ...(options.image ? ['--image', options.image] : []),
      '--kubeconfig', this.kubeconfig, '--wait', `${options.waitSeconds ?? 300}s`, '--retain',
    ], { cwd: options.cwd, timeoutMs: 900_000 });
  }

  /** `kind delete cluster` and the temp directory. Safe to call twice. */
  async delete(): Promise<void> {
    await tryRun(this.kind, ['delete', 'cluster', '--name', this.name, '--kubeconfig', this.kubeconfig]);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Loads a local Docker image into the node. */
  async loadImage(image: string): Promise<void> {
    await run(this.kind, ['load', 'docker-image', image, '--name', this.name], { timeoutMs: 600_000 });
  }

  kubectlRun(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return run(this.kubectl, ['--kubeconfig', this.kubeconfig, ...args], options);
  }

  /** A command in the control-plane node container. */
  exec(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return run('docker', ['exec', ...(options.input !== undefined ? ['-i'] : []), this.node, ...args], options);
  }

  readNodeFile(path: string): Promise<string> {
    return this.exec(['cat', path]);
  }

  /** Server, CA and the admin client certificate from the kubeconfig kind wrote (server is 127.0.0.1:port). */
  credentials(): KubeconfigCredentials {
    return credentialsFromKubeconfig(readFileSync(this.kubeconfig, 'utf8'));
  }

  /** Everything a failure report needs; never throws. */
  async diagnostics(sinkNamespace?: string): Promise<string> {
    const parts: string[] = [`=== kind cluster ${this.name} diagnostics`];
    const section = async (title: string, cmd: string, args: string[], lines = 60) => {
      const res = await tryRun(cmd, args, { timeoutMs: 60_000 });
      parts.push(`--- ${title}${res.code ? ` (exit ${res.code})` : ''}\n${tail(res.stdout + res.stderr, lines)}`);
    };
    const k = ['--kubeconfig', this.kubeconfig, '--request-timeout=20s'];
    await section('node containers', 'docker', ['ps', '-a', '--filter', `label=io.x-k8s.kind.cluster=${this.name}`, '--format', '{{.Names}} {{.Status}} {{.Image}}']);
    await section('nodes', this.kubectl, [...k, 'get', 'nodes', '-o', 'wide']);
    await section('pods', this.kubectl, [...k, 'get', 'pods', '-A', '-o', 'wide']);
    await section('events (warnings)', this.kubectl, [...k, 'get', 'events', '-A', '--field-selector', 'type=Warning'], 30);
    await section("kube-apiserver's audit flags (static pod manifest)", 'docker', ['exec', this.node, 'sh', '-c', "grep -n -- '--audit\\|audit-' /etc/kubernetes/manifests/kube-apiserver.yaml"]);
    await section('kube-apiserver log', 'docker', ['exec', this.node, 'sh', '-c', 'tail -n 40 /var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log 2>&1'], 40);
    if (sinkNamespace) {
      await section(`sink (namespace ${sinkNamespace})`, this.kubectl, [...k, '-n', sinkNamespace, 'describe', 'pods'], 40);
      await section('sink log', this.kubectl, [...k, '-n', sinkNamespace, 'logs', '--all-containers', '--tail=30', '-l', 'cdk8s.io/metadata.addr'], 30);
    }
    await section('kubelet journal', 'docker', ['exec', this.node, 'journalctl', '-u', 'kubelet', '--no-pager', '-n', '40'], 40);
    return parts.join('\n');
  }
}

/** The current context's server, CA and user of a kubeconfig: a client certificate or a bearer token (embedded data only). */
export interface KubeconfigAccess {
  readonly server: string;
  readonly caPem: string;
  readonly user: { readonly certPem: string; readonly keyPem: string } | { readonly token: string };
}

export function accessFromKubeconfig(text: string): KubeconfigAccess {
  const cfg = parse(text) ?? {};
  const ctx = (cfg.contexts ?? []).find((c: { name: string }) => c.name === cfg['current-context'])?.context;
  const cluster = ((cfg.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster) ?? cfg.clusters?.[0])?.cluster;
  const user = ((cfg.users ?? []).find((u: { name: string }) => u.name === ctx?.user) ?? cfg.users?.[0])?.user ?? {};
  if (!cluster?.server) throw new Error('the kubeconfig names no cluster server (clusters[].cluster.server)');
  const caData = cluster['certificate-authority-data'];
  if (!caData) throw new Error('the kubeconfig has no clusters[].cluster.certificate-authority-data (only embedded data is read)');
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  if (user['client-certificate-data'] && user['client-key-data']) {
    return { server: cluster.server, caPem: b64(caData), user: { certPem: b64(user['client-certificate-data']), keyPem: b64(user['client-key-data']) } };
  }
  if (typeof user.token === 'string' && user.token) return { server: cluster.server, caPem: b64(caData), user: { token: user.token } };
  throw new Error("the kubeconfig's user has neither client-certificate-data + client-key-data nor token (exec plugins and files are not read)");
}

/** Server, CA and client certificate of a kubeconfig's first cluster and user (embedded data only). */
export function credentialsFromKubeconfig(text: string): KubeconfigCredentials {
  const cfg = parse(text);
  const ctxName = cfg['current-context'];
  const ctx = (cfg.contexts ?? []).find((c: { name: string }) => c.name === ctxName)?.context;
  const cluster = ((cfg.clusters ?? []).find((c: { name: string }) => c.name === ctx?.cluster) ?? cfg.clusters?.[0])?.cluster;
  const user = ((cfg.users ?? []).find((u: { name: string }) => u.name === ctx?.user) ?? cfg.users?.[0])?.user;
  const b64 = (s: string | undefined, what: string) => {
    if (!s) throw new Error(`the kubeconfig has no ${what} (only embedded *-data fields are read)`);
    return Buffer.from(s, 'base64').toString('utf8');
  };
  if (!cluster?.server) throw new Error('the kubeconfig names no cluster server');
  return {
    server: cluster.server,
    caPem: b64(cluster['certificate-authority-data'], 'clusters[].cluster.certificate-authority-data'),
    certPem: b64(user?.['client-certificate-data'], 'users[].user.client-certificate-data'),
    keyPem: b64(user?.['client-key-data'], 'users[].user.client-key-data'),
  };
}
