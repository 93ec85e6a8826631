/** The settings as flags, flag values and WebhookBackend props, and back. */
import { Duration } from 'cdk8s';
import { AuditMode, WebhookBackend, WebhookBackendProps } from '../backends';
import { AuditConfigError, formatValue } from '../errors';
import { FlagValue, formatFlagValue, getFlag } from '../flag-table';
import { FlagLookup } from '../flags';
import { formatGoDuration, parseGoDuration } from '../../core/go-values';
import { sizeFromBytes } from '../prop-units';
import { parseKubernetesVersion } from '../../core/kubernetes-version';
import { BatchSettings } from './model';

/** Flags the settings map to, in the order the apiserver's --help lists them. */
const SETTING_FLAGS: readonly [keyof BatchSettings, string][] = [
  ['initialBackoffSeconds', 'audit-webhook-initial-backoff'],
  ['mode', 'audit-webhook-mode'],
  ['bufferSize', 'audit-webhook-batch-buffer-size'],
  ['maxBatchSize', 'audit-webhook-batch-max-size'],
  ['maxWaitSeconds', 'audit-webhook-batch-max-wait'],
  ['throttleEnabled', 'audit-webhook-batch-throttle-enable'],
  ['throttleQps', 'audit-webhook-batch-throttle-qps'],
  ['throttleBurst', 'audit-webhook-batch-throttle-burst'],
  ['truncateEnabled', 'audit-webhook-truncate-enabled'],
  ['truncateMaxBatchSizeBytes', 'audit-webhook-truncate-max-batch-size'],
  ['truncateMaxEventSizeBytes', 'audit-webhook-truncate-max-event-size'],
];

/** Every setting, in the order of its flag in the apiserver's --help. */
export const SETTING_NAMES: readonly (keyof BatchSettings)[] = SETTING_FLAGS.map(([n]) => n);

/** The flag of a setting. */
export function settingFlag(name: keyof BatchSettings): string {
  return SETTING_FLAGS.find(([n]) => n === name)![1];
}

/** The settings as flag values (names without dashes). */
export function settingsToFlagValues(s: BatchSettings): Record<string, FlagValue> {
  const out: Record<string, FlagValue> = {};
  for (const [name, flag] of SETTING_FLAGS) {
    const v = s[name];
    out[flag] = name === 'initialBackoffSeconds' || name === 'maxWaitSeconds' ? formatGoDuration(Math.round((v as number) * 1e9)) : (v as FlagValue);
  }
  return out;
}

/** `--audit-webhook-…=…` for every setting, explicit even where it equals the default. */
export function settingsToFlags(s: BatchSettings, kubernetesVersion?: string): string[] {
  parseKubernetesVersion(kubernetesVersion);
  return Object.entries(settingsToFlagValues(s)).map(([flag, value]) => `--${flag}=${formatFlagValue(getFlag(flag), value)}`);
}

/** The settings of a flag set (names without dashes), with the version's defaults for the rest. */
export function settingsFromFlagValues(values: Readonly<Record<string, FlagValue>>, kubernetesVersion?: string): BatchSettings {
  const lookup = new FlagLookup(values, parseKubernetesVersion(kubernetesVersion).minor);
  const seconds = (flag: string, field: string): number => {
    const v = lookup.get(flag);
    const ns = typeof v === 'string' ? parseGoDuration(v) : undefined;
    if (ns === undefined) throw new AuditConfigError([`${field} (--${flag}): ${formatValue(v)} is not a Go duration; write e.g. 30s`]);
    return ns / 1e9;
  };
  return {
    mode: lookup.get('audit-webhook-mode') as AuditMode,
    bufferSize: lookup.get('audit-webhook-batch-buffer-size') as number,
    maxBatchSize: lookup.get('audit-webhook-batch-max-size') as number,
    maxWaitSeconds: seconds('audit-webhook-batch-max-wait', 'batch.maxWait'),
    throttleEnabled: lookup.get('audit-webhook-batch-throttle-enable') as boolean,
    throttleQps: lookup.get('audit-webhook-batch-throttle-qps') as number,
    throttleBurst: lookup.get('audit-webhook-batch-throttle-burst') as number,
    truncateEnabled: lookup.get('audit-webhook-truncate-enabled') as boolean,
    truncateMaxEventSizeBytes: lookup.get('audit-webhook-truncate-max-event-size') as number,
    truncateMaxBatchSizeBytes: lookup.get('audit-webhook-truncate-max-batch-size') as number,
    initialBackoffSeconds: lookup.has('audit-webhook-initial-backoff') || !lookup.has('audit-webhook-batch-initial-backoff')
      ? seconds('audit-webhook-initial-backoff', 'initialBackoff')
      : seconds('audit-webhook-batch-initial-backoff', 'initialBackoff'),
  };
}

/** The settings of a WebhookBackend (its explicit props plus the version's defaults). */
export function settingsOfWebhookBackend(backend: WebhookBackend): BatchSettings {
  return settingsFromFlagValues(backend.flagValues, backend.kubernetesVersion);
}

/** WebhookBackend props that carry `settings`, merged over `base` (configFile, version…). */
export function webhookPropsFromSettings(settings: BatchSettings, base: WebhookBackendProps = {}): WebhookBackendProps {
  return {
    ...base,
    mode: settings.mode,
    initialBackoff: Duration.millis(Math.round(settings.initialBackoffSeconds * 1000)),
    batch: {
      bufferSize: settings.bufferSize,
      maxSize: settings.maxBatchSize,
      maxWait: Duration.millis(Math.round(settings.maxWaitSeconds * 1000)),
      throttle: { enabled: settings.throttleEnabled, qps: settings.throttleQps, burst: settings.throttleBurst },
    },
    truncate: { enabled: settings.truncateEnabled, maxEventSize: sizeFromBytes(settings.truncateMaxEventSizeBytes), maxBatchSize: sizeFromBytes(settings.truncateMaxBatchSizeBytes) },
  };
}
