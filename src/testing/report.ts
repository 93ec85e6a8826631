/**
 * The proof as files: prove.json (every check, step timings, the requests sent), and prove.md /
 * prove.html from one document model (src/evidence/document.ts), so the two never disagree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Block, toHtml, toMarkdown } from '../evidence/document';
import type { ProveRun } from './prove';

const MARK = { pass: '✓ pass', fail: '✗ FAIL', 'not-observed': '– not observed' } as const;

export function proveBlocks(run: ProveRun, generatedAt: string): Block[] {
  const v = run.verdict;
  const probes = v.checks.filter((c) => c.kind === 'probe');
  const other = v.checks.filter((c) => c.kind !== 'probe');
  const byReq = new Map<string, typeof probes>();
  for (const c of probes) byReq.set(c.requirement!, [...(byReq.get(c.requirement!) ?? []), c]);
  return [
    { kind: 'heading', level: 1, text: `Audit proof: ${run.composed.presets.map((p) => p.title).join(' + ')}` },
    {
      kind: 'list',
      items: [
        `Result: **${v.ok ? 'every observed fact holds' : 'NOT PROVEN'}**`,
        `Cluster: ${run.cluster}`,
        `Generated: ${generatedAt} by \`cdk8s-audit prove\``,
        `Requests replayed: ${run.probes.length} example requests of ${run.composed.requirements.length} requirements, as the identities they name`,
      ],
    },
    { kind: 'heading', level: 2, text: 'Backends and integrity' },
    { kind: 'table', header: ['Check', 'Result', 'Details'], rows: other.map((c) => [c.title, MARK[c.status], c.details.join('; ')]) },
    { kind: 'heading', level: 2, text: 'Requirements' },
    {
      kind: 'table',
      header: ['Requirement', 'Example requests', 'Result'],
      rows: [...byReq].map(([req, cs]) => [`**${req}**`, `${cs.filter((c) => c.status === 'pass').length}/${cs.length} recorded at the required level`, MARK[cs.some((c) => c.status === 'fail') ? 'fail' : cs.every((c) => c.status === 'pass') ? 'pass' : 'not-observed']]),
    },
    { kind: 'heading', level: 2, text: 'Example requests' },
    { kind: 'table', header: ['Request', 'auditID', 'Result', 'Recorded'], rows: probes.map((c) => [c.title, c.auditId ?? '—', MARK[c.status], c.details.join('; ')]) },
    { kind: 'heading', level: 2, text: 'Steps' },
    { kind: 'table', header: ['Step', 'Seconds', 'Note'], rows: run.steps.map((s) => [s.step, s.seconds.toFixed(1), s.note ?? '']) },
  ];
}

/** Writes prove.md, prove.html and prove.json into `dir`; returns the paths. */
export function writeProveReport(run: ProveRun, dir: string, now = new Date()): string[] {
  mkdirSync(dir, { recursive: true });
  const at = now.toISOString();
  const blocks = proveBlocks(run, at);
  const files = [join(dir, 'prove.md'), join(dir, 'prove.html'), join(dir, 'prove.json')];
  writeFileSync(files[0], toMarkdown(blocks));
  writeFileSync(files[1], toHtml('Audit proof', blocks));
  writeFileSync(files[2], JSON.stringify({
    generatedAt: at, ok: run.verdict.ok, cluster: run.cluster, presets: run.composed.presets.map((p) => p.name),
    checks: run.verdict.checks, steps: run.steps, ...(run.kept ? { kept: run.kept } : {}),
    probes: run.probes.map((p) => ({ requirement: p.requirement, description: p.probe.description, as: p.probe.as, method: p.method, uri: p.uri, identity: p.identity, status: p.status, auditId: p.auditId, minLevel: p.probe.minLevel, maxLevel: p.probe.maxLevel })),
  }, null, 2) + '\n');
  return files;
}
