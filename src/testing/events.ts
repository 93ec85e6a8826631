/**
 * Audit events read back from a backend: parse JSON lines, group by request, and wait until the
 * events a test is looking for have been written (the log and webhook backends buffer).
 */
import { sleep } from './exec';

export interface AuditObjectRef {
  readonly resource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resourceVersion?: string;
  readonly subresource?: string;
}

export interface AuditUser {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: string[];
  readonly extra?: Record<string, string[]>;
}

/** An audit.k8s.io/v1 Event as the apiserver writes it. */
export interface AuditEvent {
  readonly kind: 'Event';
  readonly apiVersion: string;
  readonly level: string;
  readonly auditID: string;
  readonly stage: string;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  readonly sourceIPs?: string[];
  readonly userAgent?: string;
  readonly objectRef?: AuditObjectRef;
  readonly responseStatus?: { readonly code?: number; readonly message?: string };
  readonly requestObject?: unknown;
  readonly responseObject?: unknown;
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly annotations?: Record<string, string>;
}

/** Parses JSON-lines audit output; a line that is not an audit.k8s.io/v1 Event throws naming `source:line`. */
export function parseAuditEvents(text: string, source: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch (error) {
      throw new Error(`${source}:${index + 1} is not a JSON audit event (${(error as Error).message}): ${line.slice(0, 200)}`);
    }
    if (event?.kind !== 'Event' || event.apiVersion !== 'audit.k8s.io/v1') throw new Error(`${source}:${index + 1} is not an audit.k8s.io/v1 Event: ${line.slice(0, 200)}`);
    events.push(event);
  });
  return events;
}

export function groupByAuditId(events: readonly AuditEvent[]): Map<string, AuditEvent[]> {
  const byId = new Map<string, AuditEvent[]>();
  for (const e of events) {
    const list = byId.get(e.auditID);
    if (list) list.push(e);
    else byId.set(e.auditID, [e]);
  }
  return byId;
}

export interface WaitOptions {
  /** @default 60 000 */
  readonly timeoutMs?: number;
  /** @default 1 000 */
  readonly intervalMs?: number;
}

/**
 * Reads events until every wanted auditID has an event (a ResponseComplete one, or ResponseStarted
 * for requests the apiserver answers that way) or the time is up; returns the last read and what is
 * still missing — it never throws for a timeout, so the caller reports what was and wasn't seen.
 */
export async function waitForAuditEvents(
  read: () => Promise<AuditEvent[]>,
  auditIds: readonly string[],
  options: WaitOptions = {},
): Promise<{ events: AuditEvent[]; missing: string[] }> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const events = await read();
    const done = new Set(events.filter((e) => e.stage === 'ResponseComplete' || e.stage === 'ResponseStarted' || e.stage === 'Panic').map((e) => e.auditID));
    const missing = auditIds.filter((id) => !done.has(id));
    if (!missing.length || Date.now() >= deadline) return { events, missing };
    await sleep(options.intervalMs ?? 1000);
  }
}
