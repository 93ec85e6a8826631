import { Duration, Size } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { AuditMode, LogBackend, LogBackendProps, LogFormat, WebhookBackend, WebhookBackendProps, flagsToBackendProps } from '../../../src/backends/backends';
import { AUDIT_FLAGS } from '../../../src/backends/flag-table';
import { AuditConfigError } from '../../../src/backends/errors';
import { KubernetesVersion } from '../../../src/core/kubernetes-version';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuditConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

describe('LogBackend', () => {
  it('maps props to flags and exposes version-aware effective values', () => {
    const log = LogBackend.toFile('/var/log/audit/k8s.log', { kubernetesVersion: KubernetesVersion.V1_35, maxAge: Duration.days(30), compress: true, format: LogFormat.LEGACY, mode: AuditMode.BATCH, batch: { maxWait: Duration.seconds(2) } });
    expect(log.flagValues).toEqual({
      'audit-log-path': '/var/log/audit/k8s.log',
      'audit-log-maxage': 30,
      'audit-log-compress': true,
      'audit-log-format': 'legacy',
      'audit-log-mode': 'batch',
      'audit-log-batch-max-wait': '2s',
    });
    expect([log.maxAge.toDays(), log.maxBackups, log.maxSize.toMebibytes()]).toEqual([30, 0, 0]);
    expect(new LogBackend({ kubernetesVersion: KubernetesVersion.V1_36 }).maxAge.toDays()).toBe(366);
    expect(log.mounts).toEqual([{ name: 'audit-log', path: '/var/log/audit', readOnly: false, pathType: 'DirectoryOrCreate', purpose: expect.any(String) }]);
    expect(LogBackend.toStdout().mounts).toEqual([]);
  });

  // Upstream rules, surfaced under the prop name (negative days and sizes come only from flags: a Size or
  // Duration cannot be negative).
  it.each<[string, LogBackendProps, RegExp]>([
    ['negative maxage flag', flagsToBackendProps('log', { 'audit-log-maxage': -1 }), /^maxAge \(--audit-log-maxage\): -1 breaks the kube-apiserver rule "≥ 0" .*can't be a negative number/],
    ['negative maxBackups', { maxBackups: -1 }, /^maxBackups \(--audit-log-maxbackup\): -1 /],
    ['negative maxsize flag', flagsToBackendProps('log', { 'audit-log-maxsize': -1 }), /^maxSize \(--audit-log-maxsize\): -1 /],
    ['bad mode', { mode: 'fast' as AuditMode }, /^mode \(--audit-log-mode\): "fast" .*invalid audit log mode fast/],
    ['bad format', { format: 'yaml' as LogFormat }, /^format \(--audit-log-format\): "yaml" /],
    ['bad groupVersion', { groupVersion: 'audit.k8s.io/v1beta1' }, /^groupVersion \(--audit-log-version\): "audit.k8s.io\/v1beta1" /],
    ['batch buffer 0', { mode: AuditMode.BATCH, batch: { bufferSize: 0 } }, /^batch.bufferSize \(--audit-log-batch-buffer-size\): 0 /],
    ['batch max size 0', { mode: AuditMode.BATCH, batch: { maxSize: 0 } }, /^batch.maxSize \(--audit-log-batch-max-size\): 0 /],
    ['throttle qps 0', { mode: AuditMode.BATCH, batch: { throttle: { enabled: true, qps: 0, burst: 1 } } }, /^batch.throttle.qps \(--audit-log-batch-throttle-qps\): 0 /],
    ['throttle burst 0', { mode: AuditMode.BATCH, batch: { throttle: { enabled: true, qps: 1, burst: 0 } } }, /^batch.throttle.burst \(--audit-log-batch-throttle-burst\): 0 /],
    ['truncate event 0', { truncate: { maxEventSize: Size.kibibytes(0) } }, /^truncate.maxEventSize \(--audit-log-truncate-max-event-size\): 0 /],
    ['truncate batch < event', { truncate: { maxEventSize: Size.kibibytes(2), maxBatchSize: Size.kibibytes(1) } }, /^truncate.maxBatchSize \(--audit-log-truncate-max-batch-size\): 1024 .*must be greater than max event size \(2048\)/],
    ['relative path', { path: 'audit.log' }, /^path \(--audit-log-path\): "audit.log" is a relative path/],
    ['empty path', { path: '' }, /^path: "" is empty/],
    ['unsupported version', { kubernetesVersion: KubernetesVersion.of('1.20') }, /kubernetesVersion "1.20" is not supported/],
  ])('refuses %s', (_n, props, message) => {
    const problems = problemsOf(() => new LogBackend(props));
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  describe('retention goal', () => {
    it.each<[string, LogBackendProps, RegExp]>([
      [
        'maxAge below goal',
        { maxAge: Duration.days(30), retentionPeriod: Duration.days(90) },
        /^maxAge \(--audit-log-maxage\): 30 days deletes rotated files after 30 days, short of retentionPeriod 90 days .*set maxAge to ≥ Duration.days\(90\)/,
      ],
      [
        'backups cannot hold the volume',
        { maxAge: Duration.days(0), maxBackups: 10, maxSize: Size.mebibytes(100), retentionPeriod: Duration.days(90), expectedVolumePerDay: Size.mebibytes(50) },
        /^maxBackups \(--audit-log-maxbackup\): 10 files × 100 MiB = 1000 MiB holds 20 days at 50 MiB\/day \(expectedVolumePerDay\), short of retentionPeriod 90 days.*set maxBackups to ≥ 45/,
      ],
      [
        'pre-1.36 maxsize 0 means 100 MiB files',
        { kubernetesVersion: KubernetesVersion.V1_35, maxBackups: 5, retentionPeriod: Duration.days(30), expectedVolumePerDay: Size.mebibytes(100) },
        /^maxBackups \(--audit-log-maxbackup\): 5 files × 100 MiB = 500 MiB holds 5 days/,
      ],
      ['stdout', { path: '-', retentionPeriod: Duration.days(7) }, /^retentionPeriod: 7 days cannot be met with path "-"/],
      ['bad goal', { retentionPeriod: Duration.days(0) }, /^retentionPeriod: 0 .*is not a retention goal; give a Duration > 0/],
      ['bad volume', { retentionPeriod: Duration.days(5), expectedVolumePerDay: Size.mebibytes(0) }, /^expectedVolumePerDay: 0Mi \(0 bytes\) is not a daily volume/],
    ])('refuses %s', (_n, props, message) => {
      const problems = problemsOf(() => new LogBackend(props));
      expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
    });

    it.each<[string, LogBackendProps]>([
      ['enough backups', { maxAge: Duration.days(90), maxBackups: 50, maxSize: Size.mebibytes(100), retentionPeriod: Duration.days(90), expectedVolumePerDay: Size.mebibytes(50) }],
      ['1.36 defaults hold a year at 27 MiB/day', { kubernetesVersion: KubernetesVersion.V1_36, retentionPeriod: Duration.days(365), expectedVolumePerDay: Size.mebibytes(27) }],
      ['no age limit and no count limit', { kubernetesVersion: KubernetesVersion.V1_35, retentionPeriod: Duration.days(365) }],
    ])('accepts %s', (_n, props) => {
      expect(problemsOf(() => new LogBackend(props))).toEqual([]);
    });

    it('1.36 defaults cannot hold a year at 28 MiB/day', () => {
      expect(problemsOf(() => new LogBackend({ kubernetesVersion: KubernetesVersion.V1_36, retentionPeriod: Duration.days(365), expectedVolumePerDay: Size.mebibytes(28) }))[0]).toMatch(/100 files × 100 MiB = 10000 MiB holds 357.14 days/);
    });

    it('warns when the backup count cannot be checked, and when rotation is off', () => {
      expect(new LogBackend({ maxBackups: 10, retentionPeriod: Duration.days(30) }).warnings[0]).toMatch(/set expectedVolumePerDay to check it/);
      expect(new LogBackend({ kubernetesVersion: KubernetesVersion.V1_36, maxSize: Size.mebibytes(0) }).warnings[0]).toMatch(/0 turns rotation off from Kubernetes 1.36/);
      expect(new LogBackend({ kubernetesVersion: KubernetesVersion.V1_35, maxSize: Size.mebibytes(0) }).warnings).toEqual([]);
    });
  });

  it('throttling that cannot keep up', () => {
    const problems = problemsOf(() => new LogBackend({ mode: AuditMode.BATCH, batch: { maxSize: 10, throttle: { enabled: true, qps: 5, burst: 5 } }, expectedEventsPerSecond: 100 }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^batch.throttle.qps \(--audit-log-batch-throttle-qps\): 5 batches\/s × batch.maxSize 10 events = 50 events\/s, below expectedEventsPerSecond 100; the 10000-event buffer fills in 200 s/);
  });
});

describe('WebhookBackend', () => {
  it('renders only what differs, with defaults of the webhook', () => {
    const hook = new WebhookBackend({ initialBackoff: Duration.seconds(1), batch: { maxWait: Duration.seconds(30), throttle: { qps: 20 } } });
    expect(hook.flagValues).toEqual({
      'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml',
      'audit-webhook-initial-backoff': '1s',
      'audit-webhook-batch-max-wait': '30s',
      'audit-webhook-batch-throttle-qps': 20,
    });
    expect(hook.mode).toBe(AuditMode.BATCH);
    expect(hook.mounts).toEqual([{ name: 'audit-webhook', path: '/etc/kubernetes/audit-webhook', readOnly: true, pathType: 'Directory', purpose: expect.any(String) }]);
  });

  it.each<[string, WebhookBackendProps, RegExp]>([
    ['mode fast', { mode: 'fast' as AuditMode }, /^mode \(--audit-webhook-mode\): "fast" breaks the kube-apiserver rule "one of `batch`, `blocking`, `blocking-strict`"/],
    ['qps 0 with default throttle', { batch: { throttle: { qps: 0 } } }, /^batch.throttle.qps \(--audit-webhook-batch-throttle-qps\): 0 /],
    ['burst negative', { batch: { throttle: { burst: -1 } } }, /^batch.throttle.burst \(--audit-webhook-batch-throttle-burst\): -1 /],
    ['buffer 0', { batch: { bufferSize: 0 } }, /^batch.bufferSize /],
    ['truncate batch < event', { truncate: { maxBatchSize: Size.kibibytes(1) } }, /^truncate.maxBatchSize .*must be greater than max event size \(102400\)/],
    ['empty config file', { configFile: '' }, /^configFile: "" is empty/],
    [
      'throttle cannot keep up with the default 10 qps × 400',
      { expectedEventsPerSecond: 5000 },
      /^batch.throttle.qps \(--audit-webhook-batch-throttle-qps\): 10 batches\/s × batch.maxSize 400 events = 4000 events\/s, below expectedEventsPerSecond 5000; the 10000-event buffer fills in 10 s .*raise batch.throttle.qps to ≥ 12.5 or batch.maxSize to ≥ 500/,
    ],
    ['sink limit without truncation', { sinkMaxBody: Size.mebibytes(1) }, /^truncate.enabled \(--audit-webhook-truncate-enabled\): false leaves request bodies unbounded .*sinkMaxBody 1048576 bytes.*set truncate.enabled to true and truncate.maxEventSize to ≤ 2618 bytes, or batch.maxSize to ≤ 10 /],
    ['400 events of 100 KiB exceed the sink limit', { sinkMaxBody: Size.mebibytes(16), truncate: { enabled: true } }, /^truncate.maxEventSize \(--audit-webhook-truncate-max-event-size\): 102400 bytes × batch.maxSize 400 = 40960000 bytes plus the 1024-byte EventList envelope exceeds sinkMaxBody 16777216 bytes.*set truncate.maxEventSize to ≤ 41940 bytes, or batch.maxSize to ≤ 163 /],
    ['the batch byte limit does not help', { sinkMaxBody: Size.mebibytes(1), truncate: { enabled: true, maxBatchSize: Size.kibibytes(1000) } }, /^truncate.maxEventSize .*truncate.maxBatchSize does not split webhook batches/],
    ['bad sink limit', { sinkMaxBody: Size.kibibytes(0) }, /^sinkMaxBody: 0Ki \(0 bytes\) is not a body limit/],
  ])('refuses %s', (_n, props, message) => {
    const problems = problemsOf(() => new WebhookBackend(props));
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  it.each<[string, WebhookBackendProps]>([
    ['throttle that keeps up', { expectedEventsPerSecond: 4000 }],
    ['no throttle', { expectedEventsPerSecond: 1e6, batch: { throttle: { enabled: false } } }],
    ['blocking mode ignores batch settings', { mode: AuditMode.BLOCKING, batch: { bufferSize: 0 }, expectedEventsPerSecond: 1e6 }],
    ['truncated batches that fit', { sinkMaxBody: Size.mebibytes(16), truncate: { enabled: true, maxEventSize: Size.kibibytes(40) } }],
  ])('accepts %s', (_n, props) => {
    expect(problemsOf(() => new WebhookBackend(props))).toEqual([]);
  });
});

describe('ApiserverAudit', () => {
  it('combines policy and backends into flags in --help order and directory mounts', () => {
    const audit = new ApiserverAudit({ kubernetesVersion: KubernetesVersion.V1_35, log: { maxAge: Duration.days(30), maxBackups: 10, maxSize: Size.mebibytes(100) }, webhook: { batch: { maxWait: Duration.seconds(1) } } });
    expect(audit.commandLine()).toEqual([
      '--audit-policy-file=/etc/kubernetes/audit/policy.yaml',
      '--audit-log-path=/var/log/kubernetes/audit/audit.log',
      '--audit-log-maxage=30',
      '--audit-log-maxbackup=10',
      '--audit-log-maxsize=100',
      '--audit-webhook-config-file=/etc/kubernetes/audit-webhook/kubeconfig.yaml',
      '--audit-webhook-batch-max-wait=1s',
    ]);
    expect(audit.mounts.map((m) => [m.name, m.path, m.readOnly, m.pathType])).toEqual([
      ['audit-policy', '/etc/kubernetes/audit', true, 'Directory'],
      ['audit-log', '/var/log/kubernetes/audit', false, 'DirectoryOrCreate'],
      ['audit-webhook', '/etc/kubernetes/audit-webhook', true, 'Directory'],
    ]);
  });

  it('shares one read-only mount when policy and webhook files sit together', () => {
    const audit = new ApiserverAudit({ policyFile: '/etc/kubernetes/audit/policy.yaml', webhook: { configFile: '/etc/kubernetes/audit/webhook.yaml' } });
    expect(audit.mounts.map((m) => m.path)).toEqual(['/etc/kubernetes/audit']);
  });

  it('builds backends given as props for its own version', () => {
    expect(new ApiserverAudit({ kubernetesVersion: KubernetesVersion.V1_36, log: {} }).log!.maxAge.toDays()).toBe(366);
    expect(new ApiserverAudit({ kubernetesVersion: KubernetesVersion.V1_35, log: {} }).log!.maxAge.toDays()).toBe(0);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['no backend', () => new ApiserverAudit({}), /^log\/webhook: neither backend is configured/],
    ['backend built for another version', () => new ApiserverAudit({ kubernetesVersion: KubernetesVersion.V1_35, log: new LogBackend({ kubernetesVersion: KubernetesVersion.V1_36 }) }), /^log.kubernetesVersion: "1.36" differs from kubernetesVersion "1.35"/],
    ['backend problems are prefixed', () => new ApiserverAudit({ log: { maxAge: Duration.hours(36) } }), /^log.maxAge \(--audit-log-maxage\): 1 day 12 hours is not a whole number of days/],
    ['relative policy file', () => new ApiserverAudit({ policyFile: 'policy.yaml', log: {} }), /^policyFile \(--audit-policy-file\): "policy.yaml" is a relative path/],
    ['policy in /etc/kubernetes', () => new ApiserverAudit({ policyFile: '/etc/kubernetes/audit-policy.yaml', log: {} }), /^audit-policy: .* "\/etc\/kubernetes", .*admin.conf/],
    ['log into /var/log', () => new ApiserverAudit({ log: { path: '/var/log/audit.log' } }), /^audit-log: .*"\/var\/log", .*every log on the node/],
    ['policy writable', () => new ApiserverAudit({ policyFile: '/srv/audit/policy.yaml', log: { path: '/srv/audit/audit.log' } }), /^audit-log: "\/srv\/audit" holds both the audit policy \(read-only\) and the audit log files .*use separate directories/],
    ['nested directories', () => new ApiserverAudit({ policyFile: '/srv/audit/policy.yaml', log: { path: '/srv/audit/logs/audit.log' } }), /^audit-log: "\/srv\/audit\/logs" and audit-policy "\/srv\/audit" are nested/],
    ['into pki', () => new ApiserverAudit({ webhook: { configFile: '/etc/kubernetes/pki/webhook.yaml' } }), /k8s-certs volume, already mounted/],
  ])('refuses %s', (_n, fn, message) => {
    const problems = problemsOf(fn);
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });
});

describe('flags ⇄ props', () => {
  it('flagsToBackendProps inverts the prop mapping of the flag table', () => {
    const props = { maxAge: Duration.days(30), maxSize: Size.mebibytes(50), compress: true, mode: AuditMode.BATCH, batch: { maxWait: Duration.millis(1500), throttle: { enabled: true, qps: 2.5, burst: 3 } }, truncate: { enabled: true } };
    const log = new LogBackend(props);
    const back = new LogBackend(flagsToBackendProps('log', log.flagValues));
    expect(back.flagValues).toEqual(log.flagValues);
    expect(back.props.maxAge!.toDays()).toBe(30);
    expect(back.props.maxSize!.toMebibytes()).toBe(50);
    const hook = flagsToBackendProps('webhook', { 'audit-webhook-batch-initial-backoff': '3s', 'audit-log-maxage': 3 });
    expect(Object.keys(hook)).toEqual(['initialBackoff']);
    expect(hook.initialBackoff!.toMilliseconds()).toBe(3000);
    // The canonical flag wins over the deprecated alias, whatever the order.
    expect(flagsToBackendProps('webhook', { 'audit-webhook-initial-backoff': '1s', 'audit-webhook-batch-initial-backoff': '3s' }).initialBackoff!.toMilliseconds()).toBe(1000);
  });

  it('every flag except the alias has a prop, and the prop sets that flag', () => {
    for (const f of AUDIT_FLAGS) {
      if (f.deprecatedAliasOf) {
        expect(f.prop, f.name).toBeUndefined();
        continue;
      }
      expect(f.prop, f.name).toBeDefined();
    }
  });

  it('ApiserverAudit.fromFlags turns on the backends whose flags appear, with extra props', () => {
    const audit = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30 }, { kubernetesVersion: KubernetesVersion.V1_35, log: { retentionPeriod: Duration.days(30) } });
    expect(audit.webhook).toBeUndefined();
    expect(audit.log!.props.retentionPeriod!.toDays()).toBe(30);
    expect(audit.commandLine()[0]).toBe('--audit-policy-file=/etc/kubernetes/audit/policy.yaml');
    expect(problemsOf(() => ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30 }, { log: { retentionPeriod: Duration.days(90) } }))[0]).toMatch(/^log.maxAge \(--audit-log-maxage\): 30 days deletes rotated files after 30 days, short of retentionPeriod 90 days/);
  });

  it.each<[string, Record<string, string | number | boolean>, RegExp]>([
    ['stray log flags', { 'audit-log-maxage': 30 }, /^--audit-log-maxage: set while --audit-log-path is empty/],
    ['unknown flag', { 'audit-log-path': '/var/log/x/a.log', 'audit-log-age': 1 }, /^audit-log-age: is not a kube-apiserver audit flag/],
    ['wrong type', { 'audit-log-path': '/var/log/x/a.log', 'audit-log-maxage': 'x' }, /^--audit-log-maxage: "x" is not an integer/],
    ['webhook mode', { 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/k.yaml', 'audit-webhook-mode': 'fast' }, /^webhook.mode \(--audit-webhook-mode\): "fast" breaks/],
  ])('fromFlags refuses %s', (_n, values, message) => {
    const problems = problemsOf(() => ApiserverAudit.fromFlags(values));
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });
});
