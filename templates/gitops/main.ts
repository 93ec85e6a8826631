// Kubernetes API-server auditing for {{name}}. `npm run synth` writes:
//   dist/*.k8s.yaml + dist/kustomization.yaml   what Argo CD / Flux apply
//   dist/node/                                   files for the control-plane nodes (see dist/node/files.yaml)
import { Chart } from 'cdk8s';
import { AuditApp, ClusterAudit } from 'cdk8s-audit';

/** The sink's fixed ClusterIP: the apiserver runs on the host network and cannot resolve Service names. */
const SINK_ADDRESS = '{{sinkAddress}}';

const app = new AuditApp();
const chart = new Chart(app, 'audit');

new ClusterAudit(chart, 'cluster-audit', {
  kubernetesVersion: '{{kubernetesVersion}}',
  presets: [{{presets}}],
  webhook: {
    kubeconfig: {
      server: `https://${SINK_ADDRESS}/audit`,
      // Provisioned on each control-plane node, never committed: `cdk8s-audit certs --out DIR`.
      certificateAuthorityFile: 'ca.crt',
      clientCertificateFile: 'apiserver-client.crt',
      clientKeyFile: 'apiserver-client.key',
    },
  },
});

app.synth();
