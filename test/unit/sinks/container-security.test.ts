import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { AuditSink, FalcoSink, FluentBitSink, SinkSigningKey, SinkTls, VectorSink } from '../../../src/sinks';
import { testApp } from '../support/temp-dir';

// The container securityContext comes from one helper; this pins what every sink container renders, so a
// sink that builds its own (or a helper change) shows up here by name.
const HARDENED = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsGroup: 65532,
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

const net = { clusterIP: '10.96.0.60', controlPlaneCidrs: ['192.168.1.10/32'], tls: SinkTls.fromSecret('sink-tls') };
const SINKS: readonly [string, (scope: Construct) => void][] = [
  ['AuditSink', (c) => new AuditSink(c, 's', { ...net, image: 'example.com/sink:0.1.0', signingKey: SinkSigningKey.fromSecret('sink-key') })],
  ['FluentBitSink', (c) => new FluentBitSink(c, 's', net)],
  ['VectorSink', (c) => new VectorSink(c, 's', net)],
  ['FalcoSink', (c) => new FalcoSink(c, 's', net)],
];

describe('sink containers share one hardened securityContext', () => {
  it.each(SINKS)('%s: every container and init container', (_name, build) => {
    const chart = new Chart(testApp(), 'test', { namespace: 'audit' });
    build(chart);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const pod = Testing.synth(chart).find((o: any) => o.kind === 'Deployment').spec.template.spec;
    const containers = [...(pod.initContainers ?? []), ...pod.containers];
    expect(containers.length).toBeGreaterThan(0);
    for (const c of containers) expect({ name: c.name, securityContext: c.securityContext }).toEqual({ name: c.name, securityContext: HARDENED });
  });
});
