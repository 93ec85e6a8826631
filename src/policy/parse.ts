import { parseAllDocuments } from 'yaml';
import { decodePolicy } from './decode';
import { PolicyIssue, formatIssue } from './issue';
import { PolicyDocument } from './model';

/** Thrown by `parsePolicy`; `issues` lists every problem found. */
export class PolicyParseError extends Error {
  constructor(readonly issues: PolicyIssue[], source?: string) {
    super(`${source ? `${source}: ` : ''}invalid audit policy:\n${issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`);
    this.name = 'PolicyParseError';
  }
}

/**
 * Reads YAML or JSON text into a plain value. YAML 1.1 scalars are used (`yes` is a boolean)
 * because the apiserver's YAML library follows YAML 1.1.
 */
export function readPolicyText(text: string): { value?: unknown; issues: PolicyIssue[] } {
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true });
  if (!Array.isArray(docs)) return { value: undefined, issues: [] }; // only comments or whitespace
  const issues: PolicyIssue[] = [];
  for (const doc of docs) {
    for (const e of doc.errors) {
      const at = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(document)';
      issues.push({ path: at, message: `not valid YAML or JSON: ${e.message.split('\n')[0]}`, fix: 'correct the syntax at that place' });
    }
  }
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length > 1) {
    issues.push({
      path: '(document)',
      message: `the text holds ${nonEmpty.length} YAML documents; a policy file holds exactly one`,
      fix: 'remove the extra "---" documents or split them into separate files',
    });
  }
  if (issues.length > 0) return { issues };
  return { value: nonEmpty[0]?.toJS({ maxAliasCount: 100 }), issues };
}

/**
 * Parses an audit policy from YAML or JSON text, strictly: syntax errors, wrong types, a wrong
 * apiVersion/kind and unknown fields (which the apiserver would silently drop) are all errors.
 * Semantic checks are `validatePolicy`'s job.
 * @throws PolicyParseError naming every problem
 */
export function parsePolicy(text: string, source?: string): PolicyDocument {
  const { value, issues } = readPolicyText(text);
  if (issues.length > 0) throw new PolicyParseError(issues, source);
  const decoded = decodePolicy(value);
  const problems = [...decoded.fatal, ...decoded.unknownFields];
  if (problems.length > 0 || !decoded.document) throw new PolicyParseError(problems, source);
  return decoded.document;
}
