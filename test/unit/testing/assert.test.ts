import { describe, expect, it } from 'vitest';
import { AuditAssertionError, AuditEvent, assertAuditEvent, auditEventDifferences, recordedLevel } from '../../../src/testing';

const base = {
  kind: 'Event' as const, apiVersion: 'audit.k8s.io/v1', auditID: 'id-1', requestURI: '/api/v1/namespaces/ns/secrets/s', verb: 'get',
  user: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
  objectRef: { resource: 'secrets', namespace: 'ns', name: 's', apiVersion: 'v1' },
  responseStatus: { code: 200 }, requestReceivedTimestamp: 't', stageTimestamp: 't',
};
const events: AuditEvent[] = [{ ...base, level: 'Metadata', stage: 'ResponseComplete' }];

describe('audit assertions', () => {
  it('as expected: no differences', () => {
    expect(auditEventDifferences(events, { level: 'Metadata', stages: ['ResponseComplete'], user: 'kubernetes-admin', groups: ['system:authenticated'], verb: 'get', objectRef: { resource: 'secrets', name: 's' }, responseCode: 200 })).toEqual([]);
  });

  it.each([
    [{ level: 'RequestResponse' }, 'level: expected RequestResponse, recorded Metadata'],
    [{ minLevel: 'Request' }, 'level: expected at least Request, recorded Metadata'],
    [{ stages: ['RequestReceived', 'ResponseComplete'] }, 'stages: expected [RequestReceived, ResponseComplete], recorded [ResponseComplete]'],
    [{ user: 'alice' }, 'ResponseComplete: user.username: expected alice, recorded kubernetes-admin'],
    [{ groups: ['dev'] }, 'ResponseComplete: user.groups: expected to include dev, recorded [kubeadm:cluster-admins, system:authenticated]'],
    [{ impersonatedUser: 'bob' }, 'ResponseComplete: impersonatedUser.username: expected bob, recorded (none)'],
    [{ objectRef: { resource: 'configmaps', subresource: 'status' } }, 'ResponseComplete: objectRef.resource: expected "configmaps", recorded "secrets"'],
    [{ responseCode: 403 }, 'ResponseComplete: responseStatus.code: expected 403, recorded 200'],
  ])('%j differs: %s', (expected, line) => {
    expect(auditEventDifferences(events, expected)).toContain(line);
  });

  it('no event is level None; a Metadata bound is then not met', () => {
    expect(recordedLevel([])).toBe('None');
    expect(auditEventDifferences([], { minLevel: 'Metadata' })).toEqual(['level: expected at least Metadata, recorded None']);
    expect(auditEventDifferences([], { level: 'None' })).toEqual([]);
  });

  it('assertAuditEvent throws an AuditAssertionError listing the differences and the recorded events', () => {
    let error: unknown;
    try {
      assertAuditEvent(events, 'id-1', { level: 'Request', objectRef: { name: 't' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuditAssertionError);
    const message = (error as Error).message;
    expect(message).toContain('audit events of request id-1 differ');
    expect(message).toContain('- level: expected Request, recorded Metadata');
    expect(message).toContain('objectRef.name: expected "t", recorded "s"');
    expect(message).toContain('ResponseComplete level=Metadata get /api/v1/namespaces/ns/secrets/s by kubernetes-admin code=200');
    expect(() => assertAuditEvent(events, 'other', { level: 'None' })).not.toThrow();
  });
});
