/**
 * Pure request builders of the forwarders: the Elasticsearch `_bulk` body (NDJSON: one `create` action
 * line and one document line per event, `_id` = auditID + stage so a retried batch never indexes an
 * event twice), the Loki push body (JSON streams with few, low-cardinality labels and nanosecond
 * timestamps from stageTimestamp), and the answers of both APIs turned into "done", "retry these" or
 * "refused". No I/O.
 */

/** The fields of an audit event the forwarders read. */
interface EventFields {
  auditID?: unknown;
  stage?: unknown;
  stageTimestamp?: unknown;
  requestReceivedTimestamp?: unknown;
  level?: unknown;
  verb?: unknown;
  objectRef?: { resource?: unknown; apiGroup?: unknown; namespace?: unknown };
}

function fields(event: Buffer): EventFields {
  try {
    const v = JSON.parse(event.toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' ? (v as EventFields) : {};
  } catch {
    return {};
  }
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch (as a decimal string) of an RFC 3339 timestamp with up to 9 fraction digits; undefined if malformed. */
export function rfc3339ToNanos(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return (BigInt(seconds) * 1_000_000n + frac).toString();
}

/** The event's time: stageTimestamp, else requestReceivedTimestamp, else `fallback`. */
function eventTime(f: EventFields, fallback: Date): { nanos: string; date: Date; iso: string } {
  for (const t of [f.stageTimestamp, f.requestReceivedTimestamp]) {
    const nanos = rfc3339ToNanos(t);
    if (nanos) return { nanos, date: new Date(Number(BigInt(nanos) / 1_000_000n)), iso: t as string };
  }
  return { nanos: (BigInt(fallback.getTime()) * 1_000_000n).toString(), date: fallback, iso: fallback.toISOString() };
}

// ---- Elasticsearch ----

export const DEFAULT_ES_INDEX = 'k8s-audit-%Y.%m.%d';

/**
 * Checks an index-name pattern (%Y %m %d %H are replaced by the event's UTC date); returns problems.
 * Elasticsearch index names: lowercase, no \ / * ? " < > | space , #, not starting with - _ +, at most 255 bytes.
 */
export function esIndexPatternProblems(pattern: string): string[] {
  const problems: string[] = [];
  const sample = pattern.replace(/%[YmdH]/g, '00');
  if (/%[^YmdH]/.test(pattern) || /%$/.test(pattern)) problems.push('only %Y, %m, %d and %H are replaced (UTC date of the event)');
  if (sample === '' || sample === '.' || sample === '..') problems.push('the name is empty');
  if (/[A-Z]/.test(sample)) problems.push('index names are lowercase');
  if (/[\\/*?"<>| ,#:]/.test(sample)) problems.push('index names cannot contain \\ / * ? " < > | space , # :');
  if (/^[-_+]/.test(sample)) problems.push('index names cannot start with -, _ or +');
  if (Buffer.byteLength(sample) > 255) problems.push('index names are at most 255 bytes');
  return problems;
}

export function esIndexName(pattern: string, date: Date): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  return pattern
    .replace(/%Y/g, String(date.getUTCFullYear()))
    .replace(/%m/g, p2(date.getUTCMonth() + 1))
    .replace(/%d/g, p2(date.getUTCDate()))
    .replace(/%H/g, p2(date.getUTCHours()));
}

/** `_id` of an event: auditID and stage (one document per event; a retry finds it exists). */
export function esDocumentId(auditID: string, stage: string): string {
  return `${auditID}-${stage}`;
}

export interface BulkItemRef {
  readonly index: number;
  readonly id: string;
  readonly indexName: string;
}

/**
 * The `_bulk` body for events: for each, `{"create":{"_index":…,"_id":…}}` and the event with an
 * `@timestamp` (its stageTimestamp) added in front — otherwise byte for byte as stored.
 */
export function buildBulkBody(events: readonly Buffer[], indexPattern: string, now = new Date()): { body: Buffer; items: BulkItemRef[] } {
  const parts: Buffer[] = [];
  const items: BulkItemRef[] = [];
  events.forEach((event, index) => {
    const f = fields(event);
    const t = eventTime(f, now);
    const id = esDocumentId(String(f.auditID ?? ''), String(f.stage ?? ''));
    const indexName = esIndexName(indexPattern, t.date);
    items.push({ index, id, indexName });
    parts.push(Buffer.from(`${JSON.stringify({ create: { _index: indexName, _id: id } })}\n{"@timestamp":${JSON.stringify(t.iso)}${event.length > 2 ? ',' : ''}`, 'utf8'));
    parts.push(event.subarray(1));
    parts.push(Buffer.from('\n'));
  });
  return { body: Buffer.concat(parts), items };
}

export interface BulkOutcome {
  /** Indexes (into the batch) that must be sent again (429, 5xx on the item). */
  readonly retry: number[];
  /** Items Elasticsearch refused for good (mapping errors…): index and error type (never the reason text, which can quote values). */
  readonly refused: { index: number; status: number; type: string }[];
  /** Items already present (409 on create): a retry of an earlier batch. */
  readonly existing: number;
  readonly created: number;
}

/** Reads a `_bulk` answer (HTTP 200). Throws when it does not describe every item (the batch is retried). */
export function parseBulkResponse(body: Buffer, count: number): BulkOutcome {
  let doc: { errors?: unknown; items?: unknown };
  try {
    doc = JSON.parse(body.toString('utf8')) as typeof doc;
  } catch {
    throw new Error('the _bulk answer is not JSON');
  }
  if (!Array.isArray(doc.items) || doc.items.length !== count) {
    throw new Error(`the _bulk answer lists ${Array.isArray(doc.items) ? doc.items.length : 'no'} items for ${count} documents`);
  }
  const retry: number[] = [];
  const refused: BulkOutcome['refused'] = [];
  let existing = 0;
  let created = 0;
  (doc.items as unknown[]).forEach((item, i) => {
    const entry = item && typeof item === 'object' ? (Object.values(item as object)[0] as { status?: unknown; error?: { type?: unknown } }) : undefined;
    const status = typeof entry?.status === 'number' ? entry.status : 0;
    if (status === 200 || status === 201) created++;
    else if (status === 409) existing++;
    else if (status === 429 || status >= 500 || status === 0) retry.push(i);
    else refused.push({ index: i, status, type: typeof entry?.error?.type === 'string' ? entry.error.type : 'unknown' });
  });
  return { retry, refused, existing, created };
}

// ---- Loki ----

/** Event fields that may become Loki labels: each has few values. namespace and user are left out (unbounded). */
export const LOKI_LABEL_FIELDS = ['level', 'verb', 'stage', 'resource', 'api_group'] as const;
export type LokiLabelField = (typeof LOKI_LABEL_FIELDS)[number];
export const DEFAULT_LOKI_LABEL_FIELDS: readonly LokiLabelField[] = ['level', 'verb'];
export const DEFAULT_LOKI_STATIC_LABELS: Readonly<Record<string, string>> = { job: 'kube-apiserver-audit' };

export const LOKI_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelValue(f: EventFields, field: LokiLabelField): string {
  const v = field === 'resource' ? f.objectRef?.resource : field === 'api_group' ? f.objectRef?.apiGroup : f[field];
  if (typeof v !== 'string' || v === '') return field === 'api_group' && f.objectRef ? 'core' : 'none';
  // Bounded: a hostile value cannot make an unbounded label.
  return v.length > 63 ? v.slice(0, 63) : v;
}

export interface LokiPush {
  readonly streams: { stream: Record<string, string>; values: [string, string][] }[];
}

/** The push body: events grouped into streams by their label values, each stream's entries in time order. */
export function buildLokiPush(events: readonly Buffer[], labelFields: readonly LokiLabelField[], staticLabels: Readonly<Record<string, string>>, now = new Date()): LokiPush {
  const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
  for (const event of events) {
    const f = fields(event);
    const stream: Record<string, string> = { ...staticLabels };
    for (const field of labelFields) stream[field] = labelValue(f, field);
    const key = JSON.stringify(stream);
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { stream, values: [] }));
    s.values.push([eventTime(f, now).nanos, event.toString('utf8')]);
  }
  const out = [...streams.values()];
  for (const s of out) s.values.sort((a, b) => (a[0].length !== b[0].length ? a[0].length - b[0].length : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { streams: out };
}
