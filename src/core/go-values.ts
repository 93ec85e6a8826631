/**
 * Parsing and formatting of flag values the way the kube-apiserver's flag library (pflag, Go's
 * strconv and time packages) reads them, so a value cdk8s-audit accepts is a value the apiserver
 * accepts, and a value it renders reads back the same.
 */

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration (`time.ParseDuration`): a sequence of decimal numbers with units
 * ns, us (µs), ms, s, m, h, e.g. `30s`, `1m30s`, `1.5h`, `-2s`, `0`. Returns nanoseconds,
 * or undefined when the text is not a Go duration.
 */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const re = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += Number(m[1]) * UNIT_NS[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Formats nanoseconds like Go's `time.Duration.String()`: `30s`, `1m30s`, `1h0m0s`, `500ms`, `0s`. */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.round(Math.abs(ns));
  let out: string;
  if (u < 1e9) {
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFraction(u / div)}${unit}`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const sec = `${trimFraction(u / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

function trimFraction(n: number): string {
  // Go prints up to 9 fractional digits and drops trailing zeros.
  return Number(n.toFixed(9)).toString();
}

/** Go `strconv.ParseBool`. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/**
 * Go `strconv.ParseInt(text, 0, 64)` as pflag's IntVar/Int64Var use it: decimal, `0x`, `0o`/`0`
 * octal, `0b` binary, `_` separators between digits. Returns undefined when not an integer or
 * outside the exactly representable range of a JavaScript number.
 */
export function parseGoInt(text: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[1-9][0-9_]*|0)$/.exec(text);
  if (!m) return undefined;
  let body = m[2];
  if (body.endsWith('_') || body.includes('__')) return undefined;
  body = body.replace(/_/g, '');
  let value: number;
  if (/^0[xX]/.test(body)) value = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) value = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) value = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body.startsWith('0')) value = parseInt(body.slice(1), 8);
  else value = parseInt(body, 10);
  if (!Number.isSafeInteger(value)) return undefined;
  return m[1] === '-' ? -value : value;
}

/**
 * Go `strconv.ParseFloat(text, 32)` for pflag's Float32Var, restricted to finite decimal and
 * exponent forms (Go also reads `Inf`, `NaN` and hex floats, which no audit setting needs).
 */
export function parseGoFloat(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || Math.abs(v) > 3.4028234663852886e38) return undefined;
  return v;
}
