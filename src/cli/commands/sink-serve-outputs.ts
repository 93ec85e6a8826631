/** The `sink serve` options for central-logging forwarders and alert rules (parsed into PipelineOptions). */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError, OptionSpec, ParsedArgs, UsageError, booleanOption, stringOption } from '../command';
import { DEFAULT_ES_INDEX, DEFAULT_LOKI_LABEL_FIELDS, DEFAULT_LOKI_STATIC_LABELS, esIndexPatternProblems, LOKI_LABEL_FIELDS, LOKI_LABEL_NAME, LokiLabelField } from '../../sink-contract/forward-format';
import { AuthConfig, checkTargetUrl, HttpTargetConfig, HttpTargetError } from '../../sink-server/forward-http';
import { ForwardConfig } from '../../sink-server/pipeline';
import { AlertRulesDocument, AlertRulesError, parseAlertRules } from '../../sink-contract/alert-rules';
import { parseDuration, parseSize } from '../../core/units';

/** Per-destination TLS and credential options: `<prefix>-ca`, `-cert`, `-key`, `-basic-auth-file`, `-bearer-token-file` (+ `-api-key-file`). */
function targetOptions(prefix: string, apiKey: boolean): OptionSpec {
  return {
    [prefix]: { type: 'string' },
    [`${prefix}-ca`]: { type: 'string' },
    [`${prefix}-cert`]: { type: 'string' },
    [`${prefix}-key`]: { type: 'string' },
    [`${prefix}-basic-auth-file`]: { type: 'string' },
    [`${prefix}-user`]: { type: 'string' },
    [`${prefix}-bearer-token-file`]: { type: 'string' },
    ...(apiKey ? { [`${prefix}-api-key-file`]: { type: 'string' as const } } : {}),
  };
}

export const OUTPUT_OPTIONS: OptionSpec = {
  ...targetOptions('forward-elasticsearch', true),
  'forward-elasticsearch-index': { type: 'string' },
  ...targetOptions('forward-loki', false),
  'forward-loki-tenant': { type: 'string' },
  'forward-loki-labels': { type: 'string' },
  'forward-loki-label': { type: 'string', multiple: true },
  'forward-batch-max-events': { type: 'string' },
  'forward-batch-max-bytes': { type: 'string' },
  'forward-batch-max-wait': { type: 'string' },
  'forward-timeout': { type: 'string' },
  'forward-retry-initial': { type: 'string' },
  'forward-retry-max': { type: 'string' },
  'forward-from': { type: 'string' },
  'forward-drain-timeout': { type: 'string' },
  'forward-insecure-http': { type: 'boolean' },
  'forward-pseudonymize-key': { type: 'string' },
  rules: { type: 'string' },
  'alerts-file': { type: 'string' },
  ...targetOptions('alerts-webhook', false),
};

export const OUTPUT_HELP = `Central logging (each destination gets every durable event at least once, in order, from an on-disk
cursor in <store>/state/; forwarding never holds up or weakens the store):
  --forward-elasticsearch URL  Elasticsearch base URL; events go to URL/_bulk as "create" actions with
                               _id = <auditID>-<stage> (a retried batch indexes nothing twice)
  --forward-elasticsearch-index PATTERN
                               index name; %Y %m %d %H = the event's UTC date (default ${DEFAULT_ES_INDEX})
  --forward-loki URL           Loki base URL; events go to URL/loki/api/v1/push, one log line per event,
                               timestamp = stageTimestamp in ns
  --forward-loki-labels LIST   event fields used as labels, from: ${LOKI_LABEL_FIELDS.join(', ')}
                               (default ${DEFAULT_LOKI_LABEL_FIELDS.join(',')}; user and namespace are never labels)
  --forward-loki-label K=V     a fixed label (repeatable; default ${Object.entries(DEFAULT_LOKI_STATIC_LABELS).map(([k, v]) => `${k}=${v}`).join(',')})
  --forward-loki-tenant ID     X-Scope-OrgID
  --forward-{elasticsearch,loki}-ca FILE      CA bundle for the server certificate (default: system CAs)
  --forward-{elasticsearch,loki}-cert FILE, -key FILE   client certificate for mutual TLS
  --forward-{elasticsearch,loki}-basic-auth-file FILE   "user:password" (re-read for every request), or
                               only the password with --forward-{elasticsearch,loki}-user NAME
  --forward-{elasticsearch,loki}-bearer-token-file FILE a bearer token (re-read for every request)
  --forward-elasticsearch-api-key-file FILE             an Elasticsearch API key (Authorization: ApiKey)
  --forward-batch-max-events N (default 500), --forward-batch-max-bytes SIZE (default 4Mi),
  --forward-batch-max-wait DURATION (default 1s)      a batch is sent when full or this old
  --forward-timeout DURATION   per request (default 30s)
  --forward-retry-initial DURATION, --forward-retry-max DURATION
                               backoff between attempts, doubling with jitter (default 1s, 60s); a batch
                               is retried until it is delivered (429/5xx/timeouts) or refused (400)
  --forward-from oldest|now    where a new destination starts (default oldest: the whole store)
  --forward-drain-timeout DURATION
                               on SIGTERM, forwarders and rules may catch up this long (default 5s)
  --forward-insecure-http      allow http:// destinations (no credentials; tests only)
  --forward-pseudonymize-key FILE  send user names, UIDs and source addresses as keyed hashes (HMAC-SHA256 with
                               the ≥ 32-byte secret in FILE; GDPR Art. 32); the local store keeps them as received
Alert rules:
  --rules FILE                 evaluate these rules (cdk8s-audit sink rules validate FILE) on every
                               durable event; alerts are JSON lines on stdout and audit_sink_alerts_total
  --alerts-file FILE           append alert lines to FILE instead of stdout
  --alerts-webhook URL         also POST alerts (JSON, batched, retried with backoff) to this HTTPS URL
  --alerts-webhook-ca FILE, -cert FILE, -key FILE, -basic-auth-file FILE (+ -user NAME), -bearer-token-file FILE`;

export interface OutputOptions {
  readonly forwards: ForwardConfig[];
  readonly batch: { maxRecords: number; maxBytes: number; maxWaitMs: number };
  readonly retry: { initialMs: number; maxMs: number };
  readonly forwardFrom: 'oldest' | 'now';
  readonly drainTimeoutMs: number;
  readonly rules?: AlertRulesDocument;
  readonly rulesFile?: string;
  readonly alertsFile?: string;
  readonly webhook?: HttpTargetConfig;
  /** HMAC key file: outputs get user names, UIDs and source addresses as keyed hashes (GDPR Art. 32). */
  readonly pseudonymizeKeyFile?: string;
}

function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function target(args: ParsedArgs, cwd: string, prefix: string, insecure: boolean, timeoutMs: number): HttpTargetConfig | undefined {
  const s = (n: string) => stringOption(args, n);
  const url = s(prefix);
  const related = Object.keys(args.values).filter((k) => k.startsWith(`${prefix}-`) && args.values[k] !== undefined);
  if (!url) {
    const own = related.filter((k) => ['-ca', '-cert', '-key', '-basic-auth-file', '-user', '-bearer-token-file', '-api-key-file'].some((x) => k === `${prefix}${x}`));
    if (own.length) throw new UsageError(`--${own[0]} needs --${prefix} URL`);
    return undefined;
  }
  const abs = (p: string | undefined) => p && resolve(cwd, p);
  const auths = (['basic-auth-file', 'bearer-token-file', 'api-key-file'] as const).filter((a) => s(`${prefix}-${a}`) !== undefined);
  if (auths.length > 1) throw new UsageError(`--${prefix}-${auths[0]} and --${prefix}-${auths[1]}: give one kind of credentials`);
  const kind = auths[0];
  const user = s(`${prefix}-user`);
  if (user !== undefined && kind !== 'basic-auth-file') throw new UsageError(`--${prefix}-user needs --${prefix}-basic-auth-file FILE (holding the password)`);
  if (user !== undefined && (user === '' || user.includes(':'))) throw new UsageError(`--${prefix}-user ${JSON.stringify(user)} is not a user name (non-empty, no ':')`);
  const auth: AuthConfig = !kind
    ? { kind: 'none' }
    : kind === 'basic-auth-file'
      ? { kind: 'basic', file: abs(s(`${prefix}-${kind}`))!, user }
      : { kind: kind === 'bearer-token-file' ? 'bearer' : 'apikey', file: abs(s(`${prefix}-${kind}`))! };
  usage(() => {
    try {
      checkTargetUrl(`--${prefix}`, url, insecure, auth.kind !== 'none');
    } catch (e) {
      if (e instanceof HttpTargetError) throw new Error(e.message);
      throw e;
    }
  });
  return { url, caFile: abs(s(`${prefix}-ca`)), certFile: abs(s(`${prefix}-cert`)), keyFile: abs(s(`${prefix}-key`)), auth, allowInsecureHttp: insecure, timeoutMs };
}

export function parseOutputOptions(args: ParsedArgs, cwd: string, forwardStdout: boolean): OutputOptions {
  const s = (n: string) => stringOption(args, n);
  const dur = (n: string, d: number) => (s(n) === undefined ? d : usage(() => parseDuration(`--${n}`, s(n)!)));
  const insecure = booleanOption(args, 'forward-insecure-http');
  const timeoutMs = dur('forward-timeout', 30_000);
  if (timeoutMs < 100) throw new UsageError('--forward-timeout must be at least 100ms');
  const forwards: ForwardConfig[] = [];
  const es = target(args, cwd, 'forward-elasticsearch', insecure, timeoutMs);
  if (es) {
    const index = s('forward-elasticsearch-index') ?? DEFAULT_ES_INDEX;
    const problems = esIndexPatternProblems(index);
    if (problems.length) throw new UsageError(`--forward-elasticsearch-index ${JSON.stringify(index)}: ${problems.join('; ')}; e.g. ${DEFAULT_ES_INDEX}`);
    forwards.push({ kind: 'elasticsearch', http: es, index });
  } else if (s('forward-elasticsearch-index') !== undefined) throw new UsageError('--forward-elasticsearch-index needs --forward-elasticsearch URL');
  const loki = target(args, cwd, 'forward-loki', insecure, timeoutMs);
  if (loki) {
    const fieldsText = s('forward-loki-labels');
    const fields = fieldsText === undefined ? [...DEFAULT_LOKI_LABEL_FIELDS] : fieldsText.split(',').map((f) => f.trim()).filter(Boolean);
    for (const f of fields) {
      if (!(LOKI_LABEL_FIELDS as readonly string[]).includes(f)) {
        const why = ['namespace', 'user', 'username', 'auditID', 'requestURI', 'name'].includes(f) ? ' (it has unbounded values: every value makes a new Loki stream)' : '';
        throw new UsageError(`--forward-loki-labels: ${JSON.stringify(f)} cannot be a label${why}; choose from ${LOKI_LABEL_FIELDS.join(', ')}`);
      }
    }
    const staticLabels: Record<string, string> = {};
    const given = (args.values['forward-loki-label'] as string[] | undefined) ?? [];
    for (const kv of given.length ? given : Object.entries(DEFAULT_LOKI_STATIC_LABELS).map(([k, v]) => `${k}=${v}`)) {
      const eq = kv.indexOf('=');
      const k = kv.slice(0, eq);
      if (eq < 1 || !LOKI_LABEL_NAME.test(k) || kv.slice(eq + 1) === '') throw new UsageError(`--forward-loki-label ${JSON.stringify(kv)} is not NAME=VALUE with NAME like ${LOKI_LABEL_NAME.source}, e.g. cluster=prod`);
      if ((fields as string[]).includes(k)) throw new UsageError(`--forward-loki-label ${k}: ${k} is already a label from --forward-loki-labels`);
      staticLabels[k] = kv.slice(eq + 1);
    }
    const tenant = s('forward-loki-tenant');
    if (tenant !== undefined && !/^[A-Za-z0-9!._*'()-]{1,150}$/.test(tenant)) throw new UsageError(`--forward-loki-tenant ${JSON.stringify(tenant)} is not a Loki tenant ID (letters, digits, ! - _ . * ' ( ), at most 150)`);
    forwards.push({ kind: 'loki', http: loki, labelFields: fields as LokiLabelField[], staticLabels, tenant });
  } else {
    for (const n of ['forward-loki-labels', 'forward-loki-tenant']) if (s(n) !== undefined) throw new UsageError(`--${n} needs --forward-loki URL`);
    if (args.values['forward-loki-label'] !== undefined) throw new UsageError('--forward-loki-label needs --forward-loki URL');
  }
  const maxRecordsText = s('forward-batch-max-events');
  const maxRecords = maxRecordsText === undefined ? 500 : Number(maxRecordsText);
  if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100_000) throw new UsageError(`--forward-batch-max-events ${JSON.stringify(maxRecordsText)} is not a whole number from 1 to 100000`);
  const maxBytes = s('forward-batch-max-bytes') === undefined ? 4 * 1024 * 1024 : usage(() => parseSize('--forward-batch-max-bytes', s('forward-batch-max-bytes')!));
  if (maxBytes < 1024) throw new UsageError('--forward-batch-max-bytes must be at least 1Ki');
  const retry = { initialMs: dur('forward-retry-initial', 1000), maxMs: dur('forward-retry-max', 60_000) };
  if (retry.initialMs < 10) throw new UsageError('--forward-retry-initial must be at least 10ms');
  if (retry.maxMs < retry.initialMs) throw new UsageError(`--forward-retry-max (${retry.maxMs} ms) is below --forward-retry-initial (${retry.initialMs} ms)`);
  const from = s('forward-from') ?? 'oldest';
  if (from !== 'oldest' && from !== 'now') throw new UsageError(`--forward-from ${JSON.stringify(from)} is not oldest or now`);

  const rulesFile = s('rules') && resolve(cwd, s('rules')!);
  let rules: AlertRulesDocument | undefined;
  if (rulesFile) {
    let text: string;
    try {
      text = readFileSync(rulesFile, 'utf8');
    } catch (e) {
      throw new InputError(`--rules: cannot read ${rulesFile} (${(e as NodeJS.ErrnoException).code})`);
    }
    try {
      rules = parseAlertRules(text, rulesFile);
    } catch (e) {
      if (e instanceof AlertRulesError) throw new InputError(`--rules: ${e.message}`);
      throw e;
    }
  }
  const alertsFile = s('alerts-file') && resolve(cwd, s('alerts-file')!);
  const webhook = target(args, cwd, 'alerts-webhook', false, timeoutMs);
  if (!rules && (alertsFile || webhook)) throw new UsageError(`--${alertsFile ? 'alerts-file' : 'alerts-webhook'} needs --rules FILE`);
  if (rules && forwardStdout && !alertsFile) throw new UsageError('--forward-stdout and --rules both write to stdout; give --alerts-file FILE for the alerts');
  const pseudonymizeKeyFile = s('forward-pseudonymize-key') && resolve(cwd, s('forward-pseudonymize-key')!);
  if (pseudonymizeKeyFile && forwards.length === 0) throw new UsageError('--forward-pseudonymize-key needs --forward-elasticsearch URL or --forward-loki URL (it changes what they receive)');
  return { forwards, batch: { maxRecords, maxBytes, maxWaitMs: dur('forward-batch-max-wait', 1000) }, retry, forwardFrom: from, drainTimeoutMs: dur('forward-drain-timeout', 5000), rules, rulesFile, alertsFile, webhook, ...(pseudonymizeKeyFile ? { pseudonymizeKeyFile } : {}) };
}
