// The example app `cdk8s synth` runs: PCI DSS auditing with a local log and a remote sink.
//   dist/*.k8s.yaml        cluster manifests (what Argo CD / Flux apply, via dist/kustomization.yaml)
//   dist/node/             files for the control-plane node: policy, webhook kubeconfig, kubeadm,
//                          kind and static-pod wiring, and files.yaml saying where each goes
import { Chart } from 'cdk8s';
import { AuditApp, ClusterAudit } from './src';

/** The sink's fixed ClusterIP: the apiserver runs on the host network and cannot resolve Service names. */
const SINK_CLUSTER_IP = '10.96.0.50';
const SINK_PORT = 8443;

const app = new AuditApp();
const chart = new Chart(app, 'audit');

new ClusterAudit(chart, 'cluster-audit', {
  kubernetesVersion: '1.37',
  presets: ['pci-dss'],
  presetOptions: { auditNamespace: 'audit' },
  webhook: {
    kubeconfig: {
      server: `https://${SINK_CLUSTER_IP}:${SINK_PORT}/audit`,
      certificateAuthorityFile: 'ca.crt',
      clientCertificateFile: 'apiserver-client.crt',
      clientKeyFile: 'apiserver-client.key',
    },
  },
  kind: { name: 'cdk8s-audit' },
});

app.synth();
