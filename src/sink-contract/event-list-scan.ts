/**
 * One pass over a webhook body's bytes that validates it as JSON exactly as JSON.parse would (RFC 8259;
 * the caller has already checked UTF-8) and, on the way, notes what the EventList checks need: the root's
 * `kind`, `apiVersion` and `items`, and for every element of `items` its byte span and its own `kind`,
 * `apiVersion`, `auditID`, `stage` and `level`. Nothing else is materialised: at hundreds of events per
 * batch, building (and collecting) every object of every event is what made JSON.parse the sink's
 * largest cost. Iterative, so deep nesting cannot overflow the stack. Pure: no I/O.
 */

/** A JSON value as far as the checks care: strings decoded, anything else a stand-in of its type. */
export type Sample = string | number | boolean | null | Record<string, never> | never[];

export const EVENT_FIELDS = ['kind', 'apiVersion', 'auditID', 'stage', 'level'] as const;
export type EventField = (typeof EVENT_FIELDS)[number];

export interface ScannedItem {
  /** The element's bytes are body[start, end). */
  readonly start: number;
  end: number;
  /** Whitespace outside strings inside the element (it must be removed before the element is stored). */
  sawWs: boolean;
  /** The element itself (an object, for a well-formed event). */
  readonly sample: Sample;
  /** Its top-level fields among EVENT_FIELDS (the last of duplicate keys, as JSON.parse keeps). */
  readonly fields: Partial<Record<EventField, Sample>>;
}

export interface ScannedBody {
  readonly root: Sample;
  readonly kind?: Sample;
  readonly apiVersion?: Sample;
  /** The elements of the root's `items` when it is an array; a stand-in of its type when it is not; undefined when absent. */
  readonly items?: ScannedItem[] | Exclude<Sample, never[]>;
}

/** The body is not JSON; `offset` is where the scan stopped. The message never quotes content. */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    public readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'JsonSyntaxError';
  }
}

const OBJECT = 1;
const ARRAY = 2;

const ROOT_KEYS = ['kind', 'apiVersion', 'items'] as const;
type RootKey = (typeof ROOT_KEYS)[number];

/** Which of `names` the key token body[start, end) (quotes included) is, decoding escapes only when present. */
function keyOf<T extends string>(b: Buffer, start: number, end: number, escaped: boolean, names: readonly T[]): T | undefined {
  if (escaped) {
    const key = JSON.parse(b.toString('utf8', start, end)) as string;
    return names.find((n) => n === key);
  }
  const length = end - start - 2;
  outer: for (const name of names) {
    if (name.length !== length) continue;
    for (let k = 0; k < length; k++) if (b[start + 1 + k] !== name.charCodeAt(k)) continue outer;
    return name;
  }
  return undefined;
}

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** Set by scanString: whether the string just scanned held an escape. */
let lastStringEscaped = false;

/** Index just past the string starting at `i` (b[i] is '"'). */
function scanString(b: Buffer, i: number): number {
  const n = b.length;
  let escaped = false;
  let j = i + 1;
  for (;;) {
    if (j >= n) throw new JsonSyntaxError('unterminated string', i);
    const c = b[j];
    if (c === 0x22) break;
    if (c === 0x5c) {
      escaped = true;
      const e = b[j + 1];
      if (e === 0x75) {
        if (!(isHex(b[j + 2]) && isHex(b[j + 3]) && isHex(b[j + 4]) && isHex(b[j + 5]))) throw new JsonSyntaxError('bad \\u escape', j);
        j += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
      } else {
        throw new JsonSyntaxError('bad escape', j);
      }
      continue;
    }
    if (c < 0x20) throw new JsonSyntaxError('control character in a string', j);
    j++;
  }
  lastStringEscaped = escaped;
  return j + 1;
}

/** Index just past the number starting at `i`: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
function scanNumber(b: Buffer, i: number): number {
  let j = i;
  if (b[j] === 0x2d) j++;
  if (b[j] === 0x30) j++;
  else if (b[j] >= 0x31 && b[j] <= 0x39) while (isDigit(b[j])) j++;
  else throw new JsonSyntaxError('bad number', i);
  if (b[j] === 0x2e) {
    j++;
    if (!isDigit(b[j])) throw new JsonSyntaxError('bad number', i);
    while (isDigit(b[j])) j++;
  }
  if (b[j] === 0x65 || b[j] === 0x45) {
    j++;
    if (b[j] === 0x2b || b[j] === 0x2d) j++;
    if (!isDigit(b[j])) throw new JsonSyntaxError('bad number', i);
    while (isDigit(b[j])) j++;
  }
  return j;
}

function scanLiteral(b: Buffer, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) throw new JsonSyntaxError('unexpected token', i);
  return i + word.length;
}

/** Where a value is recorded (targetOf). */
const NOWHERE = 0;
const ROOT = 1;
const ROOT_MEMBER = 2;
const ELEMENT = 3;
const FIELD = 4;

const EXPECT_VALUE = 0;
const AFTER_VALUE = 1;
const EXPECT_KEY = 2;

/** Scans `body`; throws JsonSyntaxError when JSON.parse would refuse it. */
export function scanEventListBody(body: Buffer): ScannedBody {
  const b = body;
  const n = b.length;
  // A UTF-8 byte order mark is skipped, as TextDecoder does.
  let i = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const stack: number[] = [];
  let root: Sample | undefined;
  let rootKey: RootKey | undefined;
  let kind: Sample | undefined;
  let apiVersion: Sample | undefined;
  let items: ScannedItem[] | Sample | undefined;
  /** The elements of the root `items` array being read. */
  let collecting: ScannedItem[] | undefined;
  /** The element of `collecting` being read. */
  let item: ScannedItem | undefined;
  let itemKey: EventField | undefined;
  /** Stack depth at which the value that just ended started. */
  let endedAt = 0;

  const skipWs = () => {
    const from = i;
    while (i < n && isWs(b[i])) i++;
    if (item !== undefined && i > from && stack.length >= 3) item.sawWs = true;
  };
  /** Where a value starting at `depth` is recorded; the checks read nothing else. */
  const targetOf = (depth: number): number => {
    if (depth === 0) return ROOT;
    if (depth === 1) return stack[0] === OBJECT && rootKey !== undefined ? ROOT_MEMBER : NOWHERE;
    if (depth === 2) return collecting !== undefined ? ELEMENT : NOWHERE;
    return depth === 3 && item !== undefined && stack[2] === OBJECT && itemKey !== undefined ? FIELD : NOWHERE;
  };
  const note = (target: number, sample: Sample, start: number) => {
    if (target === ROOT) root = sample;
    else if (target === ROOT_MEMBER) {
      if (rootKey === 'kind') kind = sample;
      else if (rootKey === 'apiVersion') apiVersion = sample;
      else {
        // An array is filled as its elements are read; a later "items" key replaces it, as in JSON.parse.
        collecting = Array.isArray(sample) ? [] : undefined;
        items = collecting ?? sample;
      }
    } else if (target === ELEMENT) item = { start, end: start, sawWs: false, sample, fields: {} };
    else if (target === FIELD) item!.fields[itemKey!] = sample;
  };
  const stringSample = (start: number, end: number): string =>
    lastStringEscaped ? (JSON.parse(b.toString('utf8', start, end)) as string) : b.toString('utf8', start + 1, end - 1);

  let mode = EXPECT_VALUE;
  skipWs();
  for (;;) {
    if (mode === EXPECT_VALUE) {
      if (i >= n) throw new JsonSyntaxError('unexpected end', i);
      const depth = stack.length;
      const target = targetOf(depth);
      const c = b[i];
      const start = i;
      if (c === 0x7b || c === 0x5b) {
        note(target, c === 0x7b ? {} : [], start);
        stack.push(c === 0x7b ? OBJECT : ARRAY);
        i++;
        skipWs();
        if (b[i] === (c === 0x7b ? 0x7d : 0x5d)) {
          i++;
          stack.pop();
          endedAt = depth;
          mode = AFTER_VALUE;
        } else {
          mode = c === 0x7b ? EXPECT_KEY : EXPECT_VALUE;
        }
        continue;
      }
      if (c === 0x22) {
        i = scanString(b, i);
        if (target !== NOWHERE) note(target, stringSample(start, i), start);
      } else if (c === 0x2d || isDigit(c)) {
        i = scanNumber(b, i);
        note(target, 0, start);
      } else if (c === 0x74) {
        i = scanLiteral(b, i, 'true');
        note(target, true, start);
      } else if (c === 0x66) {
        i = scanLiteral(b, i, 'false');
        note(target, false, start);
      } else if (c === 0x6e) {
        i = scanLiteral(b, i, 'null');
        note(target, null, start);
      } else {
        throw new JsonSyntaxError('unexpected token', i);
      }
      endedAt = depth;
      mode = AFTER_VALUE;
      continue;
    }
    if (mode === AFTER_VALUE) {
      if (endedAt === 2 && item !== undefined) {
        item.end = i;
        collecting!.push(item);
        item = undefined;
      } else if (endedAt === 1) {
        collecting = undefined;
      }
      skipWs();
      if (stack.length === 0) {
        if (i !== n) throw new JsonSyntaxError('unexpected data after the value', i);
        break;
      }
      const top = stack[stack.length - 1];
      const c = b[i];
      if (c === 0x2c) {
        i++;
        skipWs();
        mode = top === OBJECT ? EXPECT_KEY : EXPECT_VALUE;
      } else if (c === (top === OBJECT ? 0x7d : 0x5d)) {
        i++;
        stack.pop();
        endedAt = stack.length;
      } else {
        throw new JsonSyntaxError(top === OBJECT ? "expected ',' or '}'" : "expected ',' or ']'", i);
      }
      continue;
    }
    // EXPECT_KEY
    if (b[i] !== 0x22) throw new JsonSyntaxError('expected a string key', i);
    const start = i;
    i = scanString(b, i);
    const depth = stack.length;
    if (depth === 1) rootKey = keyOf(b, start, i, lastStringEscaped, ROOT_KEYS);
    else if (depth === 3 && item !== undefined) itemKey = keyOf(b, start, i, lastStringEscaped, EVENT_FIELDS);
    skipWs();
    if (b[i] !== 0x3a) throw new JsonSyntaxError("expected ':'", i);
    i++;
    skipWs();
    mode = EXPECT_VALUE;
  }
  return { root: root!, kind, apiVersion, items };
}

/** body[start, end) without the whitespace outside strings. */
export function minifyJson(body: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let o = 0;
  let inString = false;
  for (let j = start; j < end; j++) {
    const c = body[j];
    if (inString) {
      if (c === 0x5c) {
        out[o++] = c;
        out[o++] = body[++j];
        continue;
      }
      if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (isWs(c)) {
      continue;
    }
    out[o++] = c;
  }
  return out.subarray(0, o);
}
