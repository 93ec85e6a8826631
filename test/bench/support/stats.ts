/**
 * Figures: a measured value against a baseline measured in the same run, each the median of several
 * runs, with the spread of both and of the per-run ratios.
 */

export interface Spread {
  readonly min: number;
  readonly max: number;
  /** Interquartile range (q3 - q1). */
  readonly iqr: number;
}

export interface Target {
  /** How the figure is compared: the ratio, or the value itself (absolute targets such as p99 < 100 ms). */
  readonly on: 'ratio' | 'value';
  readonly op: '<=' | '>=' | '<';
  readonly limit: number;
  /** Extra conditions (e.g. "every PCI probe at its required level") and whether they hold. */
  readonly conditions?: readonly { readonly text: string; readonly met: boolean }[];
  readonly text: string;
}

export interface Figure {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly baseline: number | null;
  readonly ratio: number | null;
  readonly unit: string;
  /** Number of runs each median is taken over. */
  readonly runs: number;
  readonly spread: { readonly value: Spread; readonly baseline: Spread | null; readonly ratio: Spread | null };
  readonly target: Target | null;
  readonly met: boolean | null;
  /** What the value and the baseline are. */
  readonly valueLabel: string;
  readonly baselineLabel: string | null;
  readonly note?: string;
  /** Section-specific extras (e.g. probe coverage). */
  readonly extra?: Record<string, unknown>;
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

export function spreadOf(values: readonly number[]): Spread {
  return { min: Math.min(...values), max: Math.max(...values), iqr: quantile(values, 0.75) - quantile(values, 0.25) };
}

/** Percentile of raw samples (nearest-rank), for latency distributions. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface FigureInput {
  readonly section: string;
  readonly name: string;
  readonly unit: string;
  readonly valueLabel: string;
  readonly baselineLabel?: string;
  /** One value per run. */
  readonly values: readonly number[];
  /** One baseline per run, paired with `values` when the lengths agree. */
  readonly baselines?: readonly number[];
  readonly target?: Omit<Target, 'text'> & { readonly text?: string };
  readonly note?: string;
  readonly extra?: Record<string, unknown>;
}

function compare(x: number, op: Target['op'], limit: number): boolean {
  return op === '<=' ? x <= limit : op === '<' ? x < limit : x >= limit;
}

export function makeFigure(input: FigureInput): Figure {
  const value = median(input.values);
  const baselines = input.baselines && input.baselines.length > 0 ? input.baselines : undefined;
  const baseline = baselines ? median(baselines) : null;
  // Runs are paired (value and baseline measured back to back): the ratio is the median of the per-run
  // ratios, which cancels drift in the machine's load between runs. Unpaired: ratio of the medians.
  const paired = baselines && baselines.length === input.values.length ? input.values.map((v, i) => v / baselines[i]) : undefined;
  const ratio = paired ? median(paired) : baseline !== null && baseline !== 0 ? value / baseline : null;
  let target: Target | null = null;
  let met: boolean | null = null;
  if (input.target) {
    const t = input.target;
    const subject = t.on === 'ratio' ? 'ratio' : 'value';
    target = { ...t, text: t.text ?? `${subject} ${t.op} ${t.limit}${t.on === 'value' ? ' ' + input.unit : '×'}` };
    const x = t.on === 'ratio' ? ratio : value;
    met = x !== null && Number.isFinite(x) && compare(x, t.op, t.limit) && (t.conditions ?? []).every((c) => c.met);
  }
  return {
    section: input.section,
    name: input.name,
    value,
    baseline,
    ratio,
    unit: input.unit,
    runs: input.values.length,
    spread: { value: spreadOf(input.values), baseline: baselines ? spreadOf(baselines) : null, ratio: paired ? spreadOf(paired) : null },
    target,
    met,
    valueLabel: input.valueLabel,
    baselineLabel: input.baselineLabel ?? null,
    ...(input.note ? { note: input.note } : {}),
    ...(input.extra ? { extra: input.extra } : {}),
  };
}
