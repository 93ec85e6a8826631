import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { WebhookKubeconfigProps } from '../backends/kubeconfig';
import {
  bodyLimitProblems,
  buildSinkWorkload,
  checkPort,
  commonProblems,
  emptyDirVolume,
  kubeconfigFor,
  secretVolume,
  SINK_USER,
  SinkSigningKey,
  throwProblems,
  urlHost,
  WebhookSinkProps,
} from './common';

/** Props of {@link AuditSink}. */
export interface AuditSinkProps extends WebhookSinkProps {
  /** The image built from templates/sink/Dockerfile (runs `cdk8s-audit`), e.g. `registry.example.com/cdk8s-audit-sink:0.1.0`. */
  readonly image: string;
  /** The key that signs segment digests and the head (`sink serve --key`). */
  readonly signingKey: SinkSigningKey;
  /** The webhook port (`sink serve --listen`). @default 8443 */
  readonly port?: number;
  /** Plain-HTTP port for /healthz, /readyz and /metrics. @default 8081 */
  readonly opsPort?: number;
  /** Size of the PersistentVolumeClaim holding the store. @default Size.gibibytes(20) */
  readonly storageSize?: Size;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /**
   * Delete sealed segments older than this (`--retention-max-age`). Copy the store elsewhere first if you
   * must keep longer (PCI DSS 10.5.1: 12 months, 3 immediately available).
   * @default - no age limit
   */
  readonly retentionMaxAge?: Duration;
  /**
   * Delete the oldest sealed segments while the store is larger than this (`--retention-max-bytes`).
   * @default 85% of storageSize, so the volume never fills
   */
  readonly retentionMaxBytes?: number;
  /** Largest request body (`--max-body-bytes`). @default 16 MiB (above the apiserver's 10 MiB default batch) */
  readonly maxBodyBytes?: number;
  /** Client certificate CNs accepted (`--client-name`). @default ['kube-apiserver-audit'] (what `cdk8s-audit certs` issues) */
  readonly clientNames?: string[];
  /** @default requests 100m CPU / 128 MiB, limits 1 CPU / 512 MiB */
  readonly resources?: kplus.ContainerResources;
}

const STORE_MOUNT = '/var/lib/audit-sink';
const TLS_MOUNT = '/etc/audit-sink/tls';
const KEY_MOUNT = '/etc/audit-sink/signing';

/**
 * The cdk8s-audit remote sink (`cdk8s-audit sink serve`) in the cluster: a durable, authenticated,
 * tamper-evident receiver for the kube-apiserver's audit webhook.
 *
 * It creates a PersistentVolumeClaim for the store, a single-replica Deployment (non-root, read-only root
 * file system, no service-account token, explicit resources, named volumes), a Service on a fixed ClusterIP
 * the host-network apiserver can reach, a NetworkPolicy admitting only the control plane, a
 * PodDisruptionBudget, and (optionally) a cert-manager Certificate for the ClusterIP.
 *
 * @example
 * const sink = new AuditSink(chart, 'audit-sink', {
 *   image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
 *   clusterIP: '10.96.0.50',
 *   controlPlaneCidrs: ['192.168.1.10/32'],
 *   tls: SinkTls.fromSecret('audit-sink-tls'),
 *   signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
 *   storageSize: Size.gibibytes(50),
 *   webhookBackend: new WebhookBackend({ truncate: { enabled: true } }),
 * });
 * // the --audit-webhook-config-file for the control-plane nodes:
 * const kubeconfig = sink.renderWebhookKubeconfig({ certificateAuthorityFile: '/etc/kubernetes/audit-webhook/ca.crt',
 *   clientCertificateFile: '/etc/kubernetes/audit-webhook/apiserver-client.crt', clientKeyFile: '/etc/kubernetes/audit-webhook/apiserver-client.key' });
 */
export class AuditSink extends Construct {
  /** The URL the apiserver posts to: `https://<clusterIP>:<port>/audit`. */
  public readonly webhookUrl: string;
  public readonly deployment: kplus.Deployment;
  public readonly service: kplus.Service;
  public readonly networkPolicy: kplus.NetworkPolicy;
  public readonly storage: kplus.PersistentVolumeClaim;
  public readonly podDisruptionBudget: ApiObject;
  /** The cert-manager Certificate, when TLS comes from cert-manager. */
  public readonly certificate?: ApiObject;
  public readonly maxBodyBytes: number;

  constructor(scope: Construct, id: string, props: AuditSinkProps) {
    super(scope, id);
    const port = props.port ?? 8443;
    const opsPort = props.opsPort ?? 8081;
    checkPort('port', port);
    checkPort('opsPort', opsPort);
    if (port === opsPort) throw new Error(`AuditSink ${id}: port and opsPort are both ${port}; give them different ports`);
    const problems = commonProblems(props);
    if (!props.image || /\s/.test(props.image)) problems.push(`image: ${JSON.stringify(props.image)} is not an image reference; build templates/sink/Dockerfile and give its reference`);
    const storageSize = props.storageSize ?? Size.gibibytes(20);
    const storageBytes = storageSize.toMebibytes() * 1024 * 1024;
    const retentionMaxBytes = props.retentionMaxBytes ?? Math.floor(storageBytes * 0.85);
    if (!Number.isSafeInteger(retentionMaxBytes) || retentionMaxBytes <= 0) problems.push(`retentionMaxBytes: ${retentionMaxBytes} is not a positive number of bytes`);
    else if (retentionMaxBytes > storageBytes) problems.push(`retentionMaxBytes: ${retentionMaxBytes} exceeds storageSize (${storageBytes} bytes); the volume would fill first and every batch be answered 503 — lower it to at most 90% of storageSize`);
    this.maxBodyBytes = props.maxBodyBytes ?? 16 * 1024 * 1024;
    if (!Number.isSafeInteger(this.maxBodyBytes) || this.maxBodyBytes < 1024) problems.push(`maxBodyBytes: ${this.maxBodyBytes} is below 1024 bytes`);
    const clientNames = props.clientNames ?? ['kube-apiserver-audit'];
    if (clientNames.length === 0) problems.push('clientNames: empty; list the CN of the apiserver\'s webhook client certificate (cdk8s-audit certs: kube-apiserver-audit)');
    throwProblems(`AuditSink ${id}`, problems);

    const name = `${this.node.id}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const workload = buildSinkWorkload(this, { props, name, webhookPort: port, opsPort, denyEgress: true });
    this.deployment = workload.deployment;
    this.service = workload.service;
    this.networkPolicy = workload.networkPolicy;
    this.podDisruptionBudget = workload.podDisruptionBudget;
    this.certificate = workload.certificate;
    this.webhookUrl = `https://${urlHost(props.clusterIP)}:${port}/audit`;

    this.storage = new kplus.PersistentVolumeClaim(this, 'store', {
      storage: storageSize,
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storageClassName: props.storageClassName,
    });
    const storeVolume = kplus.Volume.fromPersistentVolumeClaim(this, 'store-volume', this.storage, { name: 'store' });
    const tlsVolume = secretVolume(this, 'tls-volume', 'tls', workload.tlsSecret);
    const keySecret = kplus.Secret.fromSecretName(this, 'signing-key-secret', props.signingKey.secretName);
    const keyVolume = secretVolume(this, 'signing-key-volume', 'signing-key', keySecret, { [props.signingKey.key]: 'signing.key' });
    const tmpVolume = emptyDirVolume(this, 'tmp-volume', 'tmp', Size.mebibytes(16));

    const args = [
      'sink', 'serve',
      '--store', `${STORE_MOUNT}/store`,
      '--key', `${KEY_MOUNT}/signing.key`,
      '--tls-dir', TLS_MOUNT,
      ...clientNames.flatMap((n) => ['--client-name', n]),
      '--listen', `0.0.0.0:${port}`,
      '--ops-listen', `0.0.0.0:${opsPort}`,
      '--max-body-bytes', String(this.maxBodyBytes),
      '--retention-max-bytes', String(retentionMaxBytes),
      ...(props.retentionMaxAge ? ['--retention-max-age', `${Math.round(props.retentionMaxAge.toSeconds())}s`] : []),
    ];
    const container = this.deployment.addContainer({
      name: 'sink',
      image: props.image,
      args,
      ports: [
        { name: 'webhook', number: port },
        { name: 'ops', number: opsPort },
      ],
      securityContext: { ensureNonRoot: true, user: SINK_USER, group: SINK_USER, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false },
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
      },
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: opsPort, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: opsPort, periodSeconds: Duration.seconds(10), failureThreshold: 6 }),
      startup: kplus.Probe.fromHttpGet('/healthz', { port: opsPort, periodSeconds: Duration.seconds(2), failureThreshold: 150 }),
    });
    container.mount(STORE_MOUNT, storeVolume);
    container.mount(TLS_MOUNT, tlsVolume, { readOnly: true });
    container.mount(KEY_MOUNT, keyVolume, { readOnly: true });
    container.mount('/tmp', tmpVolume);

    this.node.addValidation({ validate: () => bodyLimitProblems(props.webhookBackend, this.maxBodyBytes, 'AuditSink maxBodyBytes') });
  }

  /** The apiserver's webhook kubeconfig (`--audit-webhook-config-file`) pointing at this sink. */
  public renderWebhookKubeconfig(props: Omit<WebhookKubeconfigProps, 'server'>): string {
    return kubeconfigFor(this.webhookUrl, props);
  }
}
