import { formatBytes } from '../core/units';
import { SECRET_RESOURCES } from '../policy/audit-rule';
import { evaluatePolicy, matchRule } from '../policy/evaluate';
import { Level, PolicyDocument, PolicyRule, RequestAttributes, Stage, levelRank } from '../policy/model';
import { ELASTIC_DETECTIONS } from './elastic';
import { FALCO_DETECTIONS } from './falco';
import { SIGMA_DETECTIONS } from './sigma';
import { Detection, DetectionRuleSet, WatchedRequest, minimumLevel } from './model';

/** Every detection the table holds, by rule set (Sigma and Elastic: a first selection, see the README). */
export const DETECTIONS: Readonly<Record<DetectionRuleSet, readonly Detection[]>> = { falco: FALCO_DETECTIONS, sigma: SIGMA_DETECTIONS, elastic: ELASTIC_DETECTIONS };

/** The user a representative request is sent as when the detection names none: a person, not a control-plane component. */
export const DETECTION_USER = { name: 'detection-user', groups: ['system:authenticated'] };

/** Why one watched request does not give a detection its fields, and the smallest change that does. */
export interface DetectionGap {
  /** e.g. `create pods in default`. */
  readonly request: string;
  readonly attributes: RequestAttributes;
  readonly level: Level;
  readonly needs: Level;
  /** The policy rule that decides the level (index into `rules`), or null when no rule matches. */
  readonly ruleIndex: number | null;
  /** The stage the detection reads, when the policy or the deciding rule omits it. */
  readonly stageOmitted?: Stage;
  /** The rule that covers the request, to be inserted at `insertAt`; absent when only a stage is omitted. */
  readonly fixRule?: PolicyRule;
  readonly insertAt?: number;
  /** The change, in words. */
  readonly fix: string;
}

export type DetectionStatus = 'covered' | 'not-covered' | 'withheld';

export interface DetectionCoverage {
  readonly detection: Detection;
  readonly minLevel: Level;
  /**
   * covered: every watched request is recorded with the fields the rule reads;
   * withheld: not covered, and covering it would record bodies of secret material (secrets, configmaps, tokens),
   * which this project never recommends; not-covered: any other gap.
   */
  readonly status: DetectionStatus;
  readonly gaps: readonly DetectionGap[];
}

export function watchedAttributes(w: WatchedRequest, verb: string): RequestAttributes {
  const namespace = w.clusterScoped ? '' : (w.namespace ?? 'default');
  const name = w.name ?? (w.subresource ? 'example' : undefined);
  const prefix = w.group ? `/apis/${w.group}/v1` : '/api/v1';
  const path = `${prefix}${namespace ? `/namespaces/${namespace}` : ''}/${w.resource}${name ? `/${name}` : ''}${w.subresource ? `/${w.subresource}` : ''}`;
  const user = w.user ? { name: w.user.name, groups: [...(w.user.groups ?? [])] } : DETECTION_USER;
  return {
    user, verb, namespace, apiGroup: w.group, apiVersion: 'v1', resource: w.resource, resourceRequest: true, path,
    ...(w.subresource ? { subresource: w.subresource } : {}), ...(name ? { name } : {}),
  };
}

function describe(a: RequestAttributes): string {
  const named = a.name && !a.subresource ? ` ${a.name}` : '';
  const res = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.apiGroup ? `.${a.apiGroup}` : ''}${named}`;
  return `${a.verb} ${res}${a.namespace ? ` in ${a.namespace}` : ''}${a.user && a.user !== DETECTION_USER ? ` by ${a.user.name}` : ''}`;
}

const isSecretMaterial = (a: RequestAttributes) =>
  SECRET_RESOURCES.some((g) => g.group === (a.apiGroup ?? '') && (g.resources ?? []).includes(a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '')));

/**
 * The smallest rule that records one request with the level it needs: exactly its verb, group and resource,
 * scoped like the rule that decides today (its users, groups and namespaces), so it only changes requests that
 * rule already decides; at the stricter of the two levels, so it never lowers anything. Where that rule has no such
 * scope and the detection is about one namespace (kube-system) or one kind of user (anonymous, service accounts:
 * the watched user's first group other than system:authenticated), the rule is narrowed to it.
 */
function coveringRule(policy: PolicyDocument, a: RequestAttributes, needs: Level, ruleIndex: number | null, w: WatchedRequest): PolicyRule {
  const decider = ruleIndex === null ? undefined : policy.rules[ruleIndex];
  const level = decider && levelRank(decider.level) > levelRank(needs) ? (decider.level as Level) : needs;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource as string);
  const population = w.user?.groups?.find((g) => g !== 'system:authenticated');
  const userScope = decider?.users || decider?.userGroups
    ? { ...(decider.users ? { users: [...decider.users] } : {}), ...(decider.userGroups ? { userGroups: [...decider.userGroups] } : {}) }
    : w.user ? (population ? { userGroups: [population] } : { users: [w.user.name] }) : {};
  const namespaces = decider?.namespaces ? [...decider.namespaces] : w.namespace !== undefined && !w.clusterScoped ? [w.namespace] : undefined;
  return {
    level,
    ...userScope,
    verbs: [a.verb],
    resources: [{ group: a.apiGroup ?? '', resources: [resource] }],
    ...(namespaces ? { namespaces } : {}),
  };
}

/** Whether the policy records, for every request a detection watches, the fields its condition reads. */
export function checkDetection(policy: PolicyDocument, detection: Detection): DetectionCoverage {
  const needs = minimumLevel(detection.reads, detection.levels);
  const accepted = detection.levels;
  const stage = detection.stage ?? Stage.RESPONSE_COMPLETE;
  const gaps: DetectionGap[] = [];
  let secret = false;
  for (const w of detection.watches) {
    for (const verb of w.verbs) {
      const a = watchedAttributes(w, verb);
      const d = evaluatePolicy(policy, a);
      const low = levelRank(d.level) < levelRank(needs);
      const unaccepted = !low && accepted !== undefined && !accepted.includes(d.level);
      const stageOmitted = d.level !== Level.NONE && d.omitStages.includes(stage) ? stage : undefined;
      if (!low && !unaccepted && !stageOmitted) continue;
      const by = d.ruleIndex === null ? 'no rule matches (level None)' : `rule ${d.ruleIndex} gives ${d.level}`;
      if (unaccepted) {
        // Only a lower level would fire it, and lowering could take away what compliance rules need: no rule proposed.
        gaps.push({
          request: describe(a), attributes: a, level: d.level, needs, ruleIndex: d.ruleIndex,
          fix: `${by}; the rule fires only on events at ${(accepted ?? []).join(' or ')}: lowering this request is the only policy fix (this tool never proposes one), or relax the rule's level condition`,
        });
      } else if (low && levelRank(needs) > levelRank(Level.METADATA) && isSecretMaterial(a)) {
        secret = true;
        gaps.push({
          request: describe(a), attributes: a, level: d.level, needs, ruleIndex: d.ruleIndex,
          fix: `${by}; it needs ${needs}, which records bodies of secret material: not recommended (allow it, or detect this another way)`,
        });
      } else if (low) {
        const fixRule = coveringRule(policy, a, needs, d.ruleIndex, w);
        const insertAt = d.ruleIndex ?? policy.rules.length;
        gaps.push({
          request: describe(a), attributes: a, level: d.level, needs, ruleIndex: d.ruleIndex, fixRule, insertAt,
          ...(stageOmitted ? { stageOmitted } : {}),
          fix: `${by}; insert ${d.ruleIndex === null ? 'at the end' : `before rule ${d.ruleIndex}`}: ${JSON.stringify(fixRule)}`,
        });
      } else {
        const policyOmits = (policy.omitStages ?? []).includes(stage);
        gaps.push({
          request: describe(a), attributes: a, level: d.level, needs, ruleIndex: d.ruleIndex, stageOmitted: stage,
          fix: `the rule reads ${stage} events; remove ${stage} from ${policyOmits ? "the policy's omitStages" : `rule ${d.ruleIndex}'s omitStages`}`,
        });
      }
    }
  }
  return { detection, minLevel: needs, status: gaps.length === 0 ? 'covered' : secret ? 'withheld' : 'not-covered', gaps };
}

/** {@link checkDetection} for each detection of the rule sets (all tabled detections by default). */
export function checkDetections(policy: PolicyDocument, ruleSets: readonly DetectionRuleSet[] = ['falco', 'sigma', 'elastic']): DetectionCoverage[] {
  return ruleSets.flatMap((s) => DETECTIONS[s].map((d) => checkDetection(policy, d)));
}

/** Text report: one line per detection, then each gap with its fix. */
export function formatCoverage(results: readonly DetectionCoverage[], allowed: readonly string[] = [], volume?: (gap: DetectionGap) => string | undefined): string {
  const lines: string[] = [];
  for (const r of results) {
    const mark = r.status === 'covered' ? 'covered' : allowed.includes(r.detection.name) ? `${r.status} (allowed)` : r.status;
    lines.push(`${r.detection.ruleSet}: ${r.detection.name}: ${mark} (needs ${r.minLevel})`);
    for (const g of r.gaps) {
      lines.push(`    ${g.request}: ${g.fix}`);
      const v = g.fixRule ? volume?.(g) : undefined;
      if (v) lines.push(`      volume: ${v}`);
    }
  }
  const count = (s: DetectionStatus) => results.filter((r) => r.status === s).length;
  lines.push(`${count('covered')} covered, ${count('not-covered')} not covered, ${count('withheld')} withheld (secret bodies), of ${results.length}`);
  return lines.join('\n');
}

/** What a proposed change would add to a sample audit log. */
export interface VolumeEstimate {
  /** ResponseComplete events in the sample of the gap's request kind (verb, group, resource/subresource). */
  readonly events: number;
  /** Of those, events recorded at the proposed level or above, or holding its bodies (so their size is known). */
  readonly measured: number;
  /** Bytes of those bodies (requestObject, and responseObject for RequestResponse) as compact JSON. */
  readonly addedBytes: number;
}

/**
 * The volume cost of covering one gap, measured on a sample of audit events (e.g. a log recorded at
 * RequestResponse on a staging cluster, or the bench workload's): the bodies the new level would add to the
 * events of that request kind. Events recorded without bodies are counted but cannot be measured.
 */
export function estimateGapVolume(gap: DetectionGap, sample: readonly unknown[]): VolumeEstimate {
  const a = gap.attributes;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  let events = 0;
  let measured = 0;
  let addedBytes = 0;
  for (const raw of sample) {
    const e = raw as SampleEvent;
    if (e?.stage !== Stage.RESPONSE_COMPLETE || e.verb !== a.verb) continue;
    const ref = e.objectRef ?? {};
    if ((ref.apiGroup ?? '') !== (a.apiGroup ?? '') || (ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource) !== resource) continue;
    // Only the events the proposed rule would decide (its users, groups, namespaces), judged by the policy checker.
    if (gap.fixRule && !matchRule(gap.fixRule, eventAttributes(e)).matched) continue;
    events++;
    const bodies = [e.requestObject, ...(gap.needs === Level.REQUEST_RESPONSE ? [e.responseObject] : [])];
    // Recorded at the needed level or above, a missing body is one the request never had (a GET, an exec): 0 bytes.
    const recordedAtNeed = e.level !== undefined && levelRank(e.level) >= levelRank(gap.needs);
    if (!recordedAtNeed && bodies.some((b) => b === undefined)) continue;
    measured++;
    addedBytes += bodies.reduce((n: number, b) => n + (b === undefined ? 0 : JSON.stringify(b).length), 0);
  }
  return { events, measured, addedBytes };
}

interface SampleEvent {
  readonly stage?: string;
  readonly level?: string;
  readonly verb?: string;
  readonly requestURI?: string;
  readonly user?: { readonly username?: string; readonly groups?: string[] };
  readonly objectRef?: { readonly apiGroup?: string; readonly apiVersion?: string; readonly resource?: string; readonly subresource?: string; readonly namespace?: string; readonly name?: string };
  readonly requestObject?: unknown;
  readonly responseObject?: unknown;
}

/** The request an event records, from its objectRef (the kind test above already matched it). */
function eventAttributes(e: SampleEvent): RequestAttributes {
  const ref = e.objectRef ?? {};
  return {
    verb: e.verb ?? '', resourceRequest: true, path: e.requestURI ?? '', namespace: ref.namespace ?? '', apiGroup: ref.apiGroup ?? '', resource: ref.resource,
    ...(ref.apiVersion ? { apiVersion: ref.apiVersion } : {}), ...(ref.subresource ? { subresource: ref.subresource } : {}), ...(ref.name ? { name: ref.name } : {}),
    ...(e.user?.username ? { user: { name: e.user.username, groups: e.user.groups ?? [] } } : {}),
  };
}

/** "+12.3 KiB over 40 events (2 of 42 without bodies)" */
export function formatVolume(v: VolumeEstimate): string {
  if (v.events === 0) return 'no such request in the sample';
  return `+${formatBytes(v.addedBytes)} over ${v.measured} event(s) of the sample${v.measured < v.events ? ` (${v.events - v.measured} of ${v.events} recorded without bodies: not measured)` : ''}`;
}
