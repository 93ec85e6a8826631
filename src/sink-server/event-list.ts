/**
 * Checks a webhook request body — the `audit.k8s.io/v1` EventList the kube-apiserver POSTs — and splits
 * it into events, each kept as the exact bytes the apiserver sent (minus insignificant whitespace), so
 * the store holds what was received: no number re-formatted, no string re-escaped. Pure: no I/O.
 */
import { TextDecoder } from 'node:util';

/** Why a request was refused; also the `reason` label of the rejects metric. */
export type RejectReason =
  | 'method'
  | 'path'
  | 'content_type'
  | 'content_encoding'
  | 'too_large'
  | 'not_utf8'
  | 'not_json'
  | 'not_event_list'
  | 'bad_event'
  | 'client_not_allowed'
  | 'timeout'
  | 'overload'
  | 'disk_full'
  | 'store_error'
  | 'shutting_down';

export const REJECT_REASONS: readonly RejectReason[] = [
  'method', 'path', 'content_type', 'content_encoding', 'too_large', 'not_utf8', 'not_json', 'not_event_list',
  'bad_event', 'client_not_allowed', 'timeout', 'overload', 'disk_full', 'store_error', 'shutting_down',
];

export const AUDIT_STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export const AUDIT_LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;

/** The body is not an EventList the sink can store. `message` is safe to log: it never quotes event content. */
export class EventListError extends Error {
  constructor(
    public readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'EventListError';
  }
}

export interface ReceivedEvent {
  readonly auditID: string;
  readonly stage: string;
  /** The event's JSON, as sent, without insignificant whitespace. */
  readonly raw: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and checks an EventList body; throws EventListError naming the first problem. */
export function parseEventList(body: Buffer): ReceivedEvent[] {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new EventListError('not_utf8', 'the body is not valid UTF-8; the apiserver sends UTF-8 JSON');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new EventListError('not_json', `the body is not JSON (${(e as Error).message.replace(/"[^"]*"/g, '…').slice(0, 120)})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new EventListError('not_event_list', `the body is a JSON ${doc === null ? 'null' : Array.isArray(doc) ? 'array' : typeof doc}, not an EventList object`);
  }
  const list = doc as { kind?: unknown; apiVersion?: unknown; items?: unknown };
  if (list.kind !== 'EventList') {
    throw new EventListError('not_event_list', `kind is ${describe(list.kind)}, expected "EventList"`);
  }
  if (list.apiVersion !== 'audit.k8s.io/v1') {
    throw new EventListError('not_event_list', `apiVersion is ${describe(list.apiVersion)}, expected "audit.k8s.io/v1" (--audit-webhook-version)`);
  }
  if (!Array.isArray(list.items)) {
    throw new EventListError('not_event_list', `items is ${list.items === undefined ? 'missing' : `a ${typeof list.items}`}, expected an array of events`);
  }
  const items = list.items as unknown[];
  items.forEach(checkEvent);
  const raws = itemSpans(text);
  if (raws.length !== items.length) {
    // Cannot happen for input JSON.parse accepted; refuse rather than store something else.
    throw new EventListError('not_event_list', `found ${raws.length} items while splitting but ${items.length} while parsing`);
  }
  return items.map((item, i) => {
    const e = item as { auditID: string; stage: string };
    return { auditID: e.auditID, stage: e.stage, raw: Buffer.from(raws[i], 'utf8') };
  });
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === undefined) return 'missing';
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function checkEvent(item: unknown, i: number): void {
  const where = `items[${i}]`;
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new EventListError('bad_event', `${where} is ${describe(item)}, expected an audit Event object`);
  }
  const e = item as Record<string, unknown>;
  if (e.kind !== undefined && e.kind !== 'Event') throw new EventListError('bad_event', `${where}.kind is ${describe(e.kind)}, expected "Event"`);
  if (e.apiVersion !== undefined && e.apiVersion !== 'audit.k8s.io/v1') {
    throw new EventListError('bad_event', `${where}.apiVersion is ${describe(e.apiVersion)}, expected "audit.k8s.io/v1"`);
  }
  if (typeof e.auditID !== 'string' || e.auditID === '' || e.auditID.length > 256 || /[\u0000-\u001f]/.test(e.auditID)) {
    throw new EventListError('bad_event', `${where}.auditID is ${describe(e.auditID)}, expected a non-empty ID (a UUID) of at most 256 printable characters`);
  }
  if (typeof e.stage !== 'string' || !(AUDIT_STAGES as readonly string[]).includes(e.stage)) {
    throw new EventListError('bad_event', `${where}.stage is ${describe(e.stage)}, expected one of ${AUDIT_STAGES.join(', ')}`);
  }
  if (typeof e.level !== 'string' || !(AUDIT_LEVELS as readonly string[]).includes(e.level)) {
    throw new EventListError('bad_event', `${where}.level is ${describe(e.level)}, expected one of ${AUDIT_LEVELS.join(', ')}`);
  }
}

// ---- raw splitting: find the last top-level "items" array and cut out each element's text ----

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Index just past the string that starts at `i` (text[i] === '"'). */
function skipString(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) throw new Error('unterminated string');
    let backslashes = 0;
    for (let k = q - 1; k > i && text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

function skipWs(text: string, i: number): number {
  while (i < text.length && isWs(text.charCodeAt(i))) i++;
  return i;
}

/** Index just past the JSON value starting at `i`; `sawWs` tells whether it holds whitespace outside strings. */
function skipValue(text: string, i: number): { end: number; sawWs: boolean } {
  const c = text[i];
  if (c === '"') return { end: skipString(text, i), sawWs: false };
  if (c !== '{' && c !== '[') {
    let j = i;
    while (j < text.length && !',}] \t\r\n'.includes(text[j])) j++;
    return { end: j, sawWs: false };
  }
  let depth = 0;
  let sawWs = false;
  let j = i;
  while (j < text.length) {
    const ch = text.charCodeAt(j);
    if (ch === 0x22) {
      j = skipString(text, j);
      continue;
    }
    if (ch === 0x7b || ch === 0x5b) depth++;
    else if (ch === 0x7d || ch === 0x5d) {
      depth--;
      if (depth === 0) return { end: j + 1, sawWs };
    } else if (isWs(ch)) sawWs = true;
    j++;
  }
  throw new Error('unterminated value');
}

/** Removes whitespace outside strings. */
function minify(text: string): string {
  let out = '';
  let i = 0;
  let chunkStart = 0;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      i = skipString(text, i);
      continue;
    }
    if (isWs(ch)) {
      out += text.slice(chunkStart, i);
      while (i < text.length && isWs(text.charCodeAt(i))) i++;
      chunkStart = i;
      continue;
    }
    i++;
  }
  return out + text.slice(chunkStart);
}

/** The text of every element of the top-level `items` array (the last one, as JSON.parse keeps the last key). */
function itemSpans(text: string): string[] {
  let i = skipWs(text, 0);
  if (text[i] !== '{') return [];
  i = skipWs(text, i + 1);
  let result: string[] = [];
  while (i < text.length && text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, keyEnd);
    i = skipWs(text, i + 1); // ':'
    if (key === 'items' && text[i] === '[') {
      result = [];
      i = skipWs(text, i + 1);
      while (text[i] !== ']') {
        const { end, sawWs } = skipValue(text, i);
        const span = text.slice(i, end);
        result.push(sawWs ? minify(span) : span);
        i = skipWs(text, end);
        if (text[i] === ',') i = skipWs(text, i + 1);
      }
      i++;
    } else {
      i = skipValue(text, i).end;
    }
    i = skipWs(text, i);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return result;
}
