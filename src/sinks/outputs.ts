/**
 * Central-logging outputs (Elasticsearch, Loki) and the alert webhook for the sink constructs: the props,
 * their checks, and how each sink renders them — `sink serve` flags for AuditSink, `[OUTPUT]` sections
 * for FluentBitSink, `sinks` entries for VectorSink. TLS material and credentials come from Secrets that
 * are mounted (files) or passed as environment variables; never from props, never into a ConfigMap.
 */
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_ES_INDEX, DEFAULT_LOKI_LABEL_FIELDS, DEFAULT_LOKI_STATIC_LABELS, esIndexPatternProblems, LOKI_LABEL_FIELDS, LOKI_LABEL_NAME, LokiLabelField } from '../sink-contract/forward-format';
import { secretVolume } from './common';

/** A key of a Secret (created by you; no key material goes into manifests). */
export interface SecretKeyRef {
  readonly secretName: string;
  readonly key: string;
}

export interface LoggingTls {
  /** The PEM CA bundle that signed the destination's certificate. @default the image's system CAs */
  readonly caSecret?: SecretKeyRef;
  /** A kubernetes.io/tls Secret (tls.crt, tls.key) presented as the client certificate (mutual TLS). @default none */
  readonly clientCertSecretName?: string;
}

/** HTTP basic authentication: the user, and the password in a Secret. */
export interface BasicAuth {
  readonly user: string;
  readonly passwordSecret: SecretKeyRef;
}

/** Credentials for the alert webhook; give at most one kind. */
export interface AlertWebhookAuth {
  /** HTTP basic authentication. @default - none */
  readonly basic?: BasicAuth;
  /** `Authorization: Bearer <token>`. @default - none */
  readonly bearerTokenSecret?: SecretKeyRef;
}

/** Credentials; give at most one kind. */
export interface LoggingAuth extends AlertWebhookAuth {
  /** Elasticsearch only: `Authorization: ApiKey <key>` (the base64 id:api_key). */
  readonly apiKeySecret?: SecretKeyRef;
}

export interface ElasticsearchOutputProps {
  /** Base URL, https, e.g. `https://elasticsearch.logging.svc:9200`. */
  readonly url: string;
  /** Index name; %Y %m %d %H are the event's UTC date. @default 'k8s-audit-%Y.%m.%d' */
  readonly index?: string;
  readonly tls?: LoggingTls;
  readonly auth?: LoggingAuth;
}

export interface LokiOutputProps {
  /** Base URL, https, e.g. `https://loki.logging.svc:3100`. */
  readonly url: string;
  /** X-Scope-OrgID. @default none */
  readonly tenant?: string;
  /**
   * Event fields used as labels, low cardinality only: `level`, `verb`, `stage`, `resource`, `api_group`.
   * @default ['level', 'verb']
   */
  readonly labelFields?: string[];
  /** Fixed labels. @default { job: 'kube-apiserver-audit' } */
  readonly staticLabels?: Record<string, string>;
  readonly tls?: LoggingTls;
  readonly auth?: LoggingAuth;
}

/** An HTTPS endpoint receiving `{"kind":"cdk8s-audit/AlertList","alerts":[…]}` from AuditSink. */
export interface AlertWebhookProps {
  readonly url: string;
  readonly tls?: LoggingTls;
  readonly auth?: AlertWebhookAuth;
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

function secretRefProblems(field: string, ref: SecretKeyRef | undefined): string[] {
  if (!ref) return [];
  const p: string[] = [];
  if (!SECRET_NAME.test(ref.secretName ?? '') || ref.secretName.length > 253) p.push(`${field}.secretName: ${JSON.stringify(ref.secretName)} is not a Secret name (lowercase letters, digits, '-', '.')`);
  if (!DATA_KEY.test(ref.key ?? '')) p.push(`${field}.key: ${JSON.stringify(ref.key)} is not a Secret data key (letters, digits, '-', '_', '.')`);
  return p;
}

/** Problems of an output URL: https, no user:password, no query. */
export function outputUrlProblems(field: string, url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [`${field}: ${JSON.stringify(url)} is not a URL; write e.g. https://elasticsearch.logging.svc:9200`];
  }
  const p: string[] = [];
  if (u.protocol !== 'https:') p.push(`${field}: ${JSON.stringify(url)} is not https; audit events must not cross the network in clear text — use https:// with tls.caSecret`);
  if (u.username || u.password) p.push(`${field}: the URL holds a user name or password; use auth with a Secret`);
  if (u.search || u.hash) p.push(`${field}: a query or fragment is not supported; give the base URL`);
  return p;
}

function commonProblems(field: string, url: string, tls: LoggingTls | undefined, auth: LoggingAuth | undefined): string[] {
  const p = outputUrlProblems(`${field}.url`, url);
  p.push(...secretRefProblems(`${field}.tls.caSecret`, tls?.caSecret));
  if (tls?.clientCertSecretName !== undefined && !SECRET_NAME.test(tls.clientCertSecretName)) p.push(`${field}.tls.clientCertSecretName: ${JSON.stringify(tls.clientCertSecretName)} is not a Secret name`);
  const kinds = (['basic', 'bearerTokenSecret', 'apiKeySecret'] as const).filter((k) => auth?.[k] !== undefined);
  if (kinds.length > 1) p.push(`${field}.auth: ${kinds.join(' and ')} both given; choose one kind of credentials`);
  if (auth?.basic) {
    if (!auth.basic.user || auth.basic.user.includes(':')) p.push(`${field}.auth.basic.user: ${JSON.stringify(auth.basic.user)} is not a user name (non-empty, no ':')`);
    p.push(...secretRefProblems(`${field}.auth.basic.passwordSecret`, auth.basic.passwordSecret));
  }
  p.push(...secretRefProblems(`${field}.auth.bearerTokenSecret`, auth?.bearerTokenSecret));
  p.push(...secretRefProblems(`${field}.auth.apiKeySecret`, auth?.apiKeySecret));
  return p;
}

export function elasticsearchOutputProblems(field: string, o: ElasticsearchOutputProps): string[] {
  const p = commonProblems(field, o.url, o.tls, o.auth);
  const index = o.index ?? DEFAULT_ES_INDEX;
  const ip = esIndexPatternProblems(index);
  if (ip.length) p.push(`${field}.index: ${JSON.stringify(index)}: ${ip.join('; ')}; e.g. ${DEFAULT_ES_INDEX}`);
  return p;
}

export function lokiOutputProblems(field: string, o: LokiOutputProps): string[] {
  const p = commonProblems(field, o.url, o.tls, o.auth);
  if (o.auth?.apiKeySecret) p.push(`${field}.auth.apiKeySecret: Loki takes basic or bearer credentials`);
  for (const f of o.labelFields ?? []) {
    if (!(LOKI_LABEL_FIELDS as readonly string[]).includes(f)) p.push(`${field}.labelFields: ${JSON.stringify(f)} cannot be a label (unbounded values make unbounded streams); choose from ${LOKI_LABEL_FIELDS.join(', ')}`);
  }
  for (const [k, v] of Object.entries(o.staticLabels ?? {})) {
    if (!LOKI_LABEL_NAME.test(k) || v === '') p.push(`${field}.staticLabels.${k}: not a label NAME=VALUE (NAME like ${LOKI_LABEL_NAME.source}, VALUE non-empty)`);
  }
  if (o.tenant !== undefined && !/^[A-Za-z0-9!._*'()-]{1,150}$/.test(o.tenant)) p.push(`${field}.tenant: ${JSON.stringify(o.tenant)} is not a Loki tenant ID`);
  return p;
}

export function alertWebhookProblems(field: string, o: AlertWebhookProps): string[] {
  return commonProblems(field, o.url, o.tls, o.auth);
}

/** The TCP port of an https URL. */
export function urlPort(url: string): number {
  const u = new URL(url);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** Whether the URL names a host (needs cluster DNS) rather than an IP. */
export function urlNeedsDns(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return !/^[0-9.]+$/.test(host) && !host.includes(':');
}

export interface OutputFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly credential?: string;
}

/** Where an output's TLS and credential files are, once mounted under `dir` by mountOutputSecrets. */
export function outputSecretFiles(dir: string, tls: LoggingTls | undefined, auth: LoggingAuth | undefined): OutputFiles {
  const hasCredential = !!(auth?.basic?.passwordSecret ?? auth?.bearerTokenSecret ?? auth?.apiKeySecret);
  return {
    ...(tls?.caSecret ? { ca: `${dir}/ca/ca.crt` } : {}),
    ...(tls?.clientCertSecretName ? { cert: `${dir}/client/tls.crt`, key: `${dir}/client/tls.key` } : {}),
    ...(hasCredential ? { credential: `${dir}/auth/credential` } : {}),
  };
}

/** Mounts an output's TLS and credential Secrets (read-only, named volumes `<prefix>-ca|-client|-auth`) into `container` under `dir`. */
export function mountOutputSecrets(scope: Construct, container: kplus.Container, prefix: string, dir: string, tls: LoggingTls | undefined, auth: LoggingAuth | undefined): void {
  if (tls?.caSecret) {
    const s = kplus.Secret.fromSecretName(scope, `${prefix}-ca-secret`, tls.caSecret.secretName);
    container.mount(`${dir}/ca`, secretVolume(scope, `${prefix}-ca-volume`, `${prefix}-ca`, s, { [tls.caSecret.key]: 'ca.crt' }), { readOnly: true });
  }
  if (tls?.clientCertSecretName) {
    const s = kplus.Secret.fromSecretName(scope, `${prefix}-client-secret`, tls.clientCertSecretName);
    container.mount(`${dir}/client`, secretVolume(scope, `${prefix}-client-volume`, `${prefix}-client`, s, { 'tls.crt': 'tls.crt', 'tls.key': 'tls.key' }), { readOnly: true });
  }
  const ref = auth?.basic?.passwordSecret ?? auth?.bearerTokenSecret ?? auth?.apiKeySecret;
  if (ref) {
    const s = kplus.Secret.fromSecretName(scope, `${prefix}-auth-secret`, ref.secretName);
    container.mount(`${dir}/auth`, secretVolume(scope, `${prefix}-auth-volume`, `${prefix}-auth`, s, { [ref.key]: 'credential' }), { readOnly: true });
  }
}

/**
 * Pseudonymized forwarding (AuditSink `forwardPseudonymizeKey`, `sink serve --forward-pseudonymize-key`): the
 * outputs get user names, UIDs and source addresses as keyed hashes; the store keeps them as received.
 */
export function pseudonymizeKeyProblems(field: string, ref: SecretKeyRef | undefined, forwarding: boolean): string[] {
  if (!ref) return [];
  const p = secretRefProblems(field, ref);
  if (!forwarding) p.push(`${field}: pseudonymizes what is forwarded, but nothing is (give forwardElasticsearch or forwardLoki, or remove it)`);
  return p;
}

/** The `sink serve` flags reading the pseudonym key once mountPseudonymizeKey has mounted it under `dir`. */
export function pseudonymizeKeyArgs(dir: string): string[] {
  return ['--forward-pseudonymize-key', `${dir}/pseudonym.key`];
}

/** Mounts the pseudonym key Secret (read-only, volume `pseudonym-key`) into `container` under `dir`. */
export function mountPseudonymizeKey(scope: Construct, container: kplus.Container, dir: string, ref: SecretKeyRef): void {
  const s = kplus.Secret.fromSecretName(scope, 'pseudonym-key-secret', ref.secretName);
  container.mount(dir, secretVolume(scope, 'pseudonym-key-volume', 'pseudonym-key', s, { [ref.key]: 'pseudonym.key' }), { readOnly: true });
}

/** `sink serve` flags for one destination (`--forward-elasticsearch`, `--forward-loki`, `--alerts-webhook`). */
export function sinkServeTargetArgs(flag: string, url: string, auth: LoggingAuth | undefined, files: OutputFiles): string[] {
  const args = [`--${flag}`, url];
  if (files.ca) args.push(`--${flag}-ca`, files.ca);
  if (files.cert) args.push(`--${flag}-cert`, files.cert, `--${flag}-key`, files.key!);
  if (auth?.basic) args.push(`--${flag}-basic-auth-file`, files.credential!, `--${flag}-user`, auth.basic.user);
  else if (auth?.bearerTokenSecret) args.push(`--${flag}-bearer-token-file`, files.credential!);
  else if (auth?.apiKeySecret) args.push(`--${flag}-api-key-file`, files.credential!);
  return args;
}

export function lokiLabelFields(o: LokiOutputProps): readonly LokiLabelField[] {
  // Checked by lokiOutputProblems: every field is one of LOKI_LABEL_FIELDS.
  return (o.labelFields as LokiLabelField[] | undefined) ?? DEFAULT_LOKI_LABEL_FIELDS;
}

export function lokiStaticLabels(o: LokiOutputProps): Readonly<Record<string, string>> {
  return o.staticLabels ?? DEFAULT_LOKI_STATIC_LABELS;
}

// ---- Fluent Bit and Vector ----

/** An environment variable of the container holding a credential from a Secret (for `${VAR}` in the config). */
export interface CredentialEnv {
  readonly name: string;
  readonly ref: SecretKeyRef;
}

function credentialEnv(prefix: string, auth: LoggingAuth | undefined): CredentialEnv | undefined {
  const ref = auth?.basic?.passwordSecret ?? auth?.bearerTokenSecret ?? auth?.apiKeySecret;
  if (!ref) return undefined;
  const kind = auth?.basic ? 'PASSWORD' : auth?.bearerTokenSecret ? 'TOKEN' : 'API_KEY';
  return { name: `CDK8S_AUDIT_${prefix.toUpperCase()}_${kind}`, ref };
}

/** Adds the credential environment variables (valueFrom secretKeyRef) to the container. */
export function addCredentialEnv(scope: Construct, container: kplus.Container, envs: readonly (CredentialEnv | undefined)[]): void {
  for (const e of envs) {
    if (!e) continue;
    const secret = kplus.Secret.fromSecretName(scope, `${e.name.toLowerCase()}-secret`, e.ref.secretName);
    container.env.addVariable(e.name, kplus.EnvValue.fromSecretValue({ secret, key: e.ref.key }));
  }
}

/**
 * How Fluent Bit's `es` output names indices: `Logstash_Prefix` + `-` + `Logstash_DateFormat` (the record
 * time), or one fixed `Index`. Returns undefined for patterns it cannot express.
 */
export function fluentBitIndex(pattern: string): { prefix: string; dateFormat: string } | { index: string } | undefined {
  if (!pattern.includes('%')) return { index: pattern };
  const m = /^([^%]+)-(%[YmdH].*)$/.exec(pattern);
  return m && !m[1].includes('%') ? { prefix: m[1], dateFormat: m[2] } : undefined;
}

const FLUENT_LABEL_SOURCE: Record<LokiLabelField, string> = {
  level: '$level',
  verb: '$verb',
  stage: '$stage',
  resource: "$objectRef['resource']",
  api_group: "$objectRef['apiGroup']",
};

function hostPortPath(url: string): { host: string; port: number; path: string } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: urlPort(url), path: u.pathname.replace(/\/+$/, '') };
}

function fluentTls(files: OutputFiles): string[] {
  return [
    '    tls                 On',
    '    tls.verify          On',
    ...(files.ca ? [`    tls.ca_file         ${files.ca}`] : []),
    ...(files.cert ? [`    tls.crt_file        ${files.cert}`, `    tls.key_file        ${files.key}`] : []),
  ];
}

export interface RenderedOutput<T> {
  readonly config: T;
  /** Secrets to mount for TLS (under `dir`). */
  readonly mount: { prefix: string; dir: string; tls?: LoggingTls };
  readonly env?: CredentialEnv;
}

/** Problems specific to Fluent Bit's outputs (on top of the common checks). */
export function fluentBitOutputProblems(es: ElasticsearchOutputProps | undefined, loki: LokiOutputProps | undefined): string[] {
  const p: string[] = [];
  if (es) {
    if (!fluentBitIndex(es.index ?? DEFAULT_ES_INDEX)) p.push(`elasticsearch.index: ${JSON.stringify(es.index)}: Fluent Bit names indices PREFIX-<date format> (Logstash_Format) or one fixed name; write e.g. k8s-audit-%Y.%m.%d`);
    if (es.auth?.bearerTokenSecret || es.auth?.apiKeySecret) p.push('elasticsearch.auth: Fluent Bit\'s es output takes basic credentials (HTTP_User/HTTP_Passwd) only; use auth.basic');
  }
  return p;
}

/** Fluent Bit `[OUTPUT]` section for Elasticsearch: `Generate_ID On` makes retries idempotent, Retry_Limit no_limits with filesystem buffering. */
export function fluentBitElasticsearchOutput(es: ElasticsearchOutputProps, dir: string): RenderedOutput<string> {
  const { host, port, path } = hostPortPath(es.url);
  const files = outputSecretFiles(dir, es.tls, undefined);
  const env = credentialEnv('es', es.auth);
  const index = fluentBitIndex(es.index ?? DEFAULT_ES_INDEX)!;
  const lines = [
    '[OUTPUT]',
    '    Name                es',
    '    Match               kube.audit',
    `    Host                ${host}`,
    `    Port                ${port}`,
    ...(path ? [`    Path                ${path}`] : []),
    ...('index' in index
      ? [`    Index               ${index.index}`]
      : ['    Logstash_Format     On', `    Logstash_Prefix     ${index.prefix}`, `    Logstash_DateFormat ${index.dateFormat}`]),
    '    Time_Key            @timestamp',
    '    # _id from a hash of the record: a retried chunk does not index an event twice',
    '    Generate_ID         On',
    '    Suppress_Type_Name  On',
    '    Retry_Limit         no_limits',
    ...(es.auth?.basic ? [`    HTTP_User           ${es.auth.basic.user}`, `    HTTP_Passwd         \${${env!.name}}`] : []),
    ...fluentTls(files),
  ];
  return { config: lines.join('\n'), mount: { prefix: 'es', dir, tls: es.tls }, env };
}

/** Fluent Bit `[OUTPUT]` section for Loki: labels from the record (low cardinality), the event as a JSON line. */
export function fluentBitLokiOutput(loki: LokiOutputProps, dir: string): RenderedOutput<string> {
  const { host, port, path } = hostPortPath(loki.url);
  const files = outputSecretFiles(dir, loki.tls, undefined);
  const env = credentialEnv('loki', loki.auth);
  const labels = [...Object.entries(lokiStaticLabels(loki)).map(([k, v]) => `${k}=${v}`), ...lokiLabelFields(loki).map((f) => `${f}=${FLUENT_LABEL_SOURCE[f]}`)];
  const lines = [
    '[OUTPUT]',
    '    Name                loki',
    '    Match               kube.audit',
    `    Host                ${host}`,
    `    Port                ${port}`,
    `    Uri                 ${path.endsWith('/loki/api/v1/push') ? path : `${path}/loki/api/v1/push`}`,
    ...(loki.tenant ? [`    Tenant_ID           ${loki.tenant}`] : []),
    `    Labels              ${labels.join(', ')}`,
    '    Line_Format         json',
    '    Retry_Limit         no_limits',
    ...(loki.auth?.basic ? [`    HTTP_User           ${loki.auth.basic.user}`, `    HTTP_Passwd         \${${env!.name}}`] : []),
    ...(loki.auth?.bearerTokenSecret ? [`    Bearer_Token        \${${env!.name}}`] : []),
    ...fluentTls(files),
  ];
  return { config: lines.join('\n'), mount: { prefix: 'loki', dir, tls: loki.tls }, env };
}

function vectorTls(files: OutputFiles): Record<string, unknown> {
  return { ...(files.ca ? { ca_file: files.ca } : {}), ...(files.cert ? { crt_file: files.cert, key_file: files.key } : {}), verify_certificate: true, verify_hostname: true };
}

/** VRL for the Elasticsearch path: the event time (stageTimestamp) for the index date, and the idempotent document id. */
export const VECTOR_ES_PREPARE_VRL = `.timestamp = parse_timestamp(.stageTimestamp, "%+") ?? now()
.audit_doc_id = (to_string(.auditID) ?? "") + "-" + (to_string(.stage) ?? "")
`;
/** VRL for the Loki path: the entry's timestamp is the event's stageTimestamp (removed from the line by the sink). */
export const VECTOR_LOKI_PREPARE_VRL = `.timestamp = parse_timestamp(.stageTimestamp, "%+") ?? now()
`;

/** Vector `elasticsearch` sink (bulk `create`, `_id` = auditID-stage) and its preparing transform. */
export function vectorElasticsearchSink(es: ElasticsearchOutputProps, dir: string): RenderedOutput<{ transform: Record<string, unknown>; sink: Record<string, unknown> }> {
  const files = outputSecretFiles(dir, es.tls, undefined);
  const env = credentialEnv('es', es.auth);
  const header = es.auth?.apiKeySecret ? `ApiKey \${${env!.name}}` : es.auth?.bearerTokenSecret ? `Bearer \${${env!.name}}` : undefined;
  return {
    config: {
      transform: { type: 'remap', inputs: ['audit_events'], source: VECTOR_ES_PREPARE_VRL },
      sink: {
        type: 'elasticsearch',
        inputs: ['audit_events_es'],
        endpoints: [es.url],
        mode: 'bulk',
        api_version: 'auto',
        bulk: { action: 'create', index: es.index ?? DEFAULT_ES_INDEX },
        id_key: 'audit_doc_id',
        ...(es.auth?.basic ? { auth: { strategy: 'basic', user: es.auth.basic.user, password: `\${${env!.name}}` } } : {}),
        ...(header ? { request: { headers: { Authorization: header } } } : {}),
        tls: vectorTls(files),
        acknowledgements: { enabled: true },
      },
    },
    mount: { prefix: 'es', dir, tls: es.tls },
    env,
  };
}

/** Vector `loki` sink (labels from the event, low cardinality) and its preparing transform. */
export function vectorLokiSink(loki: LokiOutputProps, dir: string): RenderedOutput<{ transform: Record<string, unknown>; sink: Record<string, unknown> }> {
  const files = outputSecretFiles(dir, loki.tls, undefined);
  const env = credentialEnv('loki', loki.auth);
  const source: Record<LokiLabelField, string> = { level: '{{ level }}', verb: '{{ verb }}', stage: '{{ stage }}', resource: '{{ objectRef.resource }}', api_group: '{{ objectRef.apiGroup }}' };
  return {
    config: {
      transform: { type: 'remap', inputs: ['audit_events'], source: VECTOR_LOKI_PREPARE_VRL },
      sink: {
        type: 'loki',
        inputs: ['audit_events_loki'],
        endpoint: loki.url,
        encoding: { codec: 'json' },
        labels: { ...lokiStaticLabels(loki), ...Object.fromEntries(lokiLabelFields(loki).map((f) => [f, source[f]])) },
        ...(loki.tenant ? { tenant_id: loki.tenant } : {}),
        out_of_order_action: 'accept',
        ...(loki.auth?.basic ? { auth: { strategy: 'basic', user: loki.auth.basic.user, password: `\${${env!.name}}` } } : {}),
        ...(loki.auth?.bearerTokenSecret ? { auth: { strategy: 'bearer', token: `\${${env!.name}}` } } : {}),
        tls: vectorTls(files),
        acknowledgements: { enabled: true },
      },
    },
    mount: { prefix: 'loki', dir, tls: loki.tls },
    env,
  };
}
