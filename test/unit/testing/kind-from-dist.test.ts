import { describe, expect, it } from 'vitest';
import { KindConfig, placeProvisionedFiles, planKindMounts } from '../../../src/testing';

const config: KindConfig = {
  kind: 'Cluster',
  nodes: [{
    role: 'control-plane',
    extraMounts: [
      { hostPath: 'dist/node/rootfs/etc/kubernetes/audit', containerPath: '/etc/kubernetes/audit', readOnly: true },
      { hostPath: 'dist/node/rootfs/etc/kubernetes/audit-webhook/webhook.kubeconfig', containerPath: '/etc/kubernetes/audit-webhook/webhook.kubeconfig', readOnly: true },
      { hostPath: '.cdk8s-audit/secrets/ca.crt', containerPath: '/etc/kubernetes/audit-webhook/ca.crt', readOnly: true },
      { hostPath: '/abs/client', containerPath: '/etc/kubernetes/client' },
    ],
  }],
};

describe('kind cluster from dist/: mounts and provisioned files', () => {
  const plan = planKindMounts(config, '/app', '/tmp/w');

  it('every hostPath becomes an absolute temp path; relative ones resolve against the app directory', () => {
    expect(plan.copies.map((c) => c.from)).toEqual([
      '/app/dist/node/rootfs/etc/kubernetes/audit',
      '/app/dist/node/rootfs/etc/kubernetes/audit-webhook/webhook.kubeconfig',
      '/app/.cdk8s-audit/secrets/ca.crt',
      '/abs/client',
    ]);
    const mounts = plan.config.nodes[0].extraMounts!;
    expect(mounts.map((m) => m.hostPath)).toEqual(['/tmp/w/node0-mount0/audit', '/tmp/w/node0-mount1/webhook.kubeconfig', '/tmp/w/node0-mount2/ca.crt', '/tmp/w/node0-mount3/client']);
    expect(mounts.map((m) => m.containerPath)).toEqual(config.nodes[0].extraMounts!.map((m) => m.containerPath));
    expect(mounts[0].readOnly).toBe(true);
    expect(config.nodes[0].extraMounts![0].hostPath).toBe('dist/node/rootfs/etc/kubernetes/audit');
  });

  it('a provisioned file goes to its own file mount, or inside the directory mount that holds it', () => {
    expect(placeProvisionedFiles(plan, ['/etc/kubernetes/audit-webhook/ca.crt', '/etc/kubernetes/client/apiserver-client.key'])).toEqual([
      { nodePath: '/etc/kubernetes/audit-webhook/ca.crt', hostFile: '/tmp/w/node0-mount2/ca.crt', source: 'ca.crt' },
      { nodePath: '/etc/kubernetes/client/apiserver-client.key', hostFile: '/tmp/w/node0-mount3/client/apiserver-client.key', source: 'apiserver-client.key' },
    ]);
  });

  it('a file no mount holds, or a name certs does not write, is an error naming it', () => {
    expect(() => placeProvisionedFiles(plan, ['/etc/other/ca.crt'])).toThrow('provisionSeparately names /etc/other/ca.crt, but no extraMount');
    expect(() => placeProvisionedFiles(plan, ['/etc/kubernetes/client/token'])).toThrow('only ca.crt, apiserver-client.crt and apiserver-client.key');
  });
});
