// Audit alerts: PrometheusRule construct and plain Prometheus rule files from one rule definition.
export { AuditAlerts } from './prometheus-rule';
export type { AuditAlertsProps } from './prometheus-rule';
export { auditAlertGroups, renderPrometheusRuleFile, validateAlertOptions } from './rules';
export type { AlertBatchingAdvice, AlertSeverity, AuditAlertGroup, AuditAlertOptions, AuditAlertRule } from './rules';
export { KNOWN_METRICS, AUDIT_ERROR_PLUGINS } from './metrics';
export type { KnownMetric, MetricSource } from './metrics';
export { checkPromQL, PromQLError } from './promql';
export type { LabelMatcher, PromQLCheck, SeriesSelector } from './promql';
