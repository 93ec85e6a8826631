/** Writes the results: JSON (one object per figure), a Markdown table and an SVG chart of the ratios. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DetailTable } from './context';
import { fmtNum, fmtValue } from './format';
import type { Figure } from './stats';

export interface SectionReport {
  readonly id: string;
  readonly title: string;
  readonly seconds: number;
  readonly error?: string;
  readonly tables: DetailTable[];
  readonly notes: string[];
  readonly details?: unknown;
}

export interface BenchResults {
  readonly meta: Record<string, unknown>;
  readonly figures: Figure[];
  readonly sections: SectionReport[];
}

export function writeResults(dir: string, base: string, results: BenchResults): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `${base}.json`), join(dir, `${base}.md`), join(dir, `${base}.svg`)];
  writeFileSync(files[0], JSON.stringify(results, null, 2) + '\n');
  writeFileSync(files[1], renderMarkdown(results, `${base}.svg`));
  writeFileSync(files[2], renderSvg(results.figures));
  return files;
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function ratioCell(f: Figure): string {
  if (f.ratio === null) return '–';
  const r = f.spread.ratio;
  return r && f.runs > 1 ? `**${f.ratio.toFixed(2)}×** (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : `**${f.ratio.toFixed(2)}×**`;
}

function valueCell(n: number | null, unit: string, spread: Figure['spread']['value'] | null, runs: number): string {
  if (n === null) return '–';
  const v = fmtValue(n, unit);
  return spread && runs > 1 && spread.max !== spread.min ? `${v} (${fmtNum(spread.min)}–${fmtNum(spread.max)})` : v;
}

function metCell(f: Figure): string {
  if (f.met === null) return '';
  return f.met ? '✅ met' : '❌ missed';
}

export function renderMarkdown(results: BenchResults, svgName: string): string {
  const m = results.meta;
  const out: string[] = [];
  out.push('# cdk8s-audit benchmarks', '');
  out.push(`Generated ${m.finishedAt} by \`${m.command}\` in ${fmtNum(Number(m.seconds))} s on ${m.machine}. Commit ${m.commit}.`);
  out.push('Every value and baseline is the median of its runs; each baseline run was measured in the same invocation, on the same machine, back to back with its value run (order alternating). The ratio is the median of the per-run value/baseline ratios. Ranges in parentheses are min–max over runs.', '');
  out.push(`![ratios](${svgName})`, '');
  out.push('| figure | value | baseline | ratio | runs | target | |', '|---|---|---|---|---|---|---|');
  for (const f of results.figures) {
    out.push(
      `| ${esc(f.name)}<br><sub>${esc(f.valueLabel)}${f.baselineLabel ? ' vs ' + esc(f.baselineLabel) : ''}</sub> | ${valueCell(f.value, f.unit, f.spread.value, f.runs)} | ${valueCell(f.baseline, f.unit, f.spread.baseline, f.runs)} | ${ratioCell(f)} | ${f.runs} | ${f.target ? esc(f.target.text) : ''} | ${metCell(f)} |`,
    );
  }
  out.push('');
  for (const s of results.sections) {
    out.push(`## ${s.title} (\`${s.id}\`, ${fmtNum(s.seconds)} s)`, '');
    if (s.error) out.push(`**The section failed:** ${esc(s.error)}`, '');
    for (const f of results.figures.filter((x) => x.section === s.id && x.target)) {
      for (const c of f.target!.conditions ?? []) out.push(`- ${f.name}: ${c.met ? '✅' : '❌'} ${c.text}`);
      if (f.note) out.push(`- ${f.name}: ${f.note}`);
    }
    for (const t of s.tables) {
      out.push('', `**${t.title}**`, '', `| ${t.columns.map(esc).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`);
      for (const row of t.rows) out.push(`| ${row.map((c) => esc(String(c))).join(' | ')} |`);
    }
    if (s.notes.length) out.push('', ...s.notes.map((n) => `- ${n}`));
    out.push('');
  }
  return out.join('\n') + '\n';
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A horizontal bar per figure with a ratio, grouped by section, with the target marked. */
export function renderSvg(figures: readonly Figure[]): string {
  const bars = figures.filter((f) => f.ratio !== null && Number.isFinite(f.ratio));
  const labelWidth = 330;
  const plotWidth = 460;
  const rowHeight = 20;
  const top = 40;
  const sections = [...new Set(bars.map((f) => f.section))];
  const maxRatio = Math.max(1.5, ...bars.map((f) => Math.max(f.ratio!, f.spread.ratio?.max ?? 0, f.target?.on === 'ratio' ? f.target.limit : 0)));
  const scaleMax = Math.min(Math.ceil(maxRatio * 2) / 2, 6);
  const x = (r: number) => labelWidth + (Math.min(r, scaleMax) / scaleMax) * plotWidth;
  const parts: string[] = [];
  let y = top;
  for (const s of sections) {
    parts.push(`<text x="8" y="${y + 14}" font-weight="bold">${xml(s)}</text>`);
    y += rowHeight;
    for (const f of bars.filter((b) => b.section === s)) {
      const colour = f.met === null ? '#8da0cb' : f.met ? '#4daf4a' : '#e41a1c';
      const r = f.ratio!;
      parts.push(`<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${xml(f.name.replace(/^[a-z]+\./, ''))}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y + 4}" width="${Math.max(1, x(r) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${colour}"/>`);
      if (f.spread.ratio && f.runs > 1) {
        parts.push(`<line x1="${x(f.spread.ratio.min).toFixed(1)}" x2="${x(f.spread.ratio.max).toFixed(1)}" y1="${y + 10}" y2="${y + 10}" stroke="#222" stroke-width="1.5"/>`);
      }
      if (f.target?.on === 'ratio') {
        const tx = x(f.target.limit).toFixed(1);
        parts.push(`<line x1="${tx}" x2="${tx}" y1="${y + 1}" y2="${y + rowHeight - 1}" stroke="#000" stroke-dasharray="3,2" stroke-width="2"/>`);
      }
      // Ratio and value, right of the bar, its whisker and its target marker.
      const label = `${r.toFixed(2)}×${r > scaleMax ? ' →' : ''}  ${fmtValue(f.value, f.unit)}${f.target?.on === 'value' ? ` (target ${f.target.op} ${f.target.limit} ${f.unit})` : ''}`;
      const right = Math.max(x(r), f.runs > 1 && f.spread.ratio ? x(f.spread.ratio.max) : 0, f.target?.on === 'ratio' ? x(f.target.limit) : 0);
      parts.push(`<text x="${(right + 6).toFixed(1)}" y="${y + 14}">${xml(label)}</text>`);
      y += rowHeight;
    }
    y += 6;
  }
  const height = y + 30;
  const width = labelWidth + plotWidth + 260;
  const axis: string[] = [];
  for (let t = 0; t <= scaleMax + 1e-9; t += scaleMax > 3 ? 1 : 0.5) {
    const tx = x(t).toFixed(1);
    axis.push(`<line x1="${tx}" x2="${tx}" y1="${top - 6}" y2="${y}" stroke="#ddd"/>`, `<text x="${tx}" y="${y + 16}" text-anchor="middle">${t}×</text>`);
  }
  const one = x(1).toFixed(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">cdk8s-audit benchmarks: value / same-run baseline (median; whisker = per-run min–max; dashed = target)</text>`,
    ...axis,
    `<line x1="${one}" x2="${one}" y1="${top - 6}" y2="${y}" stroke="#999"/>`,
    ...parts,
    `<text x="8" y="${height - 6}" fill="#555">green: target met, red: missed, blue: no target</text>`,
    '</svg>',
    '',
  ].join('\n');
}
