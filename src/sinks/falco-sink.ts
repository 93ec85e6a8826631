import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { BATCH_ENVELOPE_BYTES } from '../backends/backends';
import type { ClusterAudit } from '../gitops/cluster-audit';
import { silencedDetectionsProblem } from './detection-coverage';
import { bodyLimitProblems, checkPort, commonProblems, emptyDirVolume, secretVolume, throwProblems, WebhookSinkProps } from './common';
import { hardenedContainerSecurityContext } from './container-security';
import { WebhookSink, WebhookSinkBodyLimit } from './webhook-sink';
import { describeSize, sizeFromBytes, sizeToBytes } from '../backends/prop-units';

/** Props of {@link FalcoSink}. */
export interface FalcoSinkProps extends WebhookSinkProps {
  /** A Falco image (≥ 0.38, `engine.kind: nodriver`) that contains the k8saudit and json plugins. @default 'falcosecurity/falco-no-driver:0.39.2' */
  readonly image?: string;
  /** The k8saudit webserver port. @default 9765 */
  readonly port?: number;
  /**
   * The plugin's `webhookMaxBatchSize`: largest request body (whole bytes). Must hold the apiserver's largest batch.
   * @default Size.mebibytes(12) (the plugin's default; above the apiserver's 10 MiB default batch)
   */
  readonly maxBatchSize?: Size;
  /**
   * The plugin's `maxEventSize`: larger events are dropped by Falco. With truncation on, the apiserver never
   * sends events above --audit-webhook-truncate-max-event-size (100 KiB by default).
   * Whole bytes, at least 1 KiB.
   * @default Size.kibibytes(256) (the plugin's default)
   */
  readonly maxEventSize?: Size;
  /** Rules files inside the image. @default ['/etc/falco/k8s_audit_rules.yaml'] */
  readonly rulesFiles?: string[];
  /** @default requests 100m CPU / 256 MiB, limits 1 CPU / 1 GiB */
  readonly resources?: kplus.ContainerResources;
  /**
   * The ClusterAudit whose apiserver sends this sink its events. When set and the sink loads Falco's
   * k8s_audit_rules.yaml, synth fails if that policy records a watched request below the level a rule's
   * condition needs (e.g. pod creation at Metadata silences "Create Privileged Pod"), naming each silenced
   * rule and the fix. Rules that would need secret bodies (configmap contents) are never required.
   * @default no check
   */
  readonly clusterAudit?: ClusterAudit;
  /** Falco rule names you accept as silenced by the policy (exact names). @default none */
  readonly allowSilencedRules?: string[];
}

const CONFIG_MOUNT = '/etc/falco/cdk8s-audit';
const TLS_MOUNT = '/etc/audit-sink/tls';
const PEM_DIR = '/etc/falco/certs';

/**
 * Falco's k8saudit plugin as the apiserver's audit webhook (Falco splits the EventList itself), over HTTPS,
 * with body and event limits matched to the apiserver's truncate settings.
 *
 * Caveats, from the plugin: it answers 200 before parsing (a batch it cannot parse is lost, not retried);
 * it does not authenticate clients (the NetworkPolicy admits only the control plane); it reads cert and key
 * from one PEM file, which an init container assembles from the TLS Secret. For evidence-grade storage
 * run {@link AuditSink} as well (the apiserver supports one webhook: put Falco behind the sink's
 * `--forward-stdout`, or use the log backend for one of them).
 *
 * @example
 * new FalcoSink(chart, 'falco', {
 *   clusterIP: '10.96.0.53',
 *   controlPlaneCidrs: ['192.168.1.10/32'],
 *   tls: SinkTls.fromSecret('audit-falco-tls'),
 *   webhookBackend: new WebhookBackend({ truncate: { enabled: true, maxEventSize: Size.kibibytes(30) } }), // 400 × 30 KiB fits
 * });
 */
export class FalcoSink extends WebhookSink {
  public readonly configMap: kplus.ConfigMap;
  /** falco.yaml as an object. */
  public readonly config: Record<string, unknown>;
  /** The largest request body Falco accepts (`webhookMaxBatchSize`). */
  public readonly maxBatchSize: Size;
  /** The largest event Falco keeps (`maxEventSize`). */
  public readonly maxEventSize: Size;
  private readonly maxBatchBytes: number;
  private readonly maxEventBytes: number;

  constructor(scope: Construct, id: string, props: FalcoSinkProps) {
    const port = props.port ?? 9765;
    checkPort('port', port);
    const problems = commonProblems(props);
    const maxBatchSize = props.maxBatchSize ?? Size.mebibytes(12);
    const maxEventSize = props.maxEventSize ?? Size.kibibytes(256);
    const maxBatchBytes = sizeToBytes(maxBatchSize);
    const maxEventBytes = sizeToBytes(maxEventSize);
    if (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < 1024) {
      problems.push(`maxEventSize: ${describeSize(maxEventSize)} is not an event limit: the plugin's maxEventSize takes whole bytes, at least 1024; give e.g. Size.kibibytes(256)`);
    }
    if (!Number.isSafeInteger(maxBatchBytes) || maxBatchBytes < maxEventBytes + BATCH_ENVELOPE_BYTES) {
      problems.push(
        `maxBatchSize: ${describeSize(maxBatchSize)} cannot hold one event of maxEventSize (${maxEventBytes} bytes) plus the ${BATCH_ENVELOPE_BYTES}-byte envelope ` +
          '(the plugin takes whole bytes); give e.g. Size.mebibytes(12)',
      );
    }
    throwProblems(`FalcoSink ${id}`, problems);
    super(scope, id, { props, webhookPort: port, opsPort: 8765, path: '/k8s-audit' });
    this.maxBatchBytes = maxBatchBytes;
    this.maxEventBytes = maxEventBytes;
    this.maxBatchSize = maxBatchSize;
    this.maxEventSize = maxEventSize;
    this.config = {
      engine: { kind: 'nodriver' },
      rules_files: props.rulesFiles ?? ['/etc/falco/k8s_audit_rules.yaml'],
      plugins: [
        {
          name: 'k8saudit',
          library_path: 'libk8saudit.so',
          init_config: { sslCertificate: `${PEM_DIR}/server.pem`, maxEventSize: this.maxEventBytes, webhookMaxBatchSize: this.maxBatchBytes },
          open_params: `https://:${port}/k8s-audit`,
        },
        { name: 'json', library_path: 'libjson.so', init_config: '' },
      ],
      load_plugins: ['k8saudit', 'json'],
      json_output: true,
      stdout_output: { enabled: true },
      webserver: { enabled: true, listen_port: 8765, k8s_healthz_endpoint: '/healthz', ssl_enabled: false },
    };
    this.configMap = new kplus.ConfigMap(this, 'config', { data: { 'falco.yaml': stringify(this.config, { lineWidth: 0 }) } });
    const tlsVolume = secretVolume(this, 'tls-volume', 'tls', this.tlsSecret);
    const pemVolume = emptyDirVolume(this, 'pem-volume', 'server-pem', Size.mebibytes(1));
    const image = props.image ?? 'falcosecurity/falco-no-driver:0.39.2';
    const securityContext = hardenedContainerSecurityContext();
    const init = this.deployment.addInitContainer({
      name: 'assemble-pem',
      image,
      command: ['/bin/sh', '-c', `umask 077 && cat ${TLS_MOUNT}/tls.crt ${TLS_MOUNT}/tls.key > ${PEM_DIR}/server.pem`],
      securityContext,
      resources: { cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) }, memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) } },
    });
    init.mount(TLS_MOUNT, tlsVolume, { readOnly: true });
    init.mount(PEM_DIR, pemVolume);
    const container = this.deployment.addContainer({
      name: 'falco',
      image,
      args: ['/usr/bin/falco', '-c', `${CONFIG_MOUNT}/falco.yaml`],
      ports: [
        { name: 'webhook', number: port },
        { name: 'ops', number: 8765 },
      ],
      securityContext,
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
      },
      readiness: kplus.Probe.fromHttpGet('/healthz', { port: 8765, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8765, periodSeconds: Duration.seconds(10), failureThreshold: 6 }),
    });
    container.mount(CONFIG_MOUNT, kplus.Volume.fromConfigMap(this, 'config-volume', this.configMap, { name: 'config' }), { readOnly: true });
    container.mount(PEM_DIR, pemVolume, { readOnly: true });
    container.mount('/tmp', emptyDirVolume(this, 'tmp-volume', 'tmp', Size.mebibytes(16)));
    this.node.addValidation({
      validate: () => {
        const out = bodyLimitProblems(props.webhookBackend, this.maxBatchBytes, 'FalcoSink maxBatchSize');
        const v = props.webhookBackend?.flagValues;
        const eventLimit = (v?.['audit-webhook-truncate-max-event-size'] as number | undefined) ?? 102400;
        if (props.webhookBackend && v?.['audit-webhook-truncate-enabled'] === true && eventLimit > this.maxEventBytes) {
          out.push(`webhookBackend: truncate.maxEventSize ${eventLimit} exceeds FalcoSink maxEventSize ${this.maxEventBytes} bytes; Falco drops larger events — lower the one or raise the other`);
        }
        const silenced = silencedFalcoRules(props, this.config.rules_files as string[]);
        if (silenced) out.push(silenced);
        return out;
      },
    });
  }

  protected bodyLimit(): WebhookSinkBodyLimit {
    return { maxBody: sizeFromBytes(this.maxBatchBytes), maxBodyName: 'FalcoSink maxBatchSize' };
  }
}

/** The synth-time message for Falco rules the feeding ClusterAudit's policy silences, or undefined. */
function silencedFalcoRules(props: FalcoSinkProps, rulesFiles: readonly string[]): string | undefined {
  if (!props.clusterAudit || !rulesFiles.some((f) => f.endsWith('k8s_audit_rules.yaml'))) return undefined;
  return silencedDetectionsProblem('clusterAudit', { clusterAudit: props.clusterAudit, ruleSets: ['falco'], allowSilencedRules: props.allowSilencedRules });
}
