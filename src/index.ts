// `cdk8s-audit`: the constructs and the pure functions an app or a script needs. Each name is listed on
// purpose (no `export *`): a helper a module exports for its neighbours is not public API until it is added
// here. Importing this entry has no side effects and never loads the optional peer cdk8s-plus-28.
// Other entries: 'cdk8s-audit/sinks' (the sink constructs, need cdk8s-plus-28), 'cdk8s-audit/sink-server'
// (the sink program's store, verifier and signing), 'cdk8s-audit/testing' (helpers for kind suites).

// Kubernetes versions
export {
  DEFAULT_KUBERNETES_VERSION,
  KubernetesVersion,
  KubernetesVersionError,
  SUPPORTED_KUBERNETES_MINORS,
  parseKubernetesVersion,
} from './core/kubernetes-version';
export type { ParsedKubernetesVersion } from './core/kubernetes-version';

// The policy: model, rules, parse, validate, evaluate, explain, lint, render
export {
  AUDIT_API_VERSION,
  ApiResources,
  AuditRule,
  LEVELS,
  Level,
  PolicyParseError,
  STAGES,
  Severity,
  Stage,
  evaluatePolicy,
  explainRequest,
  formatExplanation,
  formatIssue,
  lintPolicy,
  parsePolicy,
  policyIssues,
  policyToJson,
  renderPolicyYaml,
  requestAttributesFromEvent,
  validatePolicy,
} from './policy';
export type {
  AuditDecision,
  AuditEventLike,
  AuditRuleProps,
  Explanation,
  GroupResources,
  LintFinding,
  LintOptions,
  PolicyDocument,
  PolicyIssue,
  PolicyRule,
  RequestAttributes,
  RuleTrace,
  ValidateOptions,
} from './policy';

// Compliance presets
export { GDPR_MAX_RETENTION_DAYS, PRESETS, PRESET_NAMES, Preset, PresetConflictError, RetentionPrecedence, composePresets, getPreset, getPresetDefinition, sinkRetentionFor, sinkRetentionPropsFor } from './presets';
export type {
  ComposedPreset,
  PresetDefinition,
  PresetOptions,
  Requirement,
  RequirementProbe,
  RequirementRef,
  AuditSinkRetention,
  Retention,
  SinkRetention,
} from './presets';
export { DEFAULT_ALERT_RULES, presetAlertRules } from './presets/alert-rules';
export type { AlertRulePresetOptions } from './presets/alert-rules';

// Detection coverage (Falco, Sigma, Elastic rules against a policy)
export { DETECTION_RULE_SETS, checkDetections, formatCoverage } from './detections';
export type { Detection, DetectionCoverage, DetectionGap, DetectionRuleSet, DetectionStatus } from './detections';

// Backends: flag sets, the webhook kubeconfig, the batching advisor
export {
  ApiserverAudit,
  AuditConfigError,
  AuditMode,
  DEFAULT_LOG_PATH,
  DEFAULT_POLICY_FILE,
  DEFAULT_WEBHOOK_CONFIG_FILE,
  HostPathType,
  LogBackend,
  LogFormat,
  WebhookBackend,
  adviseBatching,
  advisedWebhookProps,
  buildWebhookKubeconfig,
  checkBatching,
  renderAuditArgs,
  renderFlagReference,
  renderWebhookKubeconfig,
  validateAuditFlags,
  validateWebhookKubeconfig,
} from './backends';
export type {
  AdvisorFinding,
  ApiserverAuditExtraProps,
  ApiserverAuditProps,
  ApiserverMount,
  AuditArg,
  AuditBackend,
  AuditBackendProps,
  AuditLoad,
  AuditSinkProfile,
  BatchProps,
  BatchingAdvice,
  BatchingAdvisorInput,
  BatchingCheck,
  FlagValues,
  IAuditBackend,
  KubeconfigDocument,
  LogBackendOptions,
  LogBackendProps,
  ThrottleProps,
  TruncateProps,
  WebhookBackendProps,
  WebhookKubeconfigOptions,
  WebhookKubeconfigProps,
} from './backends';

// Control-plane wiring
export {
  KubeadmApiVersion,
  kindCluster,
  kubeadmClusterConfiguration,
  renderKindCluster,
  renderKubeadmClusterConfiguration,
  staticPodPatch,
  ClusterApiVersion,
  kubeadmControlPlaneAudit,
  describeStaticPodChanges,
  editStaticPodManifest,
  staticPodAuditSpec,
  staticPodSpecFromKubeadm,
  k3sAuditConfig,
  rke2AuditConfig,
  talosAuditPolicyDocument,
  talosMachineConfigPatch,
  kopsAuditSpec,
  eksAnywhereAudit,
  OpenShiftAuditProfile,
  openShiftAudit,
} from './control-plane';
export type { JsonPatchOperation, KindClusterOptions, KubeadmConfigOptions, StaticPodPatchOptions } from './control-plane';
export type {
  KubeadmControlPlaneAudit,
  KubeadmControlPlaneOptions,
  StaticPodAuditSpec,
  StaticPodChange,
  StaticPodEditResult,
  KopsAuditSpec,
  EksAnywhereAudit,
  OpenShiftAudit,
} from './control-plane';

// The constructs an app composes
export { AuditApp, AuditPolicy, ClusterAudit, allControlPlanes, writeNodeFiles } from './gitops';
export type { ClusterAuditClusterApi, ClusterAuditControlPlanes } from './gitops';
export type {
  AuditAppProps,
  AuditPolicyImportOptions,
  AuditPolicyPresetOptions,
  AuditPolicyProps,
  ClusterAuditKindOptions,
  ClusterAuditProps,
  ClusterAuditWebhookProps,
  NodeFile,
  ProvisionedFile,
  WriteNodeFilesOptions,
} from './gitops';

// Prometheus alerts on the apiserver's and the sink's metrics
export { AuditAlerts, auditAlertGroups, renderPrometheusRuleFile } from './alerts';
export type { AlertBatchingAdvice, AuditAlertGroup, AuditAlertOptions, AuditAlertRule, AuditAlertsProps } from './alerts';

// The sink's alert rules file (`sink serve --rules`, AuditSink.alertRules)
export { ALERT_RULES_API_VERSION, ALERT_RULES_KIND, AlertRulesError, alertRulesProblems, checkAlertRules, parseAlertRules, renderAlertRulesYaml } from './sink-contract/alert-rules';
export type { AlertOutcome, AlertRule, AlertRuleType, AlertRulesDocument, AlertSelector, FirstSeenKeyField, SinkAlertSeverity, SourceIpMode } from './sink-contract/alert-rules';

// Evidence: the report judged from recorded events
export { EVIDENCE_REPORT_SCHEMA, EvidenceJudge, judgeEvidence, renderReportHtml, renderReportJson, renderReportMarkdown, reportExitCode } from './evidence';
export type {
  EventPosition,
  EvidenceReport,
  InputSummary,
  JudgeOptions,
  JudgedSettings,
  LoggedEvent,
  RequirementResult,
  RequirementStatus,
} from './evidence';

// Certificates for the webhook (TLS with client auth)
export {
  KeyAlgorithm,
  createCertificateAuthority,
  createWebhookTlsBundle,
  describeCertificate,
  issueClientCertificate,
  issueServingCertificate,
  loadCertificateAuthority,
} from './tls/certs';
export type {
  CertificateAuthority,
  CertificateAuthorityOptions,
  CertificateOptions,
  CertificateSummary,
  ClientCertificateOptions,
  IssuedCertificate,
  ServingCertificateOptions,
  WebhookTlsBundle,
  WebhookTlsBundleOptions,
} from './tls/certs';
