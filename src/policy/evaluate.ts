import { quote } from './issue';
import { AuditDecision, Level, PolicyDocument, PolicyRule, RequestAttributes, STAGES, Stage } from './model';

/**
 * The kube-apiserver's policy checker (k8s.io/apiserver/pkg/audit/policy/checker.go), newest
 * semantics: the first matching rule wins; no match means level None.
 */
export function evaluatePolicy(policy: PolicyDocument, request: RequestAttributes): AuditDecision {
  const index = policy.rules.findIndex((rule) => matchRule(rule, request).matched);
  if (index < 0) {
    return {
      level: Level.NONE,
      omitStages: sortedStages(policy.omitStages ?? []),
      omitManagedFields: policy.omitManagedFields ?? false,
      ruleIndex: null,
    };
  }
  const rule = policy.rules[index];
  return {
    level: rule.level as Level,
    omitStages: sortedStages([...(policy.omitStages ?? []), ...(rule.omitStages ?? [])]),
    // A rule's own setting, when present, overrides the policy's.
    omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
    ruleIndex: index,
  };
}

export type RuleMatch = { readonly matched: true } | { readonly matched: false; readonly reason: string };

const MATCH: RuleMatch = { matched: true };
const miss = (reason: string): RuleMatch => ({ matched: false, reason });

/** Whether one rule matches a request, and if not, the first field that rules it out. */
export function matchRule(rule: PolicyRule, request: RequestAttributes): RuleMatch {
  const user = request.user;
  if (nonEmpty(rule.users)) {
    if (!user) return miss('the rule lists users and the request has no user');
    if (!rule.users.includes(user.name)) return miss(`user ${quote(user.name)} is not in users ${list(rule.users)}`);
  }
  if (nonEmpty(rule.userGroups)) {
    if (!user) return miss('the rule lists userGroups and the request has no user');
    if (!(user.groups ?? []).some((g) => rule.userGroups!.includes(g))) {
      return miss(`none of the user's groups ${list(user.groups ?? [])} is in userGroups ${list(rule.userGroups)}`);
    }
  }
  if (nonEmpty(rule.verbs) && !rule.verbs.includes(request.verb)) {
    return miss(`verb ${quote(request.verb)} is not in verbs ${list(rule.verbs)}`);
  }
  if (nonEmpty(rule.namespaces) || nonEmpty(rule.resources)) return matchResource(rule, request);
  if (nonEmpty(rule.nonResourceURLs)) return matchNonResource(rule.nonResourceURLs, request);
  return MATCH;
}

function matchNonResource(urls: string[], request: RequestAttributes): RuleMatch {
  if (request.resourceRequest) return miss('the rule matches non-resource URLs and this is a resource request');
  if (urls.some((spec) => pathMatches(request.path, spec))) return MATCH;
  return miss(`path ${quote(request.path)} matches none of nonResourceURLs ${list(urls)}`);
}

/** `*`, an exact path, or a prefix ending in `*`. */
export function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, ''));
}

function matchResource(rule: PolicyRule, request: RequestAttributes): RuleMatch {
  if (!request.resourceRequest) return miss('the rule matches resources/namespaces and this is a non-resource request');
  const namespace = request.namespace ?? '';
  if (nonEmpty(rule.namespaces) && !rule.namespaces.includes(namespace)) {
    return miss(`${namespace === '' ? 'the cluster scope ("")' : `namespace ${quote(namespace)}`} is not in namespaces ${list(rule.namespaces)}`);
  }
  if (!nonEmpty(rule.resources)) return MATCH;
  const group = request.apiGroup ?? '';
  const resource = request.resource ?? '';
  const subresource = request.subresource ?? '';
  const combined = subresource ? `${resource}/${subresource}` : resource;
  const name = request.name ?? '';
  for (const gr of rule.resources) {
    const grGroup = gr.group ?? '';
    if (grGroup !== group && grGroup !== '*') continue;
    if (!nonEmpty(gr.resources)) return MATCH;
    // resourceNames filter every resource of the entry, as upstream does.
    if (nonEmpty(gr.resourceNames) && !gr.resourceNames.includes(name)) continue;
    for (const res of gr.resources) {
      if (res === combined || res === '*') return MATCH;
      if (subresource && res.startsWith('*/') && subresource === res.slice(2)) return MATCH;
      // `pods/*` compares only the resource, so it also matches plain pods (upstream behaviour).
      if (res.endsWith('/*') && resource === res.slice(0, -2)) return MATCH;
    }
  }
  const groupText = group === '' ? 'the core group ("")' : `group ${quote(group)}`;
  return miss(`${quote(combined)}${name ? ` named ${quote(name)}` : ''} in ${groupText} matches none of the rule's resources`);
}

function nonEmpty<T>(values: T[] | undefined): values is T[] {
  return values !== undefined && values.length > 0;
}

function list(values: readonly string[]): string {
  return `[${values.map((v) => quote(v)).join(', ')}]`;
}

function sortedStages(stages: readonly string[]): Stage[] {
  return [...new Set(stages)].sort() as Stage[];
}

/** The stages at which an event is written for a request that gets `decision` (never for level None). */
export function recordedStages(decision: AuditDecision, options: { longRunning?: boolean } = {}): Stage[] {
  if (decision.level === Level.NONE) return [];
  const possible = options.longRunning
    ? [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.RESPONSE_COMPLETE]
    : [Stage.REQUEST_RECEIVED, Stage.RESPONSE_COMPLETE];
  return possible.filter((s) => !decision.omitStages.includes(s)).sort((a, b) => STAGES.indexOf(a) - STAGES.indexOf(b));
}
