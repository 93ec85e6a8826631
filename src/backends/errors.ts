/**
 * The error of every configuration check of the backends and control-plane renderers: a ProblemError
 * (src/core/problem.ts) whose problems each name the field, the value, the rule it breaks and the
 * fix, so the CLI can list them and tests can match one.
 */
import { ProblemError, formatProblem, formatProblemValue } from '../core/problem';

export class AuditConfigError extends ProblemError {
  constructor(problems: readonly string[]) {
    super(problems);
    this.name = 'AuditConfigError';
  }
}

/** Formats one problem: `field: value rule; fix` (formatProblem with the value shown by formatValue). */
export function problem(field: string, value: unknown, rule: string, fix: string): string {
  return formatProblem({ path: field, value: formatValue(value), rule, fix });
}

/** A value printed as is, without quotes (e.g. `(redacted)` for secrets). */
export class Verbatim {
  constructor(private readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const REDACTED = new Verbatim('(redacted)');

export const formatValue = formatProblemValue;

/** Throws an AuditConfigError when there are problems. */
export function throwIfProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new AuditConfigError(problems);
}
