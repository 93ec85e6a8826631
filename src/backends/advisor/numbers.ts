/** How the advisor rounds and prints its numbers. */
import { formatBytes } from '../../core/units';

/** Rounds for display: integers as is, else up to 3 decimals. */
export function num(n: number): string {
  if (n === Infinity) return '∞';
  if (Number.isInteger(n)) return String(n);
  return String(Math.round(n * 1000) / 1000);
}

/** Up to two significant digits, rounding up (780 → 780, 16523 → 17000, 3.21 → 3.3). */
export function niceUp(n: number): number {
  if (n <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(Math.ceil(n / step - 1e-9) * step * 1e6) / 1e6;
}

/** Down to two significant digits (for rates that must not exceed a limit): 3 → 3, 0.0567 → 0.056. */
export function niceDown(n: number): number {
  if (n <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.round(Math.floor(n / step + 1e-9) * step * 1e6) / 1e6;
}

/** Up to one decimal. */
export function ceilTenth(n: number): number {
  return Math.ceil(n * 10 - 1e-9) / 10;
}

/** A POST or buffer size for the formulas; null is a POST without a bound (truncation off). */
export function bytes(n: number | null): string {
  return n === null ? 'unbounded' : formatBytes(n);
}
