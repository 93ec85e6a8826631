import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BATCH_ENVELOPE_BYTES } from '../backends/backends';
import { bodyLimitProblems, checkPort, commonProblems, emptyDirVolume, secretVolume, throwProblems, WebhookSinkProps } from './common';
import { hardenedContainerSecurityContext } from './container-security';
import {
  addCredentialEnv,
  ElasticsearchOutputProps,
  elasticsearchOutputProblems,
  fluentBitElasticsearchOutput,
  fluentBitLokiOutput,
  fluentBitOutputProblems,
  LokiOutputProps,
  lokiOutputProblems,
  mountOutputSecrets,
} from './outputs';
import { WebhookSink, WebhookSinkBodyLimit } from './webhook-sink';
import { describeSize, sizeFromBytes, sizeToBytes } from '../backends/prop-units';

/** Props of {@link FluentBitSink}. */
export interface FluentBitSinkProps extends WebhookSinkProps {
  /** @default 'cr.fluentbit.io/fluent/fluent-bit:3.2.10' */
  readonly image?: string;
  /** The http input's port. @default 9880 */
  readonly port?: number;
  /**
   * The http input's `buffer_max_size`: the largest request body Fluent Bit accepts (it answers 413 above).
   * Must hold the apiserver's largest batch: --audit-webhook-batch-max-size × --audit-webhook-truncate-max-event-size plus the envelope.
   * Whole bytes, at least 512 KiB.
   * @default Size.mebibytes(11) (the apiserver's default 10 MiB batch plus headroom)
   */
  readonly bufferMaxSize?: Size;
  /**
   * Fluent Bit `[OUTPUT]` sections (classic format) the split events go to, e.g. an `es`, `loki` or `s3` output.
   * Use `Match kube.audit`.
   * @default - one `stdout` output in json_lines format
   */
  readonly outputs?: string;
  /**
   * An `es` output (Elasticsearch `_bulk`; `Generate_ID On` so a retried chunk is not indexed twice; TLS
   * verified; the password from a Secret through an environment variable). Added to `outputs`.
   * @default - none
   */
  readonly elasticsearch?: ElasticsearchOutputProps;
  /** A `loki` output (labels from the event, the event as a JSON line; TLS; credentials from a Secret). Added to `outputs`. @default - none */
  readonly loki?: LokiOutputProps;
  /** @default requests 100m CPU / 128 MiB, limits 1 CPU / 512 MiB */
  readonly resources?: kplus.ContainerResources;
}

/** The Lua filter that turns one EventList record into one record per audit event. */
export const FLUENT_BIT_SPLIT_LUA = `-- cdk8s-audit: split an audit.k8s.io/v1 EventList (one HTTP body) into one record per audit event.
function split_event_list(tag, timestamp, record)
  if record["kind"] ~= "EventList" or record["apiVersion"] ~= "audit.k8s.io/v1" or type(record["items"]) ~= "table" then
    -- not an EventList: drop it rather than forward something that is not an audit event
    return -1, timestamp, record
  end
  -- returning an array of records emits each as its own record
  return 1, timestamp, record["items"]
end
`;

const CONFIG_MOUNT = '/fluent-bit/etc/cdk8s-audit';
const TLS_MOUNT = '/etc/audit-sink/tls';
const OUTPUTS_MOUNT = '/etc/audit-sink/outputs';

/**
 * Fluent Bit's `http` input as the apiserver's audit webhook, with TLS, a body limit matched to the
 * apiserver's batches, filesystem buffering, and a Lua filter that splits each EventList into events.
 *
 * Note: Fluent Bit's TLS server asks for a client certificate and checks one that is presented, but also
 * admits clients that present none (OpenSSL SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT); the
 * NetworkPolicy (control plane only) is what keeps other clients out. For authenticated, tamper-evident
 * storage use {@link AuditSink}. Fluent Bit acknowledges a batch once it is buffered, not once the output
 * has it: set up the `outputs` with retries.
 *
 * @example
 * new FluentBitSink(chart, 'fluent-bit', {
 *   clusterIP: '10.96.0.51',
 *   controlPlaneCidrs: ['192.168.1.10/32'],
 *   tls: SinkTls.fromSecret('audit-fluent-bit-tls'),
 *   outputs: '[OUTPUT]\n    Name  loki\n    Match kube.audit\n    Host  loki.logging.svc\n',
 * });
 */
export class FluentBitSink extends WebhookSink {
  public readonly configMap: kplus.ConfigMap;
  /** The http input's `buffer_max_size`. */
  public readonly bufferMaxSize: Size;
  private readonly bufferMaxBytes: number;
  /** The rendered fluent-bit.conf. */
  public readonly config: string;

  constructor(scope: Construct, id: string, props: FluentBitSinkProps) {
    const port = props.port ?? 9880;
    checkPort('port', port);
    const problems = commonProblems(props);
    const bufferMaxSize = props.bufferMaxSize ?? Size.mebibytes(11);
    const bufferMaxBytes = sizeToBytes(bufferMaxSize);
    if (!Number.isSafeInteger(bufferMaxBytes) || bufferMaxBytes < 512 * 1024) {
      problems.push(
        `bufferMaxSize: ${describeSize(bufferMaxSize)} is not a buffer for audit batches: it must be whole bytes and at least 512 KiB (Fluent Bit's buffer_chunk_size); give e.g. Size.mebibytes(11)`,
      );
    }
    if (props.elasticsearch) problems.push(...elasticsearchOutputProblems('elasticsearch', props.elasticsearch));
    if (props.loki) problems.push(...lokiOutputProblems('loki', props.loki));
    problems.push(...fluentBitOutputProblems(props.elasticsearch, props.loki));
    throwProblems(`FluentBitSink ${id}`, problems);
    const typed = [
      props.elasticsearch ? fluentBitElasticsearchOutput(props.elasticsearch, `${OUTPUTS_MOUNT}/es`) : undefined,
      props.loki ? fluentBitLokiOutput(props.loki, `${OUTPUTS_MOUNT}/loki`) : undefined,
    ].filter((o): o is NonNullable<typeof o> => o !== undefined);
    const outputSections = [...(props.outputs !== undefined || typed.length === 0 ? [props.outputs ?? '[OUTPUT]\n    Name    stdout\n    Match   kube.audit\n    Format  json_lines\n'] : []), ...typed.map((o) => o.config)];
    // The path is the Fluent Bit tag the events get (`kube.audit`).
    super(scope, id, { props, webhookPort: port, opsPort: 2020, path: '/kube.audit' });
    this.bufferMaxBytes = bufferMaxBytes;
    this.bufferMaxSize = bufferMaxSize;
    const kib = Math.ceil(this.bufferMaxBytes / 1024);
    this.config = [
      '[SERVICE]',
      '    Flush         1',
      '    Log_Level     info',
      '    HTTP_Server   On',
      '    HTTP_Listen   0.0.0.0',
      '    HTTP_Port     2020',
      '    Health_Check  On',
      '    storage.path  /var/lib/fluent-bit/buffer',
      '    storage.sync  full',
      '',
      '[INPUT]',
      '    Name                      http',
      '    Listen                    0.0.0.0',
      `    Port                      ${port}`,
      `    # the apiserver's largest batch (--audit-webhook-batch-max-size × --audit-webhook-truncate-max-event-size + ${BATCH_ENVELOPE_BYTES} B envelope) must fit`,
      `    buffer_max_size           ${kib}K`,
      '    buffer_chunk_size         512K',
      '    successful_response_code  200',
      '    storage.type              filesystem',
      '    tls                       On',
      '    tls.verify                On',
      `    tls.ca_file               ${TLS_MOUNT}/ca.crt`,
      `    tls.crt_file              ${TLS_MOUNT}/tls.crt`,
      `    tls.key_file              ${TLS_MOUNT}/tls.key`,
      '',
      '[FILTER]',
      '    Name    lua',
      '    Match   kube.audit',
      `    script  ${CONFIG_MOUNT}/split-event-list.lua`,
      '    call    split_event_list',
      '',
      outputSections.map((o) => o.trimEnd()).join('\n\n'),
      '',
    ].join('\n');
    this.configMap = new kplus.ConfigMap(this, 'config', { data: { 'fluent-bit.conf': this.config, 'split-event-list.lua': FLUENT_BIT_SPLIT_LUA } });
    const container = this.deployment.addContainer({
      name: 'fluent-bit',
      image: props.image ?? 'cr.fluentbit.io/fluent/fluent-bit:3.2.10',
      args: ['-c', `${CONFIG_MOUNT}/fluent-bit.conf`],
      ports: [
        { name: 'webhook', number: port },
        { name: 'ops', number: 2020 },
      ],
      securityContext: hardenedContainerSecurityContext(),
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
      },
      readiness: kplus.Probe.fromHttpGet('/api/v1/health', { port: 2020, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet('/api/v1/health', { port: 2020, periodSeconds: Duration.seconds(10), failureThreshold: 6 }),
    });
    container.mount(CONFIG_MOUNT, kplus.Volume.fromConfigMap(this, 'config-volume', this.configMap, { name: 'config' }), { readOnly: true });
    container.mount(TLS_MOUNT, secretVolume(this, 'tls-volume', 'tls', this.tlsSecret), { readOnly: true });
    container.mount('/var/lib/fluent-bit', emptyDirVolume(this, 'buffer-volume', 'buffer', Size.gibibytes(1)));
    container.mount('/tmp', emptyDirVolume(this, 'tmp-volume', 'tmp', Size.mebibytes(16)));
    for (const o of typed) mountOutputSecrets(this, container, o.mount.prefix, o.mount.dir, o.mount.tls, undefined);
    addCredentialEnv(this, container, typed.map((o) => o.env));
    this.node.addValidation({ validate: () => bodyLimitProblems(props.webhookBackend, this.bufferMaxBytes, 'FluentBitSink bufferMaxSize') });
  }

  protected bodyLimit(): WebhookSinkBodyLimit {
    return { maxBody: sizeFromBytes(this.bufferMaxBytes), maxBodyName: 'FluentBitSink bufferMaxSize' };
  }
}
