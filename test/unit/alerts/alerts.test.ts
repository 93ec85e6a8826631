import { Chart, Duration, Size, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AUDIT_ERROR_PLUGINS, KNOWN_METRICS, lookUpMetric } from '../../../src/alerts/metrics';
import { AuditAlerts } from '../../../src/alerts/prometheus-rule';
import { checkPromQL } from '../../../src/alerts/promql';
import { auditAlertGroups, AuditAlertOptions, renderPrometheusRuleFile } from '../../../src/alerts/rules';
import { adviseBatching } from '../../../src/backends/advisor';
import { REJECT_REASONS } from '../../../src/sink-contract/event-list';
import { testApp } from '../support/temp-dir';

const advice = adviseBatching({ load: { requestsPerSecond: 50, peakRequestsPerSecond: 500, burstSeconds: 30 }, sink: { latencySeconds: 0.4, maxInFlight: 8 } });
const FULL: AuditAlertOptions = { webhookHost: '10.96.0.50:8443', advice: { ...advice, sinkLatency: Duration.millis(400) } };

function synth(props: ConstructorParameters<typeof AuditAlerts>[2]) {
  const chart = new Chart(testApp(), 'test', { namespace: 'monitoring' });
  new AuditAlerts(chart, 'alerts', props);
  return Testing.synth(chart);
}

const allRules = (options: AuditAlertOptions = FULL) => auditAlertGroups(options).flatMap((g) => g.rules);

describe('AuditAlerts construct', () => {
  it('synthesises one monitoring.coreos.com/v1 PrometheusRule with every rule', () => {
    const manifests = synth({ ...FULL, labels: { release: 'kube-prometheus-stack' } });
    expect(manifests).toHaveLength(1);
    const [rule] = manifests;
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.metadata.namespace).toBe('monitoring');
    expect(rule.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', 'app.kubernetes.io/name': 'cdk8s-audit-alerts' });
    expect(rule.spec.groups.map((g: { name: string }) => g.name)).toEqual(['cdk8s-audit.apiserver', 'cdk8s-audit.sink']);
    const names = rule.spec.groups.flatMap((g: { rules: { alert: string }[] }) => g.rules.map((r) => r.alert));
    expect(names).toEqual(allRules().map((r) => r.alert));
    expect(new Set(names).size).toBe(names.length);
  });

  it('is the same rules as the plain rule file (one source)', () => {
    const [manifest] = synth(FULL);
    const file = parse(renderPrometheusRuleFile(FULL));
    expect(manifest.spec.groups).toEqual(file.groups);
  });

  it('every rule has a severity, a summary, a description and a numbered runbook', () => {
    for (const r of allRules()) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary.length, r.alert).toBeGreaterThan(20);
      expect(r.annotations.description.length, r.alert).toBeGreaterThan(40);
      expect(r.annotations.runbook, r.alert).toMatch(/^1\. /);
      expect(r.for, r.alert).toMatch(/^\d+[smhd]$/);
    }
  });

  it('invalid props are refused naming the prop, the value and the fix', () => {
    expect(() => synth({ apiserverSelector: 'job=apiserver' })).toThrow(/apiserverSelector: "job=apiserver" is not a list of label matchers .*write e\.g\. job="apiserver"/);
    expect(() => synth({ webhookHost: 'https://sink' })).toThrow(/webhookHost: "https:\/\/sink" is not host:port .*10\.96\.0\.50:8443/);
    expect(() => synth({ eventsStoppedFor: Duration.millis(0) })).toThrow(/eventsStoppedFor: .* is not a whole number of milliseconds > 0; give e\.g\. Duration\.minutes\(10\)/);
    expect(() => synth({ sinkFsyncWarning: Duration.seconds(0) })).toThrow(/sinkFsyncWarning: .* is not a whole number of milliseconds > 0; give e\.g\. Duration\.millis\(250\)/);
    expect(() => synth({ sinkMaxQueueSize: Size.kibibytes(0.0001) })).toThrow(/sinkMaxQueueSize: .*bytes\) is not a whole number of bytes > 0; give e\.g\. Size\.mebibytes\(64\)/);
    expect(() => synth({ sinkDiskFreeWarning: 1024 as never })).toThrow(/sinkDiskFreeWarning: 1024 is not a Size; give e\.g\. Size\.gibibytes\(1\)/);
    expect(() => synth({ extraLabels: { severity: 'page' } })).toThrow(/"severity" is set by each rule/);
    expect(() => synth({ name: 'Audit_Alerts' })).toThrow(/name: "Audit_Alerts" is not a Kubernetes object name/);
  });
});

describe('the rules', () => {
  it('every expression is valid PromQL over known metrics and yields an instant vector', () => {
    for (const r of allRules()) {
      const c = checkPromQL(r.expr);
      expect(c.type, r.alert).toBe('vector');
      for (const m of c.metrics) expect(lookUpMetric(m), `${r.alert}: ${m}`).toBeDefined();
    }
  });

  it('cover each plugin of apiserver_audit_error_total, rejected requests, events stopping and the sink', () => {
    const rules = allRules();
    const selectors = rules.flatMap((r) => checkPromQL(r.expr).selectors);
    for (const plugin of AUDIT_ERROR_PLUGINS) {
      expect(selectors.some((s) => s.metric === 'apiserver_audit_error_total' && s.matchers.some((m) => m.label === 'plugin' && m.op === '=' && m.value === plugin)), plugin).toBe(true);
    }
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
    expect(byName.AuditEventsStopped.expr).toBe('sum by (instance) (rate(apiserver_audit_event_total{job="apiserver"}[5m])) == 0');
    expect(byName.AuditEventsStopped.for).toBe('10m');
    expect(byName.AuditEventsDroppedBufferFull.expr).toBe(
      'sum by (instance) (rate(apiserver_audit_error_total{job="apiserver", plugin="buffered"}[5m])) > 0 or ' +
        '(sum by (instance) (apiserver_audit_error_total{job="apiserver", plugin="buffered"} unless apiserver_audit_error_total{job="apiserver", plugin="buffered"} offset 5m) > 0 ' +
        'and on (instance) max by (instance) (up{job="apiserver"} offset 5m))',
    );
    expect(byName.AuditRequestsRejected.labels.severity).toBe('critical');
    expect(byName.AuditSinkFsyncSlow.expr).toContain('audit_sink_fsync_seconds_bucket{job="audit-sink"}');
    expect(byName.AuditSinkDiskLow.expr).toContain('audit_sink_disk_free_bytes');
    // Every metric the table knows is used by some rule (no stale entries).
    const used = new Set(rules.flatMap((r) => checkPromQL(r.expr).metrics.map((m) => lookUpMetric(m)!.metric.name)));
    expect(KNOWN_METRICS.map((m) => m.name).filter((m) => !used.has(m))).toEqual(['apiserver_audit_level_total', 'audit_sink_requests_total', 'audit_sink_events_total', 'audit_sink_store_bytes']);
  });

  it('every reason the sink can reject with is alerted on, by exactly one rule', () => {
    const seen: string[] = [];
    for (const r of allRules()) {
      for (const s of checkPromQL(r.expr).selectors) {
        for (const m of s.matchers.filter((x) => s.metric === 'audit_sink_rejects_total' && x.label === 'reason')) {
          const values = m.op === '=~' ? m.value.split('|') : [m.value];
          for (const v of values) expect(REJECT_REASONS, `${r.alert}: ${v}`).toContain(v);
          seen.push(...values);
        }
      }
    }
    expect([...seen].sort()).toEqual([...REJECT_REASONS].sort());
  });

  it('options: the apiserver and sink selectors, webhook host, advice, extra labels, runbook URL, no sink', () => {
    const rules = allRules({ apiserverSelector: 'cluster="prod", job="kube-apiserver"', sinkSelector: 'namespace="audit"', extraLabels: { team: 'platform' }, runbookUrlBase: 'https://runbooks.example/audit' });
    const byName = Object.fromEntries(rules.map((r) => [r.alert, r]));
    expect(byName.AuditEventsStopped.expr).toContain('apiserver_audit_event_total{cluster="prod", job="kube-apiserver"}');
    expect(byName.AuditSinkDown.expr).toBe('up{namespace="audit"} == 0');
    expect(byName.AuditSinkDown.labels).toEqual({ severity: 'critical', team: 'platform' });
    expect(byName.AuditSinkDown.annotations.runbook_url).toBe('https://runbooks.example/audit#auditsinkdown');
    expect(byName.AuditWebhookRequestErrors).toBeUndefined();
    expect(byName.AuditEventRateNearBatchCapacity).toBeUndefined();

    const full = Object.fromEntries(allRules().map((r) => [r.alert, r]));
    expect(full.AuditWebhookRequestErrors.expr).toBe(
      'sum by (instance, code) (rate(rest_client_requests_total{job="apiserver", host="10.96.0.50:8443", method="POST", code!~"2.."}[5m])) > 0',
    );
    expect(full.AuditWebhookSlow.expr).toMatch(/rest_client_request_duration_seconds_bucket\{job="apiserver", host="10\.96\.0\.50:8443", verb="POST"\}\[5m\]\)\)\) > 0\.4$/);
    // 0.8 × the advised drain rate qps × max-size.
    const mu = advice.capacity.drainEventsPerSecond!;
    expect(full.AuditEventRateNearBatchCapacity.expr).toBe(`sum by (instance) (rate(apiserver_audit_event_total{job="apiserver"}[5m])) > ${Math.round(0.8 * mu * 1000) / 1000}`);
    expect(full.AuditEventRateNearBatchCapacity.annotations.description).toContain(`throttle-qps ${advice.settings.throttleQps} × batch-max-size ${advice.settings.maxBatchSize}`);

    expect(auditAlertGroups({ sink: false }).map((g) => g.name)).toEqual(['cdk8s-audit.apiserver']);
  });

  it('the rule file is a Prometheus rule file', () => {
    const doc = parse(renderPrometheusRuleFile());
    expect(Object.keys(doc)).toEqual(['groups']);
    for (const g of doc.groups) {
      expect(Object.keys(g)).toEqual(['name', 'rules']);
      for (const r of g.rules) expect(Object.keys(r)).toEqual(['alert', 'expr', 'for', 'labels', 'annotations']);
    }
  });
});

describe('checkPromQL', () => {
  it('accepts the PromQL forms the rules use and a few more', () => {
    for (const e of [
      'up == 0',
      'sum by (instance) (rate(apiserver_audit_error_total{plugin="buffered"}[5m])) > 0',
      'sum(rate(apiserver_audit_error_total[5m])) by (plugin) > bool 0',
      'histogram_quantile(0.99, sum by (le) (rate(audit_sink_fsync_seconds_bucket[5m]))) > 0.25',
      'predict_linear(audit_sink_disk_free_bytes[6h], 24 * 3600) < 0',
      'absent(apiserver_audit_event_total{job="apiserver"})',
      'max_over_time(audit_sink_queue_bytes[5m:1m] offset 1h) > 1e6',
      'rate(apiserver_audit_event_total[5m]) / on (instance) group_left rate(audit_sink_events_total[5m])',
      '-1 * topk(3, sum by (plugin) (increase(apiserver_audit_error_total[1h])))',
      '2 ^ 3 ^ 2 > bool 1',
      'apiserver_audit_event_total and on (instance) up{job="apiserver"} == 1',
    ]) {
      expect(() => checkPromQL(e), e).not.toThrow();
    }
  });

  it.each([
    ['rate(apiserver_audit_event_total[5m]', /expected , or \) in the arguments of rate, found the end/],
    ['sum(rate(apiserver_audit_event_total[5m])))', /unexpected "\)" after a complete expression/],
    ['rate(apiserver_audit_events_total[5m])', /apiserver_audit_events_total is not a metric the audit alerts know/],
    ['rate(apiserver_audit_error_total{plugins="buffered"}[5m])', /apiserver_audit_error_total has no label plugins \(its labels: plugin;/],
    ['rate(apiserver_audit_error_total)', /argument 1 of rate must be a range vector, not an instant vector \(add a range, e\.g\. \[5m\]\)/],
    ['sum(apiserver_audit_error_total[5m])', /sum\(\.\.\.\) aggregates an instant vector, not a range vector/],
    ['apiserver_audit_error_total{plugin="buffered}', /unterminated string/],
    ['apiserver_audit_error_total{plugin=~"(buffered"}', /is not a valid regular expression/],
    ['1 > 0', /comparing two scalars needs bool/],
    ['rates(apiserver_audit_error_total[5m])', /rates is not a PromQL function/],
    ['rate(apiserver_audit_error_total[5m]) >', /the expression ends where an operand should be/],
    ['rate(apiserver_audit_error_total[5x])', /expected a duration such as 5m, found "5x\]\)"/],
    ['apiserver_audit_error_total[5m] > 0', /a range vector cannot be an operand of >/],
    ['rate(apiserver_audit_event_total[5m]) 0', /unexpected "0" after a complete expression/],
    ['histogram_quantile(0.99)', /histogram_quantile takes 2 argument\(s\), got 1/],
    ['rate(apiserver_audit_event_total[5m])[5m]', /needs a subquery step/],
    ['', /empty expression/],
  ])('refuses %j', (expr, message) => {
    expect(() => checkPromQL(expr)).toThrow(message);
  });

  it('reports the selectors with their matchers', () => {
    expect(checkPromQL('rate(audit_sink_rejects_total{job="s", reason=~"a|b"}[5m]) > 0').selectors).toEqual([
      {
        metric: 'audit_sink_rejects_total',
        matchers: [
          { label: 'job', op: '=', value: 's' },
          { label: 'reason', op: '=~', value: 'a|b' },
        ],
      },
    ]);
  });
});
