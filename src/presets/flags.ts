import { Duration, Size } from 'cdk8s';
import { DEFAULT_LOG_PATH, DEFAULT_POLICY_FILE, DEFAULT_WEBHOOK_CONFIG_FILE } from '../core/node-paths';
import { PresetFlags } from './types';

/** Where the node-side files live: the backends' defaults, so presets and wiring agree. */
export const NODE_PATHS = {
  policyFile: DEFAULT_POLICY_FILE,
  logPath: DEFAULT_LOG_PATH,
  webhookConfigFile: DEFAULT_WEBHOOK_CONFIG_FILE,
} as const;

/** Log backend flags for a node-local retention of `maxAgeDays`. */
export function logFlags(maxAgeDays: number, maxBackups: number, extra: PresetFlags = {}): PresetFlags {
  return {
    'audit-policy-file': NODE_PATHS.policyFile,
    'audit-log-path': NODE_PATHS.logPath,
    'audit-log-format': 'json',
    'audit-log-maxage': maxAgeDays,
    'audit-log-maxbackup': maxBackups,
    'audit-log-maxsize': 100,
    ...extra,
  };
}

/**
 * Webhook backend flags: the apiserver's batching, but waiting at most 5 s, and truncation on with
 * events of at most 40 KiB, so a POST (400 events × 40 KiB + envelope) stays under the sink's default
 * 16 MiB body limit. An oversized event loses its bodies, never its metadata.
 */
export function webhookFlags(extra: PresetFlags = {}): PresetFlags {
  return {
    'audit-webhook-config-file': NODE_PATHS.webhookConfigFile,
    'audit-webhook-mode': 'batch',
    'audit-webhook-batch-max-wait': '5s',
    'audit-webhook-initial-backoff': '5s',
    'audit-webhook-truncate-enabled': true,
    'audit-webhook-truncate-max-event-size': 40960,
    ...extra,
  };
}

/** The remote sink's retention a preset needs (`sink serve --retention-max-age`, `AuditSink.retentionMaxAge`). */
export interface SinkRetention {
  /** Sealed segments are deleted once older than this many days; 0 keeps them forever. */
  readonly maxAgeDays: number;
  /**
   * Size limit (`--retention-max-bytes`); 0 = none. A size limit deletes the oldest segments whatever their
   * age, so only 0 lets the age limit guarantee retention.
   */
  readonly maxBytes: number;
}

/** The sink retention that enforces a preset's `retention.totalDays`: that age, and no size limit that could delete sooner. */
export function sinkRetentionFor(retention: { readonly totalDays: number }): SinkRetention {
  return { maxAgeDays: retention.totalDays, maxBytes: 0 };
}

/** The same retention as AuditSink props (`retentionMaxAge`, `retentionMaxSize`), to copy or spread into them. */
export interface AuditSinkRetention {
  /** Delete sealed segments older than this; `Duration.days(0)` keeps them forever. */
  readonly retentionMaxAge: Duration;
  /** Size limit; `Size.mebibytes(0)` = none, so that only age deletes. */
  readonly retentionMaxSize: Size;
}

/** `sinkRetentionFor` as AuditSink props: `new AuditSink(chart, 'sink', { ...sinkRetentionPropsFor(preset.retention), … })`. */
export function sinkRetentionPropsFor(retention: { readonly totalDays: number }): AuditSinkRetention {
  const r = sinkRetentionFor(retention);
  return { retentionMaxAge: Duration.days(r.maxAgeDays), retentionMaxSize: Size.kibibytes(r.maxBytes / 1024) };
}
