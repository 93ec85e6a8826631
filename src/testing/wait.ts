/** Waiting until the events a test is looking for have been written (the log and webhook backends buffer). */
import { AuditEvent } from '../evidence/events';
import { sleep } from './exec';

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
