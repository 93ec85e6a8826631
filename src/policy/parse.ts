import { LineCounter, isScalar, parseAllDocuments, visit } from 'yaml';
import { decodePolicy } from './decode';
import { formatProblemList } from '../core/problem';
import { PolicyIssue, policyIssueToProblem } from './issue';
import { PolicyDocument } from './model';

/** Thrown by `parsePolicy`; `issues` lists every problem found. */
export class PolicyParseError extends Error {
  constructor(readonly issues: PolicyIssue[], source?: string) {
    super(`${source ? `${source}: ` : ''}invalid audit policy:\n${formatProblemList(issues.map(policyIssueToProblem))}`);
    this.name = 'PolicyParseError';
  }
}

/**
 * Reads YAML or JSON text into a plain value. YAML 1.1 scalars are used (`yes` is a boolean)
 * because the apiserver's YAML library follows YAML 1.1.
 */
export function readPolicyText(text: string): { value?: unknown; issues: PolicyIssue[]; duplicateKeys: PolicyIssue[] } {
  const lineCounter = new LineCounter();
  // Duplicate keys fail only the apiserver's strict decoder; it then decodes leniently and the last
  // value wins. So they are not fatal here either, but are reported in strict mode.
  const docs = parseAllDocuments(text, { version: '1.1', prettyErrors: true, uniqueKeys: false, lineCounter });
  if (!Array.isArray(docs)) return { value: undefined, issues: [], duplicateKeys: [] }; // only comments or whitespace
  const issues: PolicyIssue[] = [];
  const duplicateKeys: PolicyIssue[] = [];
  for (const doc of docs) {
    visit(doc, {
      Map(_key, map) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
          if (seen.has(name)) {
            const at = isScalar(pair.key) && pair.key.range ? lineCounter.linePos(pair.key.range[0]) : undefined;
            duplicateKeys.push({
              path: at ? `line ${at.line}, column ${at.col}` : '(document)',
              message: `duplicate key ${JSON.stringify(name)}: the apiserver's strict decoder fails, its lenient decoder keeps the last value`,
              fix: 'remove all but one of them',
            });
          }
          seen.add(name);
        }
      },
    });
  }
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
  if (issues.length > 0) return { issues, duplicateKeys };
  try {
    return { value: nonEmpty[0]?.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), issues, duplicateKeys };
  } catch (e) {
    // The yaml library refuses aliases that expand past the count (a "billion laughs" document) with a
    // ReferenceError; the apiserver's YAML reader refuses such documents too ("excessive aliasing").
    if (!(e instanceof ReferenceError) || !/alias/i.test(e.message)) throw e;
    return {
      issues: [{
        path: '(document)',
        message: `its YAML aliases (*name) expand beyond the limit of ${MAX_ALIAS_COUNT} (a resource-exhaustion document), so it is not read`,
        fix: 'write the values out instead of repeating them through aliases',
        unreadable: true,
      }],
      duplicateKeys,
    };
  }
}

/** The yaml library's maxAliasCount: a real policy uses no alias or a few. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses an audit policy from YAML or JSON text, strictly: syntax errors, wrong types, a wrong
 * apiVersion/kind and unknown fields (which the apiserver would silently drop) are all errors.
 * Semantic checks are `validatePolicy`'s job.
 * @throws PolicyParseError naming every problem
 */
export function parsePolicy(text: string, source?: string): PolicyDocument {
  const { value, issues, duplicateKeys } = readPolicyText(text);
  if (issues.length > 0) throw new PolicyParseError(issues, source);
  const decoded = decodePolicy(value);
  const problems = [...duplicateKeys, ...decoded.fatal, ...decoded.unknownFields, ...(decoded.tolerated ?? [])];
  if (problems.length > 0 || !decoded.document) throw new PolicyParseError(problems, source);
  return decoded.document;
}
