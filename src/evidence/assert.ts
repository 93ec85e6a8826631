/**
 * Assertions on recorded audit events with readable differences: what was expected, what each event
 * of the request holds, field by field. No test framework: a failure throws AuditAssertionError.
 */
import type { AuditEvent, AuditObjectRef } from './events';

/** What a request's events must show. Absent fields are not checked. */
export interface ExpectedAuditEvent {
  /** Exact level of every event of the request (None = no event at all). */
  readonly level?: string;
  /** Level bounds instead of an exact level. */
  readonly minLevel?: string;
  readonly maxLevel?: string;
  /** The stages recorded, in any order, e.g. ['RequestReceived', 'ResponseComplete']. */
  readonly stages?: readonly string[];
  /** user.username (the authenticated user; impersonation shows in impersonatedUser). */
  readonly user?: string;
  /** Groups user.groups must include. */
  readonly groups?: readonly string[];
  /** impersonatedUser.username. */
  readonly impersonatedUser?: string;
  readonly verb?: string;
  /** Fields objectRef must hold (others are ignored). */
  readonly objectRef?: Partial<AuditObjectRef>;
  readonly responseCode?: number;
}

export class AuditAssertionError extends Error {
  constructor(readonly auditId: string, readonly differences: string[], readonly events: readonly AuditEvent[]) {
    super(`audit events of request ${auditId} differ from what was expected:\n${differences.map((d) => `  - ${d}`).join('\n')}\n  recorded:\n${
      events.length ? events.map((e) => `    ${describeEvent(e)}`).join('\n') : '    (no event)'}`);
    this.name = 'AuditAssertionError';
  }
}

const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'];
const rank = (level: string) => LEVELS.indexOf(level);

/** One line per event: stage, level, verb, URI, user, code. */
export function describeEvent(e: AuditEvent): string {
  const ref = e.objectRef ? ` objectRef=${JSON.stringify(e.objectRef)}` : '';
  const imp = e.impersonatedUser ? ` as ${e.impersonatedUser.username}` : '';
  return `${e.stage} level=${e.level} ${e.verb} ${e.requestURI} by ${e.user?.username ?? '(none)'}${imp} code=${e.responseStatus?.code ?? '?'}${ref}`;
}

/** The level events of one request were recorded at: None when there are none. */
export function recordedLevel(events: readonly AuditEvent[]): string {
  const levels = [...new Set(events.map((e) => e.level))];
  return levels.length === 0 ? 'None' : levels.length === 1 ? levels[0] : levels.join('+');
}

/** Pure: the differences between a request's events and the expectation ([] = as expected). */
export function auditEventDifferences(events: readonly AuditEvent[], expected: ExpectedAuditEvent): string[] {
  const out: string[] = [];
  const level = recordedLevel(events);
  if (expected.level !== undefined && level !== expected.level) out.push(`level: expected ${expected.level}, recorded ${level}`);
  if (expected.minLevel !== undefined && !(rank(level) >= rank(expected.minLevel))) out.push(`level: expected at least ${expected.minLevel}, recorded ${level}`);
  if (expected.maxLevel !== undefined && !(rank(level) >= 0 && rank(level) <= rank(expected.maxLevel))) out.push(`level: expected at most ${expected.maxLevel}, recorded ${level}`);
  if (expected.stages) {
    const got = events.map((e) => e.stage).sort();
    const want = [...expected.stages].sort();
    if (got.join() !== want.join()) out.push(`stages: expected [${want.join(', ')}], recorded [${got.join(', ')}]`);
  }
  for (const e of events) {
    const at = `${e.stage}:`;
    if (expected.user !== undefined && e.user?.username !== expected.user) out.push(`${at} user.username: expected ${expected.user}, recorded ${e.user?.username ?? '(none)'}`);
    for (const g of expected.groups ?? []) if (!(e.user?.groups ?? []).includes(g)) out.push(`${at} user.groups: expected to include ${g}, recorded [${(e.user?.groups ?? []).join(', ')}]`);
    if (expected.impersonatedUser !== undefined && e.impersonatedUser?.username !== expected.impersonatedUser) {
      out.push(`${at} impersonatedUser.username: expected ${expected.impersonatedUser}, recorded ${e.impersonatedUser?.username ?? '(none)'}`);
    }
    if (expected.verb !== undefined && e.verb !== expected.verb) out.push(`${at} verb: expected ${expected.verb}, recorded ${e.verb}`);
    for (const [k, v] of Object.entries(expected.objectRef ?? {})) {
      const got = (e.objectRef as Record<string, unknown> | undefined)?.[k];
      if (got !== v) out.push(`${at} objectRef.${k}: expected ${JSON.stringify(v)}, recorded ${got === undefined ? '(absent)' : JSON.stringify(got)}`);
    }
    if (expected.responseCode !== undefined && e.stage === 'ResponseComplete' && e.responseStatus?.code !== expected.responseCode) {
      out.push(`${at} responseStatus.code: expected ${expected.responseCode}, recorded ${e.responseStatus?.code ?? '(absent)'}`);
    }
  }
  return out;
}

/** Throws AuditAssertionError when the events of request `auditId` (taken from `events`) differ from `expected`. */
export function assertAuditEvent(events: readonly AuditEvent[], auditId: string, expected: ExpectedAuditEvent): void {
  const mine = events.filter((e) => e.auditID === auditId);
  const differences = auditEventDifferences(mine, expected);
  if (differences.length) throw new AuditAssertionError(auditId, differences, mine);
}
