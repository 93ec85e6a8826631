import { describe, expect, it } from 'vitest';
import { Level } from '../../../src/policy/model';
import { ProbeCaller, RequirementProbe } from '../../../src/presets/types';
import { AuditEvent, ProveInputs, SentProbe, failureLines, judgeProve } from '../../../src/testing';

const readSecret: RequirementProbe = { description: 'read a Secret', as: ProbeCaller.ADMIN, method: 'GET', path: '/api/v1/namespaces/audit/secrets/db', minLevel: Level.METADATA, maxLevel: Level.METADATA };
const createCrb: RequirementProbe = { description: 'grant cluster-admin', as: ProbeCaller.ADMIN, method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', minLevel: Level.REQUEST };

function sent(requirement: string, probe: RequirementProbe, auditId: string | undefined): SentProbe {
  return { requirement, probe, method: probe.method, uri: probe.path, identity: 'kubernetes-admin', status: 200, auditId };
}

function event(auditID: string, level: string, stage = 'ResponseComplete', at = '2026-12-06T10:00:01.000000Z', extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    kind: 'Event', apiVersion: 'audit.k8s.io/v1', level, auditID, stage, requestURI: '/x', verb: 'get', user: { username: 'kubernetes-admin' },
    requestReceivedTimestamp: at, stageTimestamp: at, ...extra,
  };
}

const window = { from: '2026-12-06T10:00:00.000000Z', to: '2026-12-06T10:00:09.000000Z' };

function inputs(over: Partial<ProveInputs> = {}): ProveInputs {
  const events = [event('a1', 'Metadata'), event('a2', 'Request')];
  return {
    probes: [sent('pci-dss 10.2.1.1', readSecret, 'a1'), sent('pci-dss 10.2.1.2', createCrb, 'a2')],
    nodeLog: { observed: true, source: 'node:/var/log/audit.log', value: { events, text: events.map((e) => JSON.stringify(e)).join('\n') } },
    sink: { observed: true, source: 'audit/deployment/sink', value: { events, raw: '', verifyCode: 0, verifySummary: 'verified 2 records' } },
    canaries: [{ name: 'canary Secret', value: 'canary-123' }],
    window,
    sinkRequired: true,
    ...over,
  };
}

const statusOf = (v: ReturnType<typeof judgeProve>, kind: string) => v.checks.filter((c) => c.kind === kind).map((c) => c.status);

describe('judgeProve', () => {
  it('passes when every request is at its level in both backends, no canary, every event delivered, verify ok', () => {
    const v = judgeProve(inputs());
    expect(v.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(v.ok).toBe(true);
  });

  it('a Secret read recorded at RequestResponse fails, naming the requirement and the auditID', () => {
    const events = [event('a1', 'RequestResponse'), event('a2', 'Request')];
    const v = judgeProve(inputs({ nodeLog: { observed: true, source: 'n', value: { events, text: '' } }, sink: { observed: true, source: 's', value: { events, raw: '', verifyCode: 0, verifySummary: '' } } }));
    expect(v.ok).toBe(false);
    const lines = failureLines(v);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('pci-dss 10.2.1.1');
    expect(lines[0]).toContain('[auditID a1]');
    expect(lines[0]).toContain('expected at most Metadata, recorded RequestResponse');
  });

  it.each([
    ['no event at all (None) for a request that needs Request', [event('a1', 'Metadata')], 'pci-dss 10.2.1.2', 'expected at least Request, recorded None'],
    ['a write below its minimum', [event('a1', 'Metadata'), event('a2', 'Metadata')], 'pci-dss 10.2.1.2', 'expected at least Request, recorded Metadata'],
  ])('%s fails', (_, events, requirement, text) => {
    const v = judgeProve(inputs({ nodeLog: { observed: true, source: 'n', value: { events, text: '' } }, sink: { observed: true, source: 's', value: { events, raw: '', verifyCode: 0, verifySummary: '' } } }));
    expect(v.ok).toBe(false);
    const fail = v.checks.find((c) => c.status === 'fail' && c.kind === 'probe')!;
    expect(fail.requirement).toBe(requirement);
    expect(fail.details.join()).toContain(text);
  });

  it('a request without an Audit-Id header fails', () => {
    const v = judgeProve(inputs({ probes: [sent('cis 3.2.2', readSecret, undefined)] }));
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => c.kind === 'probe')!.details[0]).toContain('no Audit-Id');
  });

  it('the canary in either backend fails, naming where and the auditID', () => {
    const leak = event('a1', 'RequestResponse', 'ResponseComplete', window.from, { requestObject: { data: 'canary-123' } });
    const text = JSON.stringify(leak);
    const v = judgeProve(inputs({ nodeLog: { observed: true, source: 'n', value: { events: [leak], text } } }));
    const canary = v.checks.find((c) => c.kind === 'canary')!;
    expect(canary.status).toBe('fail');
    expect(canary.details).toContain('node audit log: FOUND ✗');
    expect(canary.auditId).toBe('a1');
    const inSink = judgeProve(inputs({ sink: { observed: true, source: 's', value: { events: [], raw: 'xx canary-123 xx', verifyCode: 0, verifySummary: '' } } }));
    expect(inSink.checks.find((c) => c.kind === 'canary')!.details).toContain('sink store: FOUND ✗');
  });

  it('a node-log event of the window missing from the sink, or at another level, fails; events outside the window are not required', () => {
    const node = [event('a1', 'Metadata'), event('a2', 'Request'), event('late', 'Metadata', 'ResponseComplete', '2026-12-06T10:00:05.000000Z'), event('before', 'Metadata', 'ResponseComplete', '2026-12-06T09:59:00.000000Z')];
    const sinkEvents = [event('a1', 'Metadata'), event('a2', 'RequestResponse')];
    const v = judgeProve(inputs({ nodeLog: { observed: true, source: 'n', value: { events: node, text: '' } }, sink: { observed: true, source: 's', value: { events: sinkEvents, raw: '', verifyCode: 0, verifySummary: '' } } }));
    const d = v.checks.find((c) => c.kind === 'sink-delivery')!;
    expect(d.status).toBe('fail');
    expect(d.details.join('\n')).toContain('missing from the sink: auditID late');
    expect(d.details.join('\n')).not.toContain('before');
    expect(d.details.join('\n')).toContain('level differs: auditID a2 ResponseComplete: node log Request, sink RequestResponse');
  });

  it('a failing `sink verify` fails', () => {
    const v = judgeProve(inputs({ sink: { observed: true, source: 's', value: { events: inputs().nodeLog.observed ? (inputs().nodeLog as any).value.events : [], raw: '', verifyCode: 1, verifySummary: 'segment 3: hash mismatch' } } }));
    expect(statusOf(v, 'sink-verify')).toEqual(['fail']);
    expect(v.ok).toBe(false);
  });

  it('a webhook without an observed sink fails; without a webhook it is only not observed', () => {
    const noSink = { observed: false as const, why: 'dist/ deploys no sink' };
    expect(judgeProve(inputs({ sink: noSink })).ok).toBe(false);
    const logOnly = judgeProve(inputs({ sink: noSink, sinkRequired: false }));
    expect(statusOf(logOnly, 'sink-verify')).toEqual(['not-observed']);
    expect(logOnly.ok).toBe(true);
  });

  it('an unobserved node log is reported as such; the sink alone judges the requests', () => {
    const v = judgeProve(inputs({ nodeLog: { observed: false, why: 'give --audit-log FILE' } }));
    expect(statusOf(v, 'log')).toEqual(['not-observed']);
    expect(statusOf(v, 'sink-delivery')).toEqual(['not-observed']);
    expect(statusOf(v, 'probe')).toEqual(['pass', 'pass']);
    expect(v.ok).toBe(true);
  });

  it('nothing observed proves nothing', () => {
    const v = judgeProve(inputs({ nodeLog: { observed: false, why: 'x' }, sink: { observed: false, why: 'y' }, sinkRequired: false }));
    expect(statusOf(v, 'probe')).toEqual(['not-observed', 'not-observed']);
    expect(v.ok).toBe(false);
    expect(failureLines(v)[0]).toMatch(/^NOT OBSERVED: pci-dss 10.2.1.1/);
  });
});

describe('canary search', () => {
  it('finds a Secret value in the base64 form the apiserver records in data', () => {
    const value = 'canary-123';
    const recorded = JSON.stringify({ requestObject: { kind: 'Secret', data: { value: Buffer.from(value).toString('base64') } } });
    const v = judgeProve(inputs({ canaries: [{ name: 'c', value }], nodeLog: { observed: true, source: 'n', value: { events: [], text: recorded } } }));
    expect(v.checks.find((c) => c.kind === 'canary')!.status).toBe('fail');
  });
});
