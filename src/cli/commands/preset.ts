import { stringify } from 'yaml';
import { Command, ExitCode, UsageError, booleanOption, choiceOption, stringOption } from '../command';
import { write } from '../io';
import { PRESET_OPTIONS, PRESET_OPTIONS_HELP, presetFromArgs } from '../preset-options';
import { DEFAULT_KUBERNETES_VERSION } from '../../core/kubernetes-version';
import { formatIssue, lintPolicy, policyIssues, policyToJson, renderPolicyYaml } from '../../policy';
import { PRESETS, describeMatch, evidenceSelector, sinkRetentionFor } from '../../presets';

export const presetCommand: Command = {
  name: 'preset',
  summary: 'print the audit policy of a compliance preset (or --list them)',
  help: `Usage: cdk8s-audit preset NAME[,NAME...] [options]
       cdk8s-audit preset --list

Prints the audit policy of one or more composed presets. Composition keeps the more detailed level
where presets differ, the longer retention and rotation, and secret material at Metadata.

Options:
  --list                   list the presets with their frameworks
${PRESET_OPTIONS_HELP.replace(/^ {2}--preset.*\n/, '')}
  --format yaml|json|requirements   the policy (default yaml), or the requirement table
  --kubernetes-version V   validate for this apiserver version (default ${DEFAULT_KUBERNETES_VERSION})
  -h, --help               show this help

Exit codes: 0 ok, 1 unknown preset or conflicting customisation, 2 usage error.

Example:
  cdk8s-audit preset pci-dss --exclude-user system:serviceaccount:ci:deployer > policy.yaml`,
  options: { ...PRESET_OPTIONS, list: { type: 'boolean' }, format: { type: 'string' }, 'kubernetes-version': { type: 'string' } },
  async run(args, io) {
    if (booleanOption(args, 'list')) {
      const w = Math.max(...PRESETS.map((p) => p.name.length));
      for (const p of PRESETS) write(io.stdout, `${p.name.padEnd(w)}  ${p.framework}\n${' '.repeat(w)}  ${p.description}`);
      return ExitCode.OK;
    }
    if (args.positionals.length !== 1) throw new UsageError('preset needs a NAME (or --list)');
    const format = choiceOption(args, 'format', ['yaml', 'json', 'requirements'] as const, 'yaml');
    const version = stringOption(args, 'kubernetes-version');
    const composed = presetFromArgs(args, args.positionals[0], version);
    // A preset that its own version refuses, or that lints dirty, is a bug: say so rather than print it.
    const issues = policyIssues(composed.policy, { kubernetesVersion: version, strict: true });
    const findings = lintPolicy(composed.policy, { kubernetesVersion: version });
    if (issues.length || findings.some((f) => f.severity === 'error')) {
      throw new Error(`preset policy is invalid:\n${[...issues.map(formatIssue), ...findings.map((f) => f.message)].join('\n')}`);
    }
    if (format === 'json') write(io.stdout, JSON.stringify(policyToJson(composed.policy), null, 2));
    else if (format === 'yaml') write(io.stdout, renderPolicyYaml(composed.policy));
    else {
      write(io.stdout, stringify({
        presets: composed.presets.map((p) => p.name),
        retention: composed.retention,
        // the sink's settings that enforce retention.totalDays (sink serve flags / AuditSink props)
        sinkRetention: { retentionMaxAge: `${sinkRetentionFor(composed.retention).maxAgeDays}d`, retentionMaxBytes: sinkRetentionFor(composed.retention).maxBytes },
        requirements: composed.requirements.map((r) => ({
          preset: r.preset, id: r.id, summary: r.summary, rules: r.rules,
          probes: r.probes.map((p) => `${p.method} ${p.path} (${p.as}) ≥ ${p.minLevel}${p.maxLevel ? ` ≤ ${p.maxLevel}` : ''}`),
          ...(evidenceSelector(r) ? { evidence: evidenceSelector(r)!.anyOf.map((m) => describeMatch(m, composed.auditNamespace)) } : {}),
          ...(r.settings ? { settings: r.settings } : {}),
        })),
      }, { lineWidth: 0 }));
    }
    return ExitCode.OK;
  },
};
