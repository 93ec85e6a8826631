// The example app `cdk8s synth` runs: PCI DSS auditing with a local log and the remote sink.
//   dist/*.k8s.yaml, dist/kustomization.yaml   the sink (what Argo CD / Flux apply)
//   dist/node/                                 files for the control-plane node: policy, webhook kubeconfig,
//                                              kubeadm, kind and static-pod wiring, the other control planes
//                                              (docs/control-planes.md), files.yaml (where each goes)
import { ApiObject, Chart, Size } from 'cdk8s';
// The compiled library (`npm run synth` builds it first), as a user's app imports the package: transpiling
// the library's sources on every synth would make synth several times slower.
import { AuditApp, ClusterAudit, KubernetesVersion, Preset, allControlPlanes, sinkRetentionPropsFor } from './lib';
import { AuditSink, SinkSigningKey, SinkTls } from './lib/sinks';

/** The sink's fixed ClusterIP: the apiserver runs on the host network and cannot resolve Service names. */
const SINK_CLUSTER_IP = '10.96.0.50';
const SINK_PORT = 8443;
/** Control-plane node addresses: only they may reach the sink (kind's Docker network by default). */
const CONTROL_PLANE_CIDRS = ['172.18.0.0/16'];
const NAMESPACE = 'audit';
/** The sink image, built from templates/sink/Dockerfile (scripts build and load it for the kind suite). */
const SINK_IMAGE = 'cdk8s-audit-sink:0.1.0';

const app = new AuditApp();
// Cluster-scoped objects in a chart of their own: a chart's namespace would be stamped on them too.
new ApiObject(new Chart(app, 'cluster'), 'namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
const chart = new Chart(app, 'audit', { namespace: NAMESPACE });

const audit = new ClusterAudit(chart, 'cluster-audit', {
  kubernetesVersion: KubernetesVersion.V1_37,
  presets: [Preset.PCI_DSS],
  presetOptions: { auditNamespace: NAMESPACE },
  webhook: {
    kubeconfig: {
      server: `https://${SINK_CLUSTER_IP}:${SINK_PORT}/audit`,
      // Provisioned on the node, never committed: `cdk8s-audit certs --out DIR --sans IP:10.96.0.50`.
      certificateAuthorityFile: 'ca.crt',
      clientCertificateFile: 'apiserver-client.crt',
      clientKeyFile: 'apiserver-client.key',
    },
  },
  kind: { name: 'cdk8s-audit' },
  // Every other control plane's wiring too (dist/node/cluster-api, k3s, rke2, talos, kops, eks-anywhere, openshift):
  // the examples of docs/control-planes.md. Drop what your clusters do not run.
  controlPlanes: allControlPlanes({ name: 'cdk8s-audit-control-plane' }),
});

const retention = sinkRetentionPropsFor(audit.policy.preset!.retention);

new AuditSink(chart, 'audit-sink', {
  image: SINK_IMAGE,
  clusterIP: SINK_CLUSTER_IP,
  port: SINK_PORT,
  controlPlaneCidrs: CONTROL_PLANE_CIDRS,
  tls: SinkTls.fromSecret('audit-sink-tls'),
  signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
  storageSize: Size.gibibytes(10),
  // Keep what the preset's retention requirement claims, deleting by age only (a size limit could delete
  // sooner): the report counts retention as met only then. Size the volume for that many days.
  retentionMaxAge: retention.retentionMaxAge,
  retentionMaxSize: retention.retentionMaxSize,
  // Checks at synth that the sink accepts every batch the apiserver may send.
  webhookBackend: audit.apiserver.webhook,
});

app.synth();
