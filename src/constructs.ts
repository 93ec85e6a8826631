// The jsii entry point (scripts/build-jsii.sh): the constructs, their props, enums and enum-like classes,
// and the types their public members use, as Python (and any other jsii language) sees the package.
// The npm entries stay as they are (index.ts, sinks/index.ts): parsers, renderers and the CLI's helpers
// are TypeScript-only. jsii has no free functions, so the few an app needs are static methods below.
// Types a listed construct reaches but that are not listed here fail the jsii build (JSII3000): add them.
import { ClusterAuditClusterApi, ClusterAuditControlPlanes, allControlPlanes } from './gitops/control-plane-files';
import { AuditSinkRetention, sinkRetentionPropsFor } from './presets/flags';
import { ClusterAudit } from './gitops/cluster-audit';

export { AuditApp, AuditAppProps, WriteNodeFilesOptions } from './gitops/write-node-files';
export { ClusterAudit, ClusterAuditProps, ClusterAuditWebhookProps, ClusterAuditKindOptions, ProvisionedFile } from './gitops/cluster-audit';
export { ClusterAuditClusterApi, ClusterAuditControlPlanes } from './gitops/control-plane-files';
export { AuditSinkRetention } from './presets/flags';
export { Retention } from './presets/types';
export { AuditSink, AuditSinkProps, AuditSinkServiceMonitorProps } from './sinks/audit-sink';
export { FluentBitSink, FluentBitSinkProps } from './sinks/fluent-bit-sink';
export { VectorSink, VectorSinkProps } from './sinks/vector-sink';
export { FalcoSink, FalcoSinkProps } from './sinks/falco-sink';
export { WebhookSink, IWebhookSink, SinkEgress, WebhookSinkBodyLimit } from './sinks/webhook-sink';
export { SinkTls, SinkSigningKey, CertManagerIssuerKind, CertManagerTlsOptions, WebhookSinkProps } from './sinks/common';

// What those constructs' public members reach (the jsii build fails on a reachable type missing here).
export { KubernetesVersion } from './core/kubernetes-version';
export { AuditPolicy, AuditPolicyProps, AuditPolicyImportOptions, AuditPolicyPresetOptions } from './gitops/audit-policy';
export { AuditRuleProps } from './policy/audit-rule';
export { GroupResources, Level, PolicyDocument, PolicyRule, Stage } from './policy/model';
export { LintFinding } from './policy/lint';
export { Severity } from './policy/lint-rules';
export { Preset } from './presets/preset-names';
export { PresetOptions, ComposedPreset, RetentionPrecedence } from './presets/compose';
export { BodyLevel } from './presets/types';
export { ApiserverAudit, ApiserverAuditProps, ApiserverAuditExtraProps } from './backends/apiserver-audit';
export {
  ApiserverMount, AuditBackendProps, HostPathType, AuditMode, BatchProps, IAuditBackend, LogBackend, LogBackendOptions, LogBackendProps, LogFormat,
  ThrottleProps, TruncateProps, WebhookBackend, WebhookBackendProps,
} from './backends/backends';
export { AuditArg } from './backends/flags';
export { WebhookKubeconfigOptions, WebhookKubeconfigProps } from './backends/kubeconfig';
export { AlertRule, AlertRulesDocument, AlertSelector } from './sink-contract/alert-rules';
export { AlertWebhookAuth, AlertWebhookProps, BasicAuth, ElasticsearchOutputProps, LokiOutputProps, LoggingAuth, LoggingTls, SecretKeyRef } from './sinks/outputs';
export { SinkDetections } from './sinks/detection-coverage';
export { WebhookSinkSpec } from './sinks/webhook-sink';

/** Which control planes `ClusterAudit` writes configuration for (`allControlPlanes` for jsii languages). */
export class ControlPlanes {
  /** Every control plane cdk8s-audit can configure; Cluster API needs its cluster's name. */
  public static all(clusterApi: ClusterAuditClusterApi): ClusterAuditControlPlanes {
    return allControlPlanes(clusterApi);
  }

  private constructor() {}
}

/** The sink retention a ClusterAudit's presets need (`sinkRetentionPropsFor` for jsii languages). */
export class AuditSinkRetentions {
  /**
   * AuditSink props that keep what the presets' retention requirement claims, deleting by age only
   * (`sinkRetentionPropsFor(audit.policy.preset.retention)`).
   * @throws Error when the ClusterAudit was given its own policy instead of presets
   */
  public static forClusterAudit(audit: ClusterAudit): AuditSinkRetention {
    const preset = audit.policy.preset;
    if (!preset) throw new Error(`AuditSinkRetentions.forClusterAudit: ClusterAudit ${audit.node.path} has no presets (props.policy was given), so no retention requirement; set AuditSink retentionMaxAge yourself`);
    return sinkRetentionPropsFor(preset.retention);
  }

  private constructor() {}
}
