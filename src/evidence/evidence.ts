/**
 * Judges a composed preset against what was really recorded: pure functions, no I/O. The readers that
 * stream files, .gz rotations, directories, standard input and the sink store live in ./inputs.
 */
import { evaluatePolicy } from '../policy/evaluate';
import { Level, PolicyDocument, PolicyRule, levelRank } from '../policy/model';
import { parseRequestPath, requestAttributesFromEvent } from '../policy/request-attributes';
import { ComposedPreset, probeAttributes, RequirementRef } from '../presets/compose';
import { describeMatch, evidenceSelector, levelBounds } from '../presets/evidence';
import { SinkRetention, sinkRetentionFor } from '../presets/flags';
import { EvidenceMatch, EvidenceSelector, PresetFlags, Retention } from '../presets/types';

/** The `schema` of the JSON report; a change that removes or renames a field gets a new version. */
export const EVIDENCE_REPORT_SCHEMA = 'cdk8s-audit.dev/evidence-report/v1';

/** The fields of a logged audit event the report reads (bodies are never read or copied). */
export interface LoggedEvent {
  readonly kind?: string;
  readonly auditID?: string;
  readonly stage?: string;
  readonly level?: string;
  readonly verb?: string;
  readonly requestURI?: string;
  readonly stageTimestamp?: string;
  readonly user?: { readonly username?: string; readonly groups?: string[] };
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly namespace?: string; readonly name?: string; readonly apiGroup?: string; readonly apiVersion?: string };
  readonly responseStatus?: { readonly code?: number };
}

/** Where an event was read: a file and line, or a verified sink-store chain position. */
export interface EventPosition {
  readonly source: string;
  /** 1-based line in the (decompressed) file. */
  readonly line?: number;
  /** Sequence number in the sink store's verified hash chain. */
  readonly seq?: number;
}

/** One input as the reader saw it. */
export interface InputSummary {
  readonly source: string;
  readonly kind: 'log' | 'stdin' | 'sink-store';
  /** Audit events read (every stage counts). */
  readonly events: number;
  /** Non-empty lines that are not audit events (not JSON, or JSON with another kind). */
  readonly otherLines: number;
  readonly from?: string;
  readonly to?: string;
  /** For a sink store: what `sink verify` established before any event was read. */
  readonly verified?: { readonly segments: number; readonly records: number; readonly firstSeq?: number; readonly lastSeq?: number; readonly keyId: string };
}

/** The settings judged for retention and flag requirements. */
export interface JudgedSettings {
  /** Where they come from, e.g. `dist/node/apiserver-args.txt`; absent = the preset's own settings. */
  readonly source?: string;
  /** kube-apiserver audit flags (name without `--`). */
  readonly apiserverFlags: PresetFlags;
  /** The sink's retention, when known. */
  readonly sink?: SinkRetention;
}

export interface JudgeOptions {
  readonly kubernetesVersion: string;
  /** The deployed policy; absent = judge the preset's own policy (the report says so). */
  readonly policy?: { readonly source: string; readonly document: PolicyDocument };
  /** absent = the preset's flags and its sink retention (the report says so). */
  readonly settings?: JudgedSettings;
  readonly now?: Date;
}

export type RequirementStatus =
  /** a matching event was recorded above the requirement's maximum level or below its minimum */
  | 'violated'
  /** the policy does not give an example request its level */
  | 'not-met-by-policy'
  /** a flag or retention/protection setting does not enforce what the requirement needs */
  | 'not-met-by-settings'
  /** at least one matching event, and every matching event within bounds; or a setting met by what the inputs show (a maximum retention) */
  | 'evidenced'
  /** the requirement is about settings only, and they enforce it */
  | 'met-by-settings'
  /** logs were given, nothing in them matches */
  | 'no-evidence'
  /** no logs given: the policy and settings meet it, nothing observed */
  | 'not-checked';

export const STATUS_ORDER: readonly RequirementStatus[] = ['violated', 'not-met-by-policy', 'not-met-by-settings', 'no-evidence', 'not-checked', 'evidenced', 'met-by-settings'];

export interface EventRef {
  readonly auditID?: string;
  readonly stage?: string;
  readonly time?: string;
  readonly verb?: string;
  /** The request path without its query (a query can hold exec arguments). */
  readonly path: string;
  readonly user?: string;
  readonly code?: number;
  readonly level?: string;
  readonly position?: EventPosition;
}

export interface Violation extends EventRef {
  readonly required: string;
  /** The rule of the judged policy that decides this request and the level it gives. */
  readonly decidedBy: string;
  readonly fix: string;
}

export interface ProbeResult {
  readonly description: string;
  readonly request: string;
  readonly as: string;
  readonly required: string;
  /** Level the judged policy gives the request. */
  readonly level: Level;
  readonly decidedBy: string;
  readonly satisfied: boolean;
}

export interface SettingResult {
  readonly setting: string;
  readonly required: string;
  readonly actual: string;
  readonly ok: boolean;
  /** The check could not be made (e.g. protection without any input). */
  readonly unknown?: boolean;
  /** Met by what the inputs show now (e.g. no record older than a maximum), not guaranteed by a setting. */
  readonly observed?: boolean;
}

export interface RequirementResult {
  readonly preset: string;
  readonly id: string;
  readonly summary: string;
  readonly note?: string;
  readonly status: RequirementStatus;
  /** Why, in one line each (what failed, or what the status rests on). */
  readonly reasons: string[];
  readonly probes: ProbeResult[];
  readonly settings: SettingResult[];
  /** Absent when the requirement is about settings only. */
  readonly evidence?: {
    readonly selector: string;
    readonly matches: string[];
    /** Matching requests (final stages: ResponseComplete or Panic). */
    readonly count: number;
    readonly examples: EventRef[];
    readonly violationCount: number;
    /** The first violations (at most VIOLATIONS_LISTED). */
    readonly violations: Violation[];
    /** Evidence is the absence of recorded events (e.g. health checks at None). */
    readonly byAbsence: boolean;
  };
}

export interface EvidenceReport {
  readonly schema: typeof EVIDENCE_REPORT_SCHEMA;
  readonly generatedAt: string;
  readonly kubernetesVersion: string;
  readonly presets: { readonly name: string; readonly title: string; readonly framework: string }[];
  readonly auditNamespace: string;
  readonly retention: Retention;
  readonly policy: { readonly judged: 'deployed' | 'preset'; readonly source?: string; readonly rules: { readonly index: number; readonly level: string; readonly origin: string; readonly description: string }[] };
  readonly settings: { readonly judged: 'deployed' | 'preset'; readonly source?: string; readonly apiserverFlags: PresetFlags; readonly sink?: SinkRetention };
  /** Absent when no logs were given (a policy-only report). */
  readonly inputs?: InputSummary[];
  readonly totals: { readonly events: number; readonly otherLines: number; readonly requests: number };
  readonly requirements: RequirementResult[];
  readonly counts: Readonly<Record<RequirementStatus, number>>;
}

const EXAMPLES = 5;
export const VIOLATIONS_LISTED = 20;
const FINAL_STAGES = new Set(['ResponseComplete', 'Panic']);

/** Control-plane identities (system:apiserver, system:kube-scheduler, system:node:…), not service accounts or people. */
function isControlPlaneUser(name: string | undefined): boolean {
  return name === undefined || (name.startsWith('system:') && !name.startsWith('system:serviceaccount:'));
}

/** What the selectors look at, read once per event. */
interface Facts {
  readonly resourceRequest: boolean;
  readonly group: string;
  /** `resource` or `resource/subresource` */
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
  readonly path: string;
  readonly uri: string;
  readonly verb: string;
  readonly code: number;
}

// Runs once per event of a large log: one object literal of a fixed shape, no spreads.
function factsOf(e: LoggedEvent): Facts {
  const uri = e.requestURI ?? '';
  const q = uri.indexOf('?');
  const path = q < 0 ? uri : uri.slice(0, q);
  const verb = e.verb ?? '';
  const code = e.responseStatus?.code ?? 0;
  const o = e.objectRef;
  if (o !== undefined && o.resource) {
    const resource = o.subresource ? o.resource + '/' + o.subresource : o.resource;
    return { resourceRequest: true, group: o.apiGroup ?? '', resource, namespace: o.namespace ?? '', name: o.name ?? '', path, uri, verb, code };
  }
  const p = parseRequestPath(uri);
  if (!p.resourceRequest) return { resourceRequest: false, group: '', resource: '', namespace: '', name: '', path, uri, verb, code };
  const resource = p.subresource ? `${p.resource}/${p.subresource}` : p.resource ?? '';
  return { resourceRequest: true, group: p.apiGroup ?? '', resource, namespace: p.namespace ?? '', name: p.name ?? '', path, uri, verb, code };
}

function matches(m: EvidenceMatch, f: Facts, auditNamespace: string): boolean {
  if (m.verbs && !m.verbs.includes(f.verb)) return false;
  if (m.nonResourceURLs) return !f.resourceRequest && m.nonResourceURLs.some((u) => f.path === u || f.path.startsWith(u.endsWith('*') ? u.slice(0, -1) : u));
  const aboutObjects = m.objectsOnly || m.group !== undefined || m.resources || m.namespaces || m.auditNamespace || m.names;
  if (aboutObjects && !f.resourceRequest) return false;
  if (m.group !== undefined && f.group !== m.group) return false;
  if (m.resources && !m.resources.includes(f.resource)) return false;
  if (m.auditNamespace && f.namespace !== auditNamespace) return false;
  if (m.namespaces && !m.namespaces.includes(f.namespace)) return false;
  if (m.names && !m.names.includes(f.name)) return false;
  if (m.uriIncludes && !f.path.includes(m.uriIncludes)) return false;
  if (m.responseCodes && !m.responseCodes.includes(f.code)) return false;
  return true;
}

function eventRef(e: LoggedEvent, f: Facts, position?: EventPosition): EventRef {
  return {
    auditID: e.auditID, stage: e.stage, time: e.stageTimestamp, verb: e.verb, path: f.path,
    user: e.user?.username, code: e.responseStatus?.code, level: e.level, ...(position ? { position } : {}),
  };
}

/** `rule #3 (secrets-metadata) gives Metadata` */
function decidedBy(rules: readonly { origin: string }[], ruleIndex: number | null, level: string): string {
  return ruleIndex === null ? `no rule matches (level None)` : `rule #${ruleIndex}${rules[ruleIndex]?.origin ? ` (${rules[ruleIndex].origin})` : ''} gives ${level}`;
}

interface RequirementState {
  readonly req: RequirementRef;
  readonly selector?: EvidenceSelector;
  readonly byAbsence: boolean;
  count: number;
  readonly examples: EventRef[];
  violationCount: number;
  readonly violations: Violation[];
}

/** Incremental judge: feed events one at a time (bounded memory), then `finish`. */
export class EvidenceJudge {
  private readonly states: RequirementState[];
  private readonly policy: PolicyDocument;
  private readonly ruleInfo: { index: number; level: string; origin: string; description: string }[];
  private events = 0;
  private requests = 0;

  constructor(private readonly preset: ComposedPreset, private readonly options: JudgeOptions) {
    this.policy = options.policy?.document ?? preset.policy;
    this.ruleInfo = options.policy
      ? options.policy.document.rules.map((r, index) => ({ index, level: r.level, origin: '', description: describeRule(r) }))
      : preset.policy.rules.map((r, index) => {
          const o = preset.origins[index];
          return { index, level: r.level, origin: o.kind === 'catalogue' ? o.id : o.kind, description: o.description };
        });
    this.states = preset.requirements.map((req) => {
      const selector = evidenceSelector(req);
      return {
        req, selector, count: 0, examples: [], violationCount: 0, violations: [],
        byAbsence: !!selector && selector.anyOf.every((m) => m.maxLevel === Level.NONE),
      };
    });
  }

  /** Judges one event (any stage); call for every line of every input. */
  add(event: LoggedEvent, position?: EventPosition): void {
    this.events++;
    const final = event.stage === undefined || FINAL_STAGES.has(event.stage);
    if (final) this.requests++;
    if (event.level === Level.NONE) return;
    // Runs once per event of a large log: plain loops, facts and the user check computed once.
    const facts = factsOf(event);
    const controlPlane = isControlPlaneUser(event.user?.username);
    const rank = levelRank(event.level ?? '');
    const ns = this.preset.auditNamespace;
    for (const s of this.states) {
      const sel = s.selector;
      if (!sel || (sel.individualUsersOnly && controlPlane)) continue;
      let m: EvidenceMatch | undefined;
      for (const x of sel.anyOf) {
        if (matches(x, facts, ns)) {
          m = x;
          break;
        }
      }
      if (!m) continue;
      const low = rank < levelRank(m.minLevel);
      const high = m.maxLevel !== undefined && rank > levelRank(m.maxLevel);
      if (low || high) {
        s.violationCount++;
        if (s.violations.length < VIOLATIONS_LISTED) s.violations.push(this.violation(event, facts, m, high, position));
      } else if (final) {
        s.count++;
        if (s.examples.length < EXAMPLES) s.examples.push(eventRef(event, facts, position));
      }
    }
  }


  private violation(event: LoggedEvent, f: Facts, m: EvidenceMatch, high: boolean, position?: EventPosition): Violation {
    const d = evaluatePolicy(this.policy, requestAttributesFromEvent(event));
    const required = levelBounds(m.minLevel, m.maxLevel);
    const by = decidedBy(this.ruleInfo, d.ruleIndex, d.level);
    const which = this.options.policy ? 'the judged policy' : 'the preset policy';
    const rule = d.ruleIndex === null ? `add a rule for ${f.resource || f.path} before the catch-all` : `change rule #${d.ruleIndex} of ${which}`;
    const fix = high
      ? `${rule} (or put a rule before it) so that \`${event.verb} ${f.resource || f.path}\` is recorded at ${m.maxLevel}; ${m.maxLevel === Level.METADATA ? 'secret material must never be in a body — ' : ''}treat the recorded bodies as exposed (rotate what they hold)`
      : `${rule} (or put a rule before it) so that \`${event.verb} ${f.resource || f.path}\` is recorded at ${m.minLevel} or more`;
    return { ...eventRef(event, f, position), required, decidedBy: this.options.policy || d.level === event.level ? by : `${by} today (the event was recorded at ${event.level})`, fix };
  }

  /** The report. `inputs` undefined = no logs were given (a policy-only report). */
  finish(inputs?: readonly InputSummary[]): EvidenceReport {
    const p = this.preset;
    const settings: JudgedSettings = this.options.settings ?? { apiserverFlags: { ...p.logFlags, ...p.webhookFlags }, sink: sinkRetentionFor(p.retention) };
    const logsGiven = inputs !== undefined;
    const storeVerified = inputs?.find((i) => i.kind === 'sink-store' && i.verified);
    const oldest = oldestInput(inputs);
    const oldestLog = oldestInput(inputs?.filter((i) => i.kind !== 'sink-store'));
    const requirements = this.states.map((s) => this.result(s, settings, logsGiven, storeVerified, oldest, oldestLog));
    const counts = Object.fromEntries(STATUS_ORDER.map((st) => [st, requirements.filter((r) => r.status === st).length])) as Record<RequirementStatus, number>;
    return {
      schema: EVIDENCE_REPORT_SCHEMA,
      generatedAt: (this.options.now ?? new Date()).toISOString(),
      kubernetesVersion: this.options.kubernetesVersion,
      presets: p.presets.map((x) => ({ name: x.name, title: x.title, framework: x.framework })),
      auditNamespace: p.auditNamespace,
      retention: p.retention,
      policy: { judged: this.options.policy ? 'deployed' : 'preset', ...(this.options.policy ? { source: this.options.policy.source } : {}), rules: this.ruleInfo },
      settings: { judged: this.options.settings ? 'deployed' : 'preset', ...(settings.source ? { source: settings.source } : {}), apiserverFlags: settings.apiserverFlags, ...(settings.sink ? { sink: settings.sink } : {}) },
      ...(inputs ? { inputs: [...inputs] } : {}),
      totals: { events: this.events, otherLines: (inputs ?? []).reduce((a, i) => a + i.otherLines, 0), requests: this.requests },
      requirements,
      counts,
    };
  }

  private result(s: RequirementState, settings: JudgedSettings, logsGiven: boolean, store: InputSummary | undefined, oldest?: { source: string; from: string }, oldestLog?: { source: string; from: string }): RequirementResult {
    const req = s.req;
    const probes = req.probes.map((probe): ProbeResult => {
      const d = evaluatePolicy(this.policy, probeAttributes(probe));
      const satisfied = levelRank(d.level) >= levelRank(probe.minLevel) && (probe.maxLevel === undefined || levelRank(d.level) <= levelRank(probe.maxLevel));
      return { description: probe.description, request: `${probe.method} ${probe.path}`, as: probe.as, required: levelBounds(probe.minLevel, probe.maxLevel), level: d.level, decidedBy: decidedBy(this.ruleInfo, d.ruleIndex, d.level), satisfied };
    });
    const settingResults = settingsResults(req, settings, this.options.kubernetesVersion, logsGiven, store);
    if (req.settings?.retainAtMostDays !== undefined) settingResults.push(maximumRetentionResult(req.settings.retainAtMostDays, settings, this.options.kubernetesVersion, oldest, oldestLog, this.options.now ?? new Date()));
    const reasons: string[] = [];
    let status: RequirementStatus;
    const policyWord = this.options.policy ? 'the deployed policy' : 'the preset policy';
    if (s.violationCount > 0) {
      reasons.push(`${s.violationCount} recorded event(s) outside the required level: ${s.violations.slice(0, 3).map((v) => `auditID ${v.auditID ?? '?'} at ${v.level} (needs ${v.required})`).join('; ')}`);
    }
    const failedProbes = probes.filter((x) => !x.satisfied);
    for (const x of failedProbes) reasons.push(`not met by ${policyWord}: ${x.request} (${x.description}): ${x.decidedBy}, needs ${x.required}`);
    const failedSettings = settingResults.filter((x) => !x.ok && !x.unknown);
    for (const x of failedSettings) reasons.push(`not met by settings: ${x.setting} needs ${x.required}; ${x.actual}`);
    if (s.violationCount > 0) status = 'violated';
    else if (failedProbes.length) status = 'not-met-by-policy';
    else if (failedSettings.length) status = 'not-met-by-settings';
    else if (s.selector) {
      if (!logsGiven) {
        status = 'not-checked';
        reasons.push(`no logs given: ${policyWord} gives every example request its level; nothing observed`);
      } else if (s.byAbsence) {
        status = 'evidenced';
        reasons.push('no matching event was recorded, as required');
      } else if (s.count > 0) {
        status = 'evidenced';
        reasons.push(`${s.count} matching request(s), every one at the required level`);
      } else {
        status = 'no-evidence';
        reasons.push(`nothing in the inputs matches: ${s.selector.description}`);
      }
    } else if (settingResults.some((x) => x.unknown)) {
      status = 'not-checked';
      for (const x of settingResults.filter((y) => y.unknown)) reasons.push(`${x.setting}: ${x.actual}`);
    } else if (settingResults.length) {
      status = settingResults.some((x) => x.observed) ? 'evidenced' : 'met-by-settings';
      for (const x of settingResults) reasons.push(`${x.setting}: ${x.actual}`);
    } else {
      status = 'not-checked';
      reasons.push('nothing in the policy, the settings or the logs can show this; see the note');
    }
    return {
      preset: req.preset, id: req.id, summary: req.summary, ...(req.note ? { note: req.note } : {}), status, reasons, probes, settings: settingResults,
      ...(s.selector
        ? {
            evidence: {
              selector: s.selector.description,
              matches: s.selector.anyOf.map((m) => describeMatch(m, this.preset.auditNamespace)),
              count: s.count, examples: s.examples, violationCount: s.violationCount, violations: s.violations, byAbsence: s.byAbsence,
            },
          }
        : {}),
    };
  }
}

/** Judges a preset against events in one call (see EvidenceJudge for streaming). */
export function judgeEvidence(
  preset: ComposedPreset,
  input: JudgeOptions & { readonly events?: Iterable<LoggedEvent | { readonly event: LoggedEvent; readonly position?: EventPosition }>; readonly inputs?: readonly InputSummary[] },
): EvidenceReport {
  const judge = new EvidenceJudge(preset, input);
  for (const x of input.events ?? []) {
    if ('event' in x && typeof x.event === 'object') judge.add(x.event, (x as { position?: EventPosition }).position);
    else judge.add(x as LoggedEvent);
  }
  return judge.finish(input.inputs ?? (input.events ? [] : undefined));
}

/**
 * 0 only when every requirement is evidenced, met by settings, or (no logs given) not checked;
 * 1 on a violation, a requirement not met by the policy or the settings, and — when logs were given —
 * a requirement without evidence unless `allowMissingEvidence`.
 */
export function reportExitCode(report: EvidenceReport, options: { readonly allowMissingEvidence?: boolean } = {}): 0 | 1 {
  for (const r of report.requirements) {
    if (r.status === 'violated' || r.status === 'not-met-by-policy' || r.status === 'not-met-by-settings') return 1;
    if (r.status === 'no-evidence' && !options.allowMissingEvidence) return 1;
    if (r.status === 'not-checked' && report.inputs && !options.allowMissingEvidence) return 1;
  }
  return 0;
}

const DAY_FLAGS_136 = { maxage: 366, maxbackup: 100 };

function flagNumber(flags: PresetFlags, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/** Settings checks: flag values, retention that no setting can cut short, protection by a verified sink store. */
function settingsResults(req: RequirementRef, settings: JudgedSettings, kubernetesVersion: string, logsGiven: boolean, store: InputSummary | undefined): SettingResult[] {
  const out: SettingResult[] = [];
  const flags = settings.apiserverFlags;
  for (const c of req.flagChecks ?? []) {
    const actual = flags[c.flag];
    const ok = actual !== undefined && actual !== '' && (c.atLeast === undefined || Number(actual) >= c.atLeast);
    out.push({ setting: `--${c.flag}`, required: c.atLeast === undefined ? 'set' : `≥ ${c.atLeast}`, actual: actual === undefined ? 'not set' : `set to ${actual}`, ok });
  }
  const days = req.settings?.retainDays;
  if (days !== undefined) {
    const minor = Number(/^1\.(\d+)/.exec(kubernetesVersion)?.[1] ?? 0);
    const d = minor >= 36 ? DAY_FLAGS_136 : { maxage: 0, maxbackup: 0 };
    const path = flags['audit-log-path'];
    const maxage = flagNumber(flags, 'audit-log-maxage', d.maxage);
    const maxbackup = flagNumber(flags, 'audit-log-maxbackup', d.maxbackup);
    const logOk = typeof path === 'string' && path !== '' && path !== '-' && (maxage === 0 || maxage >= days) && maxbackup === 0;
    const logText = typeof path !== 'string' || path === '' ? 'no log backend' : path === '-' ? 'log to stdout (the kubelet rotates it)' :
      `node log: --audit-log-maxage ${maxage}${maxage > 0 && maxage < days ? ` (deletes after ${maxage} days)` : ''}, --audit-log-maxbackup ${maxbackup}${maxbackup > 0 ? ' (deletes by file count, whatever the age)' : ''}`;
    const sink = settings.sink;
    const sinkOk = !!sink && (sink.maxAgeDays === 0 || sink.maxAgeDays >= days) && sink.maxBytes === 0;
    const sinkText = !sink ? 'sink retention unknown' :
      `sink: --retention-max-age ${sink.maxAgeDays === 0 ? 'none' : `${sink.maxAgeDays}d`}${sink.maxAgeDays > 0 && sink.maxAgeDays < days ? ` (deletes after ${sink.maxAgeDays} days)` : ''}, --retention-max-bytes ${sink.maxBytes === 0 ? 'none' : `${sink.maxBytes}${' (deletes the oldest segments whatever their age)'}`}`;
    out.push({ setting: 'retention', required: `every record kept ≥ ${days} days`, actual: `${logOk || sinkOk ? 'guaranteed by ' + (sinkOk ? 'the sink' : 'the node log') : 'not guaranteed'} — ${logText}; ${sinkText}`, ok: logOk || sinkOk });
  }
  if (req.settings?.protection) {
    if (store) {
      const v = store.verified!;
      out.push({ setting: 'protection', required: 'records off the node, hash-chained and signed', actual: `sink store ${store.source} verified: ${v.records} records, seq ${v.firstSeq ?? '-'}…${v.lastSeq ?? '-'} in ${v.segments} segment(s), key ${v.keyId}`, ok: true });
    } else if (!logsGiven) {
      out.push({ setting: 'protection', required: 'records off the node, hash-chained and signed', actual: 'not checked: give --sink-store DIR --key FILE to verify the sink store', ok: false, unknown: true });
    } else {
      out.push({ setting: 'protection', required: 'records off the node, hash-chained and signed', actual: 'no verified sink store among the inputs (node log files can be changed by anyone with root on the node); give --sink-store DIR --key FILE', ok: false });
    }
  }
  return out;
}

/** The input holding the oldest event, if any input has timestamps. */
function oldestInput(inputs: readonly InputSummary[] | undefined): { source: string; from: string } | undefined {
  let best: { source: string; from: string } | undefined;
  for (const i of inputs ?? []) if (i.from !== undefined && (best === undefined || i.from < best.from)) best = { source: i.source, from: i.from };
  return best;
}

const DAY_MS = 86_400_000;

/**
 * A maximum retention (GDPR Art. 5(1)(e)): the sink must delete by age within it, and the node log must keep
 * nothing longer. lumberjack (the apiserver's log rotation) deletes rotated files older than --audit-log-maxage
 * only when it rotates, and rotates only by size, so the node log's bound is never guaranteed by its flags:
 * that part stays unknown unless the inputs show a record older than the maximum (then it is not met).
 */
function maximumRetentionResult(days: number, settings: JudgedSettings, kubernetesVersion: string, oldest: { source: string; from: string } | undefined, oldestLog: { source: string; from: string } | undefined, now: Date): SettingResult {
  const required = `every record deleted within ${days} days`;
  const flags = settings.apiserverFlags;
  const minor = Number(/^1\.(\d+)/.exec(kubernetesVersion)?.[1] ?? 0);
  const path = flags['audit-log-path'];
  const maxage = flagNumber(flags, 'audit-log-maxage', minor >= 36 ? DAY_FLAGS_136.maxage : 0);
  let log: { ok: boolean; unknown?: boolean; text: string };
  if (typeof path !== 'string' || path === '') log = { ok: true, text: 'no log backend (nothing kept on the node)' };
  else if (path === '-') log = { ok: false, unknown: true, text: "log to stdout: the container runtime's size-based rotation decides how long it stays" };
  else if (maxage === 0 || maxage > days) log = { ok: false, text: `node log: --audit-log-maxage ${maxage}${maxage === 0 ? ' keeps rotated files forever' : ` keeps rotated files ${maxage} days`}` };
  else log = { ok: false, unknown: true, text: `node log: --audit-log-maxage ${maxage} deletes rotated files ${maxage} days after rotation, but rotation happens only by size (--audit-log-maxsize), so a quiet node can keep older records` };
  const sink = settings.sink;
  const sinkPart: { ok: boolean; unknown?: boolean; text: string } = !sink
    ? { ok: false, unknown: true, text: 'sink retention unknown' }
    : sink.maxAgeDays === 0 || sink.maxAgeDays > days
      ? { ok: false, text: `sink: --retention-max-age ${sink.maxAgeDays === 0 ? 'none (keeps segments forever)' : `${sink.maxAgeDays}d`}` }
      : { ok: true, text: `sink: --retention-max-age ${sink.maxAgeDays}d deletes each sealed segment by age (records live at most that plus --segment-max-age)` };
  const parts = [log, sinkPart];
  if (oldest && now.getTime() - Date.parse(oldest.from) > days * DAY_MS) {
    return { setting: 'maximum retention', required, actual: `not enforced — ${oldest.source} holds a record from ${oldest.from}, older than ${days} days; ${parts.map((p) => p.text).join('; ')}`, ok: false };
  }
  // A node log the flags cannot bound is judged by what it holds: the log files given, if any.
  const observed = log.unknown === true && oldestLog !== undefined;
  if (observed) log = { ok: true, text: `${log.text}; the node log given (${oldestLog!.source}) holds nothing older than ${days} days (oldest record ${oldestLog!.from}): observed now, not guaranteed` };
  const failed = parts.some((p) => !p.ok && !p.unknown);
  const unknown = !failed && [log, sinkPart].some((p) => p.unknown);
  const verdict = failed ? 'not enforced' : unknown ? 'not guaranteed' : observed ? 'observed' : 'enforced';
  const seen = oldest && !observed ? `; the oldest record in the inputs (${oldest.source}) is from ${oldest.from}, within ${days} days` : '';
  return {
    setting: 'maximum retention', required, actual: `${verdict} — ${[log, sinkPart].map((p) => p.text).join('; ')}${seen}`,
    ok: !failed && !unknown, ...(unknown ? { unknown: true } : {}), ...(observed && !failed && !unknown ? { observed: true } : {}),
  };
}

/** A deployed rule in a few words, for the appendix. */
function describeRule(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.users?.length) parts.push(`users ${r.users.join(', ')}`);
  if (r.userGroups?.length) parts.push(`groups ${r.userGroups.join(', ')}`);
  if (r.verbs?.length) parts.push(`verbs ${r.verbs.join(', ')}`);
  if (r.resources?.length) parts.push(`resources ${r.resources.map((g) => `${g.group || 'core'}:${g.resources?.join('|') || '*'}${g.resourceNames?.length ? `[${g.resourceNames.join('|')}]` : ''}`).join(', ')}`);
  if (r.namespaces?.length) parts.push(`namespaces ${r.namespaces.join(', ')}`);
  if (r.nonResourceURLs?.length) parts.push(`URLs ${r.nonResourceURLs.join(', ')}`);
  return parts.length ? parts.join('; ') : 'every request';
}
