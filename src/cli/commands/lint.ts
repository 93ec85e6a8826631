import { Command, ExitCode, UsageError, choiceOption, kubernetesVersionOption, stringOption } from '../command';
import { write } from '../io';
import { loadPolicyFile } from '../policy-input';
import { DEFAULT_KUBERNETES_VERSION } from '../../core/kubernetes-version';
import { Severity, didYouMean, lintPolicy } from '../../policy';
import { LINT_RULES, renderLintRulesHelp } from '../../policy/lint-rules';

const SEVERITIES = [Severity.ERROR, Severity.WARNING, Severity.INFO] as const;

export const lintCommand: Command = {
  name: 'lint',
  summary: 'find rules that never fire, secret bodies, missing catch-all and other policy mistakes',
  help: `Usage: cdk8s-audit lint [options] FILE

Lints an audit policy beyond what the apiserver checks. Findings (id, severity, what):
${renderLintRulesHelp()}

Options:
  --kubernetes-version V     version whose validation and resources apply (default ${DEFAULT_KUBERNETES_VERSION})
  --fail-on error|warning|info  lowest severity that makes the exit code 1 (default warning)
  --ignore ID[,ID...]        leave these finding ids out
  --format text|json         output format (default text)
  -h, --help                 show this help

Exit codes: 0 no finding at or above --fail-on, 1 findings or an invalid policy, 2 usage error.`,
  options: {
    'kubernetes-version': { type: 'string' },
    'fail-on': { type: 'string' },
    ignore: { type: 'string' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length !== 1) throw new UsageError("lint needs exactly one FILE (or '-' for standard input)");
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const failOn = choiceOption(args, 'fail-on', SEVERITIES, Severity.WARNING);
    const ignore = (stringOption(args, 'ignore') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = ignore.find((id) => !LINT_RULES.some((r) => r.id === id));
    if (unknown !== undefined) {
      const hint = didYouMean(unknown, LINT_RULES.map((r) => r.id)) ?? 'the ids are listed by cdk8s-audit lint --help';
      throw new UsageError(`--ignore: ${JSON.stringify(unknown)} is not a lint rule id, so it would silence nothing; ${hint}`);
    }
    const version = kubernetesVersionOption(args);
    const policy = await loadPolicyFile(args.positionals[0], io, version);
    const findings = [
      ...policy.unknownFieldFindings.filter((f) => !ignore.includes(f.id)),
      ...lintPolicy(policy.document, { kubernetesVersion: version, ignore }),
    ];
    const threshold = SEVERITIES.indexOf(failOn);
    const failing = findings.filter((f) => SEVERITIES.indexOf(f.severity) <= threshold);
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ file: policy.source, findings }, null, 2));
    } else if (findings.length === 0) {
      write(io.stdout, `${policy.source}: no findings`);
    } else {
      for (const f of findings) {
        const where = f.ruleIndex === null ? 'policy' : `rule ${f.ruleIndex}`;
        write(io.stdout, `${policy.source}: ${f.severity} [${f.id}] ${where}: ${f.message}\n  fix: ${f.fix}`);
      }
      write(io.stdout, `${findings.length} finding${findings.length > 1 ? 's' : ''}, ${failing.length} at or above ${failOn}`);
    }
    return failing.length > 0 ? ExitCode.FINDING : ExitCode.OK;
  },
};
