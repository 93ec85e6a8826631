import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { checkPort, commonProblems, emptyDirVolume, secretVolume, throwProblems, WebhookSinkProps } from './common';
import { hardenedContainerSecurityContext } from './container-security';
import { addCredentialEnv, ElasticsearchOutputProps, elasticsearchOutputProblems, LokiOutputProps, lokiOutputProblems, mountOutputSecrets, vectorElasticsearchSink, vectorLokiSink } from './outputs';
import { WebhookSink } from './webhook-sink';

/** Props of {@link VectorSink}. */
export interface VectorSinkProps extends WebhookSinkProps {
  /** @default 'timberio/vector:0.43.1-distroless-libc' */
  readonly image?: string;
  /** The http_server source's port. @default 8443 */
  readonly port?: number;
  /**
   * Vector `sinks` (as an object, rendered into vector.yaml) that receive the split events; use
   * `inputs: ['audit_events']`.
   * @default - one `console` sink writing JSON lines
   */
  readonly sinks?: Record<string, unknown>;
  /**
   * An `elasticsearch` sink (bulk `create` with `id_key` = auditID-stage, so a retry indexes nothing
   * twice; index date from stageTimestamp; TLS verified; credentials from a Secret via an environment
   * variable). Added to `sinks`.
   * @default - none
   */
  readonly elasticsearch?: ElasticsearchOutputProps;
  /** A `loki` sink (low-cardinality labels, entry time = stageTimestamp, the event as a JSON line). Added to `sinks`. @default - none */
  readonly loki?: LokiOutputProps;
  /** @default requests 100m CPU / 128 MiB, limits 1 CPU / 512 MiB */
  readonly resources?: kplus.ContainerResources;
}

/** VRL that checks the EventList and returns its items: an array result makes Vector emit one event per item. */
export const VECTOR_SPLIT_VRL = `if .kind != "EventList" || .apiVersion != "audit.k8s.io/v1" || !is_array(.items) {
  abort
}
. = array!(.items)
`;

const CONFIG_MOUNT = '/etc/vector';
const TLS_MOUNT = '/etc/audit-sink/tls';
const OUTPUTS_MOUNT = '/etc/audit-sink/outputs';

/**
 * Vector's `http_server` source as the apiserver's audit webhook: mutual TLS (`verify_certificate` makes
 * the server require a client certificate from `ca_file`), a strict path, JSON decoding, and a `remap`
 * transform that splits each EventList into one event per audit event (bodies that are not an EventList
 * are dropped). End-to-end acknowledgements are on, so a batch is answered only once the sinks have it.
 * Vector has no request-body limit of its own: the apiserver's truncate settings bound the batches.
 *
 * @example
 * new VectorSink(chart, 'vector', {
 *   clusterIP: '10.96.0.52',
 *   controlPlaneCidrs: ['192.168.1.10/32'],
 *   tls: SinkTls.fromCertManager({ issuerName: 'audit-ca', issuerKind: CertManagerIssuerKind.CLUSTER_ISSUER }),
 *   sinks: { loki: { type: 'loki', inputs: ['audit_events'], endpoint: 'http://loki.logging:3100', encoding: { codec: 'json' }, labels: { source: 'kube-audit' } } },
 * });
 */
export class VectorSink extends WebhookSink {
  public readonly configMap: kplus.ConfigMap;
  /** vector.yaml as an object. */
  public readonly config: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: VectorSinkProps) {
    const port = props.port ?? 8443;
    checkPort('port', port);
    const problems = commonProblems(props);
    const typedOutputs = props.elasticsearch !== undefined || props.loki !== undefined;
    const sinks = props.sinks ?? (typedOutputs ? {} : { audit_stdout: { type: 'console', inputs: ['audit_events'], encoding: { codec: 'json' } } });
    for (const [sinkName, sink] of Object.entries(sinks)) {
      const inputs = (sink as { inputs?: unknown }).inputs;
      if (!Array.isArray(inputs) || !inputs.includes('audit_events')) problems.push(`sinks.${sinkName}.inputs: ${JSON.stringify(inputs)} does not include 'audit_events' (the split events); add it`);
    }
    if (props.elasticsearch) problems.push(...elasticsearchOutputProblems('elasticsearch', props.elasticsearch));
    if (props.loki) problems.push(...lokiOutputProblems('loki', props.loki));
    for (const taken of ['elasticsearch', 'loki']) {
      if (props[taken as 'loki'] && taken in sinks) problems.push(`sinks.${taken}: the name is used by the ${taken} prop's sink; rename yours`);
    }
    throwProblems(`VectorSink ${id}`, problems);
    const es = props.elasticsearch ? vectorElasticsearchSink(props.elasticsearch, `${OUTPUTS_MOUNT}/es`) : undefined;
    const loki = props.loki ? vectorLokiSink(props.loki, `${OUTPUTS_MOUNT}/loki`) : undefined;
    super(scope, id, { props, webhookPort: port, opsPort: 8686, path: '/audit' });
    this.config = {
      data_dir: '/var/lib/vector',
      acknowledgements: { enabled: true },
      api: { enabled: true, address: '0.0.0.0:8686' },
      sources: {
        apiserver_audit: {
          type: 'http_server',
          address: `0.0.0.0:${port}`,
          path: '/audit',
          strict_path: true,
          method: 'POST',
          decoding: { codec: 'json' },
          tls: { enabled: true, crt_file: `${TLS_MOUNT}/tls.crt`, key_file: `${TLS_MOUNT}/tls.key`, ca_file: `${TLS_MOUNT}/ca.crt`, verify_certificate: true },
        },
      },
      transforms: {
        audit_events: { type: 'remap', inputs: ['apiserver_audit'], drop_on_abort: true, source: VECTOR_SPLIT_VRL },
        ...(es ? { audit_events_es: es.config.transform } : {}),
        ...(loki ? { audit_events_loki: loki.config.transform } : {}),
      },
      sinks: { ...sinks, ...(es ? { elasticsearch: es.config.sink } : {}), ...(loki ? { loki: loki.config.sink } : {}) },
    };
    this.configMap = new kplus.ConfigMap(this, 'config', { data: { 'vector.yaml': stringify(this.config, { lineWidth: 0 }) } });
    const container = this.deployment.addContainer({
      name: 'vector',
      image: props.image ?? 'timberio/vector:0.43.1-distroless-libc',
      args: ['--config', `${CONFIG_MOUNT}/vector.yaml`],
      ports: [
        { name: 'webhook', number: port },
        { name: 'ops', number: 8686 },
      ],
      securityContext: hardenedContainerSecurityContext(),
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
      },
      readiness: kplus.Probe.fromHttpGet('/health', { port: 8686, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet('/health', { port: 8686, periodSeconds: Duration.seconds(10), failureThreshold: 6 }),
    });
    container.mount(CONFIG_MOUNT, kplus.Volume.fromConfigMap(this, 'config-volume', this.configMap, { name: 'config' }), { readOnly: true });
    container.mount(TLS_MOUNT, secretVolume(this, 'tls-volume', 'tls', this.tlsSecret), { readOnly: true });
    container.mount('/var/lib/vector', emptyDirVolume(this, 'data-volume', 'data', Size.gibibytes(1)));
    container.mount('/tmp', emptyDirVolume(this, 'tmp-volume', 'tmp', Size.mebibytes(16)));
    for (const o of [es, loki]) if (o) mountOutputSecrets(this, container, o.mount.prefix, o.mount.dir, o.mount.tls, undefined);
    addCredentialEnv(this, container, [es?.env, loki?.env]);
    // Vector has no body limit to match; still require the apiserver to bound its batches.
    this.node.addValidation({
      validate: () =>
        props.webhookBackend && props.webhookBackend.flagValues['audit-webhook-truncate-enabled'] !== true
          ? ['webhookBackend: truncate.enabled is false, so batches are unbounded and Vector (no request-body limit) buffers each whole in memory; set truncate.enabled: true']
          : [],
    });
  }
}
