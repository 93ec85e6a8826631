import { Duration } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ApiserverAudit } from '../../../src/backends/apiserver-audit';
import { AuditMode, LogBackend, LogBackendProps, LogFormat, WebhookBackend, WebhookBackendProps, flagsToBackendProps } from '../../../src/backends/backends';
import { AUDIT_FLAGS } from '../../../src/backends/flag-table';
import { AuditConfigError } from '../../../src/backends/errors';

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
    const log = LogBackend.toFile('/var/log/audit/k8s.log', { kubernetesVersion: '1.35', maxAgeDays: 30, compress: true, format: LogFormat.LEGACY, mode: AuditMode.BATCH, batch: { maxWait: Duration.seconds(2) } });
    expect(log.flagValues).toEqual({
      'audit-log-path': '/var/log/audit/k8s.log',
      'audit-log-maxage': 30,
      'audit-log-compress': true,
      'audit-log-format': 'legacy',
      'audit-log-mode': 'batch',
      'audit-log-batch-max-wait': '2s',
    });
    expect([log.maxAgeDays, log.maxBackups, log.maxSizeMiB]).toEqual([30, 0, 0]);
    expect(new LogBackend({ kubernetesVersion: '1.36' }).maxAgeDays).toBe(366);
    expect(log.mounts).toEqual([{ name: 'audit-log', path: '/var/log/audit', readOnly: false, pathType: 'DirectoryOrCreate', purpose: expect.any(String) }]);
    expect(LogBackend.toStdout().mounts).toEqual([]);
  });

  // Upstream rules, surfaced under the prop name.
  it.each<[string, LogBackendProps, RegExp]>([
    ['negative maxAgeDays', { maxAgeDays: -1 }, /^maxAgeDays \(--audit-log-maxage\): -1 breaks the kube-apiserver rule "≥ 0" .*can't be a negative number/],
    ['negative maxBackups', { maxBackups: -1 }, /^maxBackups \(--audit-log-maxbackup\): -1 /],
    ['negative maxSizeMiB', { maxSizeMiB: -1 }, /^maxSizeMiB \(--audit-log-maxsize\): -1 /],
    ['bad mode', { mode: 'fast' as AuditMode }, /^mode \(--audit-log-mode\): "fast" .*invalid audit log mode fast/],
    ['bad format', { format: 'yaml' as LogFormat }, /^format \(--audit-log-format\): "yaml" /],
    ['bad groupVersion', { groupVersion: 'audit.k8s.io/v1beta1' }, /^groupVersion \(--audit-log-version\): "audit.k8s.io\/v1beta1" /],
    ['batch buffer 0', { mode: AuditMode.BATCH, batch: { bufferSize: 0 } }, /^batch.bufferSize \(--audit-log-batch-buffer-size\): 0 /],
    ['batch max size 0', { mode: AuditMode.BATCH, batch: { maxSize: 0 } }, /^batch.maxSize \(--audit-log-batch-max-size\): 0 /],
    ['throttle qps 0', { mode: AuditMode.BATCH, batch: { throttle: { enabled: true, qps: 0, burst: 1 } } }, /^batch.throttle.qps \(--audit-log-batch-throttle-qps\): 0 /],
    ['throttle burst 0', { mode: AuditMode.BATCH, batch: { throttle: { enabled: true, qps: 1, burst: 0 } } }, /^batch.throttle.burst \(--audit-log-batch-throttle-burst\): 0 /],
    ['truncate event 0', { truncate: { maxEventSizeBytes: 0 } }, /^truncate.maxEventSizeBytes \(--audit-log-truncate-max-event-size\): 0 /],
    ['truncate batch < event', { truncate: { maxEventSizeBytes: 2000, maxBatchSizeBytes: 1000 } }, /^truncate.maxBatchSizeBytes \(--audit-log-truncate-max-batch-size\): 1000 .*must be greater than max event size \(2000\)/],
    ['relative path', { path: 'audit.log' }, /^path \(--audit-log-path\): "audit.log" is a relative path/],
    ['empty path', { path: '' }, /^path: "" is empty/],
    ['unsupported version', { kubernetesVersion: '1.20' }, /kubernetesVersion "1.20" is not supported/],
  ])('refuses %s', (_n, props, message) => {
    const problems = problemsOf(() => new LogBackend(props));
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  describe('retention goal', () => {
    it.each<[string, LogBackendProps, RegExp]>([
      ['maxAge below goal', { maxAgeDays: 30, retentionDays: 90 }, /^maxAgeDays \(--audit-log-maxage\): 30 deletes rotated files after 30 days, short of retentionDays 90 .*set maxAgeDays to ≥ 90/],
      [
        'backups cannot hold the volume',
        { maxAgeDays: 0, maxBackups: 10, maxSizeMiB: 100, retentionDays: 90, expectedMiBPerDay: 50 },
        /^maxBackups \(--audit-log-maxbackup\): 10 files × 100 MiB = 1000 MiB holds 20 days at 50 MiB\/day, short of retentionDays 90.*set maxBackups to ≥ 45/,
      ],
      [
        'pre-1.36 maxsize 0 means 100 MiB files',
        { kubernetesVersion: '1.35', maxBackups: 5, retentionDays: 30, expectedMiBPerDay: 100 },
        /^maxBackups \(--audit-log-maxbackup\): 5 files × 100 MiB = 500 MiB holds 5 days/,
      ],
      ['stdout', { path: '-', retentionDays: 7 }, /^retentionDays: 7 cannot be met with path "-"/],
      ['bad goal', { retentionDays: -1 }, /^retentionDays: -1 is not a number of days/],
      ['bad volume', { retentionDays: 5, expectedMiBPerDay: 0 }, /^expectedMiBPerDay: 0 is not a volume/],
    ])('refuses %s', (_n, props, message) => {
      const problems = problemsOf(() => new LogBackend(props));
      expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
    });

    it.each<[string, LogBackendProps]>([
      ['enough backups', { maxAgeDays: 90, maxBackups: 50, maxSizeMiB: 100, retentionDays: 90, expectedMiBPerDay: 50 }],
      ['1.36 defaults hold a year at 27 MiB/day', { kubernetesVersion: '1.36', retentionDays: 365, expectedMiBPerDay: 27 }],
      ['no age limit and no count limit', { kubernetesVersion: '1.35', retentionDays: 365 }],
    ])('accepts %s', (_n, props) => {
      expect(problemsOf(() => new LogBackend(props))).toEqual([]);
    });

    it('1.36 defaults cannot hold a year at 28 MiB/day', () => {
      expect(problemsOf(() => new LogBackend({ kubernetesVersion: '1.36', retentionDays: 365, expectedMiBPerDay: 28 }))[0]).toMatch(/100 files × 100 MiB = 10000 MiB holds 357.14 days/);
    });

    it('warns when the backup count cannot be checked, and when rotation is off', () => {
      expect(new LogBackend({ maxBackups: 10, retentionDays: 30 }).warnings[0]).toMatch(/set expectedMiBPerDay to check it/);
      expect(new LogBackend({ kubernetesVersion: '1.36', maxSizeMiB: 0 }).warnings[0]).toMatch(/0 turns rotation off from Kubernetes 1.36/);
      expect(new LogBackend({ kubernetesVersion: '1.35', maxSizeMiB: 0 }).warnings).toEqual([]);
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
    ['truncate batch < event', { truncate: { maxBatchSizeBytes: 10 } }, /^truncate.maxBatchSizeBytes .*must be greater than max event size \(102400\)/],
    ['empty config file', { configFile: '' }, /^configFile: "" is empty/],
    [
      'throttle cannot keep up with the default 10 qps × 400',
      { expectedEventsPerSecond: 5000 },
      /^batch.throttle.qps \(--audit-webhook-batch-throttle-qps\): 10 batches\/s × batch.maxSize 400 events = 4000 events\/s, below expectedEventsPerSecond 5000; the 10000-event buffer fills in 10 s .*raise batch.throttle.qps to ≥ 12.5 or batch.maxSize to ≥ 500/,
    ],
    ['sink limit without truncation', { sinkMaxBodyBytes: 1048576 }, /^truncate.enabled \(--audit-webhook-truncate-enabled\): false leaves request bodies unbounded .*sinkMaxBodyBytes 1048576.*set truncate.enabled to true and truncate.maxEventSizeBytes to ≤ 2618, or batch.maxSize to ≤ 10 /],
    ['400 events of 100 KiB exceed the sink limit', { sinkMaxBodyBytes: 16 * 1024 * 1024, truncate: { enabled: true } }, /^truncate.maxEventSizeBytes \(--audit-webhook-truncate-max-event-size\): 102400 × batch.maxSize 400 = 40960000 bytes plus the 1024-byte EventList envelope exceeds sinkMaxBodyBytes 16777216.*set truncate.maxEventSizeBytes to ≤ 41940, or batch.maxSize to ≤ 163 /],
    ['the batch byte limit does not help', { sinkMaxBodyBytes: 1048576, truncate: { enabled: true, maxBatchSizeBytes: 1000000 } }, /^truncate.maxEventSizeBytes .*truncate.maxBatchSizeBytes does not split webhook batches/],
    ['bad sink limit', { sinkMaxBodyBytes: 0 }, /^sinkMaxBodyBytes: 0 is not a size/],
  ])('refuses %s', (_n, props, message) => {
    const problems = problemsOf(() => new WebhookBackend(props));
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  it.each<[string, WebhookBackendProps]>([
    ['throttle that keeps up', { expectedEventsPerSecond: 4000 }],
    ['no throttle', { expectedEventsPerSecond: 1e6, batch: { throttle: { enabled: false } } }],
    ['blocking mode ignores batch settings', { mode: AuditMode.BLOCKING, batch: { bufferSize: 0 }, expectedEventsPerSecond: 1e6 }],
    ['truncated batches that fit', { sinkMaxBodyBytes: 16 * 1024 * 1024, truncate: { enabled: true, maxEventSizeBytes: 40960 } }],
  ])('accepts %s', (_n, props) => {
    expect(problemsOf(() => new WebhookBackend(props))).toEqual([]);
  });
});

describe('ApiserverAudit', () => {
  it('combines policy and backends into flags in --help order and directory mounts', () => {
    const audit = new ApiserverAudit({ kubernetesVersion: '1.35', log: { maxAgeDays: 30, maxBackups: 10, maxSizeMiB: 100 }, webhook: { batch: { maxWait: Duration.seconds(1) } } });
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
    expect(new ApiserverAudit({ kubernetesVersion: '1.36', log: {} }).log!.maxAgeDays).toBe(366);
    expect(new ApiserverAudit({ kubernetesVersion: '1.35', log: {} }).log!.maxAgeDays).toBe(0);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['no backend', () => new ApiserverAudit({}), /^log\/webhook: neither backend is configured/],
    ['backend built for another version', () => new ApiserverAudit({ kubernetesVersion: '1.35', log: new LogBackend({ kubernetesVersion: '1.36' }) }), /^log.kubernetesVersion: "1.36" differs from kubernetesVersion "1.35"/],
    ['backend problems are prefixed', () => new ApiserverAudit({ log: { maxAgeDays: -1 } }), /^log.maxAgeDays \(--audit-log-maxage\): -1 /],
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
    const props = { maxAgeDays: 30, compress: true, mode: AuditMode.BATCH, batch: { maxWait: Duration.millis(1500), throttle: { enabled: true, qps: 2.5, burst: 3 } }, truncate: { enabled: true } };
    const log = new LogBackend(props);
    const back = new LogBackend(flagsToBackendProps('log', log.flagValues));
    expect(back.flagValues).toEqual(log.flagValues);
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
    const audit = ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30 }, { kubernetesVersion: '1.35', log: { retentionDays: 30 } });
    expect(audit.webhook).toBeUndefined();
    expect(audit.log!.props.retentionDays).toBe(30);
    expect(audit.commandLine()[0]).toBe('--audit-policy-file=/etc/kubernetes/audit/policy.yaml');
    expect(problemsOf(() => ApiserverAudit.fromFlags({ 'audit-log-path': '/var/log/kubernetes/audit/audit.log', 'audit-log-maxage': 30 }, { log: { retentionDays: 90 } }))[0]).toMatch(/^log.maxAgeDays \(--audit-log-maxage\): 30 deletes rotated files after 30 days, short of retentionDays 90/);
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
