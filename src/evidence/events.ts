/**
 * Audit events read back from a backend: parse JSON lines and group them by request. Pure: waiting for
 * events to be written is testing/wait.ts.
 */

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
