/**
 * Flag sets: validation and rendering of kube-apiserver audit flags, both driven by AUDIT_FLAGS.
 */
import { parseKubernetesVersion } from '../core/kubernetes-version';
import { formatValue } from './errors';
import {
  AUDIT_FLAGS,
  AUDIT_GROUP_VERSION,
  AuditFlagSpec,
  FlagCondition,
  FlagGroup,
  FlagRule,
  FlagType,
  FlagValue,
  findFlag,
  flagDefault,
  flagValuesEqual,
  formatFlagValue,
  getFlag,
} from './flag-table';
import { parseGoBool, parseGoDuration, parseGoFloat, parseGoInt } from '../core/go-values';

/** Flag values keyed by flag name without dashes, e.g. `{ 'audit-log-maxage': 30 }`. */
export type FlagValues = Readonly<Record<string, FlagValue>>;

/** One rendered flag. */
export interface AuditArg {
  /** Without dashes, as kubeadm's extraArgs want it: `audit-log-maxage`. */
  readonly name: string;
  readonly value: string;
}

export interface FlagSetOptions {
  /**
   * The Kubernetes version whose defaults and rules apply (`1.35`, `1.36.2`).
   * @default the newest supported version
   */
  readonly kubernetesVersion?: string;
  /**
   * Skip the checks of `--audit-policy-file` (set, absolute, paired with a backend): for validating
   * one backend's flags on their own.
   * @default false
   */
  readonly ignorePolicyFile?: boolean;
}

/** The enabling flag of each backend. */
const ENABLING_FLAG: Record<'log' | 'webhook', string> = { log: 'audit-log-path', webhook: 'audit-webhook-config-file' };

/** Parses one flag's command-line text into its typed value, or returns a problem sentence. */
export function parseFlagText(spec: AuditFlagSpec, text: string): { value: FlagValue } | { problem: string } {
  const bad = (what: string, fix: string) => ({ problem: `--${spec.name}: ${JSON.stringify(text)} is not ${what} (the kube-apiserver cannot parse it); ${fix}` });
  switch (spec.type) {
    case FlagType.INT:
    case FlagType.BYTES: {
      const v = parseGoInt(text);
      return v === undefined ? bad('an integer', `write a whole number${spec.unit ? ` of ${spec.unit}` : ''}, e.g. ${flagDefault(spec, 99) || 1}`) : { value: v };
    }
    case FlagType.FLOAT: {
      const v = parseGoFloat(text);
      return v === undefined ? bad('a number', 'write a decimal number such as 10 or 2.5') : { value: v };
    }
    case FlagType.BOOL: {
      const v = parseGoBool(text);
      return v === undefined ? bad('a boolean', 'write true or false') : { value: v };
    }
    case FlagType.DURATION:
      return parseGoDuration(text) === undefined ? bad('a Go duration', 'write a number with a unit (ns, us, ms, s, m, h), e.g. 30s or 1m30s') : { value: text };
    default:
      return { value: text };
  }
}

/** A problem if `value` does not have the flag's type. */
function typeProblem(spec: AuditFlagSpec, value: FlagValue): string | undefined {
  const where = `--${spec.name}: ${formatValue(value)}`;
  switch (spec.type) {
    case FlagType.INT:
    case FlagType.BYTES:
      return typeof value === 'number' && Number.isSafeInteger(value) ? undefined : `${where} is not an integer; give a whole number${spec.unit ? ` of ${spec.unit}` : ''}`;
    case FlagType.FLOAT:
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${where} is not a finite number; give a number such as 10`;
    case FlagType.BOOL:
      return typeof value === 'boolean' ? undefined : `${where} is not a boolean; give true or false`;
    case FlagType.DURATION:
      return typeof value === 'string' && parseGoDuration(value) !== undefined ? undefined : `${where} is not a Go duration; give a number with a unit, e.g. 30s or 1m30s`;
    default:
      return typeof value === 'string' ? undefined : `${where} is not a string`;
  }
}

/** Effective values: the given ones over the version's defaults. */
export class FlagLookup {
  constructor(
    private readonly values: FlagValues,
    readonly minor: number,
  ) {}
  get(name: string): FlagValue {
    return name in this.values ? this.values[name] : flagDefault(getFlag(name), this.minor);
  }
  has(name: string): boolean {
    return name in this.values;
  }
  enabled(group: FlagGroup): boolean {
    if (group === 'global') return this.enabled('log') || this.enabled('webhook');
    return this.get(ENABLING_FLAG[group]) !== '';
  }
}

function conditionHolds(c: FlagCondition, lookup: FlagLookup): boolean {
  return lookup.get(c.flag) === c.equals;
}

function conditionText(conds: readonly FlagCondition[] | undefined): string {
  return conds && conds.length ? ` when ${conds.map((c) => `--${c.flag}=${c.equals}`).join(' and ')}` : '';
}

/** The rule as a phrase for docs and messages: `> 0 when --audit-log-mode=batch`. */
export function ruleText(rule: FlagRule): string {
  switch (rule.kind) {
    case 'one-of':
      return `one of ${rule.values.map((v) => `\`${v}\``).join(', ')}`;
    case 'non-negative':
      return '≥ 0';
    case 'positive':
      return `> 0${conditionText(rule.when)}`;
    case 'at-least-flag':
      return `≥ --${rule.flag} (checked even when truncation is off)`;
    case 'group-version':
      return `\`${AUDIT_GROUP_VERSION}\``;
  }
}

function ruleHolds(rule: FlagRule, value: FlagValue, lookup: FlagLookup): boolean {
  switch (rule.kind) {
    case 'one-of':
      return typeof value === 'string' && rule.values.includes(value);
    case 'non-negative':
      return typeof value === 'number' && value >= 0;
    case 'positive':
      if (rule.when && !rule.when.every((c) => conditionHolds(c, lookup))) return true;
      return typeof value === 'number' && value > 0;
    case 'at-least-flag':
      return typeof value === 'number' && value >= (lookup.get(rule.flag) as number);
    case 'group-version':
      return value === AUDIT_GROUP_VERSION;
  }
}

function ruleFix(spec: AuditFlagSpec, rule: FlagRule, lookup: FlagLookup): string {
  switch (rule.kind) {
    case 'one-of':
      return `use ${rule.values.join(', ')}`;
    case 'non-negative':
      return spec.name === 'audit-log-maxsize'
        ? 'use a size in MiB such as 100'
        : `use 0 (no limit) or a positive number of ${spec.unit ?? 'units'}`;
    case 'positive': {
      const alternatives = (rule.when ?? []).map((c) =>
        c.flag.endsWith('-mode') ? `set --${c.flag} to blocking` : `turn throttling off with --${c.flag}=false`,
      );
      return [`use a number > 0${spec.unit ? ` (${spec.unit})` : ''}`, ...alternatives].join(', or ');
    }
    case 'at-least-flag':
      return `raise --${spec.name} to at least ${formatValue(lookup.get(rule.flag))} or lower --${rule.flag}`;
    case 'group-version':
      return `use ${AUDIT_GROUP_VERSION}, the only version the apiserver serializes events in`;
  }
}

/** The apiserver's own message for a broken rule, with the values filled in as Go prints them. */
function upstreamMessage(rule: FlagRule, value: FlagValue, lookup: FlagLookup): string {
  let msg = rule.upstream.replace('{value}', String(value));
  if (rule.kind === 'at-least-flag') msg = msg.replace('{other}', String(lookup.get(rule.flag)));
  if (rule.kind === 'group-version' && typeof value === 'string' && value.split('/').length > 2) {
    msg = `unexpected GroupVersion string: ${value}`;
  }
  return msg;
}

/**
 * Every problem with a set of audit flags, each naming the flag, the value, the rule and the fix.
 * Upstream rules are those of `AuditOptions.Validate()` (checked per backend only when that backend
 * is enabled, as upstream does); cdk8s-audit adds: flags of a disabled backend, a backend without a
 * policy file, a policy file without a backend, relative paths, and a deprecated alias that disagrees.
 */
export function validateAuditFlags(values: FlagValues, options: FlagSetOptions = {}): string[] {
  const minor = parseKubernetesVersion(options.kubernetesVersion).minor;
  const problems: string[] = [];
  const typed: Record<string, FlagValue> = {};
  for (const [name, value] of Object.entries(values)) {
    const spec = findFlag(name);
    if (!spec) {
      problems.push(`${name}: is not a kube-apiserver audit flag; remove it, or check the spelling against docs/flags.md`);
      continue;
    }
    const tp = typeProblem(spec, value);
    if (tp) problems.push(tp);
    else typed[spec.name] = value;
  }
  // Deprecated alias: fold into the canonical flag.
  for (const spec of AUDIT_FLAGS.filter((s) => s.deprecatedAliasOf)) {
    if (!(spec.name in typed)) continue;
    const canonical = getFlag(spec.deprecatedAliasOf!);
    if (canonical.name in typed && !flagValuesEqual(spec, typed[spec.name], typed[canonical.name])) {
      problems.push(
        `--${spec.name}: ${formatValue(typed[spec.name])} disagrees with --${canonical.name}=${formatValue(typed[canonical.name])}; ` +
          'both set the same setting and the one later on the command line wins — drop the deprecated one (cdk8s-audit check)',
      );
    }
    typed[canonical.name] ??= typed[spec.name];
    delete typed[spec.name];
  }
  const lookup = new FlagLookup(typed, minor);

  for (const group of ['log', 'webhook'] as const) {
    if (lookup.enabled(group)) continue;
    const stray = Object.keys(typed).filter((n) => getFlag(n).group === group && n !== ENABLING_FLAG[group]);
    if (stray.length) {
      problems.push(
        `${stray.map((n) => `--${n}`).join(', ')}: set while --${ENABLING_FLAG[group]} is empty, so the ${group} backend is off and ` +
          `${stray.length === 1 ? 'it has' : 'they have'} no effect; set --${ENABLING_FLAG[group]} or drop ${stray.length === 1 ? 'it' : 'them'} (cdk8s-audit check)`,
      );
    }
  }
  const policy = options.ignorePolicyFile ? undefined : lookup.get('audit-policy-file');
  if (lookup.enabled('global') && policy === '') {
    problems.push(
      '--audit-policy-file: (unset) while a backend is on; without a policy the apiserver records no events at all — ' +
        'set --audit-policy-file to the policy written by cdk8s-audit (cdk8s-audit check)',
    );
  }
  if (!lookup.enabled('global') && policy !== undefined && policy !== '') {
    problems.push(
      `--audit-policy-file: ${formatValue(policy)} is set but no backend is on, so events go nowhere; ` +
        'set --audit-log-path and/or --audit-webhook-config-file (cdk8s-audit check)',
    );
  }
  for (const name of [...(options.ignorePolicyFile ? [] : ['audit-policy-file']), 'audit-log-path', 'audit-webhook-config-file']) {
    const v = lookup.get(name);
    if (typeof v === 'string' && v !== '' && v !== '-' && !v.startsWith('/')) {
      problems.push(
        `--${name}: ${formatValue(v)} is a relative path, resolved against the apiserver's working directory (/ in a static pod); ` +
          'give an absolute path inside the apiserver container (cdk8s-audit check)',
      );
    }
  }

  for (const spec of AUDIT_FLAGS) {
    if (spec.deprecatedAliasOf || !lookup.enabled(spec.group)) continue;
    const value = lookup.get(spec.name);
    for (const rule of spec.rules) {
      if (ruleHolds(rule, value, lookup)) continue;
      const origin = lookup.has(spec.name) ? '' : ` (the default of Kubernetes 1.${minor})`;
      problems.push(
        `--${spec.name}: ${formatValue(value)}${origin} breaks the kube-apiserver rule "${ruleText(rule)}" ` +
          `(it refuses to start: ${upstreamMessage(rule, value, lookup)}); ${ruleFix(spec, rule, lookup)}`,
      );
    }
  }
  return problems;
}

/**
 * Renders a flag set as `{name, value}` pairs in the table's order: flags that differ from the
 * version's default, plus the always-rendered ones (paths, and the log rotation trio whose defaults
 * changed in 1.36 — writing them pins the behaviour across upgrades). Deprecated aliases are
 * rendered under their canonical name. Does not validate; call validateAuditFlags first.
 */
export function renderAuditArgs(values: FlagValues, options: FlagSetOptions = {}): AuditArg[] {
  const minor = parseKubernetesVersion(options.kubernetesVersion).minor;
  const typed: Record<string, FlagValue> = {};
  for (const [name, value] of Object.entries(values)) {
    const spec = getFlag(name);
    if (spec.deprecatedAliasOf) typed[spec.deprecatedAliasOf] ??= value;
    else typed[spec.name] = value;
  }
  const lookup = new FlagLookup(typed, minor);
  const toStdout = lookup.get('audit-log-path') === '-';
  const args: AuditArg[] = [];
  for (const spec of AUDIT_FLAGS) {
    if (spec.deprecatedAliasOf || !lookup.enabled(spec.group)) continue;
    const value = lookup.get(spec.name);
    const isDefault = flagValuesEqual(spec, value, flagDefault(spec, minor));
    const rotation = spec.alwaysRender && spec.group === 'log' && !spec.enablesBackend;
    const render = lookup.has(spec.name) ? !isDefault || spec.alwaysRender : spec.alwaysRender && !(rotation && toStdout) && value !== '';
    if (render) args.push({ name: spec.name, value: formatFlagValue(spec, value) });
  }
  return args;
}

/** `--name=value` strings. */
export function toCommandLine(args: readonly AuditArg[]): string[] {
  return args.map((a) => `--${a.name}=${a.value}`);
}
