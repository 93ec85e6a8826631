"""The example app (main.ts) written against the Python package: test_synth.py checks that it synthesises
byte for byte what the TypeScript app does. Keep it a line-by-line port of main.ts."""
from cdk8s import ApiObject, Chart, Size
from cdk8s_audit import (
    AuditApp,
    AuditSink,
    AuditSinkRetentions,
    ClusterAudit,
    ClusterAuditKindOptions,
    ClusterAuditWebhookProps,
    ControlPlanes,
    KubernetesVersion,
    Preset,
    PresetOptions,
    SinkSigningKey,
    SinkTls,
    WebhookKubeconfigProps,
)

SINK_CLUSTER_IP = "10.96.0.50"
SINK_PORT = 8443
CONTROL_PLANE_CIDRS = ["172.18.0.0/16"]
NAMESPACE = "audit"
SINK_IMAGE = "cdk8s-audit-sink:0.1.0"

app = AuditApp()
ApiObject(Chart(app, "cluster"), "namespace", api_version="v1", kind="Namespace", metadata={"name": NAMESPACE})
chart = Chart(app, "audit", namespace=NAMESPACE)

audit = ClusterAudit(
    chart,
    "cluster-audit",
    kubernetes_version=KubernetesVersion.V1_37,
    presets=[Preset.PCI_DSS],
    preset_options=PresetOptions(audit_namespace=NAMESPACE),
    webhook=ClusterAuditWebhookProps(
        kubeconfig=WebhookKubeconfigProps(
            server=f"https://{SINK_CLUSTER_IP}:{SINK_PORT}/audit",
            certificate_authority_file="ca.crt",
            client_certificate_file="apiserver-client.crt",
            client_key_file="apiserver-client.key",
        ),
    ),
    kind=ClusterAuditKindOptions(name="cdk8s-audit"),
    control_planes=ControlPlanes.all(name="cdk8s-audit-control-plane"),
)

retention = AuditSinkRetentions.for_cluster_audit(audit)

AuditSink(
    chart,
    "audit-sink",
    image=SINK_IMAGE,
    cluster_ip=SINK_CLUSTER_IP,
    port=SINK_PORT,
    control_plane_cidrs=CONTROL_PLANE_CIDRS,
    tls=SinkTls.from_secret("audit-sink-tls"),
    signing_key=SinkSigningKey.from_secret("audit-sink-signing-key"),
    storage_size=Size.gibibytes(10),
    retention_max_age=retention.retention_max_age,
    retention_max_size=retention.retention_max_size,
    webhook_backend=audit.apiserver.webhook,
)

app.synth()
