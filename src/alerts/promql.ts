/**
 * A PromQL checker for the alert expressions: a tokenizer and a parser for the language's grammar
 * (selectors, matchers, ranges, subqueries, offset, functions, aggregations with by/without, binary
 * operators with bool/on/ignoring/group_left/group_right, precedence), with value types (scalar,
 * instant vector, range vector, string) checked against each function's signature, and every metric
 * name and label name checked against the table of known metrics. Not a full Prometheus: no @ modifier,
 * no native-histogram functions; what it refuses, the rules do not use.
 */
import { lookUpMetric, TARGET_LABELS } from './metrics';
import { prometheusDurationPrefix } from '../core/units';
import { re2SyntaxError } from './re2-syntax';

type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

interface Token {
  readonly kind: 'number' | 'duration' | 'string' | 'ident' | 'op' | 'punct' | 'eof';
  readonly text: string;
  readonly at: number;
}

/** A problem in an expression, with the position (0-based character offset). */
export class PromQLError extends Error {
  constructor(
    readonly expr: string,
    readonly at: number,
    readonly reason: string,
  ) {
    super(`${reason} at character ${at + 1}: ${expr.slice(Math.max(0, at - 20), at)}⟨here⟩${expr.slice(at, at + 20)}`);
    this.name = 'PromQLError';
  }
}

const NUMBER = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|Inf|NaN)/;
const IDENT = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const OPS = ['==', '!=', '<=', '>=', '=~', '!~', '<', '>', '+', '-', '*', '/', '%', '^', '='];

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  // Inside [...] numbers with units are durations; elsewhere after `offset` too.
  let bracketDepth = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
      continue;
    }
    const rest = expr.slice(i);
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') {
          const esc = STRING_ESCAPE.exec(expr.slice(j + 1));
          // Prometheus' lexer (lexEscape) takes only Go's escapes, and of the quotes only the enclosing one.
          if (!esc || ((esc[0] === '"' || esc[0] === "'") && esc[0] !== c)) {
            throw new PromQLError(expr, j, `unknown escape sequence ${JSON.stringify(expr.slice(j, j + 2))} in a string (write \\\\ for a backslash, e.g. "\\\\d" for the regex \\d, or use a \`raw\` string)`);
          }
          j += esc[0].length;
        }
        if (expr[j] === '\n' && c !== '`') throw new PromQLError(expr, i, 'unterminated string');
        j++;
      }
      if (j >= expr.length) throw new PromQLError(expr, i, 'unterminated string');
      out.push({ kind: 'string', text: expr.slice(i, j + 1), at: i });
      i = j + 1;
      continue;
    }
    const prev = out[out.length - 1];
    const durationContext = bracketDepth > 0 || (prev?.kind === 'ident' && prev.text === 'offset');
    const dur = durationContext ? prometheusDurationPrefix(rest) : undefined;
    if (dur !== undefined) {
      out.push({ kind: 'duration', text: dur, at: i });
      i += dur.length;
      continue;
    }
    if (bracketDepth > 0 && c === ':') {
      out.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      if (durationContext) throw new PromQLError(expr, i, `expected a duration such as 5m, found ${JSON.stringify(rest.slice(0, 6))}`);
      const num = NUMBER.exec(rest);
      if (!num) throw new PromQLError(expr, i, `bad number ${JSON.stringify(rest.slice(0, 8))}`);
      if (/^[a-zA-Z_]/.test(rest.slice(num[0].length))) throw new PromQLError(expr, i, `bad number ${JSON.stringify(rest.slice(0, num[0].length + 3))} (a duration is only allowed in [...] or after offset)`);
      out.push({ kind: 'number', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      out.push({ kind: 'ident', text: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      out.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    if ('(){}[],:'.includes(c)) {
      if (c === '[') bracketDepth++;
      if (c === ']') bracketDepth = Math.max(0, bracketDepth - 1);
      out.push({ kind: 'punct', text: c, at: i });
      i++;
      continue;
    }
    throw new PromQLError(expr, i, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: 'eof', text: '', at: expr.length });
  return out;
}

/** Functions: argument types (`?` suffix: optional; `...`: repeat the last) and the result. */
const FUNCTIONS: Record<string, { args: string[]; returns: ValueType }> = {
  abs: { args: ['vector'], returns: 'vector' },
  absent: { args: ['vector'], returns: 'vector' },
  absent_over_time: { args: ['matrix'], returns: 'vector' },
  avg_over_time: { args: ['matrix'], returns: 'vector' },
  ceil: { args: ['vector'], returns: 'vector' },
  changes: { args: ['matrix'], returns: 'vector' },
  clamp: { args: ['vector', 'scalar', 'scalar'], returns: 'vector' },
  clamp_max: { args: ['vector', 'scalar'], returns: 'vector' },
  clamp_min: { args: ['vector', 'scalar'], returns: 'vector' },
  count_over_time: { args: ['matrix'], returns: 'vector' },
  delta: { args: ['matrix'], returns: 'vector' },
  deriv: { args: ['matrix'], returns: 'vector' },
  exp: { args: ['vector'], returns: 'vector' },
  floor: { args: ['vector'], returns: 'vector' },
  histogram_quantile: { args: ['scalar', 'vector'], returns: 'vector' },
  idelta: { args: ['matrix'], returns: 'vector' },
  increase: { args: ['matrix'], returns: 'vector' },
  irate: { args: ['matrix'], returns: 'vector' },
  label_join: { args: ['vector', 'string', 'string', 'string...'], returns: 'vector' },
  label_replace: { args: ['vector', 'string', 'string', 'string', 'string'], returns: 'vector' },
  last_over_time: { args: ['matrix'], returns: 'vector' },
  ln: { args: ['vector'], returns: 'vector' },
  log10: { args: ['vector'], returns: 'vector' },
  log2: { args: ['vector'], returns: 'vector' },
  max_over_time: { args: ['matrix'], returns: 'vector' },
  min_over_time: { args: ['matrix'], returns: 'vector' },
  predict_linear: { args: ['matrix', 'scalar'], returns: 'vector' },
  present_over_time: { args: ['matrix'], returns: 'vector' },
  quantile_over_time: { args: ['scalar', 'matrix'], returns: 'vector' },
  rate: { args: ['matrix'], returns: 'vector' },
  resets: { args: ['matrix'], returns: 'vector' },
  round: { args: ['vector', 'scalar?'], returns: 'vector' },
  scalar: { args: ['vector'], returns: 'scalar' },
  sort: { args: ['vector'], returns: 'vector' },
  sort_desc: { args: ['vector'], returns: 'vector' },
  sqrt: { args: ['vector'], returns: 'vector' },
  stddev_over_time: { args: ['matrix'], returns: 'vector' },
  stdvar_over_time: { args: ['matrix'], returns: 'vector' },
  sum_over_time: { args: ['matrix'], returns: 'vector' },
  time: { args: [], returns: 'scalar' },
  timestamp: { args: ['vector'], returns: 'vector' },
  vector: { args: ['scalar'], returns: 'vector' },
};

/** Aggregations: whether they take a parameter first, and its type. */
const AGGREGATIONS: Record<string, ValueType | null> = {
  sum: null,
  avg: null,
  min: null,
  max: null,
  count: null,
  group: null,
  stddev: null,
  stdvar: null,
  topk: 'scalar',
  bottomk: 'scalar',
  quantile: 'scalar',
  count_values: 'string',
};

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless']);

/** Binary operators by precedence (low to high); `^` is right-associative. */
const PRECEDENCE: Record<string, number> = { or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '<=': 3, '<': 3, '>=': 3, '>': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, '^': 6 };
const COMPARISONS = new Set(['==', '!=', '<=', '<', '>=', '>']);
const SET_OPERATORS = new Set(['and', 'or', 'unless']);

/** One label matcher of a selector. */
export interface LabelMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  /** The value, unquoted. */
  readonly value: string;
}

/** One series selector of an expression. */
export interface SeriesSelector {
  /** The metric name as written (e.g. `x_bucket`); undefined for `{…}` alone. */
  readonly metric: string | undefined;
  readonly matchers: readonly LabelMatcher[];
}

export interface PromQLCheck {
  /** The result type of the expression. */
  readonly type: ValueType;
  /** Every metric name the expression selects (as written, e.g. `x_bucket`). */
  readonly metrics: readonly string[];
  /** Every selector with its matchers, in the order written. */
  readonly selectors: readonly SeriesSelector[];
}

export interface PromQLCheckOptions {
  /** Label names allowed in matchers besides the metric's own and the target labels. @default none */
  readonly extraLabels?: readonly string[];
}

class Parser {
  private i = 0;
  readonly metrics: string[] = [];
  readonly selectors: SeriesSelector[] = [];
  constructor(
    private readonly expr: string,
    private readonly tokens: Token[],
    private readonly options: PromQLCheckOptions,
  ) {}

  private get t(): Token {
    return this.tokens[this.i];
  }
  private fail(reason: string, at = this.t.at): never {
    throw new PromQLError(this.expr, at, reason);
  }
  private is(kind: Token['kind'], text?: string): boolean {
    return this.t.kind === kind && (text === undefined || this.t.text === text);
  }
  private expect(kind: Token['kind'], text: string): Token {
    if (!this.is(kind, text)) this.fail(`expected ${JSON.stringify(text)}, found ${this.t.kind === 'eof' ? 'the end' : JSON.stringify(this.t.text)}`);
    return this.tokens[this.i++];
  }

  parse(): ValueType {
    if (this.is('eof')) this.fail('empty expression');
    const type = this.expression(0);
    if (!this.is('eof')) this.fail(`unexpected ${JSON.stringify(this.t.text)} after a complete expression (a missing operator or an unbalanced parenthesis?)`);
    return type;
  }

  private binaryOperator(): string | undefined {
    if (this.t.kind === 'op' && PRECEDENCE[this.t.text] !== undefined) return this.t.text;
    if (this.t.kind === 'ident' && SET_OPERATORS.has(this.t.text)) return this.t.text;
    return undefined;
  }

  private expression(minPrecedence: number): ValueType {
    let left = this.unary();
    for (;;) {
      const op = this.binaryOperator();
      if (op === undefined || PRECEDENCE[op] < minPrecedence) return left;
      const at = this.t.at;
      this.i++;
      let bool = false;
      if (this.is('ident', 'bool')) {
        if (!COMPARISONS.has(op)) this.fail(`bool is only allowed after a comparison, not ${op}`);
        bool = true;
        this.i++;
      }
      let matching = false;
      if (this.is('ident', 'on') || this.is('ident', 'ignoring')) {
        this.i++;
        this.labelList();
        matching = true;
        if (this.is('ident', 'group_left') || this.is('ident', 'group_right')) {
          this.i++;
          if (this.is('punct', '(')) this.labelList();
        }
      }
      const right = this.expression(op === '^' ? PRECEDENCE[op] : PRECEDENCE[op] + 1);
      left = this.binaryType(op, left, right, bool, matching, at);
    }
  }

  private binaryType(op: string, left: ValueType, right: ValueType, bool: boolean, matching: boolean, at: number): ValueType {
    for (const side of [left, right]) {
      if (side === 'matrix') this.fail(`a range vector cannot be an operand of ${op}; wrap it in a function such as rate(...)`, at);
      if (side === 'string') this.fail(`a string cannot be an operand of ${op}`, at);
    }
    if (SET_OPERATORS.has(op)) {
      if (left !== 'vector' || right !== 'vector') this.fail(`${op} needs instant vectors on both sides`, at);
      return 'vector';
    }
    if (left === 'scalar' && right === 'scalar') {
      if (COMPARISONS.has(op) && !bool) this.fail(`comparing two scalars needs bool (${op} bool)`, at);
      if (matching) this.fail('on/ignoring need vectors on both sides', at);
      return 'scalar';
    }
    if (matching && (left !== 'vector' || right !== 'vector')) this.fail('on/ignoring need vectors on both sides', at);
    return 'vector';
  }

  private unary(): ValueType {
    if (this.is('op', '-') || this.is('op', '+')) {
      const at = this.t.at;
      this.i++;
      const type = this.unary();
      if (type !== 'scalar' && type !== 'vector') this.fail('unary minus needs a scalar or an instant vector', at);
      return type;
    }
    return this.postfix(this.primary());
  }

  /** [range] or [range:step] and offset after an expression. */
  private postfix(type: ValueType): ValueType {
    let result = type;
    if (this.is('punct', '[')) {
      const at = this.t.at;
      this.i++;
      this.duration('a range such as 5m');
      let subquery = false;
      if (this.is('punct', ':')) {
        subquery = true;
        this.i++;
        if (this.is('duration')) this.i++;
      }
      this.expect('punct', ']');
      if (result !== 'vector') this.fail(`a range [..] needs an instant vector before it, not a ${result === 'matrix' ? 'range vector' : result}`, at);
      if (!subquery && !this.lastWasSelector) this.fail('a range [5m] directly after an expression needs a subquery step, e.g. [5m:1m]', at);
      result = 'matrix';
    }
    if (this.is('ident', 'offset')) {
      this.i++;
      if (this.is('op', '-')) this.i++;
      this.duration('a duration such as 1h');
    }
    this.lastWasSelector = false;
    return result;
  }

  private lastWasSelector = false;

  private duration(what: string): void {
    if (!this.is('duration')) this.fail(`expected ${what}, found ${this.t.kind === 'eof' ? 'the end' : JSON.stringify(this.t.text)}`);
    this.i++;
  }

  private primary(): ValueType {
    const t = this.t;
    if (t.kind === 'number') {
      this.i++;
      return 'scalar';
    }
    if (t.kind === 'string') {
      this.i++;
      return 'string';
    }
    if (this.is('punct', '(')) {
      this.i++;
      const type = this.expression(0);
      this.expect('punct', ')');
      return type;
    }
    if (this.is('punct', '{')) {
      this.selector(undefined, t.at);
      return 'vector';
    }
    if (t.kind !== 'ident') this.fail(t.kind === 'eof' ? 'the expression ends where an operand should be' : `unexpected ${JSON.stringify(t.text)} where an operand should be`);
    if (t.text in AGGREGATIONS) {
      const next = this.tokens[this.i + 1];
      if ((next.kind === 'punct' && next.text === '(') || (next.kind === 'ident' && (next.text === 'by' || next.text === 'without'))) return this.aggregation();
    }
    if (t.text in FUNCTIONS && this.tokens[this.i + 1].kind === 'punct' && this.tokens[this.i + 1].text === '(') return this.call();
    if (KEYWORDS.has(t.text)) this.fail(`${t.text} is a keyword, not an operand`);
    if (this.tokens[this.i + 1].kind === 'punct' && this.tokens[this.i + 1].text === '(') this.fail(`${t.text} is not a PromQL function`);
    this.i++;
    this.selector(t.text, t.at);
    return 'vector';
  }

  private selector(metric: string | undefined, at: number): void {
    let labels: readonly string[] | undefined;
    if (metric !== undefined) {
      const known = lookUpMetric(metric);
      if (!known) this.fail(`${metric} is not a metric the audit alerts know (see src/alerts/metrics.ts)`, at);
      labels = known.labels;
      this.metrics.push(metric);
    }
    const matchers: LabelMatcher[] = [];
    this.selectors.push({ metric, matchers });
    if (this.is('punct', '{')) {
      this.i++;
      let count = 0;
      while (!this.is('punct', '}')) {
        const name = this.t;
        if (name.kind !== 'ident') this.fail(`expected a label name, found ${name.kind === 'eof' ? 'the end' : JSON.stringify(name.text)}`);
        this.i++;
        const op = this.t;
        if (!(op.kind === 'op' && ['=', '!=', '=~', '!~'].includes(op.text))) this.fail(`expected =, !=, =~ or !~ after label ${name.text}`);
        this.i++;
        const value = this.t;
        if (value.kind !== 'string') this.fail(`expected a quoted label value after ${name.text}${op.text}`);
        this.i++;
        if (name.text === '__name__') this.fail('select the metric by name, not with __name__', name.at);
        if (labels !== undefined && !labels.includes(name.text) && !(TARGET_LABELS as readonly string[]).includes(name.text) && !(this.options.extraLabels ?? []).includes(name.text)) {
          this.fail(`${metric} has no label ${name.text} (its labels: ${[...labels].join(', ') || 'none'}; target labels: ${TARGET_LABELS.join(', ')})`, name.at);
        }
        if (op.text === '=~' || op.text === '!~') {
          const problem = re2SyntaxError(unquote(value.text));
          if (problem) this.fail(`${value.text} is not a valid regular expression for Prometheus (RE2 syntax): ${problem}`, value.at);
        }
        matchers.push({ label: name.text, op: op.text as LabelMatcher['op'], value: unquote(value.text) });
        count++;
        if (this.is('punct', ',')) this.i++;
        else if (!this.is('punct', '}')) this.fail(`expected , or } after a label matcher, found ${JSON.stringify(this.t.text)}`);
      }
      this.i++;
      if (metric === undefined && count === 0) this.fail('a selector needs a metric name or at least one matcher', at);
    }
    this.lastWasSelector = true;
  }

  private labelList(): string[] {
    this.expect('punct', '(');
    const names: string[] = [];
    while (!this.is('punct', ')')) {
      if (this.t.kind !== 'ident') this.fail(`expected a label name, found ${this.t.kind === 'eof' ? 'the end' : JSON.stringify(this.t.text)}`);
      names.push(this.t.text);
      this.i++;
      if (this.is('punct', ',')) this.i++;
      else if (!this.is('punct', ')')) this.fail(`expected , or ) in a label list, found ${JSON.stringify(this.t.text)}`);
    }
    this.i++;
    return names;
  }

  private aggregation(): ValueType {
    const name = this.t.text;
    const at = this.t.at;
    this.i++;
    let grouping = false;
    if (this.is('ident', 'by') || this.is('ident', 'without')) {
      this.i++;
      this.labelList();
      grouping = true;
    }
    this.expect('punct', '(');
    const param = AGGREGATIONS[name];
    if (param) {
      const p = this.expression(0);
      if (p !== param) this.fail(`${name} takes a ${param} first, not a ${p}`, at);
      this.expect('punct', ',');
    }
    const arg = this.expression(0);
    if (arg !== 'vector') this.fail(`${name}(...) aggregates an instant vector, not a ${arg === 'matrix' ? 'range vector (use rate(...) or *_over_time(...))' : arg}`, at);
    this.expect('punct', ')');
    if (this.is('ident', 'by') || this.is('ident', 'without')) {
      if (grouping) this.fail(`${name} has by/without twice`);
      this.i++;
      this.labelList();
    }
    return 'vector';
  }

  private call(): ValueType {
    const name = this.t.text;
    const at = this.t.at;
    const sig = FUNCTIONS[name];
    this.i++;
    this.expect('punct', '(');
    const got: ValueType[] = [];
    while (!this.is('punct', ')')) {
      got.push(this.expression(0));
      if (this.is('punct', ',')) this.i++;
      else if (!this.is('punct', ')')) this.fail(`expected , or ) in the arguments of ${name}, found ${this.t.kind === 'eof' ? 'the end' : JSON.stringify(this.t.text)}`);
    }
    this.i++;
    const wanted: string[] = [];
    for (let k = 0; k < got.length; k++) {
      const spec = sig.args[Math.min(k, sig.args.length - 1)];
      if (k >= sig.args.length && !spec?.endsWith('...')) this.fail(`${name} takes ${sig.args.length} argument(s), got ${got.length}`, at);
      wanted.push(spec.replace(/\?|\.\.\./g, ''));
    }
    const required = sig.args.filter((a) => !a.endsWith('?') && !a.endsWith('...')).length;
    if (got.length < required) this.fail(`${name} takes ${required} argument(s), got ${got.length}`, at);
    got.forEach((type, k) => {
      if (type !== wanted[k]) {
        const hint = wanted[k] === 'matrix' && type === 'vector' ? ' (add a range, e.g. [5m])' : '';
        this.fail(`argument ${k + 1} of ${name} must be ${article(wanted[k])}, not ${article(type)}${hint}`, at);
      }
    });
    return sig.returns;
  }
}

function article(t: string): string {
  return { scalar: 'a scalar', vector: 'an instant vector', matrix: 'a range vector', string: 'a string' }[t] ?? t;
}

/** What may follow a backslash in a quoted PromQL string (Go's escapes; octal takes exactly 3 digits). */
const STRING_ESCAPE = /^(?:[abfnrtv\\"']|[0-7]{3}|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})/;
const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function unquote(s: string): string {
  const body = s.slice(1, -1);
  if (s[0] === '`') return body;
  return body.replace(/\\(?:([0-7]{3})|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))/g, (_m, oct?: string, x?: string, u?: string, U?: string, ch?: string) => {
    if (oct) return String.fromCodePoint(parseInt(oct, 8));
    const hex = x ?? u ?? U;
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return SIMPLE_ESCAPES[ch!] ?? ch!;
  });
}

/**
 * Parses and type-checks `expr`; every metric must be in the known-metrics table and every matcher
 * label one of the metric's labels or a target label.
 * @throws PromQLError naming the problem and where it is
 */
export function checkPromQL(expr: string, options: PromQLCheckOptions = {}): PromQLCheck {
  const parser = new Parser(expr, tokenize(expr), options);
  const type = parser.parse();
  return { type, metrics: parser.metrics, selectors: parser.selectors };
}

/** Parses a selector fragment such as `job="apiserver",namespace="kube-system"` (what goes between braces). */
export function checkSelector(selector: string): string[] {
  if (selector.trim() === '') return [];
  const tokens = tokenize(`{${selector}}`);
  const names: string[] = [];
  let i = 1;
  const fail = (reason: string) => {
    throw new PromQLError(selector, Math.max(0, tokens[i].at - 1), reason);
  };
  while (!(tokens[i].kind === 'punct' && tokens[i].text === '}')) {
    if (tokens[i].kind !== 'ident') fail('expected a label name');
    names.push(tokens[i].text);
    i++;
    if (!(tokens[i].kind === 'op' && ['=', '!=', '=~', '!~'].includes(tokens[i].text))) fail(`expected =, !=, =~ or !~ after ${names[names.length - 1]}`);
    i++;
    if (tokens[i].kind !== 'string') fail('expected a quoted value');
    if (tokens[i - 1].text.endsWith('~')) {
      const problem = re2SyntaxError(unquote(tokens[i].text));
      if (problem) fail(`${tokens[i].text} is not a valid regular expression for Prometheus (RE2 syntax): ${problem}`);
    }
    i++;
    if (tokens[i].kind === 'punct' && tokens[i].text === ',') i++;
    else if (!(tokens[i].kind === 'punct' && tokens[i].text === '}')) fail('expected , between matchers');
  }
  if (tokens[i + 1].kind !== 'eof') fail('unexpected text after the matchers');
  return names;
}
