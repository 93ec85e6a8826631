/**
 * Checks a webhook request body — the `audit.k8s.io/v1` EventList the kube-apiserver POSTs — and splits
 * it into events, each kept as the exact bytes the apiserver sent (minus insignificant whitespace), so
 * the store holds what was received: no number re-formatted, no string re-escaped. Pure: no I/O.
 */
import { isUtf8 } from 'node:buffer';
import { JsonSyntaxError, minifyJson, ScannedBody, scanEventListBody } from './event-list-scan';

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

/** Parses and checks an EventList body; throws EventListError naming the first problem. */
export function parseEventList(body: Buffer): ReceivedEvent[] {
  if (!isUtf8(body)) throw new EventListError('not_utf8', 'the body is not valid UTF-8; the apiserver sends UTF-8 JSON');
  let scanned: ScannedBody;
  try {
    scanned = scanEventListBody(body);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new EventListError('not_json', `the body is not JSON (${e.message})`);
    throw e;
  }
  const items = Array.isArray(scanned.items) ? scanned.items : undefined;
  checkEventList({ ...scanned, items: items ? items.map((item) => (isObject(item.sample) ? item.fields : item.sample)) : scanned.items });
  return items!.map((item) => ({
    auditID: item.fields.auditID as string,
    stage: item.fields.stage as string,
    // A view of the body: the bytes exactly as sent, not a copy (the store copies them once, into its records).
    raw: item.sawWs ? minifyJson(body, item.start, item.end) : body.subarray(item.start, item.end),
  }));
}

/** What the checks read of a body: the root value, its kind, apiVersion and items (each event's top-level fields). */
export interface EventListView {
  readonly root: unknown;
  readonly kind?: unknown;
  readonly apiVersion?: unknown;
  readonly items?: unknown;
}

/** The EventList checks, apart from JSON syntax; throws EventListError naming the first problem. */
export function checkEventList(view: EventListView): void {
  const { root, items } = view;
  if (!isObject(root)) {
    throw new EventListError('not_event_list', `the body is a JSON ${root === null ? 'null' : Array.isArray(root) ? 'array' : typeof root}, not an EventList object`);
  }
  if (view.kind !== 'EventList') {
    throw new EventListError('not_event_list', `kind is ${describe(view.kind)}, expected "EventList"`);
  }
  if (view.apiVersion !== 'audit.k8s.io/v1') {
    throw new EventListError('not_event_list', `apiVersion is ${describe(view.apiVersion)}, expected "audit.k8s.io/v1" (--audit-webhook-version)`);
  }
  if (!Array.isArray(items)) {
    throw new EventListError('not_event_list', `items is ${items === undefined ? 'missing' : `a ${typeof items}`}, expected an array of events`);
  }
  items.forEach(checkEvent);
}

function isObject(v: unknown): v is object {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === undefined) return 'missing';
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function checkEvent(item: unknown, i: number): void {
  const where = `items[${i}]`;
  if (!isObject(item)) {
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
