/** Number formatting for the Markdown table and the log. */

export function fmtBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

/** A number with about three significant digits, no exponent. */
export function fmtNum(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** A value with its unit, bytes shown in KiB/MiB. */
export function fmtValue(n: number | null, unit: string): string {
  if (n === null) return '–';
  return unit === 'bytes' ? fmtBytes(n) : `${fmtNum(n)} ${unit}`;
}
