/**
 * One error type for every configuration check of the backends and control-plane renderers:
 * it carries each problem as a separate sentence so the CLI can list them and tests can match one.
 * A problem names the field, the value, the rule it breaks and the fix.
 */
export class AuditConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AuditConfigError';
  }
}

/** Formats one problem: `field: value rule; fix`. */
export function problem(field: string, value: unknown, rule: string, fix: string): string {
  return `${field}: ${formatValue(value)} ${rule}; ${fix}`;
}

/** A value printed as is, without quotes (e.g. `(redacted)` for secrets). */
export class Verbatim {
  constructor(private readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const REDACTED = new Verbatim('(redacted)');

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return '(unset)';
  return String(value);
}

/** Throws an AuditConfigError when there are problems. */
export function throwIfProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new AuditConfigError(problems);
}
