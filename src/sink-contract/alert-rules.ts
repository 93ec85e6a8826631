/**
 * Alert rules the sink evaluates as events arrive (`sink serve --rules FILE`): the file format, its strict
 * validation and its rendering. Pure: no I/O.
 *
 * ```yaml
 * apiVersion: cdk8s-audit.io/v1alpha1
 * kind: AlertRules
 * cidrSets:                                  # named address sets rules can refer to
 *   approved: [10.0.0.0/8, "fd00::/8"]
 * rules:
 *   - name: exec-from-unapproved-source      # lowercase, digits, '-'; the metric label
 *     type: source-cidr                      # match | source-cidr | first-seen | rate
 *     severity: critical                     # critical | warning | info
 *     match:                                 # audit Policy rule selectors, same meaning as in a Policy
 *       resources: [{ group: "", resources: [pods/exec, pods/attach] }]
 *     allowedSourceCidrSets: [approved]
 *   - name: new-user-create-burst            # rate: more than `threshold` matching events per key in `window`
 *     type: rate
 *     match: { verbs: [create] }
 *     key: [user]
 *     threshold: 20
 *     window: 1m
 *     newKeysWithin: 24h                     # only keys this rule first saw less than 24 h before
 *   - name: new-user-location                # first-seen on the user's network (the connection's address, /24 or /48)
 *     type: first-seen
 *     key: [user, sourceNetwork]
 * ```
 */
import { isIP } from 'node:net';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { KNOWN_VERBS } from '../policy/builtin-resources';
import { formatProblemList } from '../core/problem';
import { didYouMean, PolicyIssue, policyIssueToProblem, quote } from '../policy/issue';
import { GroupResources } from '../policy/model';
import { parseCidr } from '../core/cidr';
import { parseDuration } from '../core/units';
import { AUDIT_STAGES } from './event-list';

export const ALERT_RULES_API_VERSION = 'cdk8s-audit.io/v1alpha1';
export const ALERT_RULES_KIND = 'AlertRules';

export const RULE_TYPES = ['match', 'source-cidr', 'first-seen', 'rate'] as const;
export type AlertRuleType = (typeof RULE_TYPES)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type SinkAlertSeverity = (typeof SEVERITIES)[number];
export const OUTCOMES = ['any', 'success', 'failure'] as const;
export type AlertOutcome = (typeof OUTCOMES)[number];
/** Which of an event's sourceIPs must be approved: all of them, the first (the client as reported through proxies), or the last (the address that connected). */
export const SOURCE_IP_MODES = ['all', 'client', 'peer'] as const;
export type SourceIpMode = (typeof SOURCE_IP_MODES)[number];
/**
 * What a first-seen or rate key is made of. `sourceIP` and `sourceNetwork` read the LAST of the event's sourceIPs:
 * the address that connected to the apiserver. The apiserver puts X-Forwarded-For and X-Real-Ip entries before it,
 * so a client can forge those but not the last one. `sourceNetwork` is that address's network (`ipv4PrefixLength`,
 * `ipv6PrefixLength`): a user arriving from a network never seen for them is a new location.
 */
export const FIRST_SEEN_KEY_FIELDS = ['user', 'namespace', 'resource', 'name', 'verb', 'sourceIP', 'sourceNetwork'] as const;
export type FirstSeenKeyField = (typeof FIRST_SEEN_KEY_FIELDS)[number];

/**
 * Which requests a rule is about: the selectors of an audit Policy rule, with the same meaning (the
 * policy checker's): lists AND together, each list matches if any entry does; `resources` compares
 * `resource/subresource` with `*`, `*​/sub` and `res/*` forms; `namespaces: [""]` is cluster scope;
 * `users`/`userGroups` are the authenticated user's (before impersonation).
 */
export interface AlertSelector {
  readonly users?: string[];
  readonly userGroups?: string[];
  readonly verbs?: string[];
  readonly namespaces?: string[];
  readonly resources?: GroupResources[];
  readonly nonResourceURLs?: string[];
}

export interface AlertRule {
  readonly name: string;
  readonly type: AlertRuleType;
  /** @default 'warning' */
  readonly severity?: SinkAlertSeverity;
  readonly description?: string;
  /** @default {} — every request */
  readonly match?: AlertSelector;
  /** Requests matching any of these are not alerted on (e.g. administrators). */
  readonly except?: AlertSelector[];
  /** Event stages evaluated. @default ['ResponseComplete', 'Panic'] (once per request) */
  readonly stages?: string[];
  /** @default 'any'; success = responseStatus.code < 400 */
  readonly outcome?: AlertOutcome;
  /** source-cidr: approved source addresses (IPv4/IPv6 CIDRs). */
  readonly allowedSourceCidrs?: string[];
  /** source-cidr: names of `cidrSets`. */
  readonly allowedSourceCidrSets?: string[];
  /** source-cidr: @default 'all' */
  readonly sourceIPs?: SourceIpMode;
  /** first-seen: what must be new. @default ['user', 'resource'] */
  readonly key?: FirstSeenKeyField[];
  /** first-seen and rate: keys remembered (oldest forgotten first). @default 100000 */
  readonly maxKeys?: number;
  /** first-seen and rate with key sourceNetwork: the IPv4 network's prefix length. @default 24 */
  readonly ipv4PrefixLength?: number;
  /** first-seen and rate with key sourceNetwork: the IPv6 network's prefix length. @default 48 */
  readonly ipv6PrefixLength?: number;
  /** rate: fires when more than this many matching events of one key fall in `window` (once per window per key). */
  readonly threshold?: number;
  /** rate: the sliding window, e.g. `1m`, `15m`, `1h` (event time: stageTimestamp). */
  readonly window?: string;
  /**
   * rate: only count keys this rule first saw less than this long before the event (e.g. `24h`: "a new user").
   * On a new store every key is new for this long. @default every key counts
   */
  readonly newKeysWithin?: string;
}

export interface AlertRulesDocument {
  readonly apiVersion: typeof ALERT_RULES_API_VERSION;
  readonly kind: typeof ALERT_RULES_KIND;
  readonly cidrSets?: Record<string, string[]>;
  readonly rules: AlertRule[];
}

export const DEFAULT_STAGES = ['ResponseComplete', 'Panic'];
export const DEFAULT_FIRST_SEEN_KEY: readonly FirstSeenKeyField[] = ['user', 'resource'];
export const DEFAULT_FIRST_SEEN_MAX_KEYS = 100_000;
export const DEFAULT_RATE_KEY: readonly FirstSeenKeyField[] = ['user'];
export const DEFAULT_IPV4_PREFIX_LENGTH = 24;
export const DEFAULT_IPV6_PREFIX_LENGTH = 48;
/** rate: the largest threshold (each key keeps at most threshold + 1 event times). */
export const MAX_RATE_THRESHOLD = 100_000;
export const RULE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The rules file is invalid; `issues` names every problem (path, value, rule, fix). */
export class AlertRulesError extends Error {
  constructor(
    readonly issues: PolicyIssue[],
    source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}invalid alert rules (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${formatProblemList(issues.map(policyIssueToProblem))}`);
    this.name = 'AlertRulesError';
  }
}

const DOC_FIELDS = ['apiVersion', 'kind', 'cidrSets', 'rules'];
const RULE_FIELDS = ['name', 'type', 'severity', 'description', 'match', 'except', 'stages', 'outcome', 'allowedSourceCidrs', 'allowedSourceCidrSets', 'sourceIPs', 'key', 'maxKeys',
  'ipv4PrefixLength', 'ipv6PrefixLength', 'threshold', 'window', 'newKeysWithin'];
const SELECTOR_FIELDS = ['users', 'userGroups', 'verbs', 'namespaces', 'resources', 'nonResourceURLs'];
const GROUP_RESOURCE_FIELDS = ['group', 'resources', 'resourceNames'];
const KEYED: AlertRuleType[] = ['first-seen', 'rate'];
const TYPE_ONLY: Record<string, AlertRuleType[]> = {
  allowedSourceCidrs: ['source-cidr'], allowedSourceCidrSets: ['source-cidr'], sourceIPs: ['source-cidr'], key: KEYED, maxKeys: KEYED,
  ipv4PrefixLength: KEYED, ipv6PrefixLength: KEYED, threshold: ['rate'], window: ['rate'], newKeysWithin: ['rate'],
};
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

class Checker {
  readonly issues: PolicyIssue[] = [];
  add(path: string, message: string, fix?: string): void {
    this.issues.push({ path, message, fix });
  }
  unknownFields(path: string, value: Obj, known: readonly string[], what: string): void {
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) this.add(`${path ? `${path}.` : ''}${k}`, `unknown field (${what} has: ${known.join(', ')})`, didYouMean(k, known) ?? 'remove it');
    }
  }
  stringList(path: string, v: unknown, fix: string): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.add(path, `${quote(v)} is not a list`, fix);
      return undefined;
    }
    let ok = true;
    v.forEach((s, i) => {
      if (typeof s !== 'string') {
        this.add(`${path}[${i}]`, `${quote(s)} is not a string`, fix);
        ok = false;
      }
    });
    return ok ? (v as string[]) : undefined;
  }
  oneOf<T extends string>(path: string, v: unknown, choices: readonly T[]): void {
    if (v === undefined) return;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      this.add(path, `${quote(v)} is not one of ${choices.join(', ')}`, (typeof v === 'string' && didYouMean(v, choices)) || `use one of ${choices.join(', ')}`);
    }
  }
  cidrs(path: string, v: unknown): void {
    const list = this.stringList(path, v, 'write a list of CIDRs, e.g. [10.0.0.0/8, "fd00::/8"]');
    list?.forEach((c, i) => {
      const parsed = parseCidr(c);
      if (!parsed) {
        const hint = isIP(c) ? `write ${c}/${isIP(c) === 4 ? 32 : 128} for one address` : 'write an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or fd00::/8';
        this.add(`${path}[${i}]`, `${quote(c)} is not a CIDR (address/prefix length)`, hint);
      }
    });
  }
  /** Milliseconds of a duration string, or undefined (absent or invalid; invalid is reported). */
  duration(path: string, v: unknown, fix: string): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.add(path, `${quote(v)} is not a duration string`, fix);
      return undefined;
    }
    try {
      return parseDuration(path, v);
    } catch {
      this.add(path, `${quote(v)} is not a duration (500ms, 30s, 15m, 1h, 7d, 1h30m)`, fix);
      return undefined;
    }
  }
  selector(path: string, v: unknown): void {
    if (!isObj(v)) {
      this.add(path, `${quote(v)} is not a selector object`, `give audit Policy rule selectors: ${SELECTOR_FIELDS.join(', ')}`);
      return;
    }
    this.unknownFields(path, v, SELECTOR_FIELDS, 'a selector');
    this.stringList(`${path}.users`, v.users, 'list user names, e.g. [alice]');
    this.stringList(`${path}.userGroups`, v.userGroups, 'list group names, e.g. [system:masters]');
    this.stringList(`${path}.namespaces`, v.namespaces, 'list namespaces, e.g. [prod] ("" = cluster-scoped)');
    const verbs = this.stringList(`${path}.verbs`, v.verbs, 'list verbs, e.g. [create, update]');
    verbs?.forEach((verb, i) => {
      if (!KNOWN_VERBS.includes(verb)) this.add(`${path}.verbs[${i}]`, `${quote(verb)} is not a verb any request has (verbs are lowercase: ${KNOWN_VERBS.join(', ')})`, didYouMean(verb, KNOWN_VERBS) ?? 'use a request verb');
    });
    const urls = this.stringList(`${path}.nonResourceURLs`, v.nonResourceURLs, 'list paths, e.g. ["/healthz*"]');
    urls?.forEach((u, i) => {
      if (u !== '*' && (!u.startsWith('/') || u.slice(0, -1).includes('*'))) {
        this.add(`${path}.nonResourceURLs[${i}]`, `${quote(u)}: a non-resource URL is "*" or a path starting with "/" with "*" only at the end`, `e.g. "/healthz*"`);
      }
    });
    if (urls?.length && ((Array.isArray(v.resources) && v.resources.length) || (Array.isArray(v.namespaces) && v.namespaces.length))) {
      this.add(`${path}.nonResourceURLs`, 'nonResourceURLs cannot be combined with resources or namespaces (a request is one or the other, so the selector would match nothing)', 'split it into two rules');
    }
    if (v.resources !== undefined) {
      if (!Array.isArray(v.resources)) {
        this.add(`${path}.resources`, `${quote(v.resources)} is not a list`, 'write e.g. [{group: "", resources: [pods/exec]}]');
        return;
      }
      v.resources.forEach((gr, i) => {
        const p = `${path}.resources[${i}]`;
        if (!isObj(gr)) {
          this.add(p, `${quote(gr)} is not a {group, resources, resourceNames} object`, 'write e.g. {group: "", resources: [secrets]}');
          return;
        }
        this.unknownFields(p, gr, GROUP_RESOURCE_FIELDS, 'a group-resources entry');
        if (gr.group !== undefined && typeof gr.group !== 'string') this.add(`${p}.group`, `${quote(gr.group)} is not a string`, 'the core group is ""');
        else if (typeof gr.group === 'string' && gr.group !== '' && gr.group !== '*' && (gr.group.length > 253 || !DNS1123_SUBDOMAIN.test(gr.group))) {
          this.add(`${p}.group`, `${quote(gr.group)} is not an API group (a lowercase DNS subdomain, "" for the core group, or "*")`, 'e.g. rbac.authorization.k8s.io');
        }
        const res = this.stringList(`${p}.resources`, gr.resources, 'list resources, e.g. [pods, pods/exec]');
        res?.forEach((r, j) => {
          if (r !== r.toLowerCase() || r === '' || r.split('/').length > 2) this.add(`${p}.resources[${j}]`, `${quote(r)} is not a resource (lowercase plural, optionally /subresource)`, 'e.g. pods or pods/exec');
        });
        const names = this.stringList(`${p}.resourceNames`, gr.resourceNames, 'list object names');
        if (names?.length && !res?.length) this.add(`${p}.resourceNames`, 'resourceNames need resources (names of which resource?)', 'add resources: [...]');
      });
    }
  }
}

/** Every problem of a rules document (parsed YAML/JSON value or a typed object); [] when valid. */
export function alertRulesProblems(value: unknown): PolicyIssue[] {
  const c = new Checker();
  if (!isObj(value)) {
    c.add('(document)', `${quote(value)} is not an AlertRules object`, `start with apiVersion: ${ALERT_RULES_API_VERSION}, kind: ${ALERT_RULES_KIND}, rules: [...]`);
    return c.issues;
  }
  c.unknownFields('', value, DOC_FIELDS, 'AlertRules');
  if (value.apiVersion !== ALERT_RULES_API_VERSION) c.add('apiVersion', `${quote(value.apiVersion)} is not ${ALERT_RULES_API_VERSION}`, `write apiVersion: ${ALERT_RULES_API_VERSION}`);
  if (value.kind !== ALERT_RULES_KIND) c.add('kind', `${quote(value.kind)} is not ${ALERT_RULES_KIND}`, `write kind: ${ALERT_RULES_KIND}`);
  const setNames: string[] = [];
  if (value.cidrSets !== undefined) {
    if (!isObj(value.cidrSets)) c.add('cidrSets', `${quote(value.cidrSets)} is not a map of name → CIDR list`, 'write e.g. cidrSets: {approved: [10.0.0.0/8]}');
    else
      for (const [name, list] of Object.entries(value.cidrSets)) {
        setNames.push(name);
        if (!RULE_NAME.test(name)) c.add(`cidrSets.${name}`, `${quote(name)} is not a valid set name (lowercase letters, digits, '-')`, 'rename it');
        c.cidrs(`cidrSets.${name}`, list);
        if (Array.isArray(list) && list.length === 0) c.add(`cidrSets.${name}`, 'the set is empty', 'list the approved CIDRs');
      }
  }
  if (!Array.isArray(value.rules)) {
    c.add('rules', value.rules === undefined ? 'missing' : `${quote(value.rules)} is not a list`, 'write rules: [ {name, type, match, …} ]');
    return c.issues;
  }
  if (value.rules.length === 0) c.add('rules', 'the list is empty', 'add at least one rule (cdk8s-audit sink rules preset NAME prints defaults)');
  const names = new Map<string, number>();
  value.rules.forEach((rule, i) => {
    const named = isObj(rule) && typeof rule.name === 'string' ? `rules[${i}] (${rule.name})` : `rules[${i}]`;
    if (!isObj(rule)) {
      c.add(named, `${quote(rule)} is not a rule object`, 'write {name, type, match, …}');
      return;
    }
    c.unknownFields(named, rule, RULE_FIELDS, 'a rule');
    if (typeof rule.name !== 'string' || !RULE_NAME.test(rule.name) || rule.name.length > 63) {
      c.add(`${named}.name`, `${quote(rule.name)} is not a rule name (1-63 lowercase letters, digits and '-', starting and ending alphanumeric)`, 'e.g. exec-into-pods; it becomes the rule label of audit_sink_alerts_total');
    } else if (names.has(rule.name)) {
      c.add(`${named}.name`, `${quote(rule.name)} is also the name of rules[${names.get(rule.name)}]`, 'give every rule its own name');
    } else names.set(rule.name, i);
    if (rule.type === undefined) c.add(`${named}.type`, 'missing', `set type to one of ${RULE_TYPES.join(', ')}`);
    else c.oneOf(`${named}.type`, rule.type, RULE_TYPES);
    c.oneOf(`${named}.severity`, rule.severity, SEVERITIES);
    if (rule.description !== undefined && typeof rule.description !== 'string') c.add(`${named}.description`, `${quote(rule.description)} is not a string`, 'write one sentence');
    if (rule.match !== undefined) c.selector(`${named}.match`, rule.match);
    if (rule.except !== undefined) {
      if (!Array.isArray(rule.except)) c.add(`${named}.except`, `${quote(rule.except)} is not a list of selectors`, 'write e.g. except: [{userGroups: [system:masters]}]');
      else rule.except.forEach((s, j) => c.selector(`${named}.except[${j}]`, s));
    }
    const stages = c.stringList(`${named}.stages`, rule.stages, `list stages: ${AUDIT_STAGES.join(', ')}`);
    stages?.forEach((s, j) => c.oneOf(`${named}.stages[${j}]`, s, AUDIT_STAGES));
    if (stages && stages.length === 0) c.add(`${named}.stages`, 'the list is empty, so the rule never fires', `list stages or leave it out (default ${DEFAULT_STAGES.join(', ')})`);
    c.oneOf(`${named}.outcome`, rule.outcome, OUTCOMES);
    for (const [field, types] of Object.entries(TYPE_ONLY)) {
      if (rule[field] !== undefined && !(types as unknown[]).includes(rule.type) && (RULE_TYPES as readonly unknown[]).includes(rule.type)) {
        c.add(`${named}.${field}`, `only a ${types.join(' or ')} rule has ${field}; this rule is type ${quote(rule.type)}`, `remove it, or make the rule type: ${types.join(' or ')}`);
      }
    }
    if (rule.type === 'source-cidr') {
      c.cidrs(`${named}.allowedSourceCidrs`, rule.allowedSourceCidrs);
      const sets = c.stringList(`${named}.allowedSourceCidrSets`, rule.allowedSourceCidrSets, 'list names of cidrSets');
      sets?.forEach((s, j) => {
        if (!setNames.includes(s)) c.add(`${named}.allowedSourceCidrSets[${j}]`, `${quote(s)} is not a set in cidrSets (${setNames.length ? setNames.join(', ') : 'none defined'})`, didYouMean(s, setNames) ?? 'define it under cidrSets');
      });
      const count = (Array.isArray(rule.allowedSourceCidrs) ? rule.allowedSourceCidrs.length : 0) + (Array.isArray(rule.allowedSourceCidrSets) ? rule.allowedSourceCidrSets.length : 0);
      if (count === 0) c.add(`${named}.allowedSourceCidrs`, 'a source-cidr rule needs the approved addresses', 'give allowedSourceCidrs: [10.0.0.0/8] and/or allowedSourceCidrSets: [name]');
      c.oneOf(`${named}.sourceIPs`, rule.sourceIPs, SOURCE_IP_MODES);
    }
    if (rule.type === 'first-seen' || rule.type === 'rate') {
      const key = c.stringList(`${named}.key`, rule.key, `list fields: ${FIRST_SEEN_KEY_FIELDS.join(', ')}`);
      key?.forEach((k, j) => c.oneOf(`${named}.key[${j}]`, k, FIRST_SEEN_KEY_FIELDS));
      if (key && key.length === 0) c.add(`${named}.key`, 'the key is empty, so only the very first event would ever be new', `list fields, e.g. [user, resource] (default)`);
      if (key && new Set(key).size !== key.length) c.add(`${named}.key`, `${quote(key)} lists a field twice`, 'list each field once');
      if (rule.maxKeys !== undefined && (!Number.isSafeInteger(rule.maxKeys) || (rule.maxKeys as number) < 1 || (rule.maxKeys as number) > 10_000_000)) {
        c.add(`${named}.maxKeys`, `${quote(rule.maxKeys)} is not a whole number from 1 to 10000000`, `leave it out for ${DEFAULT_FIRST_SEEN_MAX_KEYS}`);
      }
      for (const [field, max, def] of [['ipv4PrefixLength', 32, DEFAULT_IPV4_PREFIX_LENGTH], ['ipv6PrefixLength', 128, DEFAULT_IPV6_PREFIX_LENGTH]] as const) {
        const v = rule[field];
        if (v !== undefined && (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > max)) c.add(`${named}.${field}`, `${quote(v)} is not a prefix length from 0 to ${max}`, `leave it out for /${def}`);
        if (v !== undefined && !key?.includes('sourceNetwork')) c.add(`${named}.${field}`, 'the key has no sourceNetwork, so the prefix length is not used', 'add sourceNetwork to key, or remove it');
      }
    }
    if (rule.type === 'rate') {
      if (rule.threshold === undefined) c.add(`${named}.threshold`, 'missing', 'give the most events per key a window may hold without an alert, e.g. threshold: 20');
      else if (!Number.isSafeInteger(rule.threshold) || (rule.threshold as number) < 1 || (rule.threshold as number) > MAX_RATE_THRESHOLD) {
        c.add(`${named}.threshold`, `${quote(rule.threshold)} is not a whole number from 1 to ${MAX_RATE_THRESHOLD}`, 'e.g. threshold: 20');
      }
      if (rule.window === undefined) c.add(`${named}.window`, 'missing', 'give the sliding window, e.g. window: 1m');
      const window = c.duration(`${named}.window`, rule.window, 'e.g. window: 1m');
      const within = c.duration(`${named}.newKeysWithin`, rule.newKeysWithin, 'e.g. newKeysWithin: 24h, or leave it out to count every key');
      if (window === 0) c.add(`${named}.window`, 'a window of 0 holds no event', 'e.g. window: 1m');
      if (within === 0) c.add(`${named}.newKeysWithin`, '0 would make no key new', 'e.g. newKeysWithin: 24h, or leave it out');
    }
  });
  return c.issues;
}

/** Throws AlertRulesError unless `value` is a valid rules document. */
export function checkAlertRules(value: unknown, source?: string): AlertRulesDocument {
  const issues = alertRulesProblems(value);
  if (issues.length) throw new AlertRulesError(issues, source);
  return value as AlertRulesDocument;
}

/** Parses a rules file (YAML or JSON), strictly: syntax, duplicate keys, unknown fields, types, values. */
export function parseAlertRules(text: string, source?: string): AlertRulesDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const issues: PolicyIssue[] = [];
  for (const e of doc.errors) {
    const at = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(document)';
    issues.push({ path: at, message: `not valid YAML or JSON: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, fix: e.code === 'DUPLICATE_KEY' ? 'remove one of the duplicate keys' : 'correct the syntax at that place' });
  }
  if (issues.length) throw new AlertRulesError(issues, source);
  return checkAlertRules(doc.toJS({ maxAliasCount: 100 }), source);
}

/** The rules document as YAML (what `--rules` reads). Throws AlertRulesError when invalid. */
export function renderAlertRulesYaml(doc: AlertRulesDocument): string {
  checkAlertRules(doc);
  return stringify(doc, { lineWidth: 0 });
}
