import { describe, expect, it } from 'vitest';
import { AUDIT_FLAGS, FlagType, flagDefault, getFlag } from '../../../src/backends/flag-table';
import { FlagValues, parseFlagText, renderAuditArgs, toCommandLine, validateAuditFlags } from '../../../src/backends/flags';
import { formatGoDuration, parseGoBool, parseGoDuration, parseGoFloat, parseGoInt } from '../../../src/core/go-values';

const LOG = { 'audit-policy-file': '/etc/kubernetes/audit-policy/policy.yaml', 'audit-log-path': '/var/log/kubernetes/audit/audit.log' };
const HOOK = { 'audit-policy-file': '/etc/kubernetes/audit-policy/policy.yaml', 'audit-webhook-config-file': '/etc/kubernetes/audit-webhook/kubeconfig.yaml' };

describe('flag table', () => {
  it('lists every audit flag of the kube-apiserver once, in --help order', () => {
    const names = AUDIT_FLAGS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([
      'audit-policy-file',
      'audit-log-path',
      'audit-log-maxage',
      'audit-log-maxbackup',
      'audit-log-maxsize',
      'audit-log-format',
      'audit-log-version',
      'audit-log-compress',
      'audit-log-mode',
      'audit-log-batch-buffer-size',
      'audit-log-batch-max-size',
      'audit-log-batch-max-wait',
      'audit-log-batch-throttle-enable',
      'audit-log-batch-throttle-qps',
      'audit-log-batch-throttle-burst',
      'audit-log-truncate-enabled',
      'audit-log-truncate-max-batch-size',
      'audit-log-truncate-max-event-size',
      'audit-webhook-config-file',
      'audit-webhook-initial-backoff',
      'audit-webhook-batch-initial-backoff',
      'audit-webhook-version',
      'audit-webhook-mode',
      'audit-webhook-batch-buffer-size',
      'audit-webhook-batch-max-size',
      'audit-webhook-batch-max-wait',
      'audit-webhook-batch-throttle-enable',
      'audit-webhook-batch-throttle-qps',
      'audit-webhook-batch-throttle-burst',
      'audit-webhook-truncate-enabled',
      'audit-webhook-truncate-max-batch-size',
      'audit-webhook-truncate-max-event-size',
    ]);
  });

  // FACTS §1 / upstream NewAuditOptions(): defaults per version.
  it.each<[string, number, unknown]>([
    ['audit-log-maxage', 35, 0],
    ['audit-log-maxbackup', 35, 0],
    ['audit-log-maxsize', 35, 0],
    ['audit-log-maxage', 36, 366],
    ['audit-log-maxbackup', 36, 100],
    ['audit-log-maxsize', 36, 100],
    ['audit-log-maxsize', 37, 100],
    ['audit-log-format', 35, 'json'],
    ['audit-log-mode', 35, 'blocking'],
    ['audit-log-batch-buffer-size', 35, 10000],
    ['audit-log-batch-max-size', 35, 1],
    ['audit-log-batch-max-wait', 35, '0s'],
    ['audit-log-batch-throttle-enable', 35, false],
    ['audit-log-truncate-max-batch-size', 35, 10485760],
    ['audit-log-truncate-max-event-size', 35, 102400],
    ['audit-webhook-initial-backoff', 35, '10s'],
    ['audit-webhook-mode', 35, 'batch'],
    ['audit-webhook-batch-buffer-size', 36, 10000],
    ['audit-webhook-batch-max-size', 36, 400],
    ['audit-webhook-batch-max-wait', 36, '30s'],
    ['audit-webhook-batch-throttle-enable', 36, true],
    ['audit-webhook-batch-throttle-qps', 36, 10],
    ['audit-webhook-batch-throttle-burst', 36, 15],
    ['audit-webhook-version', 36, 'audit.k8s.io/v1'],
  ])('default of --%s in 1.%i is %s', (name, minor, value) => {
    expect(flagDefault(getFlag(name), minor)).toBe(value);
  });

  it('every flag has doc text and a CLI name', () => {
    for (const f of AUDIT_FLAGS) {
      expect(f.doc.length, f.name).toBeGreaterThan(10);
      expect(f.cliName, f.name).toBe(f.name.replace(/^audit-/, ''));
      if (f.type === FlagType.ENUM) expect(f.choices?.length, f.name).toBeGreaterThan(1);
    }
  });
});

describe('validateAuditFlags: upstream Validate() rules', () => {
  // Each row: flags (on top of an enabled backend), the flag the problem names, the upstream message.
  it.each<[string, FlagValues, RegExp]>([
    ['log mode not allowed', { ...LOG, 'audit-log-mode': 'fast' }, /^--audit-log-mode: "fast" breaks .*one of `batch`, `blocking`, `blocking-strict`.*invalid audit log mode fast, allowed modes are "batch,blocking,blocking-strict"\); use batch, blocking, blocking-strict$/],
    ['webhook mode not allowed', { ...HOOK, 'audit-webhook-mode': 'fast' }, /^--audit-webhook-mode: "fast" .*invalid audit webhook mode fast/],
    ['log batch buffer 0 in batch mode', { ...LOG, 'audit-log-mode': 'batch', 'audit-log-batch-buffer-size': 0 }, /^--audit-log-batch-buffer-size: 0 breaks .*"> 0 when --audit-log-mode=batch".*invalid audit batch log buffer size 0, must be a positive number.*or set --audit-log-mode to blocking/],
    ['webhook batch buffer negative', { ...HOOK, 'audit-webhook-batch-buffer-size': -5 }, /invalid audit batch webhook buffer size -5, must be a positive number/],
    ['log batch max size 0', { ...LOG, 'audit-log-mode': 'batch', 'audit-log-batch-max-size': 0 }, /^--audit-log-batch-max-size: 0 .*invalid audit batch log max batch size 0, must be a positive number/],
    ['webhook batch max size 0', { ...HOOK, 'audit-webhook-batch-max-size': 0 }, /invalid audit batch webhook max batch size 0/],
    ['webhook throttle qps 0 (throttle on by default)', { ...HOOK, 'audit-webhook-batch-throttle-qps': 0 }, /^--audit-webhook-batch-throttle-qps: 0 breaks .*"> 0 when --audit-webhook-mode=batch and --audit-webhook-batch-throttle-enable=true".*invalid audit batch webhook throttle QPS 0.*turn throttling off with --audit-webhook-batch-throttle-enable=false/],
    ['webhook throttle burst 0', { ...HOOK, 'audit-webhook-batch-throttle-burst': 0 }, /invalid audit batch webhook throttle burst 0, must be a positive number/],
    ['log throttle enabled with default qps 0', { ...LOG, 'audit-log-mode': 'batch', 'audit-log-batch-throttle-enable': true, 'audit-log-batch-throttle-burst': 5 }, /^--audit-log-batch-throttle-qps: 0 \(the default of Kubernetes 1\.\d+\) breaks/],
    ['log truncate max event size 0 (truncation off)', { ...LOG, 'audit-log-truncate-max-event-size': 0 }, /^--audit-log-truncate-max-event-size: 0 .*invalid audit truncate log max event size 0, must be a positive number/],
    ['webhook truncate batch < event (truncation off)', { ...HOOK, 'audit-webhook-truncate-max-batch-size': 1000, 'audit-webhook-truncate-max-event-size': 2000 }, /^--audit-webhook-truncate-max-batch-size: 1000 .*invalid audit truncate webhook max batch size 1000, must be greater than max event size \(2000\)\); raise --audit-webhook-truncate-max-batch-size to at least 2000/],
    ['log truncate batch < default event size', { ...LOG, 'audit-log-truncate-max-batch-size': 100 }, /max batch size 100, must be greater than max event size \(102400\)/],
    ['log version', { ...LOG, 'audit-log-version': 'audit.k8s.io/v1beta1' }, /^--audit-log-version: "audit.k8s.io\/v1beta1" .*invalid group version, allowed versions are \["audit.k8s.io\/v1"\]/],
    ['webhook version malformed', { ...HOOK, 'audit-webhook-version': 'a/b/c' }, /unexpected GroupVersion string: a\/b\/c/],
    ['log format', { ...LOG, 'audit-log-format': 'yaml' }, /^--audit-log-format: "yaml" .*invalid audit log format yaml, allowed formats are "legacy,json"/],
    ['maxage negative', { ...LOG, 'audit-log-maxage': -1 }, /^--audit-log-maxage: -1 breaks the kube-apiserver rule "≥ 0" \(it refuses to start: --audit-log-maxage -1 can't be a negative number\); use 0 \(no limit\) or a positive number of days$/],
    ['maxbackup negative', { ...LOG, 'audit-log-maxbackup': -2 }, /--audit-log-maxbackup -2 can't be a negative number/],
    ['maxsize negative', { ...LOG, 'audit-log-maxsize': -3 }, /--audit-log-maxsize -3 can't be a negative number/],
  ])('%s', (_name, values, message) => {
    const problems = validateAuditFlags(values, { kubernetesVersion: '1.35' });
    expect(problems, problems.join('\n')).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each<[string, FlagValues]>([
    ['defaults of the log backend', LOG],
    ['defaults of the webhook backend', HOOK],
    ['batch sizes ignored outside batch mode', { ...LOG, 'audit-log-batch-buffer-size': 0, 'audit-log-batch-max-size': 0 }],
    ['throttle values ignored when throttling is off', { ...HOOK, 'audit-webhook-batch-throttle-enable': false, 'audit-webhook-batch-throttle-qps': 0, 'audit-webhook-batch-throttle-burst': 0 }],
    ['throttle values ignored in blocking mode', { ...HOOK, 'audit-webhook-mode': 'blocking', 'audit-webhook-batch-throttle-qps': -1, 'audit-webhook-batch-buffer-size': 0 }],
    ['batch size equal to event size', { ...HOOK, 'audit-webhook-truncate-max-batch-size': 5000, 'audit-webhook-truncate-max-event-size': 5000 }],
    ['zero rotation values', { ...LOG, 'audit-log-maxage': 0, 'audit-log-maxbackup': 0, 'audit-log-maxsize': 0 }],
    ['stdout', { ...LOG, 'audit-log-path': '-' }],
    ['blocking-strict', { ...LOG, 'audit-log-mode': 'blocking-strict', 'audit-log-format': 'legacy' }],
  ])('accepts %s', (_name, values) => {
    expect(validateAuditFlags(values, { kubernetesVersion: '1.35' })).toEqual([]);
  });

  it('skips a disabled backend (as upstream does) but reports its stray flags', () => {
    const problems = validateAuditFlags({ ...HOOK, 'audit-log-maxage': -1, 'audit-log-mode': 'fast' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^--audit-log-maxage, --audit-log-mode: set while --audit-log-path is empty, so the log backend is off and they have no effect/);
  });

  it.each<[string, FlagValues, RegExp]>([
    ['backend without policy', { 'audit-log-path': '/var/log/a/audit.log' }, /^--audit-policy-file: \(unset\) while a backend is on; without a policy the apiserver records no events/],
    ['policy without backend', { 'audit-policy-file': '/etc/p/policy.yaml' }, /^--audit-policy-file: "\/etc\/p\/policy.yaml" is set but no backend is on/],
    ['relative path', { ...LOG, 'audit-log-path': 'audit.log' }, /^--audit-log-path: "audit.log" is a relative path/],
    ['unknown flag', { ...LOG, 'audit-log-max-age': 3 }, /^audit-log-max-age: is not a kube-apiserver audit flag/],
    ['wrong type', { ...LOG, 'audit-log-maxage': '30' }, /^--audit-log-maxage: "30" is not an integer/],
    ['non-integer', { ...LOG, 'audit-log-maxsize': 1.5 }, /^--audit-log-maxsize: 1.5 is not an integer; give a whole number of MiB/],
    ['bad duration', { ...HOOK, 'audit-webhook-batch-max-wait': '30' }, /^--audit-webhook-batch-max-wait: "30" is not a Go duration/],
    ['bool as string', { ...HOOK, 'audit-webhook-truncate-enabled': 'yes' }, /is not a boolean/],
    ['alias disagrees', { ...HOOK, 'audit-webhook-initial-backoff': '1s', 'audit-webhook-batch-initial-backoff': '2s' }, /^--audit-webhook-batch-initial-backoff: "2s" disagrees with --audit-webhook-initial-backoff="1s"/],
  ])('cdk8s-audit check: %s', (_name, values, message) => {
    const problems = validateAuditFlags(values);
    expect(problems.some((p) => message.test(p)), problems.join('\n')).toBe(true);
  });

  it('refuses unsupported Kubernetes versions', () => {
    expect(() => validateAuditFlags(LOG, { kubernetesVersion: '1.12' })).toThrow(/not supported/);
  });
});

describe('renderAuditArgs', () => {
  it('renders paths and the rotation trio always, other flags only when not default', () => {
    const args = renderAuditArgs({ ...LOG, 'audit-log-format': 'json', 'audit-log-mode': 'batch', 'audit-log-batch-max-wait': '5000ms' }, { kubernetesVersion: '1.36' });
    expect(toCommandLine(args)).toEqual([
      '--audit-policy-file=/etc/kubernetes/audit-policy/policy.yaml',
      '--audit-log-path=/var/log/kubernetes/audit/audit.log',
      '--audit-log-maxage=366',
      '--audit-log-maxbackup=100',
      '--audit-log-maxsize=100',
      '--audit-log-mode=batch',
      '--audit-log-batch-max-wait=5s',
    ]);
  });

  it('renders the version defaults of the rotation trio (0 before 1.36)', () => {
    expect(toCommandLine(renderAuditArgs(LOG, { kubernetesVersion: '1.35' })).slice(2)).toEqual(['--audit-log-maxage=0', '--audit-log-maxbackup=0', '--audit-log-maxsize=0']);
  });

  it('skips rotation flags for stdout unless given', () => {
    expect(toCommandLine(renderAuditArgs({ ...LOG, 'audit-log-path': '-' }))).toEqual(['--audit-policy-file=/etc/kubernetes/audit-policy/policy.yaml', '--audit-log-path=-']);
  });

  it('renders the deprecated alias under its canonical name, durations as Go prints them', () => {
    expect(toCommandLine(renderAuditArgs({ ...HOOK, 'audit-webhook-batch-initial-backoff': '1500ms', 'audit-webhook-batch-max-wait': '90s', 'audit-webhook-batch-throttle-qps': 2.5 }))).toEqual([
      '--audit-policy-file=/etc/kubernetes/audit-policy/policy.yaml',
      '--audit-webhook-config-file=/etc/kubernetes/audit-webhook/kubeconfig.yaml',
      '--audit-webhook-initial-backoff=1.5s',
      '--audit-webhook-batch-max-wait=1m30s',
      '--audit-webhook-batch-throttle-qps=2.5',
    ]);
  });

  it('omits a value equal to the default, however it is spelled', () => {
    expect(renderAuditArgs({ ...HOOK, 'audit-webhook-batch-max-wait': '30000ms', 'audit-webhook-mode': 'batch' }).map((a) => a.name)).toEqual(['audit-policy-file', 'audit-webhook-config-file']);
  });
});

describe('Go value parsing', () => {
  it.each<[string, number | undefined]>([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['500ms', 5e8],
    ['2us', 2000],
    ['3µs', 3000],
    ['0', 0],
    ['-2s', -2e9],
    ['30', undefined],
    ['', undefined],
    ['1d', undefined],
    ['.s', undefined],
  ])('parseGoDuration(%j) = %s', (text, ns) => expect(parseGoDuration(text)).toBe(ns));

  it.each<[number, string]>([
    [0, '0s'],
    [30e9, '30s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [1.5e9, '1.5s'],
    [5e8, '500ms'],
    [1500, '1.5µs'],
    [-2e9, '-2s'],
  ])('formatGoDuration(%d) = %s', (ns, text) => expect(formatGoDuration(ns)).toBe(text));

  it.each<[string, number | undefined]>([
    ['10', 10],
    ['-1', -1],
    ['0x10', 16],
    ['010', 8],
    ['0b11', 3],
    ['1_000', 1000],
    ['1.0', undefined],
    ['ten', undefined],
    ['1__0', undefined],
    ['', undefined],
  ])('parseGoInt(%j) = %s', (text, v) => expect(parseGoInt(text)).toBe(v));

  it('parseGoBool and parseGoFloat follow strconv', () => {
    expect(['1', 't', 'TRUE', 'True'].map(parseGoBool)).toEqual([true, true, true, true]);
    expect(['0', 'f', 'false'].map(parseGoBool)).toEqual([false, false, false]);
    expect(parseGoBool('yes')).toBeUndefined();
    expect(parseGoFloat('2.5')).toBe(2.5);
    expect(parseGoFloat('1e3')).toBe(1000);
    expect(parseGoFloat('abc')).toBeUndefined();
    expect(parseGoFloat('1e40')).toBeUndefined();
  });

  it('parseFlagText names the flag, the text and the fix', () => {
    expect(parseFlagText(getFlag('audit-log-maxage'), 'thirty')).toEqual({ problem: expect.stringMatching(/^--audit-log-maxage: "thirty" is not an integer \(the kube-apiserver cannot parse it\); write a whole number of days/) });
    expect(parseFlagText(getFlag('audit-webhook-batch-max-wait'), '5')).toEqual({ problem: expect.stringMatching(/is not a Go duration/) });
    expect(parseFlagText(getFlag('audit-webhook-batch-throttle-enable'), 'false')).toEqual({ value: false });
    expect(parseFlagText(getFlag('audit-log-maxage'), '30')).toEqual({ value: 30 });
  });
});
