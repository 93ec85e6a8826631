/**
 * One way to report bad input, for constructs (`node.addValidation`, constructor errors), the CLI and
 * the sink server: a Problem names the field as the user wrote it, the value, the rule it breaks and
 * the fix, and `formatProblem` / `formatProblems` turn problems into the text every surface prints.
 * Pure: no I/O.
 */

/** One problem with the user's input. */
export interface Problem {
  /**
   * The field as the user wrote it: a prop path (`webhook.kubeconfig.server`), a CLI flag
   * (`--audit-log-maxage`), or a path in a document (`rules[2].resources[0].group`).
   * Empty for the input as a whole.
   */
  readonly path: string;
  /**
   * The offending value as it should be shown: `formatProblemValue` quotes strings and prints
   * `(unset)`; `REDACTED_VALUE` stands for a secret.
   * @default - no value is shown (the rule says it all)
   */
  readonly value?: string;
  /** The rule the value breaks, e.g. `is not an absolute URL`. */
  readonly rule: string;
  /** How to fix it, e.g. `write it as https://HOST:PORT/PATH`. @default - no fix is suggested */
  readonly fix?: string;
}

/** What a problem shows instead of a secret value. */
export const REDACTED_VALUE = '(redacted)';

/** A value as problems show it: strings JSON-quoted (so spaces and empty strings are visible), `(unset)` for undefined, anything else as String() prints it. */
export function formatProblemValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return '(unset)';
  return String(value);
}

/** One problem on one line: `path: value rule; fix` (`(document)` stands for an empty path). */
export function formatProblem(problem: Problem): string {
  const value = problem.value === undefined ? '' : `${problem.value} `;
  const fix = problem.fix ? `; ${problem.fix}` : '';
  return `${problem.path || '(document)'}: ${value}${problem.rule}${fix}`;
}

/**
 * Problems as an indented bulleted list, one per line: the block that ends every message listing problems
 * under a heading of its own (`invalid audit policy:`, `invalid alert rules (2 problems):`).
 */
export function formatProblemList(problems: readonly (Problem | string)[]): string {
  return problems.map((p) => `  - ${typeof p === 'string' ? p : formatProblem(p)}`).join('\n');
}

/**
 * Several problems as one message: a single problem on one line, more as a counted, bulleted list.
 * With a subject (`AuditSink sink`, `--webhook-server`), it leads the message.
 */
export function formatProblems(problems: readonly (Problem | string)[], subject?: string): string {
  const lines = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
  const lead = subject ? `${subject}: ` : '';
  if (lines.length === 1) return `${lead}${lines[0]}`;
  return `${lead}${lines.length} problems:\n${formatProblemList(lines)}`;
}

/** An error carrying every problem found, each formatted on its own, so callers can list or match them one by one. */
export class ProblemError extends Error {
  /** Each problem, formatted by formatProblem. */
  public readonly problems: readonly string[];

  constructor(problems: readonly (Problem | string)[], subject?: string) {
    super(formatProblems(problems, subject));
    this.name = 'ProblemError';
    this.problems = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
  }
}

/** Throws a ProblemError when there are problems; does nothing otherwise. */
export function throwIfProblems(problems: readonly (Problem | string)[], subject?: string): void {
  if (problems.length > 0) throw new ProblemError(problems, subject);
}
