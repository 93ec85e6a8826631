import { posix } from 'node:path';
import { Construct } from 'constructs';
import { renderGoYaml } from '../core/go-yaml';
import { formatProblemList } from '../core/problem';
import { ApiserverAudit } from '../backends/apiserver-audit';
import { LogBackendProps, WebhookBackendProps } from '../backends/backends';
import { WebhookKubeconfigProps, renderWebhookKubeconfig, validateWebhookKubeconfig } from '../backends/kubeconfig';
import { KubeadmApiVersion, defaultKubeadmApiVersion, renderKubeadmClusterConfiguration } from '../control-plane/kubeadm';
import { KindHostFile, renderKindCluster } from '../control-plane/kind';
import { DEFAULT_SECRETS_DIR } from './secrets-layout';
import { ClusterAuditControlPlanes, controlPlaneNodeFiles, providedNodeFiles } from './control-plane-files';
import { staticPodPatch } from '../control-plane/static-pod';
import { AuditPolicy } from './audit-policy';
import { DEFAULT_KUBERNETES_VERSION, KubernetesVersion, parseKubernetesVersion } from '../core/kubernetes-version';
import { Preset } from '../presets/preset-names';
import { CompositionOptions, PresetOptions } from '../presets/compose';
import { flagsToBackendProps } from '../backends/backends';
import { webhookReceiverProblems, webhookReceiversOf } from '../backends/webhook-receivers';

/** A file for the control-plane node, written beside (never among) the cluster manifests. */
export interface NodeFile {
  /** Path under the node-files folder, e.g. `rootfs/etc/kubernetes/audit/policy.yaml`. */
  readonly path: string;
  /** Where it goes on the control-plane node, when it goes anywhere. */
  readonly nodePath?: string;
  readonly description: string;
  /**
   * File content; a function when it depends on where the node-files folder and the secrets directory
   * are, relative to where kind runs (kind's host paths).
   */
  readonly content: string | ((folder: string, secretsDir: string) => string);
  /** Octal mode. @default 0o644 */
  readonly mode?: number;
}

/** A file the operator must provision on the node themselves (private keys never go into git). */
export interface ProvisionedFile {
  readonly nodePath: string;
  readonly description: string;
  readonly how: string;
  /** The file's name in the secrets directory (`cdk8s-audit certs --out` writes it there), when it is a TLS file. */
  readonly secretsFile?: string;
}

export interface ClusterAuditWebhookProps {
  /** Where the apiserver sends events, and with which credentials (file paths on the node are best). */
  readonly kubeconfig: WebhookKubeconfigProps;
  /** Backend settings merged over the presets' webhook flags. @default the presets' webhook flags */
  readonly backend?: WebhookBackendProps;
  /**
   * The sink is deployed outside this cdk8s app (another app, another cluster, a managed service). When
   * false, synth fails unless a sink in the app (AuditSink, FluentBitSink, …) serves the kubeconfig's
   * server URL, its certificate names the server name and it accepts the backend's largest batch.
   * @default false
   */
  readonly externalSink?: boolean;
}

/** Options of the generated kind cluster config. */
export interface ClusterAuditKindOptions {
  /** The node image. @default kind's default image */
  readonly nodeImage?: string;
  /** Worker nodes beside the control-plane node. @default 0 */
  readonly workers?: number;
  /** The cluster name. @default kind's default name */
  readonly name?: string;
}

export interface ClusterAuditProps {
  /** The apiserver version. @default the newest supported version */
  readonly kubernetesVersion?: KubernetesVersion;
  /** Compliance presets to start from (ignored when `policy` is given). @default [Preset.BASELINE] */
  readonly presets?: Preset[];
  /** Customisation of the presets. @default none */
  readonly presetOptions?: PresetOptions;
  /** A policy of your own instead of presets. @default a policy from `presets` */
  readonly policy?: AuditPolicy;
  /** Log backend settings merged over the presets' log flags. @default the presets' log flags */
  readonly log?: LogBackendProps;
  /** Write the log backend at all (`false`: only the webhook records events). @default true */
  readonly logEnabled?: boolean;
  /** The webhook backend and its kubeconfig. @default no webhook backend */
  readonly webhook?: ClusterAuditWebhookProps;
  /** kind cluster options for the generated kind config. @default one control-plane node, kind's default image */
  readonly kind?: ClusterAuditKindOptions;
  /**
   * Control planes to write configuration for besides kubeadm, kind and the static pod (always written):
   * Cluster API, k3s, RKE2, Talos, kops, EKS Anywhere, OpenShift. See docs/control-planes.md.
   * @default - none
   */
  readonly controlPlanes?: ClusterAuditControlPlanes;
}

/**
 * The cluster's API-server auditing in one construct: the policy, the apiserver flags and mounts,
 * the webhook kubeconfig, and the kubeadm / kind / static-pod outputs as node-side files.
 * Write them with `writeNodeFiles(app)` (or use `AuditApp`), after `app.synth()`.
 *
 * @example
 * const audit = new ClusterAudit(chart, 'audit', {
 *   kubernetesVersion: KubernetesVersion.V1_35,
 *   presets: [Preset.PCI_DSS],
 *   webhook: { kubeconfig: { server: 'https://10.96.0.50:8443/audit', certificateAuthorityFile: 'ca.crt', clientCertificateFile: 'client.crt', clientKeyFile: 'client.key' } },
 * });
 */
export class ClusterAudit extends Construct {
  /** Finds every ClusterAudit in a construct tree. */
  public static of(root: Construct): ClusterAudit[] {
    return root.node.findAll().filter((c): c is ClusterAudit => c instanceof ClusterAudit);
  }

  public readonly policy: AuditPolicy;
  public readonly apiserver: ApiserverAudit;
  public readonly kubernetesVersion: string;
  private readonly props: ClusterAuditProps;

  constructor(scope: Construct, id: string, props: ClusterAuditProps = {}) {
    super(scope, id);
    this.props = props;
    try {
      this.kubernetesVersion = parseKubernetesVersion(props.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION).text;
    } catch (e) {
      throw new Error(`ClusterAudit ${id}: props.${(e as Error).message}`);
    }
    if (props.policy && props.presets) throw new Error(`ClusterAudit ${id}: give either props.policy or props.presets, not both`);
    if (props.logEnabled === false && props.log) throw new Error(`ClusterAudit ${id}: props.log is given but props.logEnabled is false, so it would be ignored; drop one of them`);
    if (props.webhook) {
      const problems = validateWebhookKubeconfig(props.webhook.kubeconfig);
      if (problems.length) throw new Error(`ClusterAudit ${id}: props.webhook.kubeconfig:\n${formatProblemList(problems)}`);
    }
    this.policy = props.policy ?? AuditPolicy.fromPreset(this, 'policy', props.presets ?? [Preset.BASELINE], { ...props.presetOptions, kubernetesVersion: KubernetesVersion.of(this.kubernetesVersion) });
    const preset = this.policy.preset;
    const logFlags = { ...(preset?.logFlags ?? {}) };
    delete logFlags['audit-policy-file'];
    const webhookFlags = { ...(preset?.webhookFlags ?? {}) };
    try {
      this.apiserver = new ApiserverAudit({
        kubernetesVersion: KubernetesVersion.of(this.kubernetesVersion),
        log: props.logEnabled === false ? undefined : { ...flagsToBackendProps('log', logFlags), ...props.log },
        webhook: props.webhook ? { ...flagsToBackendProps('webhook', webhookFlags), ...props.webhook.backend } : undefined,
      });
    } catch (e) {
      throw new Error(`ClusterAudit ${id}: ${(e as Error).message}`);
    }
    const webhook = props.webhook;
    if (webhook && !webhook.externalSink) {
      // At synth, when every sink of the app exists: the webhook must reach one that accepts its batches.
      this.node.addValidation({
        validate: () =>
          webhookReceiverProblems(
            `ClusterAudit ${id}`,
            { server: webhook.kubeconfig.server, tlsServerName: webhook.kubeconfig.tlsServerName, backend: this.apiserver.webhook },
            webhookReceiversOf(this.node.root),
          ),
      });
    }
  }

  /** Files that must be on the node but are not generated here (keys, certificates). */
  public get provisionedFiles(): ProvisionedFile[] {
    const k = this.props.webhook?.kubeconfig;
    if (!k || !this.apiserver.webhook) return [];
    const dir = posix.dirname(this.apiserver.webhook.flagValues['audit-webhook-config-file'] as string);
    const at = (f: string) => (f.startsWith('/') ? f : posix.join(dir, f));
    const out: ProvisionedFile[] = [];
    const how = `cdk8s-audit certs --out ${DEFAULT_SECRETS_DIR} (gitignored; copy the file to the node, never into git or dist/)`;
    const tls = (f: string) => ({ nodePath: at(f), how, secretsFile: posix.basename(f) });
    if (k.certificateAuthorityFile) out.push({ ...tls(k.certificateAuthorityFile), description: "CA that signed the sink's serving certificate" });
    if (k.clientCertificateFile) out.push({ ...tls(k.clientCertificateFile), description: "the apiserver's client certificate for the sink" });
    if (k.clientKeyFile) out.push({ ...tls(k.clientKeyFile), description: "the client certificate's private key (mode 0600)" });
    if (k.tokenFile) out.push({ nodePath: at(k.tokenFile), description: 'the bearer token for the sink', how: 'from your secret store' });
    return out;
  }

  /**
   * The node-side files, by path under the node-files folder.
   * @jsii ignore a file's content may be a function of where kind runs; AuditApp writes them in every language
   */
  public nodeFiles(): NodeFile[] {
    const audit = this.apiserver;
    const rootfs = (p: string) => posix.join('rootfs', p);
    const files: NodeFile[] = [
      { path: rootfs(audit.policyFile), nodePath: audit.policyFile, description: 'the audit policy (--audit-policy-file)', content: this.policy.toYaml() },
    ];
    if (audit.webhook && this.props.webhook) {
      const configFile = audit.webhook.flagValues['audit-webhook-config-file'] as string;
      files.push({ path: rootfs(configFile), nodePath: configFile, description: 'the webhook kubeconfig (--audit-webhook-config-file)', content: renderWebhookKubeconfig(this.props.webhook.kubeconfig), mode: 0o600 });
    }
    const dirOf = (name: string) => audit.mounts.find((m) => m.name === name)?.path;
    files.push(
      { path: 'apiserver-args.txt', description: 'the kube-apiserver audit flags, one per line', content: audit.commandLine().join('\n') + '\n' },
      { path: 'kubeadm-config.yaml', description: `kubeadm ClusterConfiguration fragment (${this.kubeadmApiNote()}) to merge into the cluster's kubeadm config`, content: renderKubeadmClusterConfiguration(audit) },
      { path: 'kube-apiserver-patch.json', description: 'RFC 6902 JSON patch that appends the audit settings to a kube-apiserver.yaml without any (applied twice it duplicates them; `cdk8s-audit static-pod apply --from DIR` replaces them and is safe to repeat)', content: JSON.stringify(staticPodPatch(audit), null, 2) + '\n' },
      {
        path: 'kind-cluster.yaml',
        description: 'kind Cluster config; run `kind create cluster --config` from the directory that contains the node-files folder',
        content: (folder: string, secretsDir: string) =>
          renderKindCluster(audit, {
            ...this.props.kind,
            hostPolicyDir: posix.join(folder, 'rootfs', dirOf('audit-policy') ?? '/etc/kubernetes/audit'),
            ...(audit.webhook ? { webhookFiles: this.kindWebhookFiles(folder, secretsDir) } : {}),
          }),
      },
    );
    if (this.props.controlPlanes) {
      const generated = files.filter((f) => f.nodePath && typeof f.content === 'string').map((f) => ({ nodePath: f.nodePath!, content: f.content as string, mode: f.mode }));
      files.push(...controlPlaneNodeFiles(audit, generated, providedNodeFiles(this.provisionedFiles), this.props.controlPlanes, this.policy.toDocument()));
    }
    return files;
  }

  /**
   * kind mounts the node's webhook files one by one: the kubeconfig from the node-files folder (synth
   * output, committed) and the TLS files from the secrets directory (gitignored, never synthesised).
   */
  private kindWebhookFiles(folder: string, secretsDir: string): KindHostFile[] {
    const configFile = this.apiserver.webhook!.flagValues['audit-webhook-config-file'] as string;
    return [
      { hostPath: posix.join(folder, 'rootfs', configFile), nodePath: configFile },
      ...this.provisionedFiles.filter((f) => f.secretsFile).map((f) => ({ hostPath: posix.join(secretsDir, f.secretsFile!), nodePath: f.nodePath })),
    ];
  }

  /** The manifest saying where each file goes, as YAML. */
  public manifest(folder: string, secretsDir: string = DEFAULT_SECRETS_DIR): string {
    return renderGoYaml({
      kubernetesVersion: this.kubernetesVersion,
      presets: this.policy.preset?.presets.map((p) => p.name) ?? [],
      ...(this.props.policy ? {} : compositionOptions(this.props.presetOptions)),
      files: this.nodeFiles().map((f) => ({ file: posix.join(folder, f.path), ...(f.nodePath ? { nodePath: f.nodePath } : {}), description: f.description })),
      mounts: this.apiserver.mounts.map((m) => ({ nodeDirectory: m.path, readOnly: m.readOnly, purpose: m.purpose })),
      secretsDir,
      provisionSeparately: this.provisionedFiles.map(({ secretsFile, ...f }) => ({ ...f, ...(secretsFile ? { secretsFile: posix.join(secretsDir, secretsFile) } : {}) })),
    });
  }

  private kubeadmApiNote(): string {
    const api = defaultKubeadmApiVersion(parseKubernetesVersion(this.kubernetesVersion).minor);
    return `${api}, extraArgs as ${api === KubeadmApiVersion.V1BETA3 ? 'a map' : 'a list'}`;
  }
}

/**
 * The preset options prove needs to compose the same requirement table again (whether gdpr composes with a
 * longer minimum, its maximum, the declared personal data); written to files.yaml only when set, so a
 * manifest without them is unchanged.
 */
function compositionOptions(o: PresetOptions | undefined): { presetOptions?: CompositionOptions } {
  const picked: CompositionOptions = {
    ...(o?.retentionPrecedence ? { retentionPrecedence: o.retentionPrecedence } : {}),
    ...(o?.maxRetentionDays !== undefined ? { maxRetentionDays: o.maxRetentionDays } : {}),
    ...(o?.personalDataNamespaces?.length ? { personalDataNamespaces: [...o.personalDataNamespaces] } : {}),
    ...(o?.personalDataResources?.length ? { personalDataResources: o.personalDataResources.map((g) => ({ ...g, ...(g.resources ? { resources: [...g.resources] } : {}) })) } : {}),
  };
  return Object.keys(picked).length ? { presetOptions: picked } : {};
}
