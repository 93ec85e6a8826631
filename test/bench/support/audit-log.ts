/** Bytes and events of a JSON-lines audit log, per auditID, so volume can be attributed to what caused it. */
import { readFileSync } from 'node:fs';

export interface RequestVolume {
  bytes: number;
  events: number;
  /** The level of the request's events (all events of one request share it). */
  level: string;
}

export interface LogVolume {
  readonly bytes: number;
  readonly events: number;
  readonly byAuditId: Map<string, RequestVolume>;
}

export function readLogVolume(path: string): LogVolume {
  const text = readFileSync(path);
  const byAuditId = new Map<string, RequestVolume>();
  let events = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(10, start);
    if (end < 0) end = text.length;
    if (end > start) {
      const line = text.toString('utf8', start, end);
      const event = JSON.parse(line) as { auditID: string; level: string };
      const bytes = end - start + 1;
      const v = byAuditId.get(event.auditID);
      if (v) {
        v.bytes += bytes;
        v.events++;
      } else {
        byAuditId.set(event.auditID, { bytes, events: 1, level: event.level });
      }
      events++;
    }
    start = end + 1;
  }
  return { bytes: text.length, events, byAuditId };
}

/** Sums bytes and events of the given requests (requests that were not recorded add nothing). */
export function volumeOf(log: LogVolume, ids: Iterable<string>): { bytes: number; events: number } {
  let bytes = 0;
  let events = 0;
  for (const id of new Set(ids)) {
    const v = log.byAuditId.get(id);
    if (v) {
      bytes += v.bytes;
      events += v.events;
    }
  }
  return { bytes, events };
}
