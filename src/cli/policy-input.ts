import { InputError } from './command';
import { readInput } from './io';
import { PolicyDocument, decodePolicy, formatIssue, policyIssues, readPolicyText } from '../policy';
import { LintFinding, unknownFieldFindings } from '../policy/lint';

export interface LoadedPolicy {
  readonly source: string;
  readonly document: PolicyDocument;
  /** Fields the apiserver would drop, as lint errors. */
  readonly unknownFieldFindings: LintFinding[];
}

/**
 * Reads and checks a policy file for verbs that need a loadable policy (lint, explain, evaluate).
 * @throws InputError listing every problem, so the user can fix them in one pass
 */
export async function loadPolicyFile(path: string, stdin: NodeJS.ReadableStream, kubernetesVersion?: string): Promise<LoadedPolicy> {
  const source = path === '-' ? '(stdin)' : path;
  const text = await readInput(path, stdin);
  const read = readPolicyText(text);
  const issues = read.issues.length ? read.issues : policyIssues(read.value, { kubernetesVersion });
  if (issues.length > 0) {
    throw new InputError(`${source}: the kube-apiserver would refuse this policy:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`);
  }
  const decoded = decodePolicy(read.value);
  const tolerated = [...read.duplicateKeys, ...(decoded.tolerated ?? [])];
  return { source, document: decoded.document!, unknownFieldFindings: unknownFieldFindings(decoded.unknownFields, tolerated) };
}
