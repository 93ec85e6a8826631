/**
 * The audit alerts as a `monitoring.coreos.com/v1 PrometheusRule` (the Prometheus Operator's resource),
 * from the same rule groups as `renderPrometheusRuleFile`.
 */
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Problem, formatProblemValue, throwIfProblems } from '../core/problem';
import { AuditAlertGroup, AuditAlertOptions, auditAlertGroups, validateAlertOptions } from './rules';

export interface AuditAlertsProps extends AuditAlertOptions {
  /** @default - the construct's generated name */
  readonly name?: string;
  /** @default - the chart's namespace */
  readonly namespace?: string;
  /**
   * Labels on the PrometheusRule; the Prometheus resource's ruleSelector must match them
   * (kube-prometheus-stack selects `release: <its release name>`).
   * @default { 'app.kubernetes.io/name': 'cdk8s-audit-alerts' }
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * PrometheusRule with the audit alerts: dropped audit events per plugin, rejected requests, audit events
 * stopping, webhook request errors and latency, and the audit sink's rejects, fsync latency and disk.
 *
 * @example
 * new AuditAlerts(chart, 'audit-alerts', {
 *   namespace: 'monitoring',
 *   labels: { release: 'kube-prometheus-stack' },
 *   webhookHost: '10.96.0.50:8443',
 *   advice: { ...adviseBatching(input), sinkLatencySeconds: input.sink.latencySeconds },
 * });
 */
export class AuditAlerts extends Construct {
  public readonly groups: readonly AuditAlertGroup[];
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: AuditAlertsProps = {}) {
    super(scope, id);
    const problems: (Problem | string)[] = validateAlertOptions(props);
    if (props.name !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(props.name)) {
      problems.push({ path: 'name', value: formatProblemValue(props.name), rule: 'is not a Kubernetes object name', fix: 'use lower-case letters, digits, - and .' });
    }
    throwIfProblems(problems, `AuditAlerts ${id}`);
    this.groups = auditAlertGroups(props);
    this.resource = new ApiObject(this, 'rule', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: { 'app.kubernetes.io/name': 'cdk8s-audit-alerts', 'app.kubernetes.io/managed-by': 'cdk8s-audit', ...(props.labels ?? {}) },
      },
      spec: { groups: this.groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r, labels: { ...r.labels }, annotations: { ...r.annotations } })) })) },
    });
  }
}
