import { Problem, formatProblem } from '../core/problem';

/**
 * One problem found in a policy document, located by its JSON path: the policy validator's and
 * parser's output. It maps 1:1 to a Problem (policyIssueToProblem): path is the path, message the
 * rule (it quotes the value where one helps), fix the fix.
 */
export interface PolicyIssue {
  /** JSON path, e.g. `rules[2].resources[0].group`. */
  readonly path: string;
  /** What is wrong, in the apiserver's terms where it has any. */
  readonly message: string;
  /** How to fix it. */
  readonly fix?: string;
  /**
   * The text could not be read as data at all (e.g. YAML aliases that expand past the limit, a
   * resource-exhaustion attack): no other check ran, and this is the only issue.
   */
  readonly unreadable?: boolean;
}

/**
 * The issue as a Problem. The fix keeps its `fix:` label: policy messages are phrased as findings
 * (`unknown level "Foo"`), so the label marks where the remedy starts.
 */
export function policyIssueToProblem(issue: PolicyIssue): Problem {
  return { path: issue.path, rule: issue.message, ...(issue.fix ? { fix: `fix: ${issue.fix}` } : {}) };
}

/** `path: message; fix: …`, through the one problem formatter. */
export function formatIssue(issue: PolicyIssue): string {
  return formatProblem(policyIssueToProblem(issue));
}

export function quote(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest candidate (case-insensitively), if it is close enough to be a likely typo. */
export function closest(value: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

export function didYouMean(value: string, candidates: readonly string[]): string | undefined {
  const c = closest(value, candidates);
  return c === undefined ? undefined : `did you mean ${quote(c)}?`;
}
