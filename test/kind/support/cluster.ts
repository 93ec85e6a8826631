/**
 * A kind cluster the suite creates and always deletes: create from a kind config, run commands in
 * the control-plane node container, talk to the apiserver on its 127.0.0.1 port, and collect what a
 * failure report needs (nodes, pods, the apiserver's audit flags, kubelet and apiserver logs).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO, RunOptions, kindBinary, kubectlBinary, run, tail, tryRun } from './tools';

export interface KubeconfigCredentials {
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface CreateOptions {
  readonly name: string;
  readonly configFile: string;
  readonly image: string;
  /** Working directory for `kind create` (relative extraMounts resolve against it). */
  readonly cwd?: string;
  readonly waitSeconds?: number;
}

export class KindCluster {
  readonly kind = kindBinary();
  readonly kubectl = kubectlBinary();
  private readonly dir = mkdtempSync(join(tmpdir(), 'cdk8s-audit-kind-'));
  readonly kubeconfig = join(this.dir, 'kubeconfig');
  /** Seconds `kind create cluster` took. */
  createSeconds = 0;

  constructor(readonly name: string) {}

  get node(): string {
    return `${this.name}-control-plane`;
  }

  async create(options: CreateOptions): Promise<void> {
    const start = Date.now();
    // A cluster left over by an interrupted run of this suite has the same name.
    await tryRun(this.kind, ['delete', 'cluster', '--name', this.name]);
    await run(this.kind, [
      'create', 'cluster', '--name', options.name, '--config', options.configFile, '--image', options.image,
      '--kubeconfig', this.kubeconfig, '--wait', `${options.waitSeconds ?? 300}s`, '--retain',
    ], { cwd: options.cwd ?? REPO, timeoutMs: 900_000 });
    this.createSeconds = (Date.now() - start) / 1000;
  }

  /** `kind delete cluster`; also removes the temp directory. Safe to call twice. */
  async delete(): Promise<void> {
    await tryRun(this.kind, ['delete', 'cluster', '--name', this.name, '--kubeconfig', this.kubeconfig]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  kubectlRun(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return run(this.kubectl, ['--kubeconfig', this.kubeconfig, ...args], options);
  }

  /** A command in the control-plane node container. */
  exec(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return run('docker', ['exec', ...(options.input !== undefined ? ['-i'] : []), this.node, ...args], options);
  }

  async readNodeFile(path: string): Promise<string> {
    return this.exec(['cat', path]);
  }

  /** Server, CA and the admin client certificate from the kubeconfig kind wrote (server is 127.0.0.1:port). */
  credentials(): KubeconfigCredentials {
    const cfg = parse(readFileSync(this.kubeconfig, 'utf8'));
    const cluster = cfg.clusters[0].cluster;
    const user = cfg.users[0].user;
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
    return {
      server: cluster.server,
      caPem: b64(cluster['certificate-authority-data']),
      certPem: b64(user['client-certificate-data']),
      keyPem: b64(user['client-key-data']),
    };
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
    await section('audit mounts in the node', 'docker', ['exec', this.node, 'sh', '-c', 'ls -la /etc/kubernetes/audit /etc/kubernetes/audit-webhook /var/log/kubernetes/audit 2>&1']);
    await section('kube-apiserver log', 'docker', ['exec', this.node, 'sh', '-c', 'tail -n 40 /var/log/pods/kube-system_kube-apiserver-*/kube-apiserver/*.log 2>&1'], 40);
    if (sinkNamespace) {
      await section(`sink (namespace ${sinkNamespace})`, this.kubectl, [...k, '-n', sinkNamespace, 'describe', 'pods'], 40);
      await section('sink log', this.kubectl, [...k, '-n', sinkNamespace, 'logs', '--all-containers', '--tail=30', '-l', 'cdk8s.io/metadata.addr'], 30);
    }
    await section('kubelet journal', 'docker', ['exec', this.node, 'journalctl', '-u', 'kubelet', '--no-pager', '-n', '40'], 40);
    await section('containerd journal', 'docker', ['exec', this.node, 'journalctl', '-u', 'containerd', '--no-pager', '-n', '20'], 20);
    return parts.join('\n');
  }
}
