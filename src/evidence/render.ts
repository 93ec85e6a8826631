import { Block, toHtml, toMarkdown } from './document';
import { EventRef, EvidenceReport, RequirementResult, RequirementStatus } from './evidence';

export const STATUS_TEXT: Record<RequirementStatus, string> = {
  violated: '✗ violated',
  'not-met-by-policy': '✗ not met by the policy',
  'not-met-by-settings': '✗ not met by settings',
  evidenced: '✓ evidenced',
  'met-by-settings': '✓ met by settings',
  'no-evidence': '⚠ no evidence',
  'not-checked': 'not checked (no logs given)',
};

function where(e: EventRef): string {
  const p = e.position;
  if (!p) return '';
  return ` · ${p.source}${p.seq !== undefined ? ` chain seq ${p.seq}` : p.line !== undefined ? ` line ${p.line}` : ''}`;
}

function eventLine(e: EventRef): string {
  return `${e.time ?? '?'} · \`${e.verb} ${e.path}\` by ${e.user ?? '(no user)'} · code ${e.code ?? '?'} · level ${e.level} · auditID ${e.auditID ?? '?'}${where(e)}`;
}

function inputsLine(report: EvidenceReport): string {
  if (!report.inputs) return 'Audit logs: none given — the statuses rest on the policy and settings only; give `--audit-log` or `--sink-store` for observed evidence';
  const parts = report.inputs.map((i) => {
    const v = i.verified ? ` (verified: seq ${i.verified.firstSeq ?? '-'}…${i.verified.lastSeq ?? '-'}, ${i.verified.segments} segment(s), key ${i.verified.keyId})` : '';
    return `\`${i.source}\` ${i.events} events${i.otherLines ? `, ${i.otherLines} lines that are not audit events` : ''}${i.from ? `, ${i.from} to ${i.to}` : ''}${v}`;
  });
  return `Audit logs: ${parts.join('; ')} — ${report.totals.requests} requests`;
}

/** The report as document blocks, shared by the Markdown and HTML output. */
export function reportBlocks(report: EvidenceReport): Block[] {
  const title = `Audit evidence report: ${report.presets.map((x) => x.title).join(' + ')}`;
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: title },
    {
      kind: 'list',
      items: [
        `Frameworks: ${report.presets.map((x) => x.framework).join('; ')}`,
        `Generated: ${report.generatedAt} by cdk8s-audit for kube-apiserver ${report.kubernetesVersion}`,
        report.policy.judged === 'deployed'
          ? `Policy judged: the deployed policy \`${report.policy.source}\` (${report.policy.rules.length} rules)`
          : `Policy judged: **the preset's own policy** (${report.policy.rules.length} rules), not a deployed one — give \`--policy FILE\` to judge what the cluster runs`,
        report.settings.judged === 'deployed'
          ? `Settings judged: \`${report.settings.source}\``
          : "Settings judged: **the preset's own flags and sink retention**, not a deployed configuration",
        `Retention claimed: node log files ${report.retention.onlineDays} days, sink ${report.retention.totalDays} days (${report.retention.basis})`,
        inputsLine(report),
      ],
    },
    { kind: 'heading', level: 2, text: 'Summary' },
    {
      kind: 'table',
      header: ['Requirement', 'Summary', 'Example requests', 'Matching requests', 'Status'],
      rows: report.requirements.map((r) => [
        `**${r.preset} ${r.id}**`,
        r.summary,
        r.probes.length ? `${r.probes.filter((x) => x.satisfied).length}/${r.probes.length} at required level` : '—',
        r.evidence && report.inputs ? `${r.evidence.count}${r.evidence.violationCount ? `, ${r.evidence.violationCount} outside bounds` : ''}` : '—',
        STATUS_TEXT[r.status],
      ]),
    },
    { kind: 'paragraph', text: `Statuses: ${Object.entries(report.counts).filter(([, n]) => n > 0).map(([s, n]) => `${STATUS_TEXT[s as RequirementStatus]}: ${n}`).join(', ')}.` },
  ];
  for (const r of report.requirements) blocks.push(...requirementBlocks(report, r));
  blocks.push({ kind: 'heading', level: 2, text: `Appendix: the ${report.policy.judged === 'deployed' ? 'deployed' : 'preset'} policy` });
  blocks.push({ kind: 'table', header: ['#', 'Level', 'Origin', 'Matches'], rows: report.policy.rules.map((x) => [String(x.index), x.level, x.origin ? `\`${x.origin}\`` : '—', x.description]) });
  blocks.push({ kind: 'heading', level: 2, text: 'Appendix: settings judged' });
  blocks.push({
    kind: 'list',
    items: [
      ...Object.entries(report.settings.apiserverFlags).map(([k, v]) => `\`--${k}=${v}\``),
      report.settings.sink ? `sink \`--retention-max-age ${report.settings.sink.maxAgeDays}d --retention-max-bytes ${report.settings.sink.maxBytes}\`` : 'sink retention: unknown',
    ],
  });
  return blocks;
}

function requirementBlocks(report: EvidenceReport, r: RequirementResult): Block[] {
  const out: Block[] = [
    { kind: 'heading', level: 2, text: `${r.preset} ${r.id}: ${r.summary}`, anchor: `${r.preset}-${r.id}` },
    { kind: 'paragraph', text: `Status: **${STATUS_TEXT[r.status]}**` },
    { kind: 'list', items: r.reasons },
  ];
  if (r.note) out.push({ kind: 'paragraph', text: r.note });
  if (r.probes.length) {
    out.push({ kind: 'heading', level: 3, text: 'Example requests against the policy' });
    out.push({
      kind: 'table',
      header: ['Request', 'As', 'Required level', 'Policy gives', 'Met'],
      rows: r.probes.map((x) => [`${x.description}: \`${x.request}\``, x.as, x.required, x.decidedBy, x.satisfied ? 'yes' : 'no ✗']),
    });
  }
  if (r.settings.length) {
    out.push({ kind: 'heading', level: 3, text: 'Settings' });
    out.push({ kind: 'table', header: ['Setting', 'Required', 'Judged', 'Met'], rows: r.settings.map((s) => [s.setting, s.required, s.actual, s.unknown ? 'not checked' : s.ok ? 'yes' : 'no ✗']) });
  }
  const ev = r.evidence;
  if (ev && report.inputs) {
    out.push({ kind: 'heading', level: 3, text: `Observed evidence (${ev.count} matching requests)` });
    out.push({ kind: 'paragraph', text: `Counted: ${ev.selector}.` });
    out.push({ kind: 'list', items: ev.matches.map((m) => `\`${m}\``) });
    if (ev.violationCount) {
      out.push({ kind: 'heading', level: 3, text: `Violations (${ev.violationCount}${ev.violationCount > ev.violations.length ? `, first ${ev.violations.length} listed` : ''})` });
      out.push({
        kind: 'table',
        header: ['Event', 'Level seen', 'Level required', 'Decided by', 'Fix'],
        rows: ev.violations.map((v) => [eventLine(v), v.level ?? '?', v.required, v.decidedBy, v.fix]),
      });
    }
    if (ev.examples.length) out.push({ kind: 'list', items: ev.examples.map(eventLine) });
    else if (!ev.byAbsence) out.push({ kind: 'paragraph', text: '⚠ No event within bounds in the inputs demonstrates this requirement.' });
  }
  return out;
}

export function renderReportMarkdown(report: EvidenceReport): string {
  return toMarkdown(reportBlocks(report));
}

export function renderReportHtml(report: EvidenceReport): string {
  const blocks = reportBlocks(report);
  return toHtml((blocks[0] as { text: string }).text, blocks);
}

/** The report as JSON (schema `EVIDENCE_REPORT_SCHEMA`, documented in docs/report.md). */
export function renderReportJson(report: EvidenceReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
