/** Parsing of the sink's size and duration options ("16Mi", "10MiB", "1048576"; "30s", "90d", "500ms"). Pure. */

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Bytes from "16Mi", "10MiB", "64M", "1048576"; throws naming the field and the accepted forms. */
export function parseSize(field: string, text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  const value = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${field}: ${JSON.stringify(text)} is not a size; write bytes or a number with Ki, Mi, Gi, Ti (or K, M, G, T), e.g. 16Mi`);
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds from "500ms", "30s", "15m", "1h", "90d", "1h30m" or "0"; throws naming the field. */
export function parseDuration(field: string, text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  if (t === '' || matched !== t.length || !Number.isFinite(total)) {
    throw new Error(`${field}: ${JSON.stringify(text)} is not a duration; write e.g. 500ms, 30s, 15m, 1h, 90d or 1h30m (0 = off)`);
  }
  return Math.round(total);
}

/** host:port, [v6]:port or :port (all interfaces); throws naming the field. */
export function parseListen(field: string, text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${field}: ${JSON.stringify(text)} is not HOST:PORT; write e.g. 0.0.0.0:8443, 127.0.0.1:0 or [::]:8443`);
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]), port };
}

// ---- sizes for people ----

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * A byte count for messages: binary units with at most one decimal (`4194304` → `4 MiB`, `50000000` →
 * `47.7 MiB`, `1536` → `1.5 KiB`), plain bytes below 1 KiB (`12 B`). The one humaniser of the project.
 */
export function formatBytes(n: number): string {
  let v = n;
  let unit = -1;
  while (Math.abs(v) >= 1024 && unit < BINARY_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return unit < 0 ? `${n} B` : `${Math.round(v * 10) / 10} ${BINARY_UNITS[unit]}`;
}

// ---- durations, one grammar per dialect ----
//
// - cdk8s-audit's own options (sink serve, alerts, advise): `parseDuration` above — 500ms, 30s, 15m, 1h, 90d, 1h30m.
// - Go (`time.ParseDuration`; every kube-apiserver duration flag): `parseGoDuration` in go-values.ts, beside
//   the other Go flag value readers.
// - Prometheus (rule `for:`, range selectors, `offset`): below.

/**
 * Prometheus's duration grammar (prometheus/common model/time.go `durationRE`, used by ParseDuration for rule
 * files and by the PromQL lexer's units): whole numbers with units y, w, d, h, m, s, ms, each at most once and in
 * that order (`1h30m`, not `30m1h`); `0` alone is also accepted. `m(?!s)` keeps `5ms` from reading as `5m` + `s`
 * when the grammar matches a prefix.
 */
const PROMETHEUS_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?/;
const PROMETHEUS_UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1] as const;

/** The Prometheus duration at the start of `text` (e.g. `5m` of `5m]`), or undefined when it starts with none. */
export function prometheusDurationPrefix(text: string): string | undefined {
  const m = PROMETHEUS_DURATION.exec(text);
  return m && m[0] !== '' ? m[0] : undefined;
}

/**
 * A Prometheus duration for `ms` milliseconds, in the largest units first (`10m`, `1h30m`, `250ms`), as
 * Prometheus prints one (prometheus/common model.Duration.String); `0s` for 0. `ms` must be a whole number.
 */
export function formatPrometheusDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  PROMETHEUS_UNIT_MS.forEach((unit, i) => {
    const n = Math.floor(rest / unit);
    if (n > 0) text += `${n}${PROMETHEUS_UNITS[i]}`;
    rest -= n * unit;
  });
  return text;
}
const PROMETHEUS_UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/** Milliseconds of a Prometheus duration (`90s`, `1h30m`, `0`), or undefined when `text` is not one. */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = PROMETHEUS_DURATION.exec(text);
  if (!m || m[0] === '' || m[0].length !== text.length) return undefined;
  return PROMETHEUS_UNIT_MS.reduce((ms, unit, i) => ms + (m[i + 1] === undefined ? 0 : Number(m[i + 1]) * unit), 0);
}
