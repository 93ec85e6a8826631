import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, ExitCode, UsageError, stringOption } from '../command';
import { readInput, write } from '../io';
import { PRESET_OPTIONS, PRESET_OPTIONS_HELP, presetFromArgs } from '../preset-options';
import { DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../../policy';
import { buildEvidenceReport, renderReportHtml, renderReportMarkdown } from '../../report';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a Markdown and HTML evidence report for a preset, optionally from a real audit log',
  help: `Usage: cdk8s-audit report --preset NAME[,NAME...] [--audit-log FILE] [--out DIR] [options]

Writes report.md and report.html: each requirement of the preset, the policy rules that cover
it, its example requests with the level the policy gives them, the backend settings it needs,
and — given a JSON audit log written by the apiserver — the observed events that prove it.
Requirements with no observed evidence are flagged. Request and response bodies are never
copied into the report.

Options:
${PRESET_OPTIONS_HELP}
  --audit-log FILE         JSON-lines audit log (--audit-log-format=json); '-' reads standard input
  --out DIR                where to write report.md and report.html (default: current directory)
  --kubernetes-version V   default ${DEFAULT_KUBERNETES_VERSION}
  -h, --help               show this help

Exit codes: 0 written and every requirement met by the policy, 1 a requirement is not met or
an input is invalid (the report is still written), 2 usage error.`,
  options: { ...PRESET_OPTIONS, 'audit-log': { type: 'string' }, out: { type: 'string' }, 'kubernetes-version': { type: 'string' } },
  async run(args, io) {
    if (args.positionals.length) throw new UsageError(`report takes no positional arguments (got ${args.positionals.join(' ')}); use --preset NAME`);
    const version = stringOption(args, 'kubernetes-version');
    try {
      parseKubernetesVersion(version);
    } catch (e) {
      throw new UsageError(`--${(e as Error).message}`);
    }
    const composed = presetFromArgs(args, undefined, version);
    const logPath = stringOption(args, 'audit-log');
    const log = logPath ? { source: logPath === '-' ? '(stdin)' : logPath, text: await readInput(logPath, io.stdin) } : undefined;
    const report = buildEvidenceReport(composed, { kubernetesVersion: parseKubernetesVersion(version).text, log });
    const out = stringOption(args, 'out') ?? io.cwd;
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'report.md'), renderReportMarkdown(report));
    writeFileSync(join(out, 'report.html'), renderReportHtml(report));
    const flagged = report.results.filter((r) => r.status === 'failing' || r.status === 'no-evidence');
    write(io.stdout, `wrote ${join(out, 'report.md')} and ${join(out, 'report.html')}: ${report.results.length} requirements, ${flagged.length} flagged`);
    for (const r of flagged) write(io.stdout, `  ${r.status === 'failing' ? 'NOT MET' : 'no evidence'}: ${r.requirement.preset} ${r.requirement.id} ${r.requirement.summary}`);
    return report.results.some((r) => r.status === 'failing') ? ExitCode.FINDING : ExitCode.OK;
  },
};
