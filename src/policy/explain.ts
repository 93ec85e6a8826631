import { evaluatePolicy, matchRule, recordedStages } from './evaluate';
import { quote } from './issue';
import { AuditDecision, PolicyDocument, RequestAttributes } from './model';

export interface RuleTrace {
  readonly ruleIndex: number;
  readonly matched: boolean;
  /** Why the rule missed; absent for the matching rule. */
  readonly reason?: string;
}

export interface Explanation {
  readonly decision: AuditDecision;
  /** Every rule up to and including the matching one (all rules when none matched). */
  readonly trace: RuleTrace[];
}

/** Which rule decides a request, and why each earlier rule missed. */
export function explainRequest(policy: PolicyDocument, request: RequestAttributes): Explanation {
  const trace: RuleTrace[] = [];
  for (let i = 0; i < policy.rules.length; i++) {
    const m = matchRule(policy.rules[i], request);
    trace.push(m.matched ? { ruleIndex: i, matched: true } : { ruleIndex: i, matched: false, reason: m.reason });
    if (m.matched) break;
  }
  return { decision: evaluatePolicy(policy, request), trace };
}

export function describeRequest(r: RequestAttributes): string {
  const who = r.user ? `user ${quote(r.user.name)}${r.user.groups?.length ? ` (groups ${r.user.groups.join(', ')})` : ''}` : 'an unauthenticated request';
  if (!r.resourceRequest) return `${r.verb} ${r.path} by ${who}`;
  const res = `${r.apiGroup ? r.apiGroup + '/' : ''}${r.resource ?? ''}${r.subresource ? '/' + r.subresource : ''}`;
  const where = r.namespace ? ` in namespace ${quote(r.namespace)}` : ' (cluster scope)';
  return `${r.verb} ${res}${r.name ? ` ${quote(r.name)}` : ''}${where} by ${who}`;
}

/** Human-readable explanation, as `cdk8s-audit explain` prints it. */
export function formatExplanation(policy: PolicyDocument, request: RequestAttributes, e: Explanation): string {
  const lines = [`Request: ${describeRequest(request)}`, ''];
  for (const t of e.trace) {
    const rule = policy.rules[t.ruleIndex];
    lines.push(t.matched ? `  rule ${t.ruleIndex} (${rule.level}): MATCHES` : `  rule ${t.ruleIndex} (${rule.level}): no — ${t.reason}`);
  }
  const d = e.decision;
  lines.push('');
  if (d.ruleIndex === null) {
    lines.push('Decision: level None — no rule matched, so the request is not recorded.');
  } else {
    const stages = recordedStages(d);
    lines.push(`Decision: level ${d.level} by rule ${d.ruleIndex}.`);
    lines.push(`  omitted stages: ${d.omitStages.length ? d.omitStages.join(', ') : 'none'}`);
    lines.push(`  managedFields omitted: ${d.omitManagedFields ? 'yes' : 'no'}`);
    lines.push(`  events written: ${stages.length ? stages.join(', ') : 'none'}${d.level === 'None' ? '' : ' (plus ResponseStarted for long-running requests such as watch)'}`);
  }
  return lines.join('\n');
}
