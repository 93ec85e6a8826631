import { evaluatePolicy } from '../policy/evaluate';
import { AuditEventLike, requestAttributesFromEvent } from '../policy/request-attributes';
import { ComposedPreset, probeAttributes, RequirementRef } from '../presets/compose';
import { RequirementProbe } from '../presets/types';
import { Level, levelRank } from '../policy/model';

/** The fields of a logged audit event the report shows (never bodies). */
export interface LoggedEvent extends AuditEventLike {
  readonly kind?: string;
  readonly auditID?: string;
  readonly stage?: string;
  readonly level?: string;
  readonly stageTimestamp?: string;
  readonly sourceIPs?: string[];
  readonly responseStatus?: { readonly code?: number };
}

export interface ProbeResult {
  readonly probe: RequirementProbe;
  /** What the policy gives the probe request. */
  readonly predicted: Level;
  readonly satisfied: boolean;
  /** Levels of logged events for exactly this request (same verb and URI), if a log was given. */
  readonly observed: string[];
}

export interface FlagResult {
  readonly flag: string;
  readonly required: string;
  readonly actual: string | number | boolean | undefined;
  readonly ok: boolean;
}

export interface RequirementResult {
  readonly requirement: RequirementRef;
  /** Policy rule indices that come from the requirement's catalogue rules. */
  readonly ruleIndices: number[];
  readonly probes: ProbeResult[];
  readonly flags: FlagResult[];
  /** Logged events that are evidence for it (deduplicated by auditID). */
  readonly evidence: LoggedEvent[];
  readonly evidenceCount: number;
  readonly status: 'evidenced' | 'no-evidence' | 'not-checked' | 'settings' | 'outside-policy' | 'failing';
}

export interface EvidenceReport {
  readonly preset: ComposedPreset;
  readonly kubernetesVersion: string;
  readonly generatedAt: string;
  readonly log?: { readonly source: string; readonly events: number; readonly unreadableLines: number; readonly from?: string; readonly to?: string };
  readonly results: RequirementResult[];
}

/** Parses a JSON-lines audit log; lines that are not events are counted, not fatal. */
export function parseAuditLog(text: string): { events: LoggedEvent[]; unreadableLines: number } {
  const events: LoggedEvent[] = [];
  let unreadableLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const v = JSON.parse(line) as LoggedEvent;
      if (v && v.kind === 'Event') events.push(v);
      else unreadableLines++;
    } catch {
      unreadableLines++;
    }
  }
  return { events, unreadableLines };
}

const EXAMPLES = 5;

/** Control-plane identities (system:apiserver, system:kube-scheduler, system:node:…), not service accounts or people. */
function isControlPlaneUser(name: string | undefined): boolean {
  return name === undefined || (name.startsWith('system:') && !name.startsWith('system:serviceaccount:'));
}

/** Builds the evidence report: requirement → rules → probes → observed events. */
export function buildEvidenceReport(preset: ComposedPreset, options: { kubernetesVersion: string; log?: { source: string; text: string }; now?: Date }): EvidenceReport {
  const parsed = options.log ? parseAuditLog(options.log.text) : undefined;
  const events = dedupe(parsed?.events ?? []);
  const decided = events.map((e) => ({ event: e, ruleIndex: evaluatePolicy(preset.policy, requestAttributesFromEvent(e)).ruleIndex }));
  const allFlags = { ...preset.logFlags, ...preset.webhookFlags };
  const results = preset.requirements.map((req): RequirementResult => {
    const ruleIndices = preset.origins.flatMap((o, i) => (o.kind === 'catalogue' && req.rules.includes(o.id) ? [i] : []));
    const probes = req.probes.map((probe) => probeResult(preset, probe, parsed ? events : undefined));
    const flags = (req.flagChecks ?? []).map((c): FlagResult => {
      const actual = allFlags[c.flag];
      const ok = actual !== undefined && actual !== '' && (c.atLeast === undefined || Number(actual) >= c.atLeast);
      return { flag: c.flag, required: c.atLeast === undefined ? 'set' : `≥ ${c.atLeast}`, actual, ok };
    });
    const matching = decided.filter(({ event, ruleIndex }) => {
      if (event.level === Level.NONE) return false;
      if (req.evidence?.verbs && !req.evidence.verbs.includes(event.verb ?? '')) return false;
      if (req.evidence?.individualUsersOnly && isControlPlaneUser(event.user?.username)) return false;
      if (req.evidence?.responseCodes) return req.evidence.responseCodes.includes(event.responseStatus?.code ?? 0);
      return ruleIndex !== null && ruleIndices.includes(ruleIndex);
    });
    const failing = probes.some((p) => !p.satisfied) || flags.some((f) => !f.ok);
    let status: RequirementResult['status'];
    if (failing) status = 'failing';
    else if (req.rules.length === 0 && req.probes.length === 0) status = flags.length ? 'settings' : 'outside-policy';
    else if (!parsed) status = 'not-checked';
    else status = matching.length > 0 ? 'evidenced' : 'no-evidence';
    return { requirement: req, ruleIndices, probes, flags, evidence: matching.slice(0, EXAMPLES).map((m) => m.event), evidenceCount: matching.length, status };
  });
  const times = events.map((e) => e.stageTimestamp).filter((t): t is string => !!t).sort();
  return {
    preset,
    kubernetesVersion: options.kubernetesVersion,
    generatedAt: (options.now ?? new Date()).toISOString(),
    log: options.log ? { source: options.log.source, events: events.length, unreadableLines: parsed!.unreadableLines, from: times[0], to: times[times.length - 1] } : undefined,
    results,
  };
}

function probeResult(preset: ComposedPreset, probe: RequirementProbe, events?: LoggedEvent[]): ProbeResult {
  const attrs = probeAttributes(probe);
  const predicted = evaluatePolicy(preset.policy, attrs).level;
  const satisfied = levelRank(predicted) >= levelRank(probe.minLevel) && (probe.maxLevel === undefined || levelRank(predicted) <= levelRank(probe.maxLevel));
  const observed = (events ?? []).filter((e) => e.verb === attrs.verb && e.requestURI === probe.path).map((e) => e.level ?? '?');
  return { probe, predicted, satisfied, observed: [...new Set(observed)] };
}

/** One event per auditID: the last stage wins (ResponseComplete carries the outcome). */
function dedupe(events: LoggedEvent[]): LoggedEvent[] {
  const byId = new Map<string, LoggedEvent>();
  const anonymous: LoggedEvent[] = [];
  for (const e of events) {
    if (e.auditID) byId.set(e.auditID, e);
    else anonymous.push(e);
  }
  return [...byId.values(), ...anonymous];
}
