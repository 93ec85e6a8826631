/**
 * Props take cdk8s `Size` and `Duration`; the kube-apiserver's flags and the sink's options take whole
 * days, MiB or bytes. These turn one into the other, and say — naming the prop as the user wrote it —
 * when a value is not a whole number of the unit the flag takes.
 */
import { Duration, Size, SizeRoundingBehavior } from 'cdk8s';

/** The unit a numeric flag is counted in, when its prop is a `Size` or a `Duration`. */
export enum PropUnit {
  /** Whole days (a `Duration`). */
  DAYS = 'days',
  /** Whole mebibytes (a `Size`). */
  MEBIBYTES = 'MiB',
  /** Whole bytes (a `Size`). */
  BYTES = 'bytes',
}

/** The exact number of bytes in a Size (fractional when the Size is not a whole number of bytes). */
export function sizeToBytes(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
}

/** A Size of `bytes` bytes (exact: a byte count divided by 1024 is a binary fraction). */
export function sizeFromBytes(bytes: number): Size {
  return Size.kibibytes(bytes / 1024);
}

/** How a Size reads in a message: `1.5Mi (1572864 bytes)`. */
export function describeSize(size: Size): string {
  return `${size.asString()} (${sizeToBytes(size)} bytes)`;
}

/** How a Duration reads in a message: `1 day 12 hours`. */
export function describeDuration(d: Duration): string {
  return d.toHumanString();
}

/** The value of a Size or Duration prop in `unit`, or a problem naming the prop when it is not whole. */
export function toWholeUnit(prop: string, flag: string, value: Size | Duration, unit: PropUnit): { value: number } | { problem: string } {
  if (unit === PropUnit.DAYS) {
    if (!(value instanceof Duration)) return { problem: `${prop}: ${String(value)} is not a Duration; give e.g. Duration.days(30)` };
    const days = value.toDays({ integral: false });
    if (Number.isInteger(days)) return { value: days };
    const lo = Math.floor(days);
    const fix = lo > 0 ? `Duration.days(${lo}) or Duration.days(${lo + 1})` : `Duration.days(${lo + 1})`;
    return {
      problem: `${prop} (--${flag}): ${describeDuration(value)} is not a whole number of days, and the kube-apiserver counts this flag in whole days; give ${fix}`,
    };
  }
  if (!(value instanceof Size)) return { problem: `${prop}: ${String(value)} is not a Size; give e.g. Size.mebibytes(100)` };
  const bytes = sizeToBytes(value);
  if (unit === PropUnit.BYTES) {
    if (Number.isSafeInteger(bytes)) return { value: bytes };
    // The whole KiB either side, as the days and MiB messages give both; never Size.kibibytes(0).
    const lo = Math.floor(bytes / 1024);
    const fix = lo > 0 ? `Size.kibibytes(${lo}) or Size.kibibytes(${lo + 1})` : 'Size.kibibytes(1)';
    return { problem: `${prop} (--${flag}): ${describeSize(value)} is not a whole number of bytes; give a Size in whole bytes, e.g. ${fix}` };
  }
  const mib = bytes / (1024 * 1024);
  if (Number.isInteger(mib)) return { value: mib };
  const lo = Math.floor(mib);
  const fix = lo > 0 ? `Size.mebibytes(${lo}) or Size.mebibytes(${lo + 1})` : `Size.mebibytes(${lo + 1})`;
  return { problem: `${prop} (--${flag}): ${describeSize(value)} is not a whole number of MiB, and the kube-apiserver counts this flag in whole MiB; give ${fix}` };
}

/** The prop value for a flag's number: `Duration.days(n)`, `Size.mebibytes(n)` or a Size of n bytes. */
export function fromWholeUnit(n: number, unit: PropUnit): Size | Duration {
  if (unit === PropUnit.DAYS) return Duration.days(n);
  if (unit === PropUnit.MEBIBYTES) return Size.mebibytes(n);
  return sizeFromBytes(n);
}
