/** One problem found in a policy document, located by its JSON path. */
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

export function formatIssue(issue: PolicyIssue): string {
  return `${issue.path || '(document)'}: ${issue.message}${issue.fix ? `; fix: ${issue.fix}` : ''}`;
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
