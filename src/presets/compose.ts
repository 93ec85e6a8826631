import { checkDetections, DetectionRuleSet } from '../detections';
import { AuditRuleProps, toPolicyRule } from '../policy/audit-rule';
import { evaluatePolicy } from '../policy/evaluate';
import { AUDIT_API_VERSION, Level, PolicyDocument, PolicyRule, RequestAttributes, Stage, levelRank } from '../policy/model';
import { requestAttributesFromHttp } from '../policy/request-attributes';
import { CATALOGUE } from './catalogue';
import { AUDIT_NAMESPACE_DEFAULT } from './probes';
import { BodyLevel, PresetDefinition, PresetFlags, ProbeCaller, Requirement, RequirementProbe, Retention } from './types';

export interface PresetOptions {
  /** Body detail for writes. @default the most detailed level of the chosen presets */
  readonly bodyLevel?: BodyLevel;
  /** Namespace of the audit sink. @default "audit" */
  readonly auditNamespace?: string;
  /** Namespaces whose requests are not recorded (e.g. noisy tenants). @default none */
  readonly excludeNamespaces?: string[];
  /** Users whose requests are not recorded (e.g. noisy controllers). @default none */
  readonly excludeUsers?: string[];
  /** Rules evaluated before the preset's rules. @default none */
  readonly rulesBefore?: AuditRuleProps[];
  /** Rules evaluated after the preset's specific rules, before its catch-all. @default none */
  readonly rulesAfter?: AuditRuleProps[];
  /** @default the newest supported version */
  readonly kubernetesVersion?: string;
  /**
   * Detection rule sets (e.g. `['falco']`) whose rules must be able to fire: the levels their watched requests
   * need are raised, never lowered, and never to bodies of secret material (see `checkDetections`).
   * @default none
   */
  readonly detections?: DetectionRuleSet[];
}

/** Where each rule of a composed policy comes from. */
export type RuleOrigin = { readonly kind: 'catalogue'; readonly id: string; readonly description: string } | { readonly kind: 'exclude' | 'before' | 'after' | 'detection'; readonly description: string };

export interface RequirementRef extends Requirement {
  /** The preset whose table holds the requirement. */
  readonly preset: string;
}

/** The result of composing one or more presets. */
export interface ComposedPreset {
  readonly presets: readonly PresetDefinition[];
  readonly policy: PolicyDocument;
  /** One entry per policy rule. */
  readonly origins: readonly RuleOrigin[];
  readonly requirements: readonly RequirementRef[];
  readonly bodyLevel: BodyLevel;
  /** Namespace of the audit sink (access to it is access to audit logs). */
  readonly auditNamespace: string;
  readonly retention: Retention;
  readonly logFlags: PresetFlags;
  readonly webhookFlags: PresetFlags;
}

/** A customisation that would break a requirement of the chosen presets. */
export class PresetConflictError extends Error {
  constructor(readonly conflicts: string[]) {
    super(`the customisations conflict with the presets:\n${conflicts.map((c) => `  - ${c}`).join('\n')}`);
    this.name = 'PresetConflictError';
  }
}

const BODY_ORDER = [BodyLevel.METADATA, BodyLevel.WRITE_BODIES, BodyLevel.ALL_BODIES];

/** The identities probes are sent as; the real-control-plane suite sends them with these names. */
export const PROBE_USERS: Readonly<Record<ProbeCaller, { name: string; groups: string[] } | undefined>> = {
  [ProbeCaller.ADMIN]: { name: 'e2e-admin', groups: ['system:masters', 'system:authenticated'] },
  [ProbeCaller.USER]: { name: 'alice', groups: ['dev', 'system:authenticated'] },
  [ProbeCaller.ANONYMOUS]: { name: 'system:anonymous', groups: ['system:unauthenticated'] },
};

export function probeAttributes(probe: RequirementProbe): RequestAttributes {
  return requestAttributesFromHttp(probe.method, probe.path, PROBE_USERS[probe.as]);
}

/**
 * Composes presets: the union of their catalogue rules in catalogue order, the more detailed level
 * where they differ (secret rules never above Metadata), the longer retention and rotation, then the
 * customisations. Every requirement's probes must still get their level, or it throws.
 */
export function composePresets(presets: readonly PresetDefinition[], options: PresetOptions = {}): ComposedPreset {
  if (presets.length === 0) throw new Error('composePresets: no preset given');
  const bodyLevel = options.bodyLevel ?? BODY_ORDER[Math.max(...presets.map((p) => BODY_ORDER.indexOf(p.bodyLevel)))];
  if (!BODY_ORDER.includes(bodyLevel)) throw new Error(`bodyLevel ${JSON.stringify(bodyLevel)} is not one of ${BODY_ORDER.join(', ')}`);
  const auditNamespace = options.auditNamespace ?? AUDIT_NAMESPACE_DEFAULT;
  const rules: PolicyRule[] = [];
  const origins: RuleOrigin[] = [];
  const push = (rule: AuditRuleProps, origin: RuleOrigin) => {
    rules.push(toPolicyRule(rule));
    origins.push(origin);
  };
  for (const r of options.rulesBefore ?? []) push(r, { kind: 'before', description: 'rule added before the preset' });
  if (options.excludeUsers?.length) push({ level: Level.NONE, users: [...options.excludeUsers] }, { kind: 'exclude', description: `excluded users: ${options.excludeUsers.join(', ')}` });
  if (options.excludeNamespaces?.length) {
    push({ level: Level.NONE, namespaces: [...options.excludeNamespaces] }, { kind: 'exclude', description: `excluded namespaces: ${options.excludeNamespaces.join(', ')}` });
  }
  for (const entry of CATALOGUE) {
    const choices = presets.flatMap((p) => p.rules.filter((c) => c.id === entry.id));
    if (choices.length === 0) continue;
    if (entry.id === 'catch-all') for (const r of options.rulesAfter ?? []) push(r, { kind: 'after', description: 'rule added after the preset' });
    const built = entry.build({ bodyLevel, auditNamespace });
    if (!built) continue;
    const levels = [built.level, ...choices.map((c) => c.level).filter((l): l is Level => l !== undefined)];
    let level = levels.reduce((a, b) => (levelRank(b) > levelRank(a) ? b : a));
    if (entry.secret && levelRank(level) > levelRank(Level.METADATA)) level = Level.METADATA;
    push({ ...built, level }, { kind: 'catalogue', id: entry.id, description: entry.description });
  }
  if (!presets.some((p) => p.rules.some((c) => c.id === 'catch-all'))) {
    for (const r of options.rulesAfter ?? []) push(r, { kind: 'after', description: 'rule added after the preset' });
  }
  const policy: PolicyDocument = {
    apiVersion: AUDIT_API_VERSION,
    kind: 'Policy',
    metadata: { name: presets.map((p) => p.name).join('+') },
    omitStages: [Stage.REQUEST_RECEIVED],
    omitManagedFields: true,
    rules,
  };
  if (options.detections?.length) addDetectionRules(policy, origins, options.detections);
  const requirements = presets.flatMap((p) => p.requirements.map((r) => ({ ...r, preset: p.name })));
  const conflicts = probeConflicts(policy, origins, requirements);
  if (conflicts.length > 0) throw new PresetConflictError(conflicts);
  return {
    presets,
    policy,
    origins,
    requirements,
    bodyLevel,
    auditNamespace,
    retention: mergeRetention(presets.map((p) => p.retention)),
    logFlags: mergeFlags(presets.map((p) => p.logFlags)),
    webhookFlags: mergeFlags(presets.map((p) => p.webhookFlags)),
  };
}

/**
 * Inserts, one at a time, the covering rule `checkDetections` proposes for each gap (a rule scoped like the one
 * that decided, at the stricter level, placed just before it), until no detection of the sets is 'not-covered'.
 * 'withheld' detections (they would need secret bodies) stay uncovered. Mutates `policy.rules` and `origins`.
 */
function addDetectionRules(policy: PolicyDocument, origins: RuleOrigin[], sets: readonly DetectionRuleSet[]): void {
  // Each insertion closes at least one gap and opens none (it only raises levels), so this ends; the bound guards it.
  for (let guard = 0; guard < 1000; guard++) {
    const open = checkDetections(policy, sets).filter((r) => r.status === 'not-covered');
    const found = open.flatMap((r) => r.gaps.map((g) => ({ r, g }))).find(({ g }) => g.fixRule !== undefined);
    if (!found) return;
    const { r, g } = found;
    policy.rules.splice(g.insertAt as number, 0, g.fixRule as PolicyRule);
    origins.splice(g.insertAt as number, 0, { kind: 'detection', description: `${g.request} at ${g.fixRule?.level}, for ${r.detection.ruleSet} "${r.detection.name}"` });
  }
  throw new Error('composePresets: detection rules did not converge');
}

/** Each probe must get at least its minimum level and at most its maximum. */
export function probeConflicts(policy: PolicyDocument, origins: readonly RuleOrigin[], requirements: readonly RequirementRef[]): string[] {
  const out: string[] = [];
  for (const req of requirements) {
    for (const probe of req.probes) {
      const d = evaluatePolicy(policy, probeAttributes(probe));
      const low = levelRank(d.level) < levelRank(probe.minLevel);
      const high = probe.maxLevel !== undefined && levelRank(d.level) > levelRank(probe.maxLevel);
      if (!low && !high) continue;
      const by = d.ruleIndex === null ? 'no rule' : `rule ${d.ruleIndex} (${origins[d.ruleIndex].kind === 'catalogue' ? (origins[d.ruleIndex] as { id: string }).id : origins[d.ruleIndex].description})`;
      out.push(
        `${req.preset} ${req.id} (${req.summary}): "${probe.description}" gets level ${d.level} from ${by}, ` +
          (low ? `but needs at least ${probe.minLevel}` : `but may be recorded at most at ${probe.maxLevel}`),
      );
    }
  }
  return out;
}

function mergeRetention(all: Retention[]): Retention {
  return {
    onlineDays: Math.max(...all.map((r) => r.onlineDays)),
    totalDays: Math.max(...all.map((r) => r.totalDays)),
    basis: all.map((r) => r.basis).join('; '),
  };
}

/** Numbers: the larger (longer retention, more backups); booleans: either; strings: must agree. */
function mergeFlags(all: PresetFlags[]): PresetFlags {
  const out: Record<string, string | number | boolean> = {};
  for (const flags of all) {
    for (const [k, v] of Object.entries(flags)) {
      const prev = out[k];
      if (prev === undefined) out[k] = v;
      else if (typeof v === 'number' && typeof prev === 'number') out[k] = Math.max(prev, v);
      else if (typeof v === 'boolean' && typeof prev === 'boolean') out[k] = prev || v;
      else if (prev !== v) throw new PresetConflictError([`flag --${k}: one preset sets ${JSON.stringify(prev)}, another ${JSON.stringify(v)}`]);
    }
  }
  return out;
}

