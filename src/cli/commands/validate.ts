import { Command, CommandIO, ExitCode, InputError, UsageError, booleanOption, choiceOption, kubernetesVersionOption } from '../command';
import { POLICY_MAX_BYTES, readPolicyInput, write } from '../io';
import { formatBytes } from '../../core/units';
import { unreadableIssue } from '../policy-input';
import { DEFAULT_KUBERNETES_VERSION, parseKubernetesVersion } from '../../core/kubernetes-version';
import { formatProblemList } from '../../core/problem';
import { PolicyIssue, policyIssueToProblem, policyIssues } from '../../policy';

interface FileResult {
  readonly file: string;
  readonly valid: boolean;
  readonly issues: readonly PolicyIssue[];
  /** The file could not be read (missing, a directory, over the size limit, an alias bomb): one line. */
  readonly error?: string;
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check that a kube-apiserver would load an audit policy file',
  help: `Usage: cdk8s-audit validate [options] FILE...

Checks each audit policy file (YAML or JSON; '-' reads standard input) exactly as the
kube-apiserver of the chosen version does when it loads --audit-policy-file, and also reports
unknown fields: the apiserver silently drops those, which usually widens a rule.

Options:
  --kubernetes-version V   apiserver version to check against (default ${DEFAULT_KUBERNETES_VERSION})
  --apiserver-verdict      report only what the apiserver itself refuses (unknown fields pass)
  --format text|json       output format (default text)
  -h, --help               show this help

Files over ${formatBytes(POLICY_MAX_BYTES)} are refused unread (real policies are kilobytes).

Exit codes: 0 every file is valid, 1 a file is invalid or unreadable, 2 usage error.

Example:
  cdk8s-audit validate --kubernetes-version 1.35 dist/node/rootfs/etc/kubernetes/audit/policy.yaml`,
  options: {
    'kubernetes-version': { type: 'string' },
    'apiserver-verdict': { type: 'boolean' },
    format: { type: 'string' },
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError("validate needs at least one FILE (or '-' for standard input)");
    const format = choiceOption(args, 'format', ['text', 'json'] as const, 'text');
    const version = kubernetesVersionOption(args);
    const strict = !booleanOption(args, 'apiserver-verdict');
    const results: FileResult[] = [];
    for (const file of args.positionals) results.push(await validateFile(file, io, { kubernetesVersion: version, strict }));
    const v = parseKubernetesVersion(version).text;
    if (format === 'json') {
      write(io.stdout, JSON.stringify({ kubernetesVersion: v, results }, null, 2));
    } else {
      for (const r of results) {
        if (r.error !== undefined) {
          write(io.stderr, `cdk8s-audit: ${r.error}`);
          continue;
        }
        if (r.valid) {
          write(io.stdout, `${r.file}: valid for kube-apiserver ${v}`);
          continue;
        }
        write(io.stderr, `${r.file}: invalid for kube-apiserver ${v} (${r.issues.length} problem${r.issues.length > 1 ? 's' : ''}):`);
        write(io.stderr, formatProblemList(r.issues.map(policyIssueToProblem)));
      }
    }
    return results.every((r) => r.valid) ? ExitCode.OK : ExitCode.FINDING;
  },
};

async function validateFile(file: string, io: Pick<CommandIO, 'stdin' | 'cwd'>, options: { kubernetesVersion?: string; strict: boolean }): Promise<FileResult> {
  let text: string;
  try {
    text = await readPolicyInput(file, io.stdin, io.cwd);
  } catch (e) {
    if (e instanceof InputError) return { file, valid: false, issues: [], error: e.message };
    throw e;
  }
  const issues = policyIssues(text, options);
  const unreadable = unreadableIssue(file === '-' ? '(stdin)' : file, issues);
  return { file, valid: issues.length === 0, issues, ...(unreadable ? { error: unreadable.message } : {}) };
}
