import { createHash } from 'node:crypto';
import { ApiObject, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  bodyLimitProblems,
  checkPort,
  commonProblems,
  emptyDirVolume,
  secretVolume,
  SinkSigningKey,
  throwProblems,
  WebhookSinkProps,
} from './common';
import { SinkDetections, silencedDetectionsProblem } from './detection-coverage';
import { hardenedContainerSecurityContext } from './container-security';
import { peerCidrProblems } from './network';
import { describeSize, sizeFromBytes, sizeToBytes } from '../backends/prop-units';
import {
  AlertWebhookProps,
  alertWebhookProblems,
  ElasticsearchOutputProps,
  elasticsearchOutputProblems,
  lokiLabelFields,
  LokiOutputProps,
  lokiOutputProblems,
  lokiStaticLabels,
  LoggingAuth,
  LoggingTls,
  mountOutputSecrets,
  mountPseudonymizeKey,
  pseudonymizeKeyArgs,
  pseudonymizeKeyProblems,
  SecretKeyRef,
  outputSecretFiles,
  sinkServeTargetArgs,
  urlNeedsDns,
  urlPort,
} from './outputs';
import { formatIssue } from '../policy/issue';
import { AlertRulesDocument, alertRulesProblems, renderAlertRulesYaml } from '../sink-contract/alert-rules';
import { DEFAULT_ES_INDEX } from '../sink-contract/forward-format';
import { DEFAULT_MAX_BODY_BYTES } from '../sink-contract/defaults';
import { WebhookSink, WebhookSinkBodyLimit } from './webhook-sink';

/** Props of {@link AuditSink}. */
export interface AuditSinkProps extends WebhookSinkProps {
  /** The image built from templates/sink/Dockerfile (runs `cdk8s-audit`), e.g. `registry.example.com/cdk8s-audit-sink:0.1.0`. */
  readonly image: string;
  /**
   * When the kubelet pulls the image. Pin a version tag or digest: with IfNotPresent a node keeps using
   * the image it has, which is also what an offline or air-gapped cluster (images loaded, no registry) needs.
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;
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
   * Delete the oldest sealed segments while the store is larger than this (`--retention-max-bytes`, whole
   * bytes). `Size.mebibytes(0)` turns the size limit off (only with `retentionMaxAge`): then only age deletes,
   * which is what lets the age retention be a guarantee (`sinkRetentionFor(preset.retention)`); size the
   * volume for it, as a full volume makes the sink refuse batches (503) rather than delete records early.
   * @default - 85% of storageSize, so the volume never fills
   */
  readonly retentionMaxSize?: Size;
  /**
   * Largest request body (`--max-body-bytes`, whole bytes, at least 1 KiB).
   * @default Size.mebibytes(16) (above the apiserver's 10 MiB default batch)
   */
  readonly maxBodySize?: Size;
  /** Client certificate CNs accepted (`--client-name`). @default ['kube-apiserver-audit'] (what `cdk8s-audit certs` issues) */
  readonly clientNames?: string[];
  /** @default requests 100m CPU / 128 MiB, limits 1 CPU / 512 MiB */
  readonly resources?: kplus.ContainerResources;
  /**
   * Alert rules the sink evaluates on every stored event (`sink serve --rules`), e.g.
   * `presetAlertRules('pci-dss', { approvedSourceCidrs: [...] })`. Rendered into a ConfigMap mounted
   * read-only; the pod template carries the rules' SHA-256, so a change rolls the pod. Alerts go to the
   * container's stdout (JSON lines) and `audit_sink_alerts_total{rule}`.
   * @default - no rules
   */
  readonly alertRules?: AlertRulesDocument;
  /** Also POST alerts to this HTTPS endpoint (needs `alertRules` and `egressCidrs`). @default - none */
  readonly alertWebhook?: AlertWebhookProps;
  /** Forward every stored event to Elasticsearch (`_bulk`, `_id` = auditID-stage). Needs `egressCidrs`. @default - none */
  readonly forwardElasticsearch?: ElasticsearchOutputProps;
  /** Forward every stored event to Loki (push API). Needs `egressCidrs`. @default - none */
  readonly forwardLoki?: LokiOutputProps;
  /**
   * Forward pseudonymized copies: user names, UIDs and source addresses as keyed hashes (HMAC-SHA256 with the
   * ≥ 32-byte secret in this Secret key; GDPR Art. 32). The local store keeps the events as received.
   * @default - forwarded as stored
   */
  readonly forwardPseudonymizeKey?: SecretKeyRef;
  /**
   * Detection rules that read the events this sink forwards (e.g. Elastic's prebuilt rules behind
   * forwardElasticsearch, Sigma rules in a SIEM): synth fails when the ClusterAudit's policy silences any,
   * naming each rule, the deciding policy rule and the fix. @default no check
   */
  readonly detections?: SinkDetections;
  /**
   * Where the forwarding destinations and the alert webhook are: the NetworkPolicy, which otherwise denies
   * all egress, admits these CIDRs on the URLs' ports (and cluster DNS when a URL names a host).
   * @default - none (required with forwarding or an alert webhook)
   */
  readonly egressCidrs?: string[];
  /**
   * A `monitoring.coreos.com/v1 ServiceMonitor` (Prometheus Operator) scraping the sink's /metrics on the
   * Service's `metrics` port; Prometheus' pods must be in `metricsCidrs`.
   * @default - no ServiceMonitor (the Service still has the metrics port)
   */
  readonly serviceMonitor?: AuditSinkServiceMonitorProps;
}

/** How the Prometheus Operator scrapes an {@link AuditSink}. */
export interface AuditSinkServiceMonitorProps {
  /**
   * The `job` label of the scraped series. The audit alert rules select the sink by it: keep it equal to
   * what `AuditAlerts`' `sinkSelector` (or `cdk8s-audit alerts --sink-selector`) matches.
   * @default 'audit-sink' (the rules' default sinkSelector is job="audit-sink")
   */
  readonly job?: string;
  /**
   * Labels on the ServiceMonitor, for the Prometheus resource's serviceMonitorSelector
   * (kube-prometheus-stack selects `release: <its release name>`).
   * @default - none
   */
  readonly labels?: Record<string, string>;
  /** How often to scrape. @default Duration.seconds(30) */
  readonly interval?: Duration;
}

/** The default `job` label of the sink's series, the one the audit alert rules select by default. */
export const AUDIT_SINK_JOB = 'audit-sink';

const STORE_MOUNT = '/var/lib/audit-sink';
const RULES_MOUNT = '/etc/audit-sink/rules';
const OUTPUTS_MOUNT = '/etc/audit-sink/outputs';
const PSEUDONYM_MOUNT = `${OUTPUTS_MOUNT}/pseudonym`;
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
 *   webhookBackend: new WebhookBackend({ truncate: { enabled: true, maxEventSize: Size.kibibytes(40) } }), // 400 × 40 KiB fits 16 MiB
 * });
 * // the --audit-webhook-config-file for the control-plane nodes:
 * const kubeconfig = sink.renderWebhookKubeconfig({ certificateAuthorityFile: '/etc/kubernetes/audit-webhook/ca.crt',
 *   clientCertificateFile: '/etc/kubernetes/audit-webhook/apiserver-client.crt', clientKeyFile: '/etc/kubernetes/audit-webhook/apiserver-client.key' });
 */
export class AuditSink extends WebhookSink {
  public readonly storage: kplus.PersistentVolumeClaim;
  /** The largest request body the sink accepts. */
  public readonly maxBodySize: Size;
  private readonly maxBodyBytes: number;
  /** The ConfigMap holding rules.yaml, when `alertRules` is given. */
  public readonly alertRulesConfigMap?: kplus.ConfigMap;
  /** The ServiceMonitor, when `serviceMonitor` is given. */
  public readonly serviceMonitor?: ApiObject;

  constructor(scope: Construct, id: string, props: AuditSinkProps) {
    const port = props.port ?? 8443;
    const opsPort = props.opsPort ?? 8081;
    checkPort('port', port);
    checkPort('opsPort', opsPort);
    if (port === opsPort) throw new Error(`AuditSink ${id}: port and opsPort are both ${port}; give them different ports`);
    const problems = commonProblems(props);
    if (!props.image || /\s/.test(props.image)) problems.push(`image: ${JSON.stringify(props.image)} is not an image reference; build templates/sink/Dockerfile and give its reference`);
    const storageSize = props.storageSize ?? Size.gibibytes(20);
    const storageBytes = storageSize.toMebibytes() * 1024 * 1024;
    const retentionMaxBytes = props.retentionMaxSize === undefined ? Math.floor(storageBytes * 0.85) : sizeToBytes(props.retentionMaxSize);
    const retentionGiven = props.retentionMaxSize === undefined ? '' : describeSize(props.retentionMaxSize);
    if (!Number.isSafeInteger(retentionMaxBytes)) {
      problems.push(`retentionMaxSize: ${retentionGiven} is not a whole number of bytes, and --retention-max-bytes counts whole bytes; give e.g. Size.gibibytes(${Math.max(1, Math.floor(retentionMaxBytes / 2 ** 30))})`);
    } else if (retentionMaxBytes === 0 && !props.retentionMaxAge) {
      problems.push('retentionMaxSize: 0 turns the size limit off, and without retentionMaxAge nothing would ever be deleted; give retentionMaxAge (e.g. Duration.days(365)) or a size');
    } else if (retentionMaxBytes > storageBytes) {
      problems.push(`retentionMaxSize: ${retentionGiven} exceeds storageSize (${describeSize(storageSize)}); the volume would fill first and every batch be answered 503 — lower it to at most 90% of storageSize`);
    }
    const maxBodyBytes = props.maxBodySize === undefined ? DEFAULT_MAX_BODY_BYTES : sizeToBytes(props.maxBodySize);
    if (props.maxBodySize !== undefined && !(Number.isSafeInteger(maxBodyBytes) && maxBodyBytes >= 1024)) {
      problems.push(`maxBodySize: ${describeSize(props.maxBodySize)} is not a body limit: --max-body-bytes takes whole bytes, at least 1024 (one audit event is larger); give e.g. Size.mebibytes(16)`);
    }
    const clientNames = props.clientNames ?? ['kube-apiserver-audit'];
    if (clientNames.length === 0) problems.push('clientNames: empty; list the CN of the apiserver\'s webhook client certificate (cdk8s-audit certs: kube-apiserver-audit)');
    problems.push(...serviceMonitorProblems(props.serviceMonitor));
    if (props.alertRules) problems.push(...alertRulesProblems(props.alertRules).map((i) => `alertRules.${formatIssue(i)}`));
    if (props.alertWebhook) {
      problems.push(...alertWebhookProblems('alertWebhook', props.alertWebhook));
      if (!props.alertRules) problems.push('alertWebhook: given without alertRules, so there are no alerts to send; add alertRules (e.g. presetAlertRules(...))');
    }
    if (props.forwardElasticsearch) problems.push(...elasticsearchOutputProblems('forwardElasticsearch', props.forwardElasticsearch));
    if (props.forwardLoki) problems.push(...lokiOutputProblems('forwardLoki', props.forwardLoki));
    problems.push(...pseudonymizeKeyProblems('forwardPseudonymizeKey', props.forwardPseudonymizeKey, !!(props.forwardElasticsearch ?? props.forwardLoki)));
    const destinations = [props.forwardElasticsearch?.url, props.forwardLoki?.url, props.alertWebhook?.url].filter((u): u is string => u !== undefined);
    if (destinations.length && !(props.egressCidrs ?? []).length) {
      problems.push('egressCidrs: empty, but the sink must reach ' + destinations.join(', ') + '; list the CIDRs those hosts are in (the NetworkPolicy denies all other egress)');
    }
    problems.push(...peerCidrProblems('egressCidrs', props.egressCidrs ?? [], false));
    throwProblems(`AuditSink ${id}`, problems);

    const validUrls = destinations.filter((u) => /^https:/.test(u));
    super(scope, id, {
      props,
      webhookPort: port,
      opsPort,
      path: '/audit',
      denyEgress: true,
      allowEgress: destinations.length ? { cidrs: props.egressCidrs ?? [], ports: validUrls.map(urlPort), dns: validUrls.some(urlNeedsDns) } : undefined,
    });
    this.maxBodyBytes = maxBodyBytes;
    this.maxBodySize = sizeFromBytes(maxBodyBytes);

    this.storage = new kplus.PersistentVolumeClaim(this, 'store', {
      storage: storageSize,
      accessModes: [kplus.PersistentVolumeAccessMode.READ_WRITE_ONCE],
      storageClassName: props.storageClassName,
    });
    const storeVolume = kplus.Volume.fromPersistentVolumeClaim(this, 'store-volume', this.storage, { name: 'store' });
    const tlsVolume = secretVolume(this, 'tls-volume', 'tls', this.tlsSecret);
    const keySecret = kplus.Secret.fromSecretName(this, 'signing-key-secret', props.signingKey.secretName);
    const keyVolume = secretVolume(this, 'signing-key-volume', 'signing-key', keySecret, { [props.signingKey.key]: 'signing.key' });
    const tmpVolume = emptyDirVolume(this, 'tmp-volume', 'tmp', Size.mebibytes(16));

    // Forwarding, rules and webhook: flags now, Secret and ConfigMap mounts once the container exists.
    const outputs: { prefix: string; dir: string; tls?: LoggingTls; auth?: LoggingAuth }[] = [];
    const outputArgs: string[] = [];
    const target = (flag: string, prefix: string, o: { url: string; tls?: LoggingTls; auth?: LoggingAuth }) => {
      const dir = `${OUTPUTS_MOUNT}/${prefix}`;
      outputs.push({ prefix, dir, tls: o.tls, auth: o.auth });
      outputArgs.push(...sinkServeTargetArgs(flag, o.url, o.auth, outputSecretFiles(dir, o.tls, o.auth)));
    };
    let rulesYaml: string | undefined;
    if (props.alertRules) {
      rulesYaml = renderAlertRulesYaml(props.alertRules);
      outputArgs.push('--rules', `${RULES_MOUNT}/rules.yaml`);
    }
    if (props.alertWebhook) target('alerts-webhook', 'alert-webhook', props.alertWebhook);
    if (props.forwardElasticsearch) {
      target('forward-elasticsearch', 'es', props.forwardElasticsearch);
      outputArgs.push('--forward-elasticsearch-index', props.forwardElasticsearch.index ?? DEFAULT_ES_INDEX);
    }
    if (props.forwardLoki) {
      const l = props.forwardLoki;
      target('forward-loki', 'loki', l);
      outputArgs.push('--forward-loki-labels', lokiLabelFields(l).join(','));
      for (const [k, v] of Object.entries(lokiStaticLabels(l))) outputArgs.push('--forward-loki-label', `${k}=${v}`);
      if (l.tenant) outputArgs.push('--forward-loki-tenant', l.tenant);
    }
    if (props.forwardPseudonymizeKey) outputArgs.push(...pseudonymizeKeyArgs(PSEUDONYM_MOUNT));
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
      ...outputArgs,
    ];
    const container = this.deployment.addContainer({
      name: 'sink',
      image: props.image,
      imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args,
      ports: [
        { name: 'webhook', number: port },
        { name: 'ops', number: opsPort },
      ],
      securityContext: hardenedContainerSecurityContext(),
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

    if (rulesYaml !== undefined) {
      this.alertRulesConfigMap = new kplus.ConfigMap(this, 'alert-rules', { data: { 'rules.yaml': rulesYaml } });
      container.mount(RULES_MOUNT, kplus.Volume.fromConfigMap(this, 'alert-rules-volume', this.alertRulesConfigMap, { name: 'alert-rules' }), { readOnly: true });
      // sink serve reads the rules at start: a change of the rules must roll the pod.
      this.deployment.podMetadata.addAnnotation('cdk8s-audit.io/alert-rules-sha256', createHash('sha256').update(rulesYaml).digest('hex'));
    }
    // The ops listener on the Service, so Prometheus (a ServiceMonitor, or an endpoints scrape job) finds /metrics.
    this.service.bind(opsPort, { name: 'metrics', targetPort: opsPort });
    if (props.serviceMonitor) this.serviceMonitor = this.addServiceMonitor(props.serviceMonitor);
    for (const o of outputs) mountOutputSecrets(this, container, o.prefix, o.dir, o.tls, o.auth);
    if (props.forwardPseudonymizeKey) mountPseudonymizeKey(this, container, PSEUDONYM_MOUNT, props.forwardPseudonymizeKey);

    this.node.addValidation({
      validate: () => {
        const out = bodyLimitProblems(props.webhookBackend, this.maxBodyBytes, 'AuditSink maxBodySize');
        const silenced = props.detections ? silencedDetectionsProblem('detections.clusterAudit', props.detections) : undefined;
        return silenced ? [...out, silenced] : out;
      },
    });
  }

  protected bodyLimit(): WebhookSinkBodyLimit {
    return { maxBody: this.maxBodySize, maxBodyName: 'AuditSink maxBodySize' };
  }

  private addServiceMonitor(props: AuditSinkServiceMonitorProps): ApiObject {
    // A label of this Service only, so two sinks in one namespace are not scraped twice.
    const selectorLabels = { 'cdk8s-audit.io/sink-metrics': this.service.name };
    for (const [k, v] of Object.entries(selectorLabels)) this.service.metadata.addLabel(k, v);
    return new ApiObject(this, 'service-monitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'cdk8s-audit', ...(props.labels ?? {}) } },
      spec: {
        selector: { matchLabels: selectorLabels },
        endpoints: [
          {
            port: 'metrics',
            path: '/metrics',
            scheme: 'http',
            interval: `${Math.round((props.interval ?? Duration.seconds(30)).toSeconds())}s`,
            // The operator's job label is the Service's name; the alert rules select job="audit-sink".
            relabelings: [{ action: 'replace', targetLabel: 'job', replacement: props.job ?? AUDIT_SINK_JOB }],
          },
        ],
      },
    });
  }
}

function serviceMonitorProblems(props: AuditSinkServiceMonitorProps | undefined): string[] {
  if (!props) return [];
  const problems: string[] = [];
  if (props.job !== undefined && !/^\S+$/.test(props.job)) {
    problems.push(`serviceMonitor.job: ${JSON.stringify(props.job)} is not a job label value; give one word, e.g. '${AUDIT_SINK_JOB}' (what the alert rules' sinkSelector matches)`);
  }
  const ms = props.interval?.toMilliseconds();
  if (ms !== undefined && !(ms >= 1000 && ms % 1000 === 0)) {
    problems.push(`serviceMonitor.interval: ${ms / 1000} s is not a whole number of seconds ≥ 1; give e.g. Duration.seconds(30)`);
  }
  for (const k of Object.keys(props.labels ?? {})) {
    if (!/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k)) {
      problems.push(`serviceMonitor.labels: ${JSON.stringify(k)} is not a Kubernetes label key; use e.g. release`);
    }
  }
  return problems;
}
