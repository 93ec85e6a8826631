/**
 * Props in Size and Duration become the flags' whole days, MiB and bytes; a value that is not whole in the
 * flag's unit is refused naming the prop as the user wrote it, the value, the rule and the fix. The enum-like
 * KubernetesVersion and the Preset enum list exactly what the version table and the preset table hold.
 */
import { Chart, Duration, Size } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { LogBackend, WebhookBackend, flagsToBackendProps } from '../../../src/backends/backends';
import { AuditConfigError } from '../../../src/backends/errors';
import { KubernetesVersion, SUPPORTED_KUBERNETES_MINORS } from '../../../src/core/kubernetes-version';
import { ClusterAudit } from '../../../src/gitops/cluster-audit';
import { PRESET_NAMES } from '../../../src/presets';
import { Preset } from '../../../src/presets/preset-names';
import { AuditSink, AuditSinkProps, SinkSigningKey, SinkTls } from '../../../src/sinks';
import { testApp } from '../support/temp-dir';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuditConfigError) return [...e.problems];
    return [(e as Error).message];
  }
  return [];
}

const SINK: AuditSinkProps = {
  image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
  clusterIP: '10.96.0.50',
  controlPlaneCidrs: ['192.168.1.10/32'],
  tls: SinkTls.fromSecret('t'),
  signingKey: SinkSigningKey.fromSecret('k'),
};

describe('Size and Duration props that are not whole in the flag unit', () => {
  it.each<[string, string, () => unknown, RegExp]>([
    ['LogBackend', 'maxAge', () => new LogBackend({ maxAge: Duration.hours(36) }),
      /^maxAge \(--audit-log-maxage\): 1 day 12 hours is not a whole number of days, and the kube-apiserver counts this flag in whole days; give Duration\.days\(1\) or Duration\.days\(2\)$/],
    ['LogBackend', 'maxAge', () => new LogBackend({ maxAge: Duration.hours(12) }), /^maxAge \(--audit-log-maxage\): 12 hours is not a whole number of days.*; give Duration\.days\(1\)$/],
    ['LogBackend', 'maxSize', () => new LogBackend({ maxSize: Size.kibibytes(1536) }),
      /^maxSize \(--audit-log-maxsize\): 1536Ki \(1572864 bytes\) is not a whole number of MiB, and the kube-apiserver counts this flag in whole MiB; give Size\.mebibytes\(1\) or Size\.mebibytes\(2\)$/],
    ['LogBackend', 'truncate.maxEventSize', () => new LogBackend({ truncate: { maxEventSize: Size.kibibytes(1 / 3) } }),
      /^truncate\.maxEventSize \(--audit-log-truncate-max-event-size\): .* is not a whole number of bytes; give a Size in whole bytes, e\.g\. Size\.kibibytes\(1\)$/],
    ['LogBackend', 'retentionPeriod', () => new LogBackend({ retentionPeriod: Duration.days(0) }), /^retentionPeriod: .* is not a retention goal; give a Duration > 0, e\.g\. Duration\.days\(90\)$/],
    ['LogBackend', 'expectedVolumePerDay', () => new LogBackend({ retentionPeriod: Duration.days(30), expectedVolumePerDay: Size.mebibytes(0) }),
      /^expectedVolumePerDay: 0Mi \(0 bytes\) is not a daily volume; give a Size > 0, e\.g\. Size\.mebibytes\(20\)$/],
    ['WebhookBackend', 'truncate.maxBatchSize', () => new WebhookBackend({ truncate: { maxBatchSize: Size.kibibytes(10240.0001) } }),
      /^truncate\.maxBatchSize \(--audit-webhook-truncate-max-batch-size\): .* is not a whole number of bytes; give a Size in whole bytes, e\.g\. Size\.kibibytes\(10240\) or Size\.kibibytes\(10241\)$/],
    ['WebhookBackend', 'sinkMaxBody', () => new WebhookBackend({ sinkMaxBody: Size.kibibytes(0.1) }),
      /^sinkMaxBody: 0\.1Ki \(102\.4 bytes\) is not a body limit; give a Size of whole bytes > 0, e\.g\. Size\.mebibytes\(16\)$/],
    ['ClusterAudit', 'log.maxAge', () => new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { log: { maxAge: Duration.hours(36) } }),
      /^ClusterAudit audit: log\.maxAge \(--audit-log-maxage\): 1 day 12 hours is not a whole number of days.*give Duration\.days\(1\) or Duration\.days\(2\)$/],
    ['AuditSink', 'maxBodySize', () => new AuditSink(new Chart(testApp(), 'c'), 'sink', { ...SINK, maxBodySize: Size.kibibytes(0.5) }),
      /^AuditSink sink: maxBodySize: 0\.5Ki \(512 bytes\) is not a body limit: --max-body-bytes takes whole bytes, at least 1024 .*; give e\.g\. Size\.mebibytes\(16\)$/],
    ['AuditSink', 'retentionMaxSize', () => new AuditSink(new Chart(testApp(), 'c'), 'sink', { ...SINK, retentionMaxSize: Size.kibibytes(0.1) }),
      /^AuditSink sink: retentionMaxSize: 0\.1Ki \(102\.4 bytes\) is not a whole number of bytes, and --retention-max-bytes counts whole bytes/],
  ])('%s %s', (_construct, _prop, make, message) => {
    const problems = problemsOf(make);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});

describe('Size and Duration props that are whole in the flag unit', () => {
  it.each<[string, () => Record<string, unknown>, Record<string, unknown>]>([
    ['maxAge in hours that make days', () => new LogBackend({ maxAge: Duration.hours(48) }).flagValues, { 'audit-log-maxage': 2 }],
    ['maxSize in GiB', () => new LogBackend({ maxSize: Size.gibibytes(1) }).flagValues, { 'audit-log-maxsize': 1024 }],
    ['event size below a KiB', () => new WebhookBackend({ truncate: { maxEventSize: Size.kibibytes(0.5) } }).flagValues, { 'audit-webhook-truncate-max-event-size': 512 }],
    ['batch size in MiB', () => new WebhookBackend({ truncate: { maxBatchSize: Size.mebibytes(4) } }).flagValues, { 'audit-webhook-truncate-max-batch-size': 4194304 }],
  ])('%s', (_name, flags, expected) => {
    expect(flags()).toMatchObject(expected);
  });

  it('flags from the CLI or a preset become the same props and back', () => {
    const values = { 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30, 'audit-log-maxsize': 100, 'audit-log-truncate-max-event-size': 40960 };
    const props = flagsToBackendProps('log', values);
    expect(props.maxAge!.toDays()).toBe(30);
    expect(props.maxSize!.toMebibytes()).toBe(100);
    expect(props.truncate!.maxEventSize!.toKibibytes()).toBe(40);
    expect(new LogBackend(props).flagValues).toEqual(values);
  });

  it('flag values the apiserver refuses stay numbers, for its own rule to name', () => {
    expect(flagsToBackendProps('log', { 'audit-log-maxage': -1 }).maxAge).toBe(-1);
    expect(problemsOf(() => new LogBackend(flagsToBackendProps('log', { 'audit-log-maxage': -1 })))[0]).toMatch(/^maxAge \(--audit-log-maxage\): -1 breaks the kube-apiserver rule "≥ 0"/);
  });
});

describe('KubernetesVersion and Preset', () => {
  it('has a constant for every supported minor and no other', () => {
    const constants = Object.keys(KubernetesVersion).filter((k) => /^V1_\d+$/.test(k));
    expect(constants).toEqual(SUPPORTED_KUBERNETES_MINORS.map((m) => `V1_${m}`));
    for (const m of SUPPORTED_KUBERNETES_MINORS) expect((KubernetesVersion as unknown as Record<string, KubernetesVersion>)[`V1_${m}`].version).toBe(`1.${m}`);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['ClusterAudit, unsupported', () => new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { kubernetesVersion: KubernetesVersion.of('1.29') }), /^ClusterAudit audit: props\.kubernetesVersion "1\.29" is not supported: cdk8s-audit knows the audit rules of 1\.30 to 1\.\d+$/],
    ['LogBackend, not a version', () => new LogBackend({ kubernetesVersion: KubernetesVersion.of('latest') }), /^kubernetesVersion "latest" is not a Kubernetes version; write it as 1\.MINOR or 1\.MINOR\.PATCH/],
  ])('refuses %s, naming the prop', (_name, make, message) => {
    expect(problemsOf(make)[0]).toMatch(message);
  });

  it('accepts a patch version through of()', () => {
    expect(new LogBackend({ kubernetesVersion: KubernetesVersion.of('v1.36.2') }).kubernetesVersion).toBe('1.36.2');
  });

  it('Preset lists exactly the preset table, in its order', () => {
    expect(Object.values(Preset)).toEqual([...PRESET_NAMES]);
  });

  it('ClusterAudit refuses log props with logEnabled: false', () => {
    expect(problemsOf(() => new ClusterAudit(new Chart(testApp(), 'c'), 'audit', { logEnabled: false, log: { maxBackups: 1 } }))[0]).toMatch(/props\.log is given but props\.logEnabled is false/);
  });
});
