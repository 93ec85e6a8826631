/**
 * The lint rule table: every finding id `lintPolicy` and the lint command report, with its severity, what it
 * finds and the usual fix. The findings take their severity from here, `cdk8s-audit lint --help` prints it,
 * and the README's "Lint findings" table is generated from it (`npm run docs`; a unit test fails when the
 * README differs), so the three cannot drift apart.
 */

export enum Severity {
  ERROR = 'error',
  WARNING = 'warning',
  INFO = 'info',
}

/** One lint rule as documented. */
export interface LintRule {
  /** Stable id, as in findings and `--ignore`. */
  readonly id: string;
  readonly severity: Severity;
  /** What the rule finds, one line. */
  readonly finds: string;
  /** The usual fix, one line (each finding also names its own). */
  readonly fix: string;
}

/** Every lint rule, errors first, in the order the documentation lists them. */
export const LINT_RULES: readonly LintRule[] = [
  {
    id: 'unknown-field',
    severity: Severity.ERROR,
    finds: 'a field the apiserver silently drops (a typo like `resource:` for `resources:` widens the rule to every request)',
    fix: 'correct the name (the finding suggests one) or remove the field',
  },
  {
    id: 'tolerated-by-apiserver',
    severity: Severity.ERROR,
    finds: 'what the apiserver loads without a word but reads differently from the text: a duplicate key (the last one wins), a missing `kind`',
    fix: 'remove the duplicate key; add `kind: Policy`',
  },
  {
    id: 'shadowed-rule',
    severity: Severity.ERROR,
    finds: 'an earlier rule matches every request this one would; it never fires',
    fix: 'move the rule before the earlier one, or narrow the earlier one',
  },
  {
    id: 'secret-body-logged',
    severity: Severity.ERROR,
    finds: 'secrets, configmaps, tokenreviews or serviceaccounts/token at Request/RequestResponse',
    fix: 'a rule at Metadata for them before this one',
  },
  {
    id: 'unknown-verb',
    severity: Severity.ERROR,
    finds: 'a verb no request has (`GET`, `read`…)',
    fix: 'use the lower-case request verbs (get, list, watch, create, update, patch, delete, deletecollection)',
  },
  {
    id: 'resource-in-wrong-group',
    severity: Severity.ERROR,
    finds: "e.g. `deployments` under the core group — never matches `apps/deployments` (per-version table, checked against the real apiserver's discovery)",
    fix: 'move the resource to an entry with the group that serves it',
  },
  {
    id: 'no-catch-all',
    severity: Severity.WARNING,
    finds: 'requests matching no rule are not recorded',
    fix: 'end the policy with a catch-all rule, e.g. `{level: Metadata}`',
  },
  {
    id: 'request-received-not-omitted',
    severity: Severity.WARNING,
    finds: 'every request recorded twice (RequestReceived and ResponseComplete)',
    fix: '`omitStages: [RequestReceived]` on the policy',
  },
  {
    id: 'body-level-on-non-resource-url',
    severity: Severity.WARNING,
    finds: 'Request/RequestResponse on non-resource URLs records nothing more than Metadata',
    fix: 'level Metadata (or None for health and metrics endpoints)',
  },
  {
    id: 'watch-request-response',
    severity: Severity.WARNING,
    finds: 'watches at RequestResponse (unless earlier rules take every watch)',
    fix: 'a rule for verbs [watch] at Metadata before it, or list the verbs to record',
  },
  {
    id: 'managed-fields-recorded',
    severity: Severity.WARNING,
    finds: 'bodies with managedFields (often twice the event size, nothing an auditor needs)',
    fix: '`omitManagedFields: true` on the rule or the policy',
  },
  {
    id: 'subresource-wildcard-matches-parent',
    severity: Severity.WARNING,
    finds: '`pods/*` also matches `pods` (the apiserver compares only the resource)',
    fix: 'list the subresources (`pods/exec`…), or add `pods` to make it explicit',
  },
];

/** The documented rule of `id`; throws for an id not in the table (a finding must be documented). */
export function lintRule(id: string): LintRule {
  const rule = LINT_RULES.find((r) => r.id === id);
  if (!rule) throw new Error(`lint rule ${JSON.stringify(id)} is not in LINT_RULES; add it there (id, severity, finds, fix)`);
  return rule;
}

/** `id` and `severity` of a finding, from the table. */
export function findingOf(id: string): { readonly id: string; readonly severity: Severity } {
  return { id, severity: lintRule(id).severity };
}

/** The rule list of `cdk8s-audit lint --help`: id, severity, what it finds. */
export function renderLintRulesHelp(): string {
  const width = Math.max(...LINT_RULES.map((r) => r.id.length)) + 2;
  return LINT_RULES.map((r) => `  ${r.id.padEnd(width)}${r.severity.padEnd(9)}${r.finds.replace(/`/g, '')}`).join('\n');
}

/** The README's "Lint findings" table (markdown). */
export function renderLintRulesMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return ['| id | severity | what it finds | fix |', '|---|---|---|---|', ...LINT_RULES.map((r) => `| \`${r.id}\` | ${r.severity} | ${cell(r.finds)} | ${cell(r.fix)} |`)].join('\n');
}
