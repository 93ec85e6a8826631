/**
 * The two audit backends of the kube-apiserver as typed, validated values. Each turns its props
 * into flag values (through the flag table), checks them with the apiserver's own rules plus
 * cdk8s-audit's operational checks, and says which directory the apiserver needs mounted.
 */
import { Duration, Size } from 'cdk8s';
import { KubernetesVersion, parseKubernetesVersion } from '../core/kubernetes-version';
import { DEFAULT_LOG_PATH, DEFAULT_WEBHOOK_CONFIG_FILE } from '../core/node-paths';
import { AuditConfigError, formatValue } from './errors';
import { AUDIT_FLAGS, FlagType, FlagValue, ROTATION_DEFAULTS_CHANGED_MINOR, findFlag } from './flag-table';
import { FlagLookup, FlagValues, validateAuditFlags } from './flags';
import { formatGoDuration, parseGoDuration } from '../core/go-values';
import { describeSize, fromWholeUnit, sizeToBytes, toWholeUnit } from './prop-units';

/** How events reach a backend (`--audit-<backend>-mode`). */
export enum AuditMode {
  /** Buffer events and write them asynchronously in batches; drop when the buffer is full. */
  BATCH = 'batch',
  /** Write each event before the request proceeds; ignore write errors. */
  BLOCKING = 'blocking',
  /** Like BLOCKING, but fail the request (HTTP 500) when the RequestReceived event cannot be written. */
  BLOCKING_STRICT = 'blocking-strict',
}

/** The log file format (`--audit-log-format`). */
export enum LogFormat {
  /** One JSON `audit.k8s.io/v1` Event per line. */
  JSON = 'json',
  /** One line of text per event. */
  LEGACY = 'legacy',
}

/** Token-bucket throttling of batches. */
export interface ThrottleProps {
  /**
   * Throttle batches.
   * @default true for the webhook backend, false for the log backend
   */
  readonly enabled?: boolean;
  /**
   * Average batches per second.
   * @default 10 for the webhook backend, 0 for the log backend
   */
  readonly qps?: number;
  /**
   * Batches that may go out at once after an idle period.
   * @default 15 for the webhook backend, 0 for the log backend
   */
  readonly burst?: number;
}

/** Batching; used only in `AuditMode.BATCH`. */
export interface BatchProps {
  /**
   * Events held in the buffer; when it is full, new events are dropped.
   * @default 10000
   */
  readonly bufferSize?: number;
  /**
   * The most events in one batch.
   * @default 400 for the webhook backend, 1 for the log backend
   */
  readonly maxSize?: number;
  /**
   * How long a partial batch waits before it is sent anyway.
   * @default Duration.seconds(30) for the webhook backend, 0 for the log backend
   */
  readonly maxWait?: Duration;
  /** Throttling. @default - the backend's defaults */
  readonly throttle?: ThrottleProps;
}

/** Truncation of oversized events and batches. */
export interface TruncateProps {
  /**
   * Truncate: drop request/response bodies from events over `maxEventSize` (and the event if
   * still too large), split batches over `maxBatchSize`.
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * Largest event (whole bytes). Must be > 0 even when truncation is off.
   * @default Size.kibibytes(100)
   */
  readonly maxEventSize?: Size;
  /**
   * Largest batch (whole bytes). Must be ≥ maxEventSize even when truncation is off.
   * @default Size.mebibytes(10)
   */
  readonly maxBatchSize?: Size;
}

/** Props both backends share. */
export interface AuditBackendProps {
  /**
   * The Kubernetes version the flags are for: defaults and rules follow it.
   * @default - the newest version cdk8s-audit supports
   */
  readonly kubernetesVersion?: KubernetesVersion;
  /** @default AuditMode.BATCH for the webhook backend, AuditMode.BLOCKING for the log backend */
  readonly mode?: AuditMode;
  /** @default - the backend's batch defaults */
  readonly batch?: BatchProps;
  /** @default - truncation off, 100 KiB events, 10 MiB batches */
  readonly truncate?: TruncateProps;
  /**
   * API group/version events are serialized in. Only `audit.k8s.io/v1` is accepted.
   * @default 'audit.k8s.io/v1'
   */
  readonly groupVersion?: string;
  /**
   * Audit events per second the cluster is expected to produce at peak (after the policy). When
   * set, cdk8s-audit checks that batch throttling can keep up.
   * @default - not checked
   */
  readonly expectedEventsPerSecond?: number;
}

/** The hostPath type of an apiserver mount (the Kubernetes HostPathType values). */
export enum HostPathType {
  /** The directory must exist (the files in it are provisioned first). */
  DIRECTORY = 'Directory',
  /** Created when missing (output such as the log directory). */
  DIRECTORY_OR_CREATE = 'DirectoryOrCreate',
}

/** A directory the kube-apiserver pod must have mounted from the node. */
export interface ApiserverMount {
  /** Volume name (≤ 63 characters, DNS label). */
  readonly name: string;
  /** The directory, on the node and inside the pod (the same path on both sides). */
  readonly path: string;
  readonly readOnly: boolean;
  /** hostPath type: `Directory` when the files must already be there, `DirectoryOrCreate` for output. */
  readonly pathType: HostPathType;
  /** What it holds, for docs and comments. */
  readonly purpose: string;
}

/** What every backend offers the control-plane renderers. */
export interface IAuditBackend {
  /** `log` or `webhook`. */
  readonly group: string;
  /** Normalised Kubernetes version (`1.35`, `1.36.2`). */
  readonly kubernetesVersion: string;
  /** Explicit flag values (flag names without dashes). */
  readonly flagValues: FlagValues;
  /** Directories the apiserver needs. */
  readonly mounts: ApiserverMount[];
  /** Findings that do not block rendering. */
  readonly warnings: string[];
}

export { DEFAULT_LOG_PATH, DEFAULT_WEBHOOK_CONFIG_FILE };
/** Extra bytes a serialized batch may have over the truncation limit ("several hundreds of bytes" upstream). */
export const BATCH_ENVELOPE_BYTES = 1024;

/** A cdk8s Duration (never negative) as Go duration text. */
function durationText(d: Duration | undefined): string | undefined {
  return d === undefined ? undefined : formatGoDuration(d.toMilliseconds({ integral: false }) * 1e6);
}

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

/**
 * Flag values from a backend's props, through the `prop` paths of the flag table; `propOf` maps
 * each flag back to its prop for messages.
 */
export function backendPropsToFlags(group: 'log' | 'webhook', props: object): { values: Record<string, FlagValue>; propOf: Record<string, string>; problems: string[] } {
  const values: Record<string, FlagValue> = {};
  const propOf: Record<string, string> = {};
  const problems: string[] = [];
  for (const spec of AUDIT_FLAGS) {
    if (spec.group !== group || !spec.prop) continue;
    propOf[spec.name] = spec.prop;
    const v = getPath(props, spec.prop);
    if (v === undefined) continue;
    if (spec.propUnit && (v instanceof Size || v instanceof Duration)) {
      const whole = toWholeUnit(spec.prop, spec.name, v, spec.propUnit);
      if ('problem' in whole) problems.push(whole.problem);
      else values[spec.name] = whole.value;
      continue;
    }
    // A number here came from flags (the CLI, presets) unconverted because the apiserver would refuse it:
    // the flag's own rules name it.
    values[spec.name] = spec.type === FlagType.DURATION && v instanceof Duration ? durationText(v)! : (v as FlagValue);
  }
  return { values, propOf, problems };
}

/**
 * A backend's props from flag values (the inverse of backendPropsToFlags): how flag sets from
 * presets or the command line become LogBackendProps / WebhookBackendProps. Flags of the other
 * backend and the policy file are ignored; the deprecated alias counts for its flag.
 */
export function flagsToBackendProps(group: 'log', values: FlagValues): LogBackendProps;
export function flagsToBackendProps(group: 'webhook', values: FlagValues): WebhookBackendProps;
export function flagsToBackendProps(group: 'log' | 'webhook', values: FlagValues): LogBackendProps | WebhookBackendProps {
  const props: Record<string, unknown> = {};
  const entries = Object.entries(values).map(([name, value]) => [findFlag(name), value] as const);
  // Canonical flags last, so they win over a deprecated alias.
  entries.sort(([a], [b]) => Number(!a?.deprecatedAliasOf) - Number(!b?.deprecatedAliasOf));
  for (const [found, value] of entries) {
    const spec = found?.deprecatedAliasOf ? findFlag(found.deprecatedAliasOf) : found;
    if (!spec || spec.group !== group || !spec.prop) continue;
    const ns = spec.type === FlagType.DURATION && typeof value === 'string' ? parseGoDuration(value) : undefined;
    if (ns !== undefined && ns >= 0) setPath(props, spec.prop, Duration.millis(ns / 1e6));
    // Only values the flag accepts become a Size or Duration; others stay numbers for the flag's rules to name.
    else if (spec.propUnit && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) setPath(props, spec.prop, fromWholeUnit(value, spec.propUnit));
    else setPath(props, spec.prop, value);
  }
  return props as LogBackendProps | WebhookBackendProps;
}

/** Rewrites `--audit-log-maxage: …` into `maxAge (--audit-log-maxage): …` so errors name the prop. */
function nameProps(problems: string[], propOf: Record<string, string>): string[] {
  return problems.map((msg) => {
    const m = /^--([a-z-]+):/.exec(msg);
    const prop = m && propOf[m[1]];
    return prop ? `${prop} (--${m![1]}):${msg.slice(m![0].length)}` : msg;
  });
}

function normaliseVersion(version: KubernetesVersion | undefined, problems: string[]): { text: string; minor: number } {
  try {
    const v = parseKubernetesVersion(version);
    return { text: v.text, minor: v.minor };
  } catch (e) {
    problems.push((e as Error).message);
    const fallback = parseKubernetesVersion();
    return { text: fallback.text, minor: fallback.minor };
  }
}

/** Checks that batching with throttling can carry the expected event rate. */
function throttleProblems(plugin: 'log' | 'webhook', props: AuditBackendProps, lookup: FlagLookup): string[] {
  const rate = props.expectedEventsPerSecond;
  if (rate === undefined) return [];
  if (!(rate >= 0)) return [`expectedEventsPerSecond: ${formatValue(rate)} is not a rate; give events per second ≥ 0`];
  const p = `audit-${plugin}`;
  if (lookup.get(`${p}-mode`) !== 'batch' || lookup.get(`${p}-batch-throttle-enable`) !== true) return [];
  const qps = lookup.get(`${p}-batch-throttle-qps`) as number;
  const maxSize = lookup.get(`${p}-batch-max-size`) as number;
  const buffer = lookup.get(`${p}-batch-buffer-size`) as number;
  const capacity = qps * maxSize;
  if (!(qps > 0 && maxSize > 0) || capacity >= rate) return [];
  const fillSeconds = buffer / (rate - capacity);
  return [
    `batch.throttle.qps (--${p}-batch-throttle-qps): ${qps} batches/s × batch.maxSize ${maxSize} events = ${round(capacity)} events/s, ` +
      `below expectedEventsPerSecond ${rate}; the ${buffer}-event buffer fills in ${round(fillSeconds)} s and then ` +
      `events are dropped ("audit buffer queue blocked") (cdk8s-audit check); raise batch.throttle.qps to ≥ ${round(rate / maxSize)} ` +
      `or batch.maxSize to ≥ ${Math.ceil(rate / qps)}, or turn throttling off`,
  ];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Props of the log backend, except the file (`LogBackend.toFile`, `LogBackend.toStdout` take it apart). */
export interface LogBackendOptions extends AuditBackendProps {
  /**
   * How long to keep rotated files, in whole days (`--audit-log-maxage`); `Duration.days(0)`: no age limit.
   * @default - Duration.days(366) from Kubernetes 1.36, no age limit before
   */
  readonly maxAge?: Duration;
  /**
   * Rotated files to keep (0: all).
   * @default 100 from Kubernetes 1.36, 0 before
   */
  readonly maxBackups?: number;
  /**
   * Rotate at this size, in whole MiB (`--audit-log-maxsize`). `Size.mebibytes(0)`: before 1.36 lumberjack's
   * 100 MiB, from 1.36 no rotation.
   * @default - Size.mebibytes(100)
   */
  readonly maxSize?: Size;
  /** gzip rotated files. @default false */
  readonly compress?: boolean;
  /** @default LogFormat.JSON */
  readonly format?: LogFormat;
  /**
   * How long logs must stay on the node (e.g. `Duration.days(90)` for FedRAMP's online retention). When
   * set, cdk8s-audit checks maxAge and, with expectedVolumePerDay, that maxBackups × maxSize holds them.
   * @default - not checked
   */
  readonly retentionPeriod?: Duration;
  /**
   * Audit log volume per day (uncompressed), for the retention check.
   * @default - the backup-count part of the retention check is skipped with a warning
   */
  readonly expectedVolumePerDay?: Size;
}

/** Props of the log backend. */
export interface LogBackendProps extends LogBackendOptions {
  /**
   * The log file inside the apiserver pod (and on the node: its directory is mounted read-write).
   * `-` writes to standard output (then the container runtime's log rotation decides retention).
   * @default '/var/log/kubernetes/audit/audit.log'
   */
  readonly path?: string;
}

/**
 * The log backend: events written by the apiserver to a file on the node, rotated by lumberjack.
 *
 * @example
 * const log = LogBackend.toFile('/var/log/kubernetes/audit/audit.log', {
 *   maxAge: Duration.days(30), maxBackups: 10, maxSize: Size.mebibytes(100),
 *   retentionPeriod: Duration.days(30), expectedVolumePerDay: Size.mebibytes(20),
 * });
 * log.flagValues; // { 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, … }
 */
export class LogBackend implements IAuditBackend {
  /** A log backend writing to `path`. */
  public static toFile(path: string, options: LogBackendOptions = {}): LogBackend {
    return new LogBackend({ ...options, path });
  }

  /** A log backend writing to the apiserver's standard output. */
  public static toStdout(options: LogBackendOptions = {}): LogBackend {
    return new LogBackend({ ...options, path: '-' });
  }

  public readonly group: string = 'log';
  public readonly kubernetesVersion: string;
  public readonly flagValues: FlagValues;
  public readonly mounts: ApiserverMount[];
  public readonly warnings: string[];
  /** The file, or `-` for standard output. */
  public readonly path: string;
  /** Effective (explicit or the version's default) values. */
  public readonly maxAge: Duration;
  public readonly maxBackups: number;
  public readonly maxSize: Size;
  public readonly mode: AuditMode;
  public readonly format: LogFormat;
  private readonly maxAgeDays: number;
  private readonly maxSizeMiB: number;

  /** @throws AuditConfigError listing every problem */
  constructor(public readonly props: LogBackendProps = {}) {
    const problems: string[] = [];
    const warnings: string[] = [];
    const version = normaliseVersion(props.kubernetesVersion, problems);
    this.kubernetesVersion = version.text;
    this.path = props.path ?? DEFAULT_LOG_PATH;
    const { values, propOf, problems: unitProblems } = backendPropsToFlags('log', { ...props, path: this.path });
    problems.push(...unitProblems);
    if (this.path === '') problems.push('path: "" is empty, which turns the log backend off; give a file path such as /var/log/kubernetes/audit/audit.log, or "-" for stdout');
    problems.push(...nameProps(validateAuditFlags(values, { kubernetesVersion: version.text, ignorePolicyFile: true }), propOf));

    const lookup = new FlagLookup(values, version.minor);
    this.maxAgeDays = lookup.get('audit-log-maxage') as number;
    this.maxBackups = lookup.get('audit-log-maxbackup') as number;
    this.maxSizeMiB = lookup.get('audit-log-maxsize') as number;
    this.maxAge = Duration.days(Math.max(0, this.maxAgeDays));
    this.maxSize = Size.mebibytes(Math.max(0, this.maxSizeMiB));
    this.mode = lookup.get('audit-log-mode') as AuditMode;
    this.format = lookup.get('audit-log-format') as LogFormat;
    problems.push(...throttleProblems('log', props, lookup));
    if (unitProblems.length === 0) this.retentionChecks(version.minor, problems, warnings);
    if (problems.length) throw new AuditConfigError(problems);

    this.flagValues = values;
    this.warnings = warnings;
    this.mounts =
      this.path === '-' || this.path === ''
        ? []
        : [{ name: 'audit-log', path: dirOf(this.path), readOnly: false, pathType: HostPathType.DIRECTORY_OR_CREATE, purpose: 'audit log files (rotation renames files, so the directory is mounted)' }];
  }

  private retentionChecks(minor: number, problems: string[], warnings: string[]): void {
    const p = this.props;
    const rotationOff = this.maxSizeMiB === 0 && minor >= ROTATION_DEFAULTS_CHANGED_MINOR;
    if (rotationOff && this.path !== '-') {
      warnings.push(
        `maxSize (--audit-log-maxsize): 0 turns rotation off from Kubernetes 1.36: one file grows without limit until the disk is full; ` +
          'set a size such as Size.mebibytes(100)',
      );
    }
    const volumeMiB = p.expectedVolumePerDay === undefined ? undefined : sizeToBytes(p.expectedVolumePerDay) / (1024 * 1024);
    if (p.expectedVolumePerDay !== undefined && !(volumeMiB! > 0)) {
      problems.push(`expectedVolumePerDay: ${describeSize(p.expectedVolumePerDay)} is not a daily volume; give a Size > 0, e.g. Size.mebibytes(20)`);
    }
    if (p.retentionPeriod === undefined) return;
    const goal = p.retentionPeriod.toDays({ integral: false });
    if (!(goal > 0)) {
      problems.push(`retentionPeriod: ${p.retentionPeriod.toHumanString()} is not a retention goal; give a Duration > 0, e.g. Duration.days(90)`);
      return;
    }
    const goalText = `retentionPeriod ${p.retentionPeriod.toHumanString()}`;
    if (this.path === '-') {
      problems.push(
        `retentionPeriod: ${p.retentionPeriod.toHumanString()} cannot be met with path "-": events go to the container log, which the kubelet rotates by its own limits ` +
          '(containerLogMaxSize 10Mi × containerLogMaxFiles 5 by default) — write to a file, e.g. path: /var/log/kubernetes/audit/audit.log (cdk8s-audit check)',
      );
      return;
    }
    if (this.maxAgeDays > 0 && this.maxAgeDays < goal) {
      problems.push(
        `maxAge (--audit-log-maxage): ${this.maxAgeDays} days deletes rotated files after ${this.maxAgeDays} days, short of ${goalText} ` +
          `(cdk8s-audit check); set maxAge to ≥ Duration.days(${Math.ceil(goal)}), or Duration.days(0) for no age limit`,
      );
    }
    if (rotationOff || this.maxBackups === 0) {
      if (this.maxAgeDays === 0) {
        warnings.push(
          `${goalText}: nothing is ever deleted (maxAge 0, ${rotationOff ? 'rotation off' : 'maxBackups 0'}), so retention is met but disk use grows without bound; ` +
            `set maxAge to Duration.days(${Math.ceil(goal)}) to delete what is no longer needed`,
        );
      }
      return;
    }
    const fileMiB = this.maxSizeMiB === 0 ? 100 : this.maxSizeMiB;
    if (volumeMiB === undefined) {
      warnings.push(
        `${goalText}: maxBackups ${this.maxBackups} × ${fileMiB} MiB holds ${this.maxBackups * fileMiB} MiB of rotated logs; ` +
          'whether that covers the retention depends on the daily volume — set expectedVolumePerDay to check it',
      );
      return;
    }
    if (!(volumeMiB > 0)) return;
    const days = (this.maxBackups * fileMiB) / volumeMiB;
    if (days < goal) {
      const needed = Math.ceil((goal * volumeMiB) / fileMiB);
      problems.push(
        `maxBackups (--audit-log-maxbackup): ${this.maxBackups} files × ${fileMiB} MiB = ${this.maxBackups * fileMiB} MiB holds ` +
          `${round(days)} days at ${round(volumeMiB)} MiB/day (expectedVolumePerDay), short of ${goalText}; older files are deleted (cdk8s-audit check); ` +
          `set maxBackups to ≥ ${needed}, raise maxSize, or set maxBackups to 0 and let maxAge limit retention`,
      );
    }
  }
}

/** Props of the webhook backend. */
export interface WebhookBackendProps extends AuditBackendProps {
  /**
   * The webhook kubeconfig inside the apiserver pod (its directory is mounted read-only).
   * @default '/etc/kubernetes/audit-webhook/kubeconfig.yaml'
   */
  readonly configFile?: string;
  /**
   * Wait before the first retry of a failed request; later retries wait ×1.5 (5 steps), then the batch is dropped.
   * @default Duration.seconds(10)
   */
  readonly initialBackoff?: Duration;
  /**
   * The largest request body the sink accepts (Fluent Bit's buffer, a proxy's client_max_body_size…).
   * When set, cdk8s-audit requires truncation with batches that fit.
   * @default - not checked
   */
  readonly sinkMaxBody?: Size;
}

/**
 * The webhook backend: events POSTed as `audit.k8s.io/v1 EventList` to a remote sink named by a
 * kubeconfig file (render it with `renderWebhookKubeconfig`).
 *
 * @example
 * const webhook = new WebhookBackend({
 *   batch: { maxWait: Duration.seconds(5), throttle: { qps: 20, burst: 30 } },
 *   truncate: { enabled: true, maxEventSize: Size.kibibytes(16) },
 *   sinkMaxBody: Size.mebibytes(8),
 *   expectedEventsPerSecond: 2000,
 * });
 */
export class WebhookBackend implements IAuditBackend {
  public readonly group: string = 'webhook';
  public readonly kubernetesVersion: string;
  public readonly flagValues: FlagValues;
  public readonly mounts: ApiserverMount[];
  public readonly warnings: string[];
  public readonly configFile: string;
  public readonly mode: AuditMode;

  /** @throws AuditConfigError listing every problem */
  constructor(public readonly props: WebhookBackendProps = {}) {
    const problems: string[] = [];
    const version = normaliseVersion(props.kubernetesVersion, problems);
    this.kubernetesVersion = version.text;
    this.configFile = props.configFile ?? DEFAULT_WEBHOOK_CONFIG_FILE;
    const { values, propOf, problems: unitProblems } = backendPropsToFlags('webhook', { ...props, configFile: this.configFile });
    problems.push(...unitProblems);
    if (this.configFile === '') problems.push('configFile: "" is empty, which turns the webhook backend off; give the kubeconfig path, e.g. /etc/kubernetes/audit-webhook/kubeconfig.yaml');
    problems.push(...nameProps(validateAuditFlags(values, { kubernetesVersion: version.text, ignorePolicyFile: true }), propOf));

    const lookup = new FlagLookup(values, version.minor);
    this.mode = lookup.get('audit-webhook-mode') as AuditMode;
    problems.push(...throttleProblems('webhook', props, lookup));
    if (unitProblems.length === 0) problems.push(...this.sinkLimitProblems(lookup));
    if (problems.length) throw new AuditConfigError(problems);
    this.flagValues = values;
    this.warnings = [];
    this.mounts = [
      { name: 'audit-webhook', path: dirOf(this.configFile), readOnly: true, pathType: HostPathType.DIRECTORY, purpose: 'webhook kubeconfig and its TLS files' },
    ];
  }

  /**
   * A POST carries up to batch max-size events of up to truncate max-event-size bytes each: the
   * truncate layer sits before the batching buffer and sees one event at a time, so
   * --audit-webhook-truncate-max-batch-size never splits a webhook batch (measured on the real
   * apiserver in test/e2e/advisor.test.ts).
   */
  private sinkLimitProblems(lookup: FlagLookup): string[] {
    if (this.props.sinkMaxBody === undefined) return [];
    const limit = sizeToBytes(this.props.sinkMaxBody);
    if (!(Number.isSafeInteger(limit) && limit > 0)) return [`sinkMaxBody: ${describeSize(this.props.sinkMaxBody)} is not a body limit; give a Size of whole bytes > 0, e.g. Size.mebibytes(16)`];
    const enabled = lookup.get('audit-webhook-truncate-enabled') === true;
    const batchEvents = lookup.get('audit-webhook-batch-max-size') as number;
    const eventBytes = lookup.get('audit-webhook-truncate-max-event-size') as number;
    const fits = limit - BATCH_ENVELOPE_BYTES;
    const eventFix = Math.floor(fits / batchEvents);
    const batchFix = Math.floor(fits / eventBytes);
    const fixes =
      `set truncate.maxEventSize to ≤ ${eventFix} bytes` +
      (batchFix >= 1 ? `, or batch.maxSize to ≤ ${batchFix}` : '') +
      ' (a POST holds batch.maxSize events of up to truncate.maxEventSize each; truncate.maxBatchSize does not split webhook batches)';
    if (!enabled) {
      return [
        `truncate.enabled (--audit-webhook-truncate-enabled): false leaves request bodies unbounded (a batch is up to ` +
          `${batchEvents} events of any size), but the sink accepts at most sinkMaxBody ${limit} bytes; ` +
          `larger requests are refused, retried and dropped (cdk8s-audit check); set truncate.enabled to true and ${fixes.slice(4)}`,
      ];
    }
    if (batchEvents * eventBytes > fits) {
      return [
        `truncate.maxEventSize (--audit-webhook-truncate-max-event-size): ${eventBytes} bytes × batch.maxSize ${batchEvents} = ` +
          `${batchEvents * eventBytes} bytes plus the ${BATCH_ENVELOPE_BYTES}-byte EventList envelope exceeds ` +
          `sinkMaxBody ${limit} bytes; the sink refuses such batches and they are dropped after retries (cdk8s-audit check); ${fixes}`,
      ];
    }
    return [];
  }
}

/** Both backends, for code that takes either. */
export type AuditBackend = LogBackend | WebhookBackend;
