// Kubernetes API-server auditing for {{name}}. `npm run synth` writes:
//   dist/*.k8s.yaml + dist/kustomization.yaml   what Argo CD / Flux apply: the audit sink
//   dist/node/                                   files for the control-plane nodes (see dist/node/files.yaml)
// Keys and certificates are never synthesised: `npx cdk8s-audit certs --out {{secretsDir}} --sans {{sinkHost}}`
// writes them to {{secretsDir}} (gitignored), which dist/node/kind-cluster.yaml mounts from.
import { ApiObject, Chart, Size } from 'cdk8s';
import { AuditApp, ClusterAudit, KubernetesVersion, Preset{{retentionPrecedenceImport}}, sinkRetentionPropsFor } from 'cdk8s-audit';
import { AuditSink, SinkSigningKey, SinkTls } from 'cdk8s-audit/sinks';

/** The sink's fixed ClusterIP: the apiserver runs on the host network and cannot resolve Service names. */
const SINK_CLUSTER_IP = '{{sinkHost}}';
const SINK_PORT = {{sinkPort}};
const NAMESPACE = 'audit';
/** Built from the installed package by `npx cdk8s-audit sink image --tag cdk8s-audit-sink:{{cdk8sAuditVersion}}`. */
const SINK_IMAGE = 'cdk8s-audit-sink:{{cdk8sAuditVersion}}';
/** Where the kube-apiserver connects from (the control-plane nodes); kind's Docker network by default. */
const CONTROL_PLANE_CIDRS = ['172.18.0.0/16'];

const app = new AuditApp({{appProps}});
// Cluster-scoped objects in a chart of their own: a chart's namespace would be stamped on them too.
new ApiObject(new Chart(app, 'cluster'), 'namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
const chart = new Chart(app, 'audit', { namespace: NAMESPACE });

const audit = new ClusterAudit(chart, 'cluster-audit', {
  kubernetesVersion: {{kubernetesVersionConstant}},
  presets: [{{presetConstants}}],
  presetOptions: { auditNamespace: NAMESPACE{{retentionPrecedenceOption}} },
  webhook: {
    kubeconfig: {
      server: `https://${SINK_CLUSTER_IP}:${SINK_PORT}/audit`,
      // Files in the node's webhook directory, from {{secretsDir}} (written by `cdk8s-audit certs`).
      certificateAuthorityFile: 'ca.crt',
      clientCertificateFile: 'apiserver-client.crt',
      clientKeyFile: 'apiserver-client.key',
    },
  },
});

const retention = sinkRetentionPropsFor(audit.policy.preset!.retention);

// The sink the webhook points at (synth fails when they disagree on address, port or body size).
new AuditSink(chart, 'audit-sink', {
  image: SINK_IMAGE,
  clusterIP: SINK_CLUSTER_IP,
  port: SINK_PORT,
  controlPlaneCidrs: CONTROL_PLANE_CIDRS,
  // tls.crt, tls.key, ca.crt from {{secretsDir}}: `cdk8s-audit certs … --namespace audit` prints the kubectl command.
  tls: SinkTls.fromSecret('audit-sink-tls'),
  signingKey: SinkSigningKey.fromSecret('audit-sink-signing-key'),
  storageSize: Size.gibibytes(10),
  // Keep what the preset's retention requirement claims, deleting by age only (a size limit could delete
  // sooner): the report counts retention as met only then. Size the volume for that many days.
  retentionMaxAge: retention.retentionMaxAge,
  retentionMaxSize: retention.retentionMaxSize,
  webhookBackend: audit.apiserver.webhook,
});

app.synth();
