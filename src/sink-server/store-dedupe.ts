/**
 * The store's deduplication index: (auditID, stage) → when it was stored, oldest first (a Map keeps insertion
 * order), so apiserver retries of a batch already stored are acknowledged without writing them again.
 */

/**
 * The apiserver retries a batch for at most about 5 minutes with its defaults (10 s initial backoff ×1.5 over
 * 5 steps, plus up to 30 s per attempt), so 10 minutes of (auditID, stage) pairs catch every retry.
 */
export const DEFAULT_DEDUPE_WINDOW_MS = 10 * 60 * 1000;
/** Upper bound of the dedupe index (about 150 bytes each): bounds memory at any event rate. */
export const DEFAULT_DEDUPE_MAX_KEYS = 1_000_000;

export const dedupeKey = (auditID: string, stage: string) => `${auditID}\u0000${stage}`;

/** Forgets the pairs stored before `cutoff` (ms), and the oldest while more than `max` are remembered. */
export function pruneDedupe(index: Map<string, number>, cutoff: number, max: number): void {
  for (const [key, t] of index) {
    if (t >= cutoff && index.size <= max) break;
    index.delete(key);
  }
}

/** Remembers a stored event (its JSON bytes) stored at `t`, when within the window. */
export function indexEvent(index: Map<string, number>, event: Buffer, t: number, windowStart: number): void {
  if (t < windowStart) return;
  try {
    const e = JSON.parse(event.toString('utf8')) as { auditID?: string; stage?: string };
    if (typeof e.auditID === 'string' && typeof e.stage === 'string') index.set(dedupeKey(e.auditID, e.stage), t);
  } catch {
    /* verify reports it; the index just lacks it */
  }
}
