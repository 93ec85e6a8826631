import { KNOWN_VERBS, groupsServing, isBuiltinGroup } from './builtin-resources';
import { pathMatches } from './evaluate';
import { PolicyIssue, didYouMean, quote } from './issue';
import { Severity, findingOf } from './lint-rules';
import { parseKubernetesVersion } from '../core/kubernetes-version';
import { GroupResources, Level, PolicyDocument, PolicyRule, Stage, levelRank } from './model';

export { LINT_RULES, Severity, lintRule } from './lint-rules';
export type { LintRule } from './lint-rules';

/** One lint finding. */
export interface LintFinding {
  /** Stable id, e.g. `shadowed-rule`; usable to silence a finding. */
  readonly id: string;
  readonly severity: Severity;
  /**
   * The rule concerned, or null for the whole policy.
   * @jsii ignore null has no jsii type; the message names the rule too
   */
  readonly ruleIndex: number | null;
  readonly message: string;
  readonly fix: string;
}

export interface LintOptions {
  /** @default the newest supported version */
  readonly kubernetesVersion?: string;
  /** Finding ids to leave out. @default none */
  readonly ignore?: string[];
}

/**
 * Checks what the apiserver does not: rules that never fire, secret material in bodies, missing
 * catch-all, costly settings, and names that never match. Run on a policy `validatePolicy` accepts.
 */
export function lintPolicy(policy: PolicyDocument, options: LintOptions = {}): LintFinding[] {
  const minor = parseKubernetesVersion(options.kubernetesVersion).minor;
  const findings = [
    ...policy.rules.flatMap((rule, i) => [
      ...shadowed(policy.rules, i),
      ...secretBodies(policy.rules, i),
      ...unknownVerbs(rule, i),
      ...bodyOnNonResource(rule, i),
      ...watchAtRequestResponse(policy.rules, i),
      ...managedFields(policy, rule, i),
      ...subresourceWildcard(rule, i),
      ...wrongGroup(rule, i, minor),
    ]),
    ...noCatchAll(policy),
    ...requestReceived(policy),
  ];
  const ignore = new Set(options.ignore ?? []);
  return findings.filter((f) => !ignore.has(f.id));
}

/**
 * What the apiserver's lenient decoder tolerates silently, as lint errors: unknown fields (dropped)
 * and, as `tolerated-by-apiserver`, duplicate keys (last wins) and a missing kind.
 */
export function unknownFieldFindings(unknownFields: PolicyIssue[], tolerated: PolicyIssue[] = []): LintFinding[] {
  const tagged = [...unknownFields.map((i) => ['unknown-field', i] as const), ...tolerated.map((i) => ['tolerated-by-apiserver', i] as const)];
  return tagged.map(([id, issue]) => {
    const m = /^rules\[(\d+)\]/.exec(issue.path);
    return {
      ...findingOf(id),
      ruleIndex: m ? Number(m[1]) : null,
      message: `${issue.path}: ${issue.message}`,
      fix: issue.fix ?? 'remove the field',
    };
  });
}

const rank = (level: string) => levelRank(level);
const has = <T>(xs: T[] | undefined): xs is T[] => xs !== undefined && xs.length > 0;

// ---- shadowed rules: an earlier rule matches every request this one could match ----

function shadowed(rules: PolicyRule[], i: number): LintFinding[] {
  const by = rules.slice(0, i).findIndex((earlier) => covers(earlier, rules[i]));
  if (by < 0) return [];
  return [{
    ...findingOf('shadowed-rule'),
    ruleIndex: i,
    message: `rule ${i} (level ${rules[i].level}) never fires: rule ${by} (level ${rules[by].level}) matches every request it would match, and the first matching rule wins`,
    fix: `move rule ${i} before rule ${by}, or narrow rule ${by}`,
  }];
}

/** True when every request `b` matches is also matched by `a` (a sound, conservative check). */
export function covers(a: PolicyRule, b: PolicyRule): boolean {
  return subset(b.users, a.users) && subset(b.userGroups, a.userGroups) && subset(b.verbs, a.verbs) && scopeCovers(a, b);
}

/** `a` constrains nothing, or `b` constrains to a subset of `a`. */
function subset(b: string[] | undefined, a: string[] | undefined): boolean {
  if (!has(a)) return true;
  return has(b) && b.every((x) => a.includes(x));
}

const isResourceRule = (r: PolicyRule) => has(r.namespaces) || has(r.resources);

function scopeCovers(a: PolicyRule, b: PolicyRule): boolean {
  if (isResourceRule(a)) {
    if (!isResourceRule(b)) return false;
    if (!subset(b.namespaces, a.namespaces)) return false;
    if (!has(a.resources)) return true;
    if (!has(b.resources)) return false;
    return b.resources.every((gb) => groupResourcesCovered(a.resources!, gb));
  }
  if (has(a.nonResourceURLs)) {
    if (!has(b.nonResourceURLs) || isResourceRule(b)) return false;
    return b.nonResourceURLs.every((u) => a.nonResourceURLs!.some((spec) => urlSpecCovers(spec, u)));
  }
  return true;
}

function urlSpecCovers(spec: string, url: string): boolean {
  if (spec === '*') return true;
  if (url === '*') return false;
  if (!spec.endsWith('*')) return spec === url;
  return pathMatches(url.replace(/\*+$/, ''), spec);
}

function groupResourcesCovered(as: GroupResources[], b: GroupResources): boolean {
  const bGroup = b.group ?? '';
  const candidates = as.filter((a) => (a.group ?? '') === '*' || ((a.group ?? '') === bGroup && bGroup !== '*'));
  if (!has(b.resources)) return candidates.some((a) => !has(a.resources) || (a.resources.includes('*') && !has(a.resourceNames)));
  return b.resources.every((res) =>
    candidates.some((a) => {
      if (!has(a.resources)) return true;
      if (!subset(b.resourceNames, a.resourceNames)) return false;
      return a.resources.some((ar) => resourceSpecCovers(ar, res));
    }),
  );
}

/** Whether resource pattern `a` matches every request resource pattern `b` matches. */
function resourceSpecCovers(a: string, b: string): boolean {
  if (a === '*' || a === b) return true;
  if (b === '*') return false;
  const [bRes, bSub] = b.split('/', 2);
  if (a.startsWith('*/')) return bSub !== undefined && bSub !== '*' && bSub === a.slice(2);
  if (a.endsWith('/*')) return bRes === a.slice(0, -2) && bRes !== '*';
  return false;
}

// ---- secret material at Request / RequestResponse ----

interface Sensitive {
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly what: string;
}

const SENSITIVE: readonly Sensitive[] = [
  { group: '', resource: 'secrets', what: 'Secret data' },
  { group: '', resource: 'configmaps', what: 'ConfigMap data (often credentials)' },
  { group: 'authentication.k8s.io', resource: 'tokenreviews', what: 'bearer tokens under review' },
  { group: '', resource: 'serviceaccounts', subresource: 'token', what: 'issued service-account tokens (TokenRequest)' },
];

function ruleResourceMatches(rule: PolicyRule, s: Sensitive): boolean {
  if (has(rule.nonResourceURLs) && !isResourceRule(rule)) return false;
  if (!has(rule.resources)) return true;
  const combined = s.subresource ? `${s.resource}/${s.subresource}` : s.resource;
  return rule.resources.some((gr) => {
    const g = gr.group ?? '';
    if (g !== s.group && g !== '*') return false;
    if (!has(gr.resources)) return true;
    return gr.resources.some((res) =>
      res === '*' || res === combined || (s.subresource !== undefined && res === `*/${s.subresource}`) || (res.endsWith('/*') && res.slice(0, -2) === s.resource),
    );
  });
}

/** An earlier rule that takes every request for `s` whatever the user, verb or namespace. */
function unconditionallyTaken(rule: PolicyRule, s: Sensitive): boolean {
  return !has(rule.users) && !has(rule.userGroups) && !has(rule.verbs) && !has(rule.namespaces) && ruleResourceMatches(rule, s) && !resourceNamesLimited(rule);
}

function resourceNamesLimited(rule: PolicyRule): boolean {
  return (rule.resources ?? []).some((gr) => has(gr.resourceNames));
}

function secretBodies(rules: PolicyRule[], i: number): LintFinding[] {
  const rule = rules[i];
  if (rank(rule.level) < rank(Level.REQUEST)) return [];
  return SENSITIVE.filter((s) => ruleResourceMatches(rule, s) && !rules.slice(0, i).some((r) => unconditionallyTaken(r, s))).map((s) => ({
    ...findingOf('secret-body-logged'),
    ruleIndex: i,
    message: `rule ${i} records ${s.group || 'core'}/${s.resource}${s.subresource ? '/' + s.subresource : ''} at ${rule.level}: the audit log would contain ${s.what}`,
    fix: `add a rule before rule ${i}: {level: Metadata, resources: [{group: ${quote(s.group)}, resources: [${quote(s.subresource ? `${s.resource}/${s.subresource}` : s.resource)}]}]}`,
  }));
}

// ---- smaller checks ----

function unknownVerbs(rule: PolicyRule, i: number): LintFinding[] {
  return (rule.verbs ?? []).filter((v) => !KNOWN_VERBS.includes(v)).map((v) => ({
    ...findingOf('unknown-verb'),
    ruleIndex: i,
    message: `rule ${i}: verb ${quote(v)} is never a request verb, so this entry never matches (verbs are lower case: ${KNOWN_VERBS.join(', ')})`,
    fix: didYouMean(v, KNOWN_VERBS) ?? 'remove it',
  }));
}

function bodyOnNonResource(rule: PolicyRule, i: number): LintFinding[] {
  if (!has(rule.nonResourceURLs) || rank(rule.level) < rank(Level.REQUEST)) return [];
  return [{
    ...findingOf('body-level-on-non-resource-url'),
    ruleIndex: i,
    message: `rule ${i} sets ${rule.level} on non-resource URLs: such requests carry no object bodies, so it records the same as Metadata`,
    fix: 'use level Metadata (or None for health and metrics endpoints)',
  }];
}

function watchAtRequestResponse(rules: PolicyRule[], i: number): LintFinding[] {
  const rule = rules[i];
  if (rule.level !== Level.REQUEST_RESPONSE || has(rule.nonResourceURLs)) return [];
  if (has(rule.verbs) && !rule.verbs.includes('watch')) return [];
  // Earlier rules may already take every watch this rule would see.
  const watches: PolicyRule = { ...rule, verbs: ['watch'] };
  if (rules.slice(0, i).some((earlier) => covers(earlier, watches))) return [];
  return [{
    ...findingOf('watch-request-response'),
    ruleIndex: i,
    message: `rule ${i} records watch requests at RequestResponse: watches are long-running, add a ResponseStarted event each and have no response body worth keeping`,
    fix: 'put a rule for verbs [watch] at Metadata before it, or list the verbs this rule should record',
  }];
}

function managedFields(policy: PolicyDocument, rule: PolicyRule, i: number): LintFinding[] {
  if (rank(rule.level) < rank(Level.REQUEST) || has(rule.nonResourceURLs) || (rule.omitManagedFields ?? policy.omitManagedFields ?? false)) return [];
  return [{
    ...findingOf('managed-fields-recorded'),
    ruleIndex: i,
    message: `rule ${i} records bodies at ${rule.level} with managedFields: they often double event size and say nothing an auditor needs`,
    fix: 'set omitManagedFields: true on the rule or the policy',
  }];
}

function subresourceWildcard(rule: PolicyRule, i: number): LintFinding[] {
  return (rule.resources ?? []).flatMap((gr) =>
    (gr.resources ?? []).filter((r) => r.endsWith('/*') && r !== '*/*').map((r) => ({
      ...findingOf('subresource-wildcard-matches-parent'),
      ruleIndex: i,
      message: `rule ${i}: ${quote(r)} matches every subresource of ${r.slice(0, -2)} AND ${r.slice(0, -2)} itself (the apiserver compares only the resource)`,
      fix: `if ${r.slice(0, -2)} itself should not match, list the subresources (e.g. ${quote(r.slice(0, -2) + '/exec')}); otherwise list ${quote(r.slice(0, -2))} too to make it explicit`,
    })),
  );
}

function wrongGroup(rule: PolicyRule, i: number, minor: number): LintFinding[] {
  return (rule.resources ?? []).flatMap((gr) => {
    const group = gr.group ?? '';
    if (!isBuiltinGroup(group)) return [];
    return (gr.resources ?? []).flatMap((res) => {
      const name = res.split('/')[0];
      if (name === '*' || groupsServing(name, minor).includes(group)) return [];
      const elsewhere = groupsServing(name, minor);
      if (elsewhere.length === 0) return [];
      const where = elsewhere.map((g) => (g === '' ? 'the core group ""' : quote(g))).join(' and ');
      return [{
        ...findingOf('resource-in-wrong-group'),
        ruleIndex: i,
        message: `rule ${i}: ${quote(name)} is not a resource of ${group === '' ? 'the core group ""' : `group ${quote(group)}`} in Kubernetes 1.${minor}, so this entry never matches; it is served by ${where}`,
        fix: `move ${quote(res)} to an entry with group ${quote(elsewhere[0])}`,
      }];
    });
  });
}

function isCatchAll(rule: PolicyRule): boolean {
  return !has(rule.users) && !has(rule.userGroups) && !has(rule.verbs) && !has(rule.namespaces) && !has(rule.resources) && !has(rule.nonResourceURLs);
}

function noCatchAll(policy: PolicyDocument): LintFinding[] {
  if (policy.rules.some(isCatchAll)) return [];
  return [{
    ...findingOf('no-catch-all'),
    ruleIndex: null,
    message: 'no rule matches every request: requests that match no rule are silently not recorded (level None)',
    fix: 'end the policy with a catch-all rule, e.g. {level: Metadata}',
  }];
}

function requestReceived(policy: PolicyDocument): LintFinding[] {
  if ((policy.omitStages ?? []).includes(Stage.REQUEST_RECEIVED)) return [];
  const recording = policy.rules.filter((r) => r.level !== Level.NONE);
  if (recording.every((r) => (r.omitStages ?? []).includes(Stage.REQUEST_RECEIVED))) return [];
  return [{
    ...findingOf('request-received-not-omitted'),
    ruleIndex: null,
    message: 'RequestReceived is not omitted: every request is recorded twice (RequestReceived and ResponseComplete), doubling audit volume',
    fix: 'set omitStages: [RequestReceived] on the policy (ResponseComplete still records the outcome)',
  }];
}
