import { Block, toHtml, toMarkdown } from './document';
import { EvidenceReport, RequirementResult } from './evidence';

const STATUS_TEXT: Record<RequirementResult['status'], string> = {
  evidenced: '✓ evidenced',
  'no-evidence': '⚠ no observed evidence',
  'not-checked': 'covered by rules (no log given)',
  settings: '✓ met by backend settings',
  'outside-policy': 'met outside the policy (see note)',
  failing: '✗ not met',
};

function eventLine(e: RequirementResult['evidence'][number]): string {
  const user = e.user?.username ?? '(no user)';
  return `${e.stageTimestamp ?? '?'} · \`${e.verb} ${e.requestURI}\` by ${user} · code ${e.responseStatus?.code ?? '?'} · level ${e.level} · auditID ${e.auditID ?? '?'}`;
}

/** The report as document blocks, shared by the Markdown and HTML output. */
export function reportBlocks(report: EvidenceReport): Block[] {
  const p = report.preset;
  const title = `Audit evidence report: ${p.presets.map((x) => x.title).join(' + ')}`;
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: title },
    {
      kind: 'list',
      items: [
        `Frameworks: ${p.presets.map((x) => x.framework).join('; ')}`,
        `Generated: ${report.generatedAt} by cdk8s-audit for kube-apiserver ${report.kubernetesVersion}`,
        `Policy: ${p.policy.rules.length} rules; write bodies: ${p.bodyLevel}; secret material never above Metadata`,
        `Retention: ${p.retention.onlineDays} days online, ${p.retention.totalDays} days in all (${p.retention.basis})`,
        report.log
          ? `Audit log: \`${report.log.source}\`, ${report.log.events} requests${report.log.from ? ` from ${report.log.from} to ${report.log.to}` : ''}${report.log.unreadableLines ? `, ${report.log.unreadableLines} lines that are not audit events skipped` : ''}`
          : 'Audit log: none given — run `cdk8s-audit report --audit-log FILE` to add observed evidence',
      ],
    },
    { kind: 'heading', level: 2, text: 'Summary' },
    {
      kind: 'table',
      header: ['Requirement', 'Summary', 'Policy rules', 'Example requests', 'Observed events', 'Status'],
      rows: report.results.map((r) => [
        `**${r.requirement.preset} ${r.requirement.id}**`,
        r.requirement.summary,
        r.ruleIndices.length ? r.ruleIndices.map((i) => `#${i}`).join(', ') : '—',
        r.probes.length ? `${r.probes.filter((x) => x.satisfied).length}/${r.probes.length} at required level` : '—',
        report.log && r.status !== 'settings' && r.status !== 'outside-policy' ? String(r.evidenceCount) : '—',
        STATUS_TEXT[r.status],
      ]),
    },
  ];
  const flagged = report.results.filter((r) => r.status === 'no-evidence' || r.status === 'failing');
  if (flagged.length) {
    blocks.push({ kind: 'paragraph', text: `**Flagged:** ${flagged.map((r) => `${r.requirement.preset} ${r.requirement.id} (${STATUS_TEXT[r.status]})`).join(', ')}.` });
  }
  for (const r of report.results) {
    blocks.push({ kind: 'heading', level: 2, text: `${r.requirement.preset} ${r.requirement.id}: ${r.requirement.summary}`, anchor: `${r.requirement.preset}-${r.requirement.id}` });
    blocks.push({ kind: 'paragraph', text: `Status: **${STATUS_TEXT[r.status]}**` });
    if (r.requirement.note) blocks.push({ kind: 'paragraph', text: r.requirement.note });
    if (r.ruleIndices.length) {
      blocks.push({ kind: 'heading', level: 3, text: 'Rules that cover it' });
      blocks.push({
        kind: 'table',
        header: ['Rule', 'Level', 'What it records'],
        rows: r.ruleIndices.map((i) => [`#${i}`, p.policy.rules[i].level, p.origins[i].description]),
      });
    }
    if (r.probes.length) {
      blocks.push({ kind: 'heading', level: 3, text: 'Example requests' });
      blocks.push({
        kind: 'table',
        header: ['Request', 'As', 'Required level', 'Policy gives', 'Observed in log'],
        rows: r.probes.map((x) => [
          `${x.probe.description}: \`${x.probe.method} ${x.probe.path}\``,
          x.probe.as,
          x.probe.maxLevel && x.probe.maxLevel !== x.probe.minLevel ? `${x.probe.minLevel} to ${x.probe.maxLevel}` : x.probe.maxLevel ? `exactly ${x.probe.minLevel}` : `at least ${x.probe.minLevel}`,
          `${x.predicted}${x.satisfied ? '' : ' ✗'}`,
          report.log ? (x.observed.length ? x.observed.join(', ') : 'not seen') : '—',
        ]),
      });
    }
    if (r.flags.length) {
      blocks.push({ kind: 'heading', level: 3, text: 'Backend settings' });
      blocks.push({ kind: 'table', header: ['Flag', 'Required', 'Preset sets', 'OK'], rows: r.flags.map((f) => [`--${f.flag}`, f.required, String(f.actual ?? '(unset)'), f.ok ? 'yes' : 'no ✗']) });
    }
    if (report.log) {
      blocks.push({ kind: 'heading', level: 3, text: `Observed events (${r.evidenceCount})` });
      if (r.requirement.evidence) blocks.push({ kind: 'paragraph', text: `Counted: ${r.requirement.evidence.description}.` });
      blocks.push(r.evidence.length ? { kind: 'list', items: r.evidence.map(eventLine) } : { kind: 'paragraph', text: r.status === 'outside-policy' || r.status === 'settings' ? 'Not applicable.' : '⚠ No event in the log demonstrates this requirement.' });
    }
  }
  blocks.push({ kind: 'heading', level: 2, text: 'Appendix: the policy' });
  blocks.push({
    kind: 'table',
    header: ['#', 'Level', 'Origin', 'Matches'],
    rows: p.policy.rules.map((rule, i) => [String(i), rule.level, p.origins[i].kind === 'catalogue' ? `\`${(p.origins[i] as { id: string }).id}\`` : p.origins[i].kind, p.origins[i].description]),
  });
  blocks.push({ kind: 'heading', level: 2, text: 'Appendix: backend flags' });
  blocks.push({ kind: 'list', items: Object.entries({ ...p.logFlags, ...p.webhookFlags }).map(([k, v]) => `\`--${k}=${v}\``) });
  return blocks;
}

export function renderReportMarkdown(report: EvidenceReport): string {
  return toMarkdown(reportBlocks(report));
}

export function renderReportHtml(report: EvidenceReport): string {
  const blocks = reportBlocks(report);
  return toHtml((blocks[0] as { text: string }).text, blocks);
}
