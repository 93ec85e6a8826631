import { LoggedEvent } from '../../../src';

/** A ResponseComplete event as the apiserver writes it (objectRef filled for resource requests). */
export function auditEvent(over: Partial<LoggedEvent> & Record<string, unknown>): LoggedEvent {
  return {
    kind: 'Event', level: 'Metadata', stage: 'ResponseComplete', stageTimestamp: '2026-11-23T10:00:00Z',
    user: { username: 'e2e-admin', groups: ['system:masters', 'system:authenticated'] }, responseStatus: { code: 200 }, ...over,
  } as LoggedEvent;
}
