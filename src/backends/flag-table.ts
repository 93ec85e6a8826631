/**
 * The one table of kube-apiserver audit flags. It drives rendering (which flags to write and how),
 * validation (the apiserver's own `AuditOptions.Validate()` rules, reproduced exactly) and the
 * generated reference (docs/flags.md).
 *
 * Source: k8s.io/apiserver pkg/server/options/audit.go — identical from 1.30 to 1.35; 1.36 changed
 * the log rotation defaults (maxsize 100, maxage 366, maxbackup 100) and made maxsize 0 mean
 * "no rotation" (before, lumberjack read 0 as 100 MiB). 1.37 is identical to 1.36.
 */
import { formatGoDuration, parseGoDuration } from '../core/go-values';
import { PropUnit } from './prop-units';

/** How the apiserver parses a flag's value. */
export enum FlagType {
  STRING = 'string',
  INT = 'int',
  BOOL = 'bool',
  FLOAT = 'float',
  /** A Go duration: `30s`, `1m30s`, `500ms`. Values are kept as Go duration text. */
  DURATION = 'duration',
  /** An int64 count of bytes. */
  BYTES = 'bytes',
  /** A string from a closed set. */
  ENUM = 'enum',
}

/** A flag value: string for STRING/ENUM/DURATION, number for INT/FLOAT/BYTES, boolean for BOOL. */
export type FlagValue = string | number | boolean;

/** Which part of auditing a flag configures. */
export type FlagGroup = 'global' | 'log' | 'webhook';

/** A condition on another flag's effective value. */
export interface FlagCondition {
  readonly flag: string;
  readonly equals: FlagValue;
}

/** One upstream validation rule. `upstream` is the apiserver's own message, `{value}`/`{other}` filled in. */
export type FlagRule =
  | { readonly kind: 'one-of'; readonly values: readonly string[]; readonly upstream: string }
  | { readonly kind: 'non-negative'; readonly upstream: string }
  | { readonly kind: 'positive'; readonly when?: readonly FlagCondition[]; readonly upstream: string }
  | { readonly kind: 'at-least-flag'; readonly flag: string; readonly upstream: string }
  | { readonly kind: 'group-version'; readonly upstream: string };

/** A default that holds from a Kubernetes minor on. */
export interface VersionedDefault {
  /** First Kubernetes minor (1.x) with this default. */
  readonly sinceMinor: number;
  readonly value: FlagValue;
}

export interface AuditFlagSpec {
  /** The flag name without dashes, e.g. `audit-log-maxage`. */
  readonly name: string;
  readonly group: FlagGroup;
  readonly type: FlagType;
  /** Unit of a numeric value (`days`, `MiB`, `bytes`, `events`, `batches/s`, …). */
  readonly unit?: string;
  /** The closed set of an ENUM flag. */
  readonly choices?: readonly string[];
  /** Defaults, oldest first; the one in force for minor m is the last with sinceMinor ≤ m. */
  readonly defaults: readonly VersionedDefault[];
  /** What the flag does. */
  readonly doc: string;
  /** Upstream validation rules (applied only when the flag's backend is enabled, as upstream does). */
  readonly rules: readonly FlagRule[];
  /** Always written, even when equal to the default (paths, and defaults that differ between versions). */
  readonly alwaysRender?: boolean;
  /** This flag turns its backend on when non-empty. */
  readonly enablesBackend?: boolean;
  /** Deprecated alias of another flag; never rendered. */
  readonly deprecatedAliasOf?: string;
  /** The CLI option setting it (without dashes), e.g. `log-maxage`. */
  readonly cliName: string;
  /**
   * The prop that sets it: a dotted path in LogBackendProps / WebhookBackendProps (for log and
   * webhook flags) or ApiserverAuditProps (global). Absent for deprecated aliases.
   */
  readonly prop?: string;
  /** When the prop is a `Size` or `Duration`: the whole unit the flag counts it in. @default - the prop is the flag's value */
  readonly propUnit?: PropUnit;
}

export const AUDIT_GROUP_VERSION = 'audit.k8s.io/v1';
export const AUDIT_MODES = ['batch', 'blocking', 'blocking-strict'] as const;
export const LOG_FORMATS = ['legacy', 'json'] as const;
/** The minor that changed the log rotation defaults (upstream PR 136478). */
export const ROTATION_DEFAULTS_CHANGED_MINOR = 36;

const always = (value: FlagValue): VersionedDefault[] => [{ sinceMinor: 0, value }];

function batchFlags(plugin: 'log' | 'webhook', d: { mode: string; maxSize: number; maxWait: string; throttle: boolean; qps: number; burst: number }): AuditFlagSpec[] {
  const p = `audit-${plugin}`;
  const inBatch: FlagCondition[] = [{ flag: `${p}-mode`, equals: 'batch' }];
  const throttled: FlagCondition[] = [...inBatch, { flag: `${p}-batch-throttle-enable`, equals: true }];
  const onlyBatch = ' Only used in batch mode.';
  return [
    {
      name: `${p}-mode`,
      group: plugin,
      type: FlagType.ENUM,
      choices: AUDIT_MODES,
      defaults: always(d.mode),
      doc:
        'How events reach the backend. `blocking`: the request waits for each write, errors are ignored. ' +
        '`blocking-strict`: like blocking, but a failure at the RequestReceived stage fails the request (HTTP 500). ' +
        '`batch`: events are buffered and written asynchronously; when the buffer is full events are dropped ("audit buffer queue blocked").',
      rules: [{ kind: 'one-of', values: AUDIT_MODES, upstream: `invalid audit ${plugin} mode {value}, allowed modes are "batch,blocking,blocking-strict"` }],
      cliName: `${plugin}-mode`,
      prop: 'mode',
    },
    {
      name: `${p}-batch-buffer-size`,
      group: plugin,
      type: FlagType.INT,
      unit: 'events',
      defaults: always(10000),
      doc: 'Events buffered before batching and writing; when full, new events are dropped.' + onlyBatch,
      rules: [{ kind: 'positive', when: inBatch, upstream: `invalid audit batch ${plugin} buffer size {value}, must be a positive number` }],
      cliName: `${plugin}-batch-buffer-size`,
      prop: 'batch.bufferSize',
    },
    {
      name: `${p}-batch-max-size`,
      group: plugin,
      type: FlagType.INT,
      unit: 'events',
      defaults: always(d.maxSize),
      doc: 'The most events in one batch.' + onlyBatch,
      rules: [{ kind: 'positive', when: inBatch, upstream: `invalid audit batch ${plugin} max batch size {value}, must be a positive number` }],
      cliName: `${plugin}-batch-max-size`,
      prop: 'batch.maxSize',
    },
    {
      name: `${p}-batch-max-wait`,
      group: plugin,
      type: FlagType.DURATION,
      defaults: always(d.maxWait),
      doc: 'How long a batch that has not reached the max size waits before it is written anyway.' + onlyBatch,
      rules: [],
      cliName: `${plugin}-batch-max-wait`,
      prop: 'batch.maxWait',
    },
    {
      name: `${p}-batch-throttle-enable`,
      group: plugin,
      type: FlagType.BOOL,
      defaults: always(d.throttle),
      doc: 'Limit the rate of batches with a token bucket (qps, burst).' + onlyBatch,
      rules: [],
      cliName: `${plugin}-batch-throttle-enable`,
      prop: 'batch.throttle.enabled',
    },
    {
      name: `${p}-batch-throttle-qps`,
      group: plugin,
      type: FlagType.FLOAT,
      unit: 'batches/s',
      defaults: always(d.qps),
      doc: 'Average batches per second when throttling.' + onlyBatch,
      rules: [{ kind: 'positive', when: throttled, upstream: `invalid audit batch ${plugin} throttle QPS {value}, must be a positive number` }],
      cliName: `${plugin}-batch-throttle-qps`,
      prop: 'batch.throttle.qps',
    },
    {
      name: `${p}-batch-throttle-burst`,
      group: plugin,
      type: FlagType.INT,
      unit: 'batches',
      defaults: always(d.burst),
      doc: 'Batches that may be sent at once when the QPS budget was not used before.' + onlyBatch,
      rules: [{ kind: 'positive', when: throttled, upstream: `invalid audit batch ${plugin} throttle burst {value}, must be a positive number` }],
      cliName: `${plugin}-batch-throttle-burst`,
      prop: 'batch.throttle.burst',
    },
  ];
}

function truncateFlags(plugin: 'log' | 'webhook'): AuditFlagSpec[] {
  const p = `audit-${plugin}`;
  return [
    {
      name: `${p}-truncate-enabled`,
      group: plugin,
      type: FlagType.BOOL,
      defaults: always(false),
      doc: 'Truncate oversized events and split oversized batches. (The size flags below are validated even when this is off.)',
      rules: [],
      cliName: `${plugin}-truncate-enabled`,
      prop: 'truncate.enabled',
    },
    {
      name: `${p}-truncate-max-batch-size`,
      group: plugin,
      type: FlagType.BYTES,
      unit: 'bytes',
      defaults: always(10 * 1024 * 1024),
      doc: 'Largest batch the truncate layer passes on in one call. In the kube-apiserver it sits before the batching buffer and sees one event per call, so it does not bound a webhook POST: that is batch max-size × max-event-size plus the envelope.',
      rules: [
        {
          kind: 'at-least-flag',
          flag: `${p}-truncate-max-event-size`,
          upstream: `invalid audit truncate ${plugin} max batch size {value}, must be greater than max event size ({other})`,
        },
      ],
      cliName: `${plugin}-truncate-max-batch-size`,
      prop: 'truncate.maxBatchSize',
      propUnit: PropUnit.BYTES,
    },
    {
      name: `${p}-truncate-max-event-size`,
      group: plugin,
      type: FlagType.BYTES,
      unit: 'bytes',
      defaults: always(100 * 1024),
      doc: 'Largest event sent to the backend; a larger event first loses its request and response bodies, and is dropped if still too large.',
      rules: [{ kind: 'positive', upstream: `invalid audit truncate ${plugin} max event size {value}, must be a positive number` }],
      cliName: `${plugin}-truncate-max-event-size`,
      prop: 'truncate.maxEventSize',
      propUnit: PropUnit.BYTES,
    },
  ];
}

function versionFlag(plugin: 'log' | 'webhook'): AuditFlagSpec {
  return {
    name: `audit-${plugin}-version`,
    group: plugin,
    type: FlagType.STRING,
    defaults: always(AUDIT_GROUP_VERSION),
    doc: `API group and version used to serialize events written to the ${plugin} backend.`,
    rules: [{ kind: 'group-version', upstream: 'invalid group version, allowed versions are ["audit.k8s.io/v1"]' }],
    cliName: `${plugin}-version`,
    prop: 'groupVersion',
  };
}

function rotationDefaults(newDefault: number): VersionedDefault[] {
  return [
    { sinceMinor: 0, value: 0 },
    { sinceMinor: ROTATION_DEFAULTS_CHANGED_MINOR, value: newDefault },
  ];
}

/** Every audit flag of the kube-apiserver, in the order of its `--help`. */
export const AUDIT_FLAGS: readonly AuditFlagSpec[] = [
  {
    name: 'audit-policy-file',
    group: 'global',
    type: FlagType.STRING,
    defaults: always(''),
    doc: 'The audit policy. Without it no backend records anything; a policy that fails to load stops the apiserver.',
    rules: [],
    alwaysRender: true,
    cliName: 'policy-file',
    prop: 'policyFile',
  },
  {
    name: 'audit-log-path',
    group: 'log',
    type: FlagType.STRING,
    defaults: always(''),
    doc: 'Turns the log backend on: the file events are written to; `-` is standard output.',
    rules: [],
    alwaysRender: true,
    enablesBackend: true,
    cliName: 'log-path',
    prop: 'path',
  },
  {
    name: 'audit-log-maxage',
    group: 'log',
    type: FlagType.INT,
    unit: 'days',
    defaults: rotationDefaults(366),
    doc: 'Days to keep rotated files, by the timestamp in their names; 0 keeps them regardless of age.',
    rules: [{ kind: 'non-negative', upstream: "--audit-log-maxage {value} can't be a negative number" }],
    alwaysRender: true,
    cliName: 'log-maxage',
    prop: 'maxAge',
    propUnit: PropUnit.DAYS,
  },
  {
    name: 'audit-log-maxbackup',
    group: 'log',
    type: FlagType.INT,
    unit: 'files',
    defaults: rotationDefaults(100),
    doc: 'Rotated files to keep; 0 keeps all.',
    rules: [{ kind: 'non-negative', upstream: "--audit-log-maxbackup {value} can't be a negative number" }],
    alwaysRender: true,
    cliName: 'log-maxbackup',
    prop: 'maxBackups',
  },
  {
    name: 'audit-log-maxsize',
    group: 'log',
    type: FlagType.INT,
    unit: 'MiB',
    defaults: rotationDefaults(100),
    doc: 'Size at which the file is rotated. 0 means 100 MiB before Kubernetes 1.36 and no rotation from 1.36 on.',
    rules: [{ kind: 'non-negative', upstream: "--audit-log-maxsize {value} can't be a negative number" }],
    alwaysRender: true,
    cliName: 'log-maxsize',
    prop: 'maxSize',
    propUnit: PropUnit.MEBIBYTES,
  },
  {
    name: 'audit-log-format',
    group: 'log',
    type: FlagType.ENUM,
    choices: LOG_FORMATS,
    defaults: always('json'),
    doc: '`json`: one JSON event per line. `legacy`: one line of text per event.',
    rules: [{ kind: 'one-of', values: LOG_FORMATS, upstream: 'invalid audit log format {value}, allowed formats are "legacy,json"' }],
    cliName: 'log-format',
    prop: 'format',
  },
  versionFlag('log'),
  {
    name: 'audit-log-compress',
    group: 'log',
    type: FlagType.BOOL,
    defaults: always(false),
    doc: 'gzip rotated files.',
    rules: [],
    cliName: 'log-compress',
    prop: 'compress',
  },
  ...batchFlags('log', { mode: 'blocking', maxSize: 1, maxWait: '0s', throttle: false, qps: 0, burst: 0 }),
  ...truncateFlags('log'),
  {
    name: 'audit-webhook-config-file',
    group: 'webhook',
    type: FlagType.STRING,
    defaults: always(''),
    doc: 'Turns the webhook backend on: a kubeconfig naming the sink URL, its CA and the client credentials.',
    rules: [],
    alwaysRender: true,
    enablesBackend: true,
    cliName: 'webhook-config-file',
    prop: 'configFile',
  },
  {
    name: 'audit-webhook-initial-backoff',
    group: 'webhook',
    type: FlagType.DURATION,
    defaults: always('10s'),
    doc: 'Wait before retrying a failed request; later retries wait ×1.5 each (jitter 0.2, 5 steps), then the batch is dropped.',
    rules: [],
    cliName: 'webhook-initial-backoff',
    prop: 'initialBackoff',
  },
  {
    name: 'audit-webhook-batch-initial-backoff',
    group: 'webhook',
    type: FlagType.DURATION,
    defaults: always('10s'),
    doc: 'Deprecated alias of `--audit-webhook-initial-backoff`.',
    rules: [],
    deprecatedAliasOf: 'audit-webhook-initial-backoff',
    cliName: 'webhook-batch-initial-backoff',
  },
  versionFlag('webhook'),
  ...batchFlags('webhook', { mode: 'batch', maxSize: 400, maxWait: '30s', throttle: true, qps: 10, burst: 15 }),
  ...truncateFlags('webhook'),
];

const BY_NAME = new Map(AUDIT_FLAGS.map((f) => [f.name, f]));

/** The spec of a flag (name with or without leading dashes); undefined when it is not an audit flag. */
export function findFlag(name: string): AuditFlagSpec | undefined {
  return BY_NAME.get(name.replace(/^--?/, ''));
}

/** The spec of a flag; throws when it is not an audit flag. */
export function getFlag(name: string): AuditFlagSpec {
  const spec = findFlag(name);
  if (!spec) throw new Error(`${JSON.stringify(name)} is not a kube-apiserver audit flag`);
  return spec;
}

/** The default of a flag in Kubernetes 1.`minor`. */
export function flagDefault(spec: AuditFlagSpec, minor: number): FlagValue {
  let value = spec.defaults[0].value;
  for (const d of spec.defaults) if (d.sinceMinor <= minor) value = d.value;
  return value;
}

/** Compares two values of one flag (durations by length, not spelling). */
export function flagValuesEqual(spec: AuditFlagSpec, a: FlagValue, b: FlagValue): boolean {
  if (spec.type === FlagType.DURATION && typeof a === 'string' && typeof b === 'string') {
    return parseGoDuration(a) === parseGoDuration(b);
  }
  return a === b;
}

/** The command-line text of a value: `true`, `10`, `0.5`, `30s`. Durations are normalised like Go prints them. */
export function formatFlagValue(spec: AuditFlagSpec, value: FlagValue): string {
  if (spec.type === FlagType.DURATION && typeof value === 'string') {
    const ns = parseGoDuration(value);
    return ns === undefined ? value : formatGoDuration(ns);
  }
  return String(value);
}
