import { CommandIO, InputError } from './command';
import { readPolicyInput } from './io';
import { formatProblemList } from '../core/problem';
import { PolicyDocument, PolicyIssue, decodePolicy, policyIssueToProblem, policyIssues, readPolicyText } from '../policy';
import { LintFinding, unknownFieldFindings } from '../policy/lint';

export interface LoadedPolicy {
  readonly source: string;
  readonly document: PolicyDocument;
  /** Fields the apiserver would drop, as lint errors. */
  readonly unknownFieldFindings: LintFinding[];
}

/** The name of a policy input in messages. */
export function policySource(path: string): string {
  return path === '-' ? '(stdin)' : path;
}

/**
 * Text that cannot be read as data at all (an alias bomb) is an unreadable input, like a directory:
 * one line, exit 1, in every verb.
 */
export function unreadableIssue(source: string, issues: readonly PolicyIssue[]): InputError | undefined {
  const bad = issues.find((i) => i.unreadable);
  return bad ? new InputError(`cannot read ${source}: ${bad.message}; ${bad.fix}`) : undefined;
}

/**
 * Reads and checks a policy file for verbs that need a loadable policy (lint, explain, evaluate).
 * Size limit, directories, missing and unreadable files: InputError (see readPolicyInput).
 * @throws InputError listing every problem, so the user can fix them in one pass
 */
export async function loadPolicyFile(path: string, io: Pick<CommandIO, 'stdin' | 'cwd'>, kubernetesVersion?: string): Promise<LoadedPolicy> {
  const source = policySource(path);
  const text = await readPolicyInput(path, io.stdin, io.cwd);
  const read = readPolicyText(text);
  const unreadable = unreadableIssue(source, read.issues);
  if (unreadable) throw unreadable;
  const issues = read.issues.length ? read.issues : policyIssues(read.value, { kubernetesVersion });
  if (issues.length > 0) {
    throw new InputError(`${source}: the kube-apiserver would refuse this policy:\n${formatProblemList(issues.map(policyIssueToProblem))}`);
  }
  const decoded = decodePolicy(read.value);
  const tolerated = [...read.duplicateKeys, ...(decoded.tolerated ?? [])];
  return { source, document: decoded.document!, unknownFieldFindings: unknownFieldFindings(decoded.unknownFields, tolerated) };
}
