/**
 * Evaluates alert rules (rules.ts) against audit events. The selectors are audit Policy rule selectors and
 * are matched by the project's implementation of the apiserver's policy checker (src/policy/evaluate.ts)
 * on the attributes the checker would have seen for the event (requestAttributesFromEvent), so a
 * selector means in a rules file exactly what it means in an audit policy. Pure apart from the
 * first-seen memory it is given.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { evaluatePolicy } from '../policy/evaluate';
import { PolicyDocument, PolicyRule, RequestAttributes } from '../policy/model';
import { requestAttributesFromEvent } from '../policy/request-attributes';
import { Cidr, offsetInCidr, parseCidr } from '../core/cidr';
import { parseDuration } from '../core/units';
import {
  AlertRule,
  AlertRulesDocument,
  AlertSelector,
  SinkAlertSeverity,
  AlertRuleType,
  DEFAULT_FIRST_SEEN_KEY,
  DEFAULT_FIRST_SEEN_MAX_KEYS,
  DEFAULT_IPV4_PREFIX_LENGTH,
  DEFAULT_IPV6_PREFIX_LENGTH,
  DEFAULT_RATE_KEY,
  DEFAULT_STAGES,
  FirstSeenKeyField,
  SourceIpMode,
} from '../sink-contract/alert-rules';

/** The fields of an audit event the rules read. */
export interface AuditEventFields {
  readonly auditID?: string;
  readonly stage?: string;
  readonly stageTimestamp?: string;
  readonly verb?: string;
  readonly requestURI?: string;
  readonly user?: { readonly username?: string; readonly groups?: string[] };
  readonly impersonatedUser?: { readonly username?: string; readonly groups?: string[] };
  readonly sourceIPs?: string[];
  readonly userAgent?: string;
  readonly objectRef?: { readonly resource?: string; readonly subresource?: string; readonly apiGroup?: string; readonly namespace?: string; readonly name?: string };
  readonly responseStatus?: { readonly code?: number };
}

/** One alert line (`sink serve --rules` writes these as JSON lines). Never holds request or response bodies. */
export interface SinkAlert {
  readonly kind: 'cdk8s-audit/alert';
  readonly rule: string;
  readonly type: AlertRuleType;
  readonly severity: SinkAlertSeverity;
  readonly description?: string;
  /** Why it fired, in one sentence. */
  readonly reason: string;
  /** Store sequence number of the event (0 when evaluated outside a store). */
  readonly seq: number;
  readonly auditID: string;
  readonly stage: string;
  readonly time: string | null;
  readonly user: string | null;
  readonly groups: string[];
  readonly impersonatedUser: string | null;
  readonly verb: string;
  readonly requestURI: string;
  readonly object: { apiGroup: string; resource: string; subresource: string; namespace: string; name: string } | null;
  readonly sourceIPs: string[];
  readonly code: number | null;
  readonly userAgent: string | null;
  /** source-cidr: the addresses outside the approved ranges. */
  readonly unapprovedSourceIPs?: string[];
  /** first-seen: the key that was new. */
  readonly firstSeen?: Record<string, string>;
  /** rate: the key, and how many of its events fell in the window when it fired. */
  readonly rate?: { readonly key: Record<string, string>; readonly count: number; readonly window: string; readonly threshold: number; readonly firstSeen: string };
}

/** What first-seen rules remember. */
export interface FirstSeenMemory {
  has(rule: string, key: string): boolean;
  add(rule: string, key: string, seq: number): void;
}

/** A time (ms) and the seq of the event that set it: the seq says whether a restart at a cursor keeps it. */
export interface SeqTime {
  readonly t: number;
  readonly seq: number;
}

/** What a rate rule knows of one key: when it first saw it, its latest counted events, when it last fired. */
export interface RateEntry {
  first: SeqTime;
  /** Ascending by time; at most threshold + 1, none older than the window. */
  times: SeqTime[];
  fired?: SeqTime;
}

/** One change to rate state, as persisted (rules-state.ts): a key first seen, an event counted, or a firing. */
export interface RateChange {
  readonly rule: string;
  readonly key: string;
  readonly seq: number;
  readonly first?: number;
  readonly t?: number;
  readonly fired?: number;
}

export interface RateLimits {
  readonly threshold: number;
  readonly windowMs: number;
  readonly newWithinMs?: number;
  readonly maxKeys: number;
}

/**
 * Sliding-window counts per rule and key. Only the latest threshold + 1 event times of a key are kept (enough to
 * know the window holds more than the threshold), so memory is bounded by maxKeys × (threshold + 1).
 */
export class RateState {
  readonly entries = new Map<string, Map<string, RateEntry>>();
  private fresh: RateChange[] = [];

  /** Counts one event at `t` (ms); returns the entry and whether the rule fires now. */
  observe(rule: string, key: string, t: number, seq: number, limits: RateLimits): { entry: RateEntry; fired: boolean } {
    let entry = this.rule(rule).get(key);
    if (!entry) {
      entry = { first: { t, seq }, times: [] };
      this.insert(rule, key, entry, limits.maxKeys);
      this.fresh.push({ rule, key, seq, first: t });
    }
    if (limits.newWithinMs !== undefined && t - entry.first.t > limits.newWithinMs) return { entry, fired: false };
    this.count(entry, { t, seq }, limits);
    this.fresh.push({ rule, key, seq, t });
    const due = entry.times.length > limits.threshold && (entry.fired === undefined || t - entry.fired.t >= limits.windowMs);
    if (due) {
      entry.fired = { t, seq };
      this.fresh.push({ rule, key, seq, fired: t });
    }
    return { entry, fired: due };
  }

  /** Replays a persisted change (no new change is recorded). */
  apply(c: RateChange, limits: RateLimits): void {
    let entry = this.rule(c.rule).get(c.key);
    if (!entry) {
      entry = { first: { t: c.first ?? c.t ?? c.fired ?? 0, seq: c.seq }, times: [] };
      this.insert(c.rule, c.key, entry, limits.maxKeys);
    }
    if (c.first !== undefined && c.first < entry.first.t) entry.first = { t: c.first, seq: c.seq };
    if (c.t !== undefined) this.count(entry, { t: c.t, seq: c.seq }, limits);
    if (c.fired !== undefined && (entry.fired === undefined || c.fired > entry.fired.t)) entry.fired = { t: c.fired, seq: c.seq };
  }

  takeNew(): RateChange[] {
    const f = this.fresh;
    this.fresh = [];
    return f;
  }

  size(rule: string): number {
    return this.entries.get(rule)?.size ?? 0;
  }

  /** The state as the changes that rebuild it, each with the seq of its event (for compaction). */
  snapshot(): RateChange[] {
    const out: RateChange[] = [];
    for (const [rule, m] of this.entries) {
      for (const [key, e] of m) {
        out.push({ rule, key, seq: e.first.seq, first: e.first.t });
        for (const x of e.times) out.push({ rule, key, seq: x.seq, t: x.t });
        if (e.fired !== undefined) out.push({ rule, key, seq: e.fired.seq, fired: e.fired.t });
      }
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  private rule(rule: string): Map<string, RateEntry> {
    let m = this.entries.get(rule);
    if (!m) this.entries.set(rule, (m = new Map()));
    return m;
  }

  private insert(rule: string, key: string, entry: RateEntry, maxKeys: number): void {
    const m = this.rule(rule);
    m.set(key, entry);
    while (m.size > maxKeys) m.delete(m.keys().next().value as string);
  }

  private count(entry: RateEntry, x: SeqTime, limits: RateLimits): void {
    const times = entry.times;
    let i = times.length;
    while (i > 0 && times[i - 1].t > x.t) i--;
    times.splice(i, 0, x);
    const newest = times[times.length - 1].t;
    while (times.length && times[0].t <= newest - limits.windowMs) times.shift();
    while (times.length > limits.threshold + 1) times.shift();
  }
}

/** In-memory first-seen keys, per rule at most `maxKeys` (the oldest are forgotten first). */
export class InMemoryFirstSeen implements FirstSeenMemory {
  readonly keys = new Map<string, Map<string, number>>();
  /** The rate rules' windows (persisted with the first-seen keys by PersistentFirstSeen). */
  readonly rates = new RateState();
  /** Limits of the rate rules, by rule name (the engine registers them; persistence replays with them). */
  readonly rateLimits = new Map<string, RateLimits>();
  /** New keys since the last `takeNew()` (for persistence). */
  private fresh: { rule: string; key: string; seq: number }[] = [];
  constructor(private readonly maxKeys: (rule: string) => number = () => DEFAULT_FIRST_SEEN_MAX_KEYS) {}
  has(rule: string, key: string): boolean {
    return this.keys.get(rule)?.has(key) ?? false;
  }
  add(rule: string, key: string, seq: number, record = true): void {
    let m = this.keys.get(rule);
    if (!m) this.keys.set(rule, (m = new Map()));
    m.delete(key);
    m.set(key, seq);
    const max = this.maxKeys(rule);
    while (m.size > max) m.delete(m.keys().next().value as string);
    if (record) this.fresh.push({ rule, key, seq });
  }
  takeNew(): { rule: string; key: string; seq: number }[] {
    const f = this.fresh;
    this.fresh = [];
    return f;
  }
  size(rule: string): number {
    return this.keys.get(rule)?.size ?? 0;
  }
}

interface CompiledRule {
  readonly rule: AlertRule;
  readonly prefix: { readonly v4: number; readonly v6: number };
  readonly rate?: RateLimits;
  readonly match: PolicyDocument;
  readonly except: PolicyDocument | undefined;
  readonly stages: ReadonlySet<string>;
  readonly cidrs: Cidr[];
  readonly sourceMode: SourceIpMode;
  readonly key: readonly FirstSeenKeyField[];
}

function asPolicy(selectors: readonly AlertSelector[]): PolicyDocument {
  return { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: selectors.map((s): PolicyRule => ({ level: 'None', ...s })) };
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 CIDRs apply to IPv4-mapped addresses. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip;
}

/** Whether `ip` lies in one of `cidrs` (an unparsable address lies in none). */
export function ipInCidrs(ip: string, cidrs: readonly Cidr[]): boolean {
  const a = normalizeIp(ip.trim());
  if (!isIP(a)) return false;
  return cidrs.some((c) => offsetInCidr(a, c) !== undefined);
}

function resourceKey(attrs: RequestAttributes): string {
  if (!attrs.resourceRequest) return attrs.path;
  const r = `${attrs.resource ?? ''}${attrs.subresource ? `/${attrs.subresource}` : ''}`;
  return attrs.apiGroup ? `${attrs.apiGroup}/${r}` : r;
}

function truncate(s: unknown, max: number): string | null {
  if (typeof s !== 'string') return null;
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

type Fired = { reason: string; unapprovedSourceIPs?: string[]; firstSeen?: Record<string, string>; rate?: SinkAlert['rate'] };

/** A rate rule's limits in milliseconds (the rule is valid: checkAlertRules ran). */
export function rateLimits(rule: AlertRule): RateLimits {
  return {
    threshold: rule.threshold ?? 1,
    windowMs: parseDuration(`${rule.name}.window`, rule.window ?? '1m'),
    ...(rule.newKeysWithin !== undefined ? { newWithinMs: parseDuration(`${rule.name}.newKeysWithin`, rule.newKeysWithin) } : {}),
    maxKeys: rule.maxKeys ?? DEFAULT_FIRST_SEEN_MAX_KEYS,
  };
}

/** The event's time in ms: stageTimestamp, else requestReceivedTimestamp, else now (replays after a restart count the same). */
function eventTimeMs(event: AuditEventFields): number {
  for (const t of [event.stageTimestamp, (event as { requestReceivedTimestamp?: string }).requestReceivedTimestamp]) {
    const ms = typeof t === 'string' ? Date.parse(t) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return Date.now();
}

/**
 * The network of an address at the given prefix lengths, e.g. `203.0.113.0/24`, `2001:db8:1::/48` (IPv4-mapped
 * IPv6 addresses count as IPv4); "" when the event has no parsable address.
 */
export function sourceNetwork(ip: string, v4Prefix = DEFAULT_IPV4_PREFIX_LENGTH, v6Prefix = DEFAULT_IPV6_PREFIX_LENGTH): string {
  const a = normalizeIp(ip.trim());
  const family = isIP(a);
  if (family === 0) return '';
  const prefix = family === 4 ? v4Prefix : v6Prefix;
  const c = parseCidr(`${a}/${prefix}`)!;
  if (family === 4) return `${[24n, 16n, 8n, 0n].map((s) => String((c.network >> s) & 255n)).join('.')}/${prefix}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((c.network >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes '::'
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `${text}/${prefix}`;
}

export class RulesEngine {
  private readonly compiled: CompiledRule[];
  private readonly rates: RateState;

  constructor(
    readonly doc: AlertRulesDocument,
    private readonly memory: FirstSeenMemory = new InMemoryFirstSeen(),
  ) {
    this.rates = memory instanceof InMemoryFirstSeen ? memory.rates : new RateState();
    const sets = doc.cidrSets ?? {};
    this.compiled = doc.rules.map((rule) => ({
      rule,
      match: asPolicy([rule.match ?? {}]),
      except: rule.except?.length ? asPolicy(rule.except) : undefined,
      stages: new Set(rule.stages ?? DEFAULT_STAGES),
      cidrs: [...(rule.allowedSourceCidrs ?? []), ...(rule.allowedSourceCidrSets ?? []).flatMap((s) => sets[s] ?? [])].map((c) => parseCidr(c)!).filter(Boolean),
      sourceMode: rule.sourceIPs ?? 'all',
      key: rule.key ?? (rule.type === 'rate' ? DEFAULT_RATE_KEY : DEFAULT_FIRST_SEEN_KEY),
      prefix: { v4: rule.ipv4PrefixLength ?? DEFAULT_IPV4_PREFIX_LENGTH, v6: rule.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH },
      ...(rule.type === 'rate' ? { rate: rateLimits(rule) } : {}),
    }));
    if (memory instanceof InMemoryFirstSeen) for (const c of this.compiled) if (c.rate) memory.rateLimits.set(c.rule.name, c.rate);
  }

  get ruleNames(): string[] {
    return this.doc.rules.map((r) => r.name);
  }

  /** The alerts one event raises (in rule order). */
  evaluate(event: AuditEventFields, seq = 0): SinkAlert[] {
    const stage = event.stage ?? '';
    const alerts: SinkAlert[] = [];
    let attrs: RequestAttributes | undefined;
    for (const c of this.compiled) {
      if (!c.stages.has(stage)) continue;
      const code = typeof event.responseStatus?.code === 'number' ? event.responseStatus.code : null;
      const outcome = c.rule.outcome ?? 'any';
      if (outcome !== 'any') {
        // Without a response code the outcome is unknown: neither success nor failure.
        if (code === null) continue;
        if ((outcome === 'success') !== code < 400) continue;
      }
      attrs ??= requestAttributesFromEvent(event);
      if (evaluatePolicy(c.match, attrs).ruleIndex === null) continue;
      if (c.except && evaluatePolicy(c.except, attrs).ruleIndex !== null) continue;
      const fired = this.typeCheck(c, event, attrs, seq);
      if (fired) alerts.push(this.alert(c.rule, event, attrs, seq, fired));
    }
    return alerts;
  }

  private typeCheck(c: CompiledRule, event: AuditEventFields, attrs: RequestAttributes, seq: number): Fired | undefined {
    const rule = c.rule;
    switch (rule.type) {
      case 'match':
        return { reason: `matched rule ${rule.name}` };
      case 'source-cidr': {
        const ips = event.sourceIPs ?? [];
        const checked = c.sourceMode === 'all' ? ips : c.sourceMode === 'client' ? ips.slice(0, 1) : ips.slice(-1);
        const outside = checked.filter((ip) => !ipInCidrs(ip, c.cidrs));
        // No source address at all cannot be approved.
        if (checked.length === 0) return { reason: 'the event has no source address, so it cannot come from an approved range', unapprovedSourceIPs: [] };
        if (outside.length === 0) return undefined;
        const ranges = [...(rule.allowedSourceCidrs ?? []), ...(rule.allowedSourceCidrSets ?? []).map((s) => `set ${s}`)].join(', ');
        return { reason: `source ${outside.join(', ')} is outside the approved ranges (${ranges})`, unapprovedSourceIPs: outside };
      }
      case 'first-seen': {
        const { values, key } = this.key(c, event, attrs);
        if (this.memory.has(rule.name, key)) return undefined;
        this.memory.add(rule.name, key, seq);
        return { reason: `first time: ${c.key.map((f) => `${f} ${JSON.stringify(values[f])}`).join(', ')}`, firstSeen: values };
      }
      case 'rate': {
        const limits = c.rate!;
        const { values, key } = this.key(c, event, attrs);
        const t = eventTimeMs(event);
        const r = this.rates.observe(rule.name, key, t, seq, limits);
        if (!r.fired) return undefined;
        const who = c.key.map((f) => `${f} ${JSON.stringify(values[f])}`).join(', ');
        const first = new Date(r.entry.first.t).toISOString();
        const isNew = limits.newWithinMs !== undefined ? ` (first seen ${first}, within ${rule.newKeysWithin})` : '';
        return {
          reason: `${r.entry.times.length} matching events in ${rule.window} for ${who}${isNew}, over the threshold ${limits.threshold}`,
          rate: { key: values, count: r.entry.times.length, window: rule.window ?? '', threshold: limits.threshold, firstSeen: first },
        };
      }
    }
  }

  /** The key's field values and their hash (what is remembered: no names or addresses in the state files). */
  private key(c: CompiledRule, event: AuditEventFields, attrs: RequestAttributes): { values: Record<string, string>; key: string } {
    const values: Record<string, string> = {};
    for (const f of c.key) values[f] = this.keyValue(f, event, attrs, c.prefix);
    return { values, key: createHash('sha256').update(JSON.stringify([c.key, values])).digest('hex').slice(0, 32) };
  }

  private keyValue(field: FirstSeenKeyField, event: AuditEventFields, attrs: RequestAttributes, prefix: { v4: number; v6: number }): string {
    switch (field) {
      case 'user':
        return event.user?.username ?? '';
      case 'namespace':
        return attrs.namespace ?? '';
      case 'resource':
        return resourceKey(attrs);
      case 'name':
        return attrs.name ?? event.objectRef?.name ?? '';
      case 'verb':
        return attrs.verb;
      case 'sourceIP':
        return normalizeIp((event.sourceIPs ?? []).slice(-1)[0] ?? '');
      case 'sourceNetwork':
        return sourceNetwork((event.sourceIPs ?? []).slice(-1)[0] ?? '', prefix.v4, prefix.v6);
    }
  }

  private alert(rule: AlertRule, event: AuditEventFields, attrs: RequestAttributes, seq: number, fired: Fired): SinkAlert {
    const o = event.objectRef;
    const object = attrs.resourceRequest
      ? {
          apiGroup: o?.apiGroup ?? attrs.apiGroup ?? '',
          resource: o?.resource ?? attrs.resource ?? '',
          subresource: o?.subresource ?? attrs.subresource ?? '',
          namespace: o?.namespace ?? attrs.namespace ?? '',
          name: o?.name ?? attrs.name ?? '',
        }
      : null;
    return {
      kind: 'cdk8s-audit/alert',
      rule: rule.name,
      type: rule.type,
      severity: rule.severity ?? 'warning',
      ...(rule.description ? { description: rule.description } : {}),
      reason: fired.reason,
      seq,
      auditID: event.auditID ?? '',
      stage: event.stage ?? '',
      time: event.stageTimestamp ?? null,
      user: event.user?.username ?? null,
      groups: event.user?.groups ?? [],
      impersonatedUser: event.impersonatedUser?.username ?? null,
      verb: event.verb ?? '',
      requestURI: truncate(event.requestURI, 2048) ?? '',
      object,
      sourceIPs: event.sourceIPs ?? [],
      code: typeof event.responseStatus?.code === 'number' ? event.responseStatus.code : null,
      userAgent: truncate(event.userAgent, 256),
      ...(fired.unapprovedSourceIPs ? { unapprovedSourceIPs: fired.unapprovedSourceIPs } : {}),
      ...(fired.firstSeen ? { firstSeen: fired.firstSeen } : {}),
      ...(fired.rate ? { rate: fired.rate } : {}),
    };
  }
}
