import { Chart, Testing } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ClusterAudit, Level } from '../../../src';
import { AuditSink, FalcoSink, SinkSigningKey, SinkTls } from '../../../src/sinks';
import { testApp } from '../support/temp-dir';
import { Preset } from '../../../src/presets/preset-names';

const common = { clusterIP: '10.96.0.53', controlPlaneCidrs: ['192.168.1.10/32'], tls: SinkTls.fromSecret('audit-falco-tls') };

function build(presetOptions: ConstructorParameters<typeof ClusterAudit>[2] = {}, sink: Partial<ConstructorParameters<typeof FalcoSink>[2]> = {}) {
  const chart = new Chart(testApp(), 'c', { namespace: 'audit' });
  const audit = new ClusterAudit(chart, 'audit', { presets: [Preset.PCI_DSS], ...presetOptions });
  const falco = new FalcoSink(chart, 'falco', { ...common, clusterAudit: audit, ...sink });
  return { chart, falco, audit };
}

describe('FalcoSink checks at synth that the feeding ClusterAudit lets its rules fire', () => {
  it('pci-dss: synth fails naming the silenced rules, the deciding rule and the fix', () => {
    const { chart, falco } = build();
    const problems = falco.node.validate();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^clusterAudit c\/audit: its policy silences 9 detection rule\(s\) these events feed/);
    expect(problems[0]).toMatch(/falco "Create Privileged Pod" \(needs Request\):\n\s+create pods in default: rule \d+ gives Metadata; insert before rule \d+/);
    expect(problems[0]).toMatch(/fix: presetOptions.detections: \['falco'\]/);
    expect(problems[0]).not.toMatch(/Configmap With Private Credentials/);
    expect(() => Testing.synth(chart)).toThrow(/silences/);
  });
  it("pci-dss with presetOptions.detections: ['falco'] synthesises", () => {
    const { chart, falco } = build({ presetOptions: { detections: ['falco'] } });
    expect(falco.node.validate()).toEqual([]);
    expect(() => Testing.synth(chart)).not.toThrow();
  });
  it('allowSilencedRules accepts named gaps; other rules files are not checked; no clusterAudit, no check', () => {
    const open = ['Create Disallowed Pod', 'Create Privileged Pod', 'Create Sensitive Mount Pod', 'Create HostNetwork Pod', 'Create HostPid Pod', 'Create HostIPC Pod',
      'Create NodePort Service', 'Pod Created in Kube Namespace', 'Ingress Object without TLS Certificate Created'];
    expect(build({}, { allowSilencedRules: open }).falco.node.validate()).toEqual([]);
    expect(build({}, { allowSilencedRules: open.slice(1) }).falco.node.validate()[0]).toMatch(/silences 1 detection rule\(s\)[^]*falco "Create Disallowed Pod"/);
    expect(build({}, { rulesFiles: ['/etc/falco/my_rules.yaml'] }).falco.node.validate()).toEqual([]);
    expect(build({}, { clusterAudit: undefined }).falco.node.validate()).toEqual([]);
  });
  it('sees rules the user adds to the policy after constructing the sink', () => {
    const { falco, audit } = build();
    expect(falco.node.validate()[0]).toMatch(/"Create NodePort Service"/);
    audit.policy.prependRule({ level: Level.REQUEST, verbs: ['create'], resources: [{ group: '', resources: ['services'] }] });
    const after = falco.node.validate()[0];
    expect(after).toMatch(/"Create Privileged Pod"/);
    expect(after).not.toMatch(/"Create NodePort Service"/);
  });
});

describe('AuditSink detections: the same check for Sigma and Elastic rules that read the forwarded events', () => {
  const sinkProps = {
    ...common,
    image: 'registry.example.com/cdk8s-audit-sink:0.1.0',
    signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
  };
  function withSink(presetOptions: ConstructorParameters<typeof ClusterAudit>[2], ruleSets: ('sigma' | 'elastic')[], allowSilencedRules?: string[]) {
    const chart = new Chart(testApp(), 'c', { namespace: 'audit' });
    const audit = new ClusterAudit(chart, 'audit', { presets: [Preset.PCI_DSS], ...presetOptions });
    return new AuditSink(chart, 'sink', { ...sinkProps, detections: { clusterAudit: audit, ruleSets, allowSilencedRules } });
  }
  it('pci-dss with Elastic rules: names the 12 silenced rules (pod bodies, NodePort, Events Deleted, exec at Request, anonymous at Request) and the fix', () => {
    const problems = withSink({}, ['elastic']).node.validate();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/detections.clusterAudit c\/audit: its policy silences 12 detection rule\(s\)/);
    expect(problems[0]).toMatch(/elastic "Kubernetes Events Deleted" \(needs Metadata\):\n\s+delete events in default: rule \d+ gives None/);
    expect(problems[0]).toMatch(/elastic "Kubernetes User Exec into Pod" \(needs Request\):\n\s+create pods\/exec in default: rule \d+ gives Metadata; insert before rule \d+/);
    expect(problems[0]).toMatch(/elastic "Kubernetes Anonymous User Create\/Update\/Patch Pods Request" \(needs Request\):\n\s+create pods in default by system:anonymous: [^\n]*"userGroups":\["system:unauthenticated"\]/);
    expect(problems[0]).toMatch(/fix: presetOptions.detections: \['elastic'\]/);
  });
  it('pci-dss with Sigma rules: names the 3 silenced rules; both sets together name each set once in the fix', () => {
    const problems = withSink({}, ['sigma']).node.validate();
    expect(problems[0]).toMatch(/silences 3 detection rule\(s\)[^]*sigma "Privileged Container Deployed" \(needs Request\)[^]*sigma "Kubernetes Events Deleted"/);
    expect(withSink({}, ['sigma', 'elastic']).node.validate()[0]).toMatch(/silences 15 detection rule\(s\)[^]*fix: presetOptions.detections: \['sigma', 'elastic'\]/);
    expect(withSink({ presetOptions: { detections: ['elastic'] } }, ['sigma', 'elastic']).node.validate()).toEqual([]);
  });
  it('a rule that fires only at a lower level than the policy gives (Elastic exec at Request, the policy at RequestResponse): named, and presetOptions.detections is not offered as its fix', () => {
    const exec = { level: Level.REQUEST_RESPONSE, verbs: ['create'], resources: [{ group: '', resources: ['pods/exec'] }] };
    const problems = withSink({ presetOptions: { detections: ['elastic'], rulesBefore: [exec] } }, ['elastic']).node.validate();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/silences 1 detection rule\(s\)[^]*elastic "Kubernetes User Exec into Pod" \(needs Request\):\n\s+create pods\/exec in default: rule 0 gives RequestResponse; the rule fires only on events at Request/);
    expect(problems[0]).toMatch(/fix: for "Kubernetes User Exec into Pod" \(recorded above the level the rule accepts\): change that detection rule, or lower the policy yourself; or list the names in allowSilencedRules$/);
  });
  it('covered by presetOptions.detections, or accepted by allowSilencedRules', () => {
    expect(withSink({ presetOptions: { detections: ['sigma', 'elastic'] } }, ['sigma', 'elastic']).node.validate()).toEqual([]);
    expect(withSink({}, ['sigma'], ['Privileged Container Deployed', 'Container With A hostPath Mount Created', 'Kubernetes Events Deleted']).node.validate()).toEqual([]);
  });
});
