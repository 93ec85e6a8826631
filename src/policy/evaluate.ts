import { quote } from './issue';
import { AuditDecision, Level, PolicyDocument, PolicyRule, RequestAttributes, STAGES, Stage } from './model';

/**
 * The kube-apiserver's policy checker (k8s.io/apiserver/pkg/audit/policy/checker.go), newest
 * semantics: the first matching rule wins; no match means level None.
 */
export function evaluatePolicy(policy: PolicyDocument, request: RequestAttributes): AuditDecision {
  // The hot path of `evaluate` over large logs: `firstMiss` allocates nothing and builds no reason text.
  const rules = policy.rules;
  let index = 0;
  while (index < rules.length && firstMiss(rules[index], request) !== undefined) index++;
  if (index === rules.length) {
    return {
      level: Level.NONE,
      omitStages: sortedStages(policy.omitStages),
      omitManagedFields: policy.omitManagedFields ?? false,
      ruleIndex: null,
    };
  }
  const rule = rules[index];
  return {
    level: rule.level as Level,
    omitStages: sortedStages(policy.omitStages, rule.omitStages),
    // A rule's own setting, when present, overrides the policy's.
    omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
    ruleIndex: index,
  };
}

export type RuleMatch = { readonly matched: true } | { readonly matched: false; readonly reason: string };

const MATCH: RuleMatch = { matched: true };

/** Whether one rule matches a request, and if not, the first field that rules it out. */
export function matchRule(rule: PolicyRule, request: RequestAttributes): RuleMatch {
  const miss = firstMiss(rule, request);
  return miss === undefined ? MATCH : { matched: false, reason: missReason(miss, rule, request) };
}

/** The first field of a rule that rules a request out (checked in the checker's order). */
type Miss =
  | 'users-no-user'
  | 'users'
  | 'groups-no-user'
  | 'groups'
  | 'verbs'
  | 'resource-rule-non-resource-request'
  | 'namespaces'
  | 'resources'
  | 'url-rule-resource-request'
  | 'urls';

/** The one matcher: undefined when the rule matches. Reasons are worded only when asked (`missReason`). */
function firstMiss(rule: PolicyRule, request: RequestAttributes): Miss | undefined {
  const user = request.user;
  if (nonEmpty(rule.users)) {
    if (!user) return 'users-no-user';
    if (!rule.users.includes(user.name)) return 'users';
  }
  if (nonEmpty(rule.userGroups)) {
    if (!user) return 'groups-no-user';
    if (!anyIn(user.groups, rule.userGroups)) return 'groups';
  }
  if (nonEmpty(rule.verbs) && !rule.verbs.includes(request.verb)) return 'verbs';
  if (nonEmpty(rule.namespaces) || nonEmpty(rule.resources)) return resourceMiss(rule, request);
  if (nonEmpty(rule.nonResourceURLs)) {
    if (request.resourceRequest) return 'url-rule-resource-request';
    for (const spec of rule.nonResourceURLs) if (pathMatches(request.path, spec)) return undefined;
    return 'urls';
  }
  return undefined;
}

function anyIn(values: readonly string[] | undefined, allowed: readonly string[]): boolean {
  if (values) for (const v of values) if (allowed.includes(v)) return true;
  return false;
}

/** `*`, an exact path, or a prefix ending in `*`. */
export function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, ''));
}

function resourceMiss(rule: PolicyRule, request: RequestAttributes): Miss | undefined {
  if (!request.resourceRequest) return 'resource-rule-non-resource-request';
  if (nonEmpty(rule.namespaces) && !rule.namespaces.includes(request.namespace ?? '')) return 'namespaces';
  if (!nonEmpty(rule.resources)) return undefined;
  const group = request.apiGroup ?? '';
  const resource = request.resource ?? '';
  const subresource = request.subresource ?? '';
  const name = request.name ?? '';
  let combined: string | undefined;
  for (const gr of rule.resources) {
    const grGroup = gr.group ?? '';
    if (grGroup !== group && grGroup !== '*') continue;
    if (!nonEmpty(gr.resources)) return undefined;
    // resourceNames filter every resource of the entry, as upstream does.
    if (nonEmpty(gr.resourceNames) && !gr.resourceNames.includes(name)) continue;
    combined ??= subresource ? `${resource}/${subresource}` : resource;
    for (const res of gr.resources) {
      if (res === combined || res === '*') return undefined;
      if (subresource && res.startsWith('*/') && subresource === res.slice(2)) return undefined;
      // `pods/*` compares only the resource, so it also matches plain pods (upstream behaviour).
      if (res.endsWith('/*') && resource === res.slice(0, -2)) return undefined;
    }
  }
  return 'resources';
}

/** Words a miss the way `explain` prints it. */
function missReason(miss: Miss, rule: PolicyRule, request: RequestAttributes): string {
  const user = request.user;
  switch (miss) {
    case 'users-no-user':
      return 'the rule lists users and the request has no user';
    case 'users':
      return `user ${quote(user!.name)} is not in users ${list(rule.users!)}`;
    case 'groups-no-user':
      return 'the rule lists userGroups and the request has no user';
    case 'groups':
      return `none of the user's groups ${list(user!.groups ?? [])} is in userGroups ${list(rule.userGroups!)}`;
    case 'verbs':
      return `verb ${quote(request.verb)} is not in verbs ${list(rule.verbs!)}`;
    case 'resource-rule-non-resource-request':
      return 'the rule matches resources/namespaces and this is a non-resource request';
    case 'namespaces': {
      const namespace = request.namespace ?? '';
      return `${namespace === '' ? 'the cluster scope ("")' : `namespace ${quote(namespace)}`} is not in namespaces ${list(rule.namespaces!)}`;
    }
    case 'resources': {
      const group = request.apiGroup ?? '';
      const subresource = request.subresource ?? '';
      const combined = subresource ? `${request.resource ?? ''}/${subresource}` : request.resource ?? '';
      const name = request.name ?? '';
      const groupText = group === '' ? 'the core group ("")' : `group ${quote(group)}`;
      return `${quote(combined)}${name ? ` named ${quote(name)}` : ''} in ${groupText} matches none of the rule's resources`;
    }
    case 'url-rule-resource-request':
      return 'the rule matches non-resource URLs and this is a resource request';
    case 'urls':
      return `path ${quote(request.path)} matches none of nonResourceURLs ${list(rule.nonResourceURLs!)}`;
  }
}

function nonEmpty<T>(values: T[] | undefined): values is T[] {
  return values !== undefined && values.length > 0;
}

function list(values: readonly string[]): string {
  return `[${values.map((v) => quote(v)).join(', ')}]`;
}

/** The union of the policy's and the rule's omitStages, without repeats, sorted. */
function sortedStages(policyStages: readonly string[] | undefined, ruleStages?: readonly string[]): Stage[] {
  const out: string[] = [];
  if (policyStages) for (const s of policyStages) if (!out.includes(s)) out.push(s);
  if (ruleStages) for (const s of ruleStages) if (!out.includes(s)) out.push(s);
  return out.sort() as Stage[];
}

/** The stages at which an event is written for a request that gets `decision` (never for level None). */
export function recordedStages(decision: AuditDecision, options: { longRunning?: boolean } = {}): Stage[] {
  if (decision.level === Level.NONE) return [];
  const possible = options.longRunning
    ? [Stage.REQUEST_RECEIVED, Stage.RESPONSE_STARTED, Stage.RESPONSE_COMPLETE]
    : [Stage.REQUEST_RECEIVED, Stage.RESPONSE_COMPLETE];
  return possible.filter((s) => !decision.omitStages.includes(s)).sort((a, b) => STAGES.indexOf(a) - STAGES.indexOf(b));
}
