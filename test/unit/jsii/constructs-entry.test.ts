// The jsii entry's static methods (what Python calls instead of TypeScript's free functions) give the same
// answers as the functions they stand for, and name the construct when they cannot.
import { Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { AuditPolicy, AuditRule, ClusterAudit, Level, allControlPlanes, sinkRetentionPropsFor } from '../../../src';
import { AuditSinkRetentions, ControlPlanes, Preset } from '../../../src/constructs';
import { testApp } from '../support/temp-dir';

describe('jsii entry (src/constructs.ts)', () => {
  it.each([[Preset.PCI_DSS], [Preset.HIPAA], [Preset.BASELINE]])('AuditSinkRetentions.forClusterAudit = sinkRetentionPropsFor(preset.retention) for %s', (preset) => {
    const audit = new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { presets: [preset] });
    const got = AuditSinkRetentions.forClusterAudit(audit);
    const want = sinkRetentionPropsFor(audit.policy.preset!.retention);
    expect(got.retentionMaxAge.toSeconds()).toBe(want.retentionMaxAge.toSeconds());
    expect(got.retentionMaxSize.toKibibytes()).toBe(want.retentionMaxSize.toKibibytes());
  });

  it('AuditSinkRetentions.forClusterAudit names the construct when its policy is not from presets', () => {
    const chart = new Chart(testApp(), 'c');
    const policy = new AuditPolicy(chart, 'p', { rules: [AuditRule.catchAll(Level.METADATA)] });
    const audit = new ClusterAudit(chart, 'audit', { policy });
    expect(() => AuditSinkRetentions.forClusterAudit(audit)).toThrow(/ClusterAudit c\/audit has no presets \(props\.policy was given\).*retentionMaxAge/);
  });

  it('ControlPlanes.all = allControlPlanes', () => {
    expect(ControlPlanes.all({ name: 'prod', namespace: 'capi' })).toEqual(allControlPlanes({ name: 'prod', namespace: 'capi' }));
  });
});
