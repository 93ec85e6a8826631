/**
 * Whether a label-matcher regex compiles in Prometheus, which uses Go's regexp (RE2 syntax, Perl flags),
 * not JavaScript's: lookarounds and backreferences are refused, `(?P<name>…)`, `(?i)`, `\z`, `\Q…\E`,
 * `[[:alpha:]]` and `\pL` are accepted. The rules follow Go's regexp/syntax parser (parse.go, Go 1.26);
 * test/e2e/promtool.test.ts checks them against promtool on a table of expressions.
 */

/** The reason `re` is not valid RE2, in Go's words, or undefined when it is valid. */
export function re2SyntaxError(re: string): string | undefined {
  try {
    new Re2Checker(Array.from(re)).parse();
    return undefined;
  } catch (e) {
    if (e instanceof Re2Error) return e.message;
    throw e;
  }
}

class Re2Error extends Error {}

const POSIX_CLASSES = new Set(['alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit']);
// Go's unicode.Categories (plus "Any"); scripts are checked with the JavaScript engine's Script= table.
const UNICODE_CATEGORIES = new Set(
  'Any C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);
const MAX_REPEAT = 1000;

function isUnicodeClassName(name: string): boolean {
  if (UNICODE_CATEGORIES.has(name)) return true;
  if (!/^[A-Z][A-Za-z_]*$/.test(name)) return false;
  try {
    new RegExp(`\\p{Script=${name}}`, 'u');
    return true;
  } catch {
    return false;
  }
}

class Re2Checker {
  private i = 0;
  constructor(private readonly s: readonly string[]) {}

  private fail(kind: string, what: string): never {
    throw new Re2Error(`${kind}: \`${what}\``);
  }

  parse(): void {
    let depth = 0;
    let operand = false; // something a repetition can apply to precedes
    let lastRepeat = ''; // the text of the repetition just parsed, if the last item was one
    const s = this.s;
    while (this.i < s.length) {
      const start = this.i;
      const c = s[this.i];
      let repeatText = '';
      switch (c) {
        case '(':
          // `(?flags)` opens no group and leaves the previous item as the operand of a repetition.
          if (s[this.i + 1] === '?' && !this.perlFlags()) break;
          if (s[this.i] === '(') this.i++;
          depth++;
          operand = false;
          break;
        case '|':
          this.i++;
          operand = false;
          break;
        case ')':
          if (depth === 0) this.fail('unexpected )', s.slice(0, this.i + 1).join(''));
          depth--;
          this.i++;
          operand = true;
          break;
        case '^':
        case '$':
        case '.':
          this.i++;
          operand = true;
          break;
        case '[':
          this.charClass();
          operand = true;
          break;
        case '*':
        case '+':
        case '?': {
          this.i++;
          if (s[this.i] === '?') this.i++;
          repeatText = s.slice(start, this.i).join('');
          this.repeat(operand, lastRepeat, repeatText, start);
          break;
        }
        case '{': {
          const r = this.countedRepeat();
          if (r === undefined) {
            this.i++;
            operand = true;
            break;
          }
          const text = s.slice(start, this.i).join('');
          if (r.min < 0 || r.min > MAX_REPEAT || r.max > MAX_REPEAT || (r.max >= 0 && r.min > r.max)) this.fail('invalid repeat count', text);
          if (s[this.i] === '?') this.i++;
          repeatText = s.slice(start, this.i).join('');
          this.repeat(operand, lastRepeat, repeatText, start);
          break;
        }
        case '\\':
          this.escapeOutsideClass();
          operand = true;
          break;
        default:
          this.i++;
          operand = true;
      }
      lastRepeat = repeatText;
    }
    if (depth > 0) this.fail('missing closing )', s.join(''));
  }

  private repeat(operand: boolean, lastRepeat: string, text: string, start: number): void {
    if (lastRepeat) this.fail('invalid nested repetition operator', lastRepeat + text);
    if (!operand) this.fail('missing argument to repetition operator', this.s.slice(start, this.i).join(''));
  }

  /** `{n}`, `{n,}` or `{n,m}` at this.i (consumed), or undefined when `{` is a literal. Go: parseRepeat. */
  private countedRepeat(): { min: number; max: number } | undefined {
    const s = this.s;
    let j = this.i + 1;
    const int = (): number | undefined => {
      const from = j;
      while (j < s.length && s[j] >= '0' && s[j] <= '9') j++;
      if (j === from) return undefined;
      if (j - from >= 2 && s[from] === '0') return undefined; // leading zeros are not a count
      return j - from > 8 ? -1 : Number(s.slice(from, j).join(''));
    };
    const min = int();
    if (min === undefined) return undefined;
    let max = min;
    if (s[j] === ',') {
      j++;
      if (s[j] === '}') max = -1;
      else {
        const m = int();
        if (m === undefined) return undefined;
        max = m;
      }
    }
    if (s[j] !== '}') return undefined;
    this.i = j + 1;
    return { min, max };
  }

  /** `(?…` (consumed): flags, a flag group or a named capture; whether it opens a group. Go: parsePerlFlags. */
  private perlFlags(): boolean {
    const s = this.s;
    const rest = s.slice(this.i).join('');
    const named = rest.startsWith('(?P<') ? 4 : rest.startsWith('(?<') ? 3 : 0;
    if (named) {
      const end = rest.indexOf('>');
      if (end < 0) this.fail('invalid named capture', rest);
      const name = rest.slice(named, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail('invalid named capture', rest.slice(0, end + 1));
      this.i += Array.from(rest.slice(0, end + 1)).length;
      return true;
    }
    let j = this.i + 2;
    let sign = 1;
    let sawFlag = false;
    for (; j < s.length; j++) {
      const c = s[j];
      if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
        sawFlag = true;
        continue;
      }
      if (c === '-') {
        if (sign < 0) break;
        sign = -1;
        sawFlag = false;
        continue;
      }
      if (c === ':' || c === ')') {
        if (sign < 0 && !sawFlag) break;
        this.i = j + 1;
        return c === ':';
      }
      break;
    }
    this.fail('invalid or unsupported Perl syntax', s.slice(this.i, Math.min(j + 1, s.length)).join(''));
  }

  /** A backslash outside a class. Go: the `\\` case of Parse, then parseEscape. */
  private escapeOutsideClass(): void {
    const s = this.s;
    const c = s[this.i + 1];
    if (c === undefined) this.fail('trailing backslash at end of expression', '');
    if (['A', 'b', 'B', 'z'].includes(c)) {
      this.i += 2;
      return;
    }
    if (c === 'C') this.fail('invalid escape sequence', '\\C');
    if (c === 'Q') {
      // \Q…\E is literal text; without \E the rest of the expression is.
      const close = s.findIndex((x, k) => k > this.i + 1 && x === '\\' && s[k + 1] === 'E');
      this.i = close < 0 ? s.length : close + 2;
      return;
    }
    if (!this.classEscape()) this.escape();
  }

  /** A class escape at this.i (`\d \s \w`, their negations, `\p…`, `\P…`), consumed; false when it is none. */
  private classEscape(): boolean {
    const n = this.s[this.i + 1];
    if (n === 'p' || n === 'P') {
      this.unicodeClass();
      return true;
    }
    if (n !== undefined && 'dDsSwW'.includes(n)) {
      this.i += 2;
      return true;
    }
    return false;
  }

  /** `\pL`, `\p{Name}`, `\p{^Name}` at this.i (consumed). */
  private unicodeClass(): void {
    const s = this.s;
    let name: string;
    const start = this.i;
    if (s[this.i + 2] === '{') {
      const close = s.indexOf('}', this.i + 3);
      if (close < 0) this.fail('invalid character class range', s.slice(start).join(''));
      name = s.slice(this.i + 3, close).join('');
      this.i = close + 1;
    } else {
      if (s[this.i + 2] === undefined) this.fail('invalid character class range', s.slice(start).join(''));
      name = s[this.i + 2];
      this.i += 3;
    }
    if (name.startsWith('^')) name = name.slice(1);
    if (!isUnicodeClassName(name)) this.fail('invalid character class range', s.slice(start, this.i).join(''));
  }

  /** One escaped character at this.i (consumed); returns its code point. Go: parseEscape. */
  private escape(): number {
    const s = this.s;
    const start = this.i;
    const c = s[this.i + 1];
    if (c === undefined) this.fail('trailing backslash at end of expression', '');
    this.i += 2;
    const bad = (): never => this.fail('invalid escape sequence', s.slice(start, this.i).join(''));
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !/[A-Za-z0-9]/.test(c)) return cp;
    const octal = (d: string | undefined) => d !== undefined && d >= '0' && d <= '7';
    if (c >= '1' && c <= '7' && !octal(s[this.i])) bad(); // a backreference: not supported
    if (c >= '0' && c <= '7') {
      let v = Number(c);
      for (let k = 0; k < 2 && octal(s[this.i]); k++) v = v * 8 + Number(s[this.i++]);
      return v;
    }
    if (c === 'x') {
      const hex = (d: string | undefined) => d !== undefined && /^[0-9A-Fa-f]$/.test(d);
      if (s[this.i] === '{') {
        let j = this.i + 1;
        let v = 0;
        let n = 0;
        while (hex(s[j])) {
          v = v * 16 + parseInt(s[j], 16);
          n++;
          j++;
          if (v > 0x10ffff) break;
        }
        this.i = j + 1;
        if (n === 0 || s[j] !== '}' || v > 0x10ffff) bad();
        return v;
      }
      if (!hex(s[this.i]) || !hex(s[this.i + 1])) {
        this.i = Math.min(this.i + 2, s.length);
        bad();
      }
      this.i += 2;
      return parseInt(s[this.i - 2] + s[this.i - 1], 16);
    }
    const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (c in simple) return simple[c];
    return bad();
  }

  /** `[…]` at this.i (consumed). Go: parseClass. */
  private charClass(): void {
    const s = this.s;
    const start = this.i;
    this.i++;
    if (s[this.i] === '^') this.i++;
    let first = true;
    while (this.i < s.length && (s[this.i] !== ']' || first)) {
      first = false;
      // POSIX class [:name:]
      if (s[this.i] === '[' && s[this.i + 1] === ':') {
        const close = s.slice(this.i + 2).join('').indexOf(':]');
        if (close >= 0) {
          const name = s.slice(this.i + 2, this.i + 2 + close).join('');
          const bare = name.startsWith('^') ? name.slice(1) : name;
          if (!POSIX_CLASSES.has(bare)) this.fail('invalid character class range', `[:${name}:]`);
          this.i += close + 4;
          continue;
        }
      }
      if (s[this.i] === '\\' && this.classEscape()) continue;
      const rangeStart = this.i;
      const lo = this.classChar(start);
      let hi = lo;
      if (s[this.i] === '-' && this.i + 1 < s.length && s[this.i + 1] !== ']') {
        this.i++;
        hi = this.classChar(start);
        if (hi < lo) this.fail('invalid character class range', s.slice(rangeStart, this.i).join(''));
      }
    }
    if (this.i >= s.length) this.fail('missing closing ]', s.slice(start).join(''));
    this.i++;
  }

  private classChar(classStart: number): number {
    const s = this.s;
    if (this.i >= s.length) this.fail('missing closing ]', s.slice(classStart).join(''));
    if (s[this.i] === '\\') return this.escape();
    return s[this.i++].codePointAt(0)!;
  }
}
