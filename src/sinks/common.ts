/**
 * What every webhook sink construct shares: a single-replica Deployment with a service account that has
 * no API token, a Service on a fixed ClusterIP (the host-network kube-apiserver cannot resolve Service
 * DNS names), a NetworkPolicy admitting only the control plane, a PodDisruptionBudget, and TLS from a
 * Secret or a cert-manager Certificate. Every cdk8s-plus import of the project lives in src/sinks/.
 */
import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { AuditConfigError } from '../backends/errors';
import { WebhookBackend } from '../backends/backends';
import { sizeFromBytes } from '../backends/prop-units';
import { parseCidr } from '../core/cidr';
import { Problem, throwIfProblems } from '../core/problem';
import { clusterIpProblems, peerCidrProblems } from './network';

/** The kubeadm default --service-cluster-ip-range. */
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
/** UID/GID the sink containers run as (the distroless "nonroot" user). */
export const SINK_USER = 65532;

/** Kind of cert-manager issuer that signs the sink's serving certificate. */
export enum CertManagerIssuerKind {
  ISSUER = 'Issuer',
  CLUSTER_ISSUER = 'ClusterIssuer',
}

export interface CertManagerTlsOptions {
  /** Name of the cert-manager Issuer or ClusterIssuer (a CA issuer: its CA must also sign the apiserver's client certificate). */
  readonly issuerName: string;
  /** @default CertManagerIssuerKind.ISSUER */
  readonly issuerKind?: CertManagerIssuerKind;
  /** Secret cert-manager writes (tls.crt, tls.key, ca.crt). @default '<construct name>-tls' */
  readonly secretName?: string;
  /** @default Duration.days(90) */
  readonly duration?: Duration;
  /** @default Duration.days(30) */
  readonly renewBefore?: Duration;
}

/**
 * Where the sink's TLS material comes from. The Secret holds `tls.crt` and `tls.key` (the serving
 * certificate, with the fixed ClusterIP as an IP SAN) and `ca.crt` (the CA whose client certificates the
 * sink accepts: the one that issued the kube-apiserver's webhook client certificate).
 */
export class SinkTls {
  /** An existing Secret with tls.crt, tls.key and ca.crt, e.g. from `cdk8s-audit certs --out .cdk8s-audit/secrets --namespace NS` (it prints the `kubectl create secret` command). */
  public static fromSecret(secretName: string): SinkTls {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(secretName) || secretName.length > 253) {
      throw new Error(`tls: secret name ${JSON.stringify(secretName)} is not a valid Secret name (lowercase letters, digits, '-', '.')`);
    }
    return new SinkTls(secretName, undefined);
  }

  /** A cert-manager Certificate for the ClusterIP, issued by a CA Issuer; cert-manager writes the Secret (with ca.crt). */
  public static fromCertManager(options: CertManagerTlsOptions): SinkTls {
    if (!options.issuerName) throw new Error('tls: issuerName is empty; name the cert-manager Issuer or ClusterIssuer that signs the sink certificate');
    return new SinkTls(options.secretName, options);
  }

  private constructor(
    /** @internal */ public readonly _secretName: string | undefined,
    /** @internal */ public readonly _certManager: CertManagerTlsOptions | undefined,
  ) {}
}

/** The key that signs the store's digests (`sink serve --key`): a Secret the sink mounts read-only. */
export class SinkSigningKey {
  /**
   * @param secretName the Secret (create it yourself; never put key material in manifests)
   * @param key the Secret key holding the HMAC secret (≥ 32 bytes) or Ed25519 PEM private key
   */
  public static fromSecret(secretName: string, key = 'signing.key'): SinkSigningKey {
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new Error(`signingKey: Secret key ${JSON.stringify(key)} is not a valid data key (letters, digits, '-', '_', '.')`);
    return new SinkSigningKey(secretName, key);
  }
  private constructor(
    public readonly secretName: string,
    public readonly key: string,
  ) {}
}

/** Props every webhook sink construct takes. */
export interface WebhookSinkProps {
  /**
   * The fixed ClusterIP of the sink's Service: the kube-apiserver runs on the host network, resolves names
   * with the node's resolver and so must be pointed at an IP. Must lie inside `serviceCidr`.
   */
  readonly clusterIP: string;
  /**
   * The cluster's Service CIDR (the apiserver's --service-cluster-ip-range); `clusterIP` is checked against it.
   * @default '10.96.0.0/12' (kubeadm's default)
   */
  readonly serviceCidr?: string;
  /**
   * Addresses the kube-apiserver connects from — the control-plane nodes (host network). The NetworkPolicy
   * admits only these to the webhook port.
   */
  readonly controlPlaneCidrs: string[];
  /** Serving certificate and client CA. */
  readonly tls: SinkTls;
  /**
   * Addresses allowed to scrape the metrics/health port (e.g. Prometheus' pod CIDR).
   * @default - none (kubelet probes come from the node and are admitted by most CNIs)
   */
  readonly metricsCidrs?: string[];
  /**
   * Allow voluntary disruptions (node drains) to evict the single sink pod. While it is down the apiserver
   * retries each batch for about 2 minutes (default backoff), then drops it.
   * @default false - the PodDisruptionBudget blocks evictions; drain with the sink's cooperation
   */
  readonly allowVoluntaryDisruption?: boolean;
  /**
   * The webhook backend the apiserver uses; when given, synth checks that its batches fit the sink's body limit.
   * @default - not checked
   */
  readonly webhookBackend?: WebhookBackend;
}

export function checkPort(field: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${field}: ${port} is not a TCP port (1-65535)`);
}

/** Throws one ProblemError listing every problem, each naming the prop, led by the construct (`AuditSink sink`). */
export function throwProblems(construct: string, problems: readonly (Problem | string)[]): void {
  throwIfProblems(problems, construct);
}

export function commonProblems(props: WebhookSinkProps): string[] {
  return [
    ...clusterIpProblems(props.clusterIP, props.serviceCidr ?? DEFAULT_SERVICE_CIDR),
    ...peerCidrProblems('controlPlaneCidrs', props.controlPlaneCidrs ?? [], true),
    ...peerCidrProblems('metricsCidrs', props.metricsCidrs ?? [], false),
  ];
}

/** Checks at synth that the webhook backend's batches fit `limit` bytes (the backend's own sinkMaxBody rule). */
export function bodyLimitProblems(backend: WebhookBackend | undefined, limit: number, limitName: string): string[] {
  if (!backend) return [];
  try {
    new WebhookBackend({ ...backend.props, sinkMaxBody: sizeFromBytes(limit) });
    return [];
  } catch (e) {
    if (e instanceof AuditConfigError) return e.problems.map((p) => `webhookBackend vs ${limitName} (${limit} bytes): ${p}`);
    throw e;
  }
}

export interface SinkWorkloadSpec {
  readonly props: WebhookSinkProps;
  /** Lowercase name used for objects (Service port names, Secret defaults). */
  readonly name: string;
  readonly webhookPort: number;
  /** Port for health and metrics; admitted from metricsCidrs. */
  readonly opsPort?: number;
  /** Deny all egress (the sink talks to nobody) except `allowEgress`. @default false */
  readonly denyEgress?: boolean;
  /** With denyEgress: what the sink may still reach (its forwarding destinations, cluster DNS). */
  readonly allowEgress?: { readonly cidrs: readonly string[]; readonly ports: readonly number[]; readonly dns: boolean };
}

export interface SinkWorkload {
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;
  readonly serviceAccount: kplus.ServiceAccount;
  readonly networkPolicy: kplus.NetworkPolicy;
  readonly podDisruptionBudget: ApiObject;
  readonly tlsSecret: kplus.ISecret;
  readonly certificate?: ApiObject;
}

/** Builds the shared objects; the caller adds containers and volumes to `deployment`. */
export function buildSinkWorkload(scope: Construct, spec: SinkWorkloadSpec): SinkWorkload {
  const { props } = spec;
  const serviceAccount = new kplus.ServiceAccount(scope, 'service-account', { automountToken: false });
  const deployment = new kplus.Deployment(scope, 'deployment', {
    replicas: 1,
    // One writer per volume: never two pods at once.
    strategy: kplus.DeploymentStrategy.recreate(),
    serviceAccount,
    automountServiceAccountToken: false,
    // Time to drain in-flight batches on SIGTERM (the sink's --drain-timeout is 25 s).
    terminationGracePeriod: Duration.seconds(40),
    securityContext: { ensureNonRoot: true, user: SINK_USER, group: SINK_USER, fsGroup: SINK_USER, fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH },
  });
  const service = new kplus.Service(scope, 'service', {
    type: kplus.ServiceType.CLUSTER_IP,
    clusterIP: props.clusterIP,
    selector: deployment,
    ports: [{ name: 'webhook', port: spec.webhookPort, targetPort: spec.webhookPort }],
  });
  const peers = (id: string, cidrs: readonly string[]) =>
    cidrs.map((c, i) => (parseCidr(c)!.family === 4 ? kplus.NetworkPolicyIpBlock.ipv4(scope, `${id}-${i}`, c) : kplus.NetworkPolicyIpBlock.ipv6(scope, `${id}-${i}`, c)));
  const rules: kplus.NetworkPolicyRule[] = peers('control-plane', props.controlPlaneCidrs).map((peer) => ({ peer, ports: [kplus.NetworkPolicyPort.tcp(spec.webhookPort)] }));
  if (spec.opsPort !== undefined) {
    for (const peer of peers('metrics', props.metricsCidrs ?? [])) rules.push({ peer, ports: [kplus.NetworkPolicyPort.tcp(spec.opsPort)] });
  }
  const egressRules: kplus.NetworkPolicyRule[] = [];
  const allow = spec.allowEgress;
  if (allow) {
    for (const peer of peers('egress', allow.cidrs)) egressRules.push({ peer, ports: [...new Set(allow.ports)].map((p) => kplus.NetworkPolicyPort.tcp(p)) });
    if (allow.dns) {
      // Cluster DNS (CoreDNS/kube-dns pods in kube-system) to resolve the destinations' names.
      const dns = kplus.Pods.select(scope, 'cluster-dns', { labels: { 'k8s-app': 'kube-dns' }, namespaces: kplus.Namespaces.select(scope, 'cluster-dns-namespace', { names: ['kube-system'] }) });
      egressRules.push({ peer: dns, ports: [kplus.NetworkPolicyPort.udp(53), kplus.NetworkPolicyPort.tcp(53)] });
    }
  }
  const networkPolicy = new kplus.NetworkPolicy(scope, 'network-policy', {
    selector: deployment,
    ingress: { default: kplus.NetworkPolicyTrafficDefault.DENY, rules },
    egress: spec.denyEgress ? { default: kplus.NetworkPolicyTrafficDefault.DENY, rules: egressRules } : undefined,
  });
  const podDisruptionBudget = new kplus.k8s.KubePodDisruptionBudget(scope, 'pdb', {
    spec: {
      selector: { matchLabels: deployment.matchLabels },
      ...(props.allowVoluntaryDisruption ? { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1) } : { minAvailable: kplus.k8s.IntOrString.fromNumber(1) }),
    },
  });
  let certificate: ApiObject | undefined;
  const cm = props.tls._certManager;
  const secretName = props.tls._secretName ?? `${spec.name}-tls`;
  if (cm) {
    certificate = new ApiObject(scope, 'certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      spec: {
        secretName,
        commonName: props.clusterIP,
        ipAddresses: [props.clusterIP],
        usages: ['server auth', 'digital signature', 'key encipherment'],
        duration: `${(cm.duration ?? Duration.days(90)).toHours()}h`,
        renewBefore: `${(cm.renewBefore ?? Duration.days(30)).toHours()}h`,
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        issuerRef: { name: cm.issuerName, kind: cm.issuerKind ?? CertManagerIssuerKind.ISSUER, group: 'cert-manager.io' },
      },
    });
  }
  const tlsSecret = kplus.Secret.fromSecretName(scope, 'tls-secret', secretName);
  return { deployment, service, serviceAccount, networkPolicy, podDisruptionBudget, tlsSecret, certificate };
}

/** A Secret volume mounted read-only, owner-only readable. */
export function secretVolume(scope: Construct, id: string, name: string, secret: kplus.ISecret, items?: Record<string, string>): kplus.Volume {
  return kplus.Volume.fromSecret(scope, id, secret, {
    name,
    defaultMode: 0o440,
    items: items ? Object.fromEntries(Object.entries(items).map(([k, path]) => [k, { path }])) : undefined,
  });
}

export function emptyDirVolume(scope: Construct, id: string, name: string, sizeLimit = Size.mebibytes(64)): kplus.Volume {
  return kplus.Volume.fromEmptyDir(scope, id, name, { sizeLimit });
}

export function urlHost(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}
