import { checkDetections, DetectionRuleSet } from '../detections';
import { AuditRuleProps, toPolicyRule } from '../policy/audit-rule';
import { evaluatePolicy } from '../policy/evaluate';
import { AUDIT_API_VERSION, GroupResources, Level, PolicyDocument, PolicyRule, RequestAttributes, Stage, levelRank } from '../policy/model';
import { requestAttributesFromHttp } from '../policy/request-attributes';
import { CATALOGUE, CREDENTIAL_RESOURCES } from './catalogue';
import { AUDIT_NAMESPACE_DEFAULT } from './probes';
import { BodyLevel, EvidenceMatch, PresetDefinition, PresetFlags, ProbeCaller, Requirement, RequirementProbe, Retention } from './types';
import type { KubernetesVersion } from '../core/kubernetes-version';
import { formatProblemList } from '../core/problem';

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
  /** @default - the newest supported version */
  readonly kubernetesVersion?: KubernetesVersion;
  /**
   * Detection rule sets (e.g. `['falco']`) whose rules must be able to fire: the levels their watched requests
   * need are raised, never lowered, and never to bodies of secret material (see `checkDetections`).
   * @default none
   */
  readonly detections?: DetectionRuleSet[];
  /**
   * Namespaces that hold personal data: every request in them is recorded at Metadata, never a body (only
   * presets that choose the rule use it: gdpr). Changes to RBAC objects in them keep their bodies.
   * @default none
   */
  readonly personalDataNamespaces?: string[];
  /** Resources that hold personal data (e.g. a CRD): every request for them at Metadata, never a body (gdpr). @default none */
  readonly personalDataResources?: GroupResources[];
  /**
   * The most days audit records may be kept (a preset's maximum, e.g. gdpr Art. 5(1)(e)).
   * @default the preset's own (gdpr: GDPR_MAX_RETENTION_DAYS)
   */
  readonly maxRetentionDays?: number;
  /**
   * Which wins when a preset's maximum retention is shorter than another's minimum. Without it such a
   * composition is refused, naming both requirements.
   * @default none (refuse)
   */
  readonly retentionPrecedence?: RetentionPrecedence;
}

/** The options that change the requirement table or whether presets compose: ClusterAudit writes them to dist/node/files.yaml for prove. */
export type CompositionOptions = Pick<PresetOptions, 'retentionPrecedence' | 'maxRetentionDays' | 'personalDataNamespaces' | 'personalDataResources'>;

/** Which retention wins when a maximum (gdpr) is below a minimum (pci-dss, hipaa, nist-800-53, cis). */
export enum RetentionPrecedence {
  /** The longer minimum wins: the maximum is raised to it (e.g. a legal obligation to keep, GDPR Art. 17(3)(b)). */
  MINIMUM = 'minimum',
  /** The maximum wins: records are deleted sooner, and the minimum requirements are reported not met. */
  MAXIMUM = 'maximum',
}

/** Where each rule of a composed policy comes from. */
export type RuleOrigin = { readonly kind: 'catalogue'; readonly id: string; readonly description: string } | { readonly kind: 'exclude' | 'before' | 'after' | 'detection'; readonly description: string };

export interface RequirementRef extends Requirement {
  /** The preset whose table holds the requirement. */
  readonly preset: string;
}

/** The result of composing one or more presets. */
export interface ComposedPreset {
  /** @jsii ignore the preset definitions hold functions (probes, rule builders); TypeScript only */
  readonly presets: readonly PresetDefinition[];
  readonly policy: PolicyDocument;
  /**
   * One entry per policy rule.
   * @jsii ignore TypeScript only (a union of origin kinds)
   */
  readonly origins: readonly RuleOrigin[];
  /** @jsii ignore TypeScript only (requirements carry their probes) */
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
    super(`the customisations conflict with the presets:\n${formatProblemList(conflicts)}`);
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
    const built = entry.build({ bodyLevel, auditNamespace, personalDataNamespaces: options.personalDataNamespaces, personalDataResources: options.personalDataResources });
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
  const declared = personalDataProbes(options);
  checkPersonalDataOptions(presets, options);
  let requirements: RequirementRef[] = presets.flatMap((p) => p.requirements.map((r) => withPersonalData({ ...r, preset: p.name }, declared, options)));
  const conflicts = probeConflicts(policy, origins, requirements);
  if (conflicts.length > 0) throw new PresetConflictError(conflicts);
  let retention = mergeRetention(presets.map((p) => p.retention));
  let logFlags = mergeFlags(presets.map((p) => p.logFlags));
  const limited = limitRetention(requirements, retention, logFlags, options);
  if (limited) ({ requirements, retention, logFlags } = limited);
  return {
    presets,
    policy,
    origins,
    requirements,
    bodyLevel,
    auditNamespace,
    retention,
    logFlags,
    webhookFlags: mergeFlags(presets.map((p) => p.webhookFlags)),
  };
}

const PERSONAL_DATA_RULES = ['personal-data-namespaces', 'personal-data-resources'];

function checkPersonalDataOptions(presets: readonly PresetDefinition[], options: PresetOptions): void {
  const given = [options.personalDataNamespaces?.length ? 'personalDataNamespaces' : '', options.personalDataResources?.length ? 'personalDataResources' : ''].filter(Boolean);
  if (given.length && !presets.some((p) => p.rules.some((c) => PERSONAL_DATA_RULES.includes(c.id)))) {
    throw new Error(`${given.join(' and ')}: none of the presets (${presets.map((p) => p.name).join(', ')}) records personal data by declaration; add the gdpr preset, or use rulesBefore`);
  }
  const maxHolders = presets.filter((p) => p.requirements.some((r) => r.settings?.retainAtMostDays !== undefined));
  if (options.maxRetentionDays !== undefined) {
    if (!Number.isSafeInteger(options.maxRetentionDays) || options.maxRetentionDays < 1) {
      throw new Error(`maxRetentionDays: ${JSON.stringify(options.maxRetentionDays)} is not a whole number of days ≥ 1`);
    }
    if (maxHolders.length === 0) throw new Error(`maxRetentionDays: none of the presets (${presets.map((p) => p.name).join(', ')}) has a maximum retention; add the gdpr preset, or leave it out`);
  }
  const bad = options.retentionPrecedence;
  if (bad !== undefined && !Object.values(RetentionPrecedence).includes(bad)) {
    throw new Error(`retentionPrecedence: ${JSON.stringify(bad)} is not one of ${Object.values(RetentionPrecedence).join(', ')}`);
  }
}

/** A read and a write probe (exactly Metadata) for each declared personal-data namespace and resource. */
function personalDataProbes(options: PresetOptions): { probes: RequirementProbe[]; matches: EvidenceMatch[] } {
  const probes: RequirementProbe[] = [];
  const matches: EvidenceMatch[] = [];
  const md = { minLevel: Level.METADATA, maxLevel: Level.METADATA };
  for (const ns of options.personalDataNamespaces ?? []) {
    probes.push({ description: `read Pods in ${ns} (declared personal data)`, as: ProbeCaller.ADMIN, method: 'GET', path: `/api/v1/namespaces/${ns}/pods`, ...md });
    probes.push({ description: `change a Deployment in ${ns} (declared personal data)`, as: ProbeCaller.ADMIN, method: 'PATCH', path: `/apis/apps/v1/namespaces/${ns}/deployments/web`, body: { spec: { replicas: 2 } }, ...md });
  }
  if (options.personalDataNamespaces?.length) matches.push({ namespaces: [...options.personalDataNamespaces], ...md });
  for (const gr of options.personalDataResources ?? []) {
    const group = gr.group ?? '';
    const base = group === '' ? '/api/v1' : `/apis/${group}/v1`;
    for (const r of (gr.resources ?? []).filter((x) => !x.includes('*') && !x.includes('/'))) {
      probes.push({ description: `list ${r} (declared personal data)`, as: ProbeCaller.ADMIN, method: 'GET', path: `${base}/namespaces/default/${r}`, ...md });
      probes.push({ description: `create ${r} (declared personal data)`, as: ProbeCaller.ADMIN, method: 'POST', path: `${base}/namespaces/default/${r}`, body: { metadata: { name: 'probe-personal-data' } }, ...md });
    }
    if (gr.resources?.length) matches.push({ group, resources: [...gr.resources], ...md });
  }
  return { probes, matches };
}

/**
 * Adds the declared personal data to a requirement that is about it. In namespaces, RBAC objects come first:
 * their changes are recorded with bodies (Art. 32(4)), so they are held to at least Metadata here.
 */
function withPersonalData(req: RequirementRef, declared: { probes: RequirementProbe[]; matches: EvidenceMatch[] }, options: PresetOptions): RequirementRef {
  if (!req.personalDataProbes || declared.probes.length + declared.matches.length === 0) return req;
  const credentials = options.personalDataNamespaces?.length ? CREDENTIAL_RESOURCES.map((gr) => ({ group: gr.group ?? '', ...(gr.resources ? { resources: [...gr.resources] } : {}), namespaces: [...options.personalDataNamespaces!], minLevel: Level.METADATA })) : [];
  return {
    ...req,
    probes: [...req.probes, ...declared.probes],
    ...(req.evidence ? { evidence: { ...req.evidence, anyOf: [...req.evidence.anyOf, ...credentials, ...declared.matches] } } : {}),
  };
}

/** A minimum retention some requirement needs: settings.retainDays, or --audit-log-maxage at least N. */
function minimums(requirements: readonly RequirementRef[]): { req: RequirementRef; days: number; what: string }[] {
  const out: { req: RequirementRef; days: number; what: string }[] = [];
  for (const req of requirements) {
    if (req.settings?.retainDays !== undefined) out.push({ req, days: req.settings.retainDays, what: `records kept at least ${req.settings.retainDays} days` });
    for (const c of req.flagChecks ?? []) if (c.flag === 'audit-log-maxage' && c.atLeast !== undefined) out.push({ req, days: c.atLeast, what: `--audit-log-maxage at least ${c.atLeast}` });
  }
  return out;
}

/**
 * Applies a maximum retention (gdpr Art. 5(1)(e)): the claimed retention and --audit-log-maxage are capped at
 * it. A minimum above it is refused unless `retentionPrecedence` says which wins. undefined = no maximum.
 */
function limitRetention(requirements: RequirementRef[], retention: Retention, logFlags: PresetFlags, options: PresetOptions): { requirements: RequirementRef[]; retention: Retention; logFlags: PresetFlags } | undefined {
  const holder = requirements.find((r) => r.settings?.retainAtMostDays !== undefined);
  if (!holder) return undefined;
  let max = options.maxRetentionDays ?? holder.settings!.retainAtMostDays!;
  const above = minimums(requirements).filter((m) => m.days > max);
  let note = options.maxRetentionDays !== undefined ? `maximum set to ${max} days (maxRetentionDays)` : '';
  if (above.length) {
    const name = (r: RequirementRef) => `${r.preset} ${r.id}`;
    if (options.retentionPrecedence === undefined) {
      throw new PresetConflictError(above.map((m) => `${name(holder)} keeps audit records at most ${max} days, but ${name(m.req)} needs ${m.what}; ` +
        `say which wins: retentionPrecedence '${RetentionPrecedence.MINIMUM}' (--retention-precedence minimum: keep ${Math.max(...above.map((a) => a.days))} days, where a legal obligation requires it) ` +
        `or '${RetentionPrecedence.MAXIMUM}' (--retention-precedence maximum: delete after ${max} days; ${name(m.req)} is then reported not met)`));
    }
    if (options.retentionPrecedence === RetentionPrecedence.MINIMUM) {
      max = Math.max(...above.map((m) => m.days));
      note = `maximum raised to ${max} days because the user let the longer minimum win (retentionPrecedence minimum: ${above.map((m) => name(m.req)).join(', ')})`;
    } else {
      note = `the maximum wins over ${above.map((m) => name(m.req)).join(', ')} (retentionPrecedence maximum): they are not met`;
    }
  }
  const capped = { ...retention, onlineDays: Math.min(retention.onlineDays, max), totalDays: Math.min(retention.totalDays, max) };
  const flags: Record<string, string | number | boolean> = { ...logFlags };
  if (typeof flags['audit-log-maxage'] === 'number' && flags['audit-log-maxage'] > max) flags['audit-log-maxage'] = max;
  const reqs = requirements.map((r) =>
    r === holder || r.settings?.retainAtMostDays !== undefined
      ? { ...r, settings: { ...r.settings, retainAtMostDays: max }, ...(note ? { note: `${r.note ? `${r.note} ` : ''}Composed: ${note}.` } : {}) }
      : r,
  );
  return { requirements: reqs, retention: { ...capped, basis: note ? `${capped.basis}; ${note}` : capped.basis }, logFlags: flags };
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

