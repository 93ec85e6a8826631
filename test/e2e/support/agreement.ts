/**
 * Compares what a real apiserver recorded with what `evaluatePolicy` predicts, for EVERY request in an
 * audit log (the apiserver's own internal requests included), and for every scripted workload step.
 */
import { isDeepStrictEqual } from 'node:util';
import { evaluatePolicy } from '../../../src/policy/evaluate';
import type { AuditDecision, PolicyDocument, RequestAttributes } from '../../../src/policy/model';
import { AuditEvent, attributesFromEvents, brief, expectedStages, groupByAuditId, isLongRunning, STAGE_ORDER } from './audit-events';
import type { WorkloadStep } from './workload';

export interface Disagreement {
  readonly auditId: string;
  readonly problem: string;
  readonly attributes?: RequestAttributes;
  readonly decision?: AuditDecision;
  readonly events: string[];
}

export interface AgreementReport {
  /** Requests (auditIDs) checked. */
  readonly requests: number;
  readonly events: number;
  readonly byLevel: Record<string, number>;
  /** Long-running requests still open when the apiserver stopped (no ResponseComplete yet): allowed. */
  readonly unfinishedLongRunning: number;
  /** Events at RequestResponse whose bodies still hold managedFields (proves that check can see them). */
  readonly bodiesWithManagedFields: number;
  readonly disagreements: Disagreement[];
}

function sortStages(stages: string[]): string[] {
  return [...stages].sort((a, b) => STAGE_ORDER.indexOf(a as never) - STAGE_ORDER.indexOf(b as never));
}

/** True if `value` holds a `managedFields` key anywhere (object metadata, list items). */
export function containsManagedFields(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsManagedFields);
  if (value && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => k === 'managedFields' || containsManagedFields(v));
  }
  return false;
}

/** Problems with one request's events under the predicted decision; empty when they agree. */
export function checkRequest(
  policy: PolicyDocument,
  events: readonly AuditEvent[],
): { attributes?: RequestAttributes; decision?: AuditDecision; problems: string[]; unfinished: boolean; managedFields: number } {
  let attributes: RequestAttributes;
  try {
    attributes = attributesFromEvents(events);
  } catch (error) {
    return { problems: [`cannot rebuild the request attributes: ${(error as Error).message}`], unfinished: false, managedFields: 0 };
  }
  const decision = evaluatePolicy(policy, attributes);
  const problems: string[] = [];
  let managedFields = 0;
  const levels = [...new Set(events.map((e) => e.level))];
  if (decision.level === 'None') {
    problems.push(`the apiserver recorded it at ${levels.join('/')} but evaluatePolicy says None (no rule matches)`);
  } else {
    if (levels.length !== 1 || levels[0] !== decision.level) {
      problems.push(`level: apiserver ${levels.join('/')}, evaluatePolicy ${decision.level} (rule ${decision.ruleIndex})`);
    }
    if (decision.ruleIndex === null) problems.push(`evaluatePolicy returned level ${decision.level} without a ruleIndex`);
  }
  const stages = events.map((e) => e.stage);
  const omitted = stages.filter((s) => decision.omitStages.includes(s as never));
  if (omitted.length) problems.push(`stage(s) ${omitted.join(', ')} recorded although evaluatePolicy omits ${decision.omitStages.join(', ')}`);
  if (new Set(stages).size !== stages.length) problems.push(`duplicate stages: ${stages.join(', ')}`);
  const expected = expectedStages(attributes, decision.omitStages);
  const got = sortStages([...new Set(stages)]);
  let unfinished = false;
  if (!isDeepStrictEqual(got, expected)) {
    const withoutComplete = expected.filter((s) => s !== 'ResponseComplete');
    if (isLongRunning(attributes) && isDeepStrictEqual(got, withoutComplete)) unfinished = true;
    else problems.push(`stages: apiserver ${got.join(', ') || 'none'}, expected ${expected.join(', ') || 'none'}`);
  }
  for (const e of events) {
    if (e.level === 'Metadata' && (e.requestObject !== undefined || e.responseObject !== undefined)) {
      problems.push(`${e.stage} at Metadata carries a request/response body`);
    }
    if (e.level === 'Request' && e.responseObject !== undefined) problems.push(`${e.stage} at Request carries a response body`);
    const hasManaged = containsManagedFields(e.requestObject) || containsManagedFields(e.responseObject);
    if (hasManaged) managedFields++;
    if (hasManaged && decision.omitManagedFields) problems.push(`${e.stage} keeps managedFields although evaluatePolicy says omitManagedFields`);
  }
  return { attributes, decision, problems, unfinished, managedFields };
}

/** Checks every request in `events` against the policy. */
export function checkAllEvents(policy: PolicyDocument, events: readonly AuditEvent[]): AgreementReport {
  const byLevel: Record<string, number> = {};
  const disagreements: Disagreement[] = [];
  let unfinishedLongRunning = 0;
  let bodiesWithManagedFields = 0;
  const groups = groupByAuditId(events);
  for (const [auditId, group] of groups) {
    const result = checkRequest(policy, group);
    byLevel[group[0].level] = (byLevel[group[0].level] ?? 0) + 1;
    if (result.unfinished) unfinishedLongRunning++;
    bodiesWithManagedFields += result.managedFields;
    if (result.problems.length) {
      disagreements.push({ auditId, problem: result.problems.join('; '), attributes: result.attributes, decision: result.decision, events: group.map(brief) });
    }
  }
  return { requests: groups.size, events: events.length, byLevel, unfinishedLongRunning, bodiesWithManagedFields, disagreements };
}

/**
 * Checks each workload step: the attributes rebuilt from its events equal the ones written by hand in the
 * workload, a None decision leaves no event, and a finished request has exactly its expected stages.
 */
export function checkWorkloadSteps(policy: PolicyDocument, steps: readonly WorkloadStep[], events: readonly AuditEvent[]): Disagreement[] {
  const groups = groupByAuditId(events);
  const out: Disagreement[] = [];
  for (const step of steps) {
    const label = `step "${step.description}" (${step.method} ${step.uri} → ${step.status})`;
    if (!step.auditId) {
      out.push({ auditId: '-', problem: `${label}: the response had no Audit-Id header`, events: [] });
      continue;
    }
    const decision = evaluatePolicy(policy, step.expected);
    const group = groups.get(step.auditId) ?? [];
    const expected = decision.level === 'None' ? [] : expectedStages(step.expected, decision.omitStages);
    const got = sortStages(group.map((e) => e.stage));
    const problems: string[] = [];
    if (!isDeepStrictEqual(got, expected)) problems.push(`stages: apiserver ${got.join(', ') || 'none'}, expected ${expected.join(', ') || 'none'} (level ${decision.level}, rule ${decision.ruleIndex})`);
    if (group.length) {
      let rebuilt: RequestAttributes | undefined;
      try {
        rebuilt = attributesFromEvents(group);
      } catch (error) {
        problems.push((error as Error).message);
      }
      if (rebuilt && !isDeepStrictEqual(rebuilt, step.expected)) {
        problems.push(`attributes rebuilt from the events ${JSON.stringify(rebuilt)} differ from the workload's ${JSON.stringify(step.expected)}`);
      }
    }
    if (problems.length) out.push({ auditId: step.auditId, problem: `${label}: ${problems.join('; ')}`, attributes: step.expected, decision, events: group.map(brief) });
  }
  return out;
}

/** A readable report of disagreements: the event, the attributes, the decision and the rule. */
export function formatDisagreements(policy: PolicyDocument, disagreements: readonly Disagreement[], max = 15): string {
  const shown = disagreements.slice(0, max).map((d) => {
    const rule = d.decision?.ruleIndex !== null && d.decision?.ruleIndex !== undefined ? JSON.stringify(policy.rules[d.decision.ruleIndex]) : 'none';
    return [
      `- ${d.problem}`,
      ...d.events.map((e) => `    event: ${e}`),
      d.attributes ? `    attributes: ${JSON.stringify(d.attributes)}` : '',
      d.decision ? `    evaluatePolicy: ${JSON.stringify(d.decision)} rule: ${rule}` : '',
    ].filter(Boolean).join('\n');
  });
  const more = disagreements.length > max ? `\n… and ${disagreements.length - max} more` : '';
  return `${disagreements.length} disagreement(s) between the apiserver and evaluatePolicy:\n${shown.join('\n')}${more}`;
}
