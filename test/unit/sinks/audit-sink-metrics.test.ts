import { Chart, Duration, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { checkPromQL } from '../../../src/alerts/promql';
import { auditAlertGroups } from '../../../src/alerts/rules';
import { AuditSink, AuditSinkProps, SinkSigningKey, SinkTls } from '../../../src/sinks';
import { testApp } from '../support/temp-dir';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

const base = (): AuditSinkProps => ({
  image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
  clusterIP: '10.96.0.50',
  controlPlaneCidrs: ['192.168.1.10/32'],
  metricsCidrs: ['10.244.0.0/16'],
  tls: SinkTls.fromSecret('audit-sink-tls'),
  signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
});

function synth(props: Partial<AuditSinkProps>): Manifest[] {
  const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
  new AuditSink(chart, 'audit-sink', { ...base(), ...props });
  return Testing.synth(chart);
}
const ofKind = (m: Manifest[], kind: string): Manifest[] => m.filter((o) => o.kind === kind);

/** The job="…" matcher of the sink rules' `up{…}` selector (AuditSinkDown). */
function sinkRulesJob(options: Parameters<typeof auditAlertGroups>[0] = {}): string | undefined {
  const down = auditAlertGroups(options).flatMap((g) => g.rules).find((r) => r.alert === 'AuditSinkDown')!;
  const sel = checkPromQL(down.expr).selectors.find((s) => s.metric === 'up')!;
  return sel.matchers.find((m) => m.label === 'job' && m.op === '=')?.value;
}

describe('AuditSink metrics', () => {
  it('the Service has a metrics port on the ops listener (what the container serves /metrics on)', () => {
    const m = synth({});
    const [svc] = ofKind(m, 'Service');
    const container = ofKind(m, 'Deployment')[0].spec.template.spec.containers[0];
    expect(svc.spec.ports).toEqual([
      { name: 'webhook', port: 8443, targetPort: 8443 },
      { name: 'metrics', port: 8081, targetPort: 8081 },
    ]);
    expect(container.args).toContain('0.0.0.0:8081');
    expect(container.ports).toContainEqual({ containerPort: 8081, name: 'ops' });
    expect(ofKind(m, 'ServiceMonitor')).toEqual([]);
  });

  it('opsPort moves the metrics port', () => {
    const [svc] = ofKind(synth({ opsPort: 9102 }), 'Service');
    expect(svc.spec.ports[1]).toEqual({ name: 'metrics', port: 9102, targetPort: 9102 });
  });

  it('serviceMonitor: selects this Service only, scrapes the metrics port, and sets the job the shipped rules select', () => {
    const m = synth({ serviceMonitor: { labels: { release: 'kube-prometheus-stack' } } });
    const [svc] = ofKind(m, 'Service');
    const [sm] = ofKind(m, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.namespace).toBe('audit');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k]).toBe(v);
    expect(Object.keys(sm.spec.selector.matchLabels).length).toBeGreaterThan(0);
    const [ep] = sm.spec.endpoints;
    expect(ep).toMatchObject({ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' });
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).toContain(ep.port);
    const job = ep.relabelings.find((r: { targetLabel: string }) => r.targetLabel === 'job').replacement;
    expect(job).toBe(sinkRulesJob());
    expect(job).toBe('audit-sink');
  });

  it('serviceMonitor.job follows a custom sinkSelector', () => {
    const [sm] = ofKind(synth({ serviceMonitor: { job: 'audit-sink-prod', interval: Duration.seconds(15) } }), 'ServiceMonitor');
    expect(sm.spec.endpoints[0].interval).toBe('15s');
    expect(sm.spec.endpoints[0].relabelings[0].replacement).toBe(sinkRulesJob({ sinkSelector: 'job="audit-sink-prod"' }));
  });

  it('two sinks in one namespace: each ServiceMonitor selects only its own Service', () => {
    const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
    new AuditSink(chart, 'a', { ...base(), serviceMonitor: {} });
    new AuditSink(chart, 'b', { ...base(), clusterIP: '10.96.0.51', serviceMonitor: {} });
    const m = Testing.synth(chart);
    const services = ofKind(m, 'Service');
    for (const sm of ofKind(m, 'ServiceMonitor')) {
      const selected = services.filter((s: Manifest) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(selected).toHaveLength(1);
    }
  });

  it.each([
    [{ job: 'audit sink' }, /serviceMonitor\.job: "audit sink" is not a job label value/],
    [{ job: '' }, /serviceMonitor\.job: "" is not a job label value/],
    [{ interval: Duration.millis(500) }, /serviceMonitor\.interval: 0\.5 s is not a whole number of seconds/],
    [{ labels: { 'bad key!': 'x' } }, /serviceMonitor\.labels: "bad key!" is not a Kubernetes label key/],
  ])('refuses serviceMonitor %o', (serviceMonitor, message) => {
    expect(() => synth({ serviceMonitor })).toThrow(message);
  });
});
