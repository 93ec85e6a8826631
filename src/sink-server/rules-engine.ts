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
import {
  AlertRule,
  AlertRulesDocument,
  AlertSelector,
  SinkAlertSeverity,
  AlertRuleType,
  DEFAULT_FIRST_SEEN_KEY,
  DEFAULT_FIRST_SEEN_MAX_KEYS,
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
}

/** What first-seen rules remember. */
export interface FirstSeenMemory {
  has(rule: string, key: string): boolean;
  add(rule: string, key: string, seq: number): void;
}

/** In-memory first-seen keys, per rule at most `maxKeys` (the oldest are forgotten first). */
export class InMemoryFirstSeen implements FirstSeenMemory {
  readonly keys = new Map<string, Map<string, number>>();
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

export class RulesEngine {
  private readonly compiled: CompiledRule[];

  constructor(
    readonly doc: AlertRulesDocument,
    private readonly memory: FirstSeenMemory = new InMemoryFirstSeen(),
  ) {
    const sets = doc.cidrSets ?? {};
    this.compiled = doc.rules.map((rule) => ({
      rule,
      match: asPolicy([rule.match ?? {}]),
      except: rule.except?.length ? asPolicy(rule.except) : undefined,
      stages: new Set(rule.stages ?? DEFAULT_STAGES),
      cidrs: [...(rule.allowedSourceCidrs ?? []), ...(rule.allowedSourceCidrSets ?? []).flatMap((s) => sets[s] ?? [])].map((c) => parseCidr(c)!).filter(Boolean),
      sourceMode: rule.sourceIPs ?? 'all',
      key: rule.key ?? DEFAULT_FIRST_SEEN_KEY,
    }));
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

  private typeCheck(c: CompiledRule, event: AuditEventFields, attrs: RequestAttributes, seq: number): { reason: string; unapprovedSourceIPs?: string[]; firstSeen?: Record<string, string> } | undefined {
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
        const values: Record<string, string> = {};
        for (const f of c.key) values[f] = this.keyValue(f, event, attrs);
        const key = createHash('sha256').update(JSON.stringify([c.key, values])).digest('hex').slice(0, 32);
        if (this.memory.has(rule.name, key)) return undefined;
        this.memory.add(rule.name, key, seq);
        return { reason: `first time: ${c.key.map((f) => `${f} ${JSON.stringify(values[f])}`).join(', ')}`, firstSeen: values };
      }
    }
  }

  private keyValue(field: FirstSeenKeyField, event: AuditEventFields, attrs: RequestAttributes): string {
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
    }
  }

  private alert(rule: AlertRule, event: AuditEventFields, attrs: RequestAttributes, seq: number, fired: { reason: string; unapprovedSourceIPs?: string[]; firstSeen?: Record<string, string> }): SinkAlert {
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
    };
  }
}
