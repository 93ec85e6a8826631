/**
 * EKS Anywhere: `spec.controlPlaneConfiguration.auditPolicyContent` (the policy as a string) and
 * `apiServerExtraArgs` (map of strings) of an anywhere.eks.amazonaws.com/v1alpha1 Cluster
 * (aws/eks-anywhere pkg/api/v1alpha1/cluster_types.go ControlPlaneConfiguration, commit aebd9a0).
 *
 * EKS Anywhere writes the policy to its own path and passes `--audit-policy-file`,
 * `--audit-log-path=/var/log/kubernetes/api-audit.log` with maxage 30, maxbackup 10, maxsize 512, and
 * mounts /var/log/kubernetes (pkg/providers/* /template-cp.yaml). apiServerExtraArgs come after its
 * own flags and win, but `eksctl anywhere` accepts them only with API_SERVER_EXTRA_ARGS_ENABLED=true
 * (pkg/api/v1alpha1/cluster.go validateControlPlaneAPIServerExtraArgs). There is no field for extra
 * files or volumes, so the webhook backend (a kubeconfig file on the node) cannot be set up.
 * Pure: no I/O.
 */
import { ApiserverAudit } from '../backends/apiserver-audit';

/** EKS Anywhere's own log directory, mounted read-write into the apiserver. */
export const EKS_ANYWHERE_LOG_DIR = '/var/log/kubernetes';

export interface EksAnywhereAudit {
  readonly cluster: Record<string, unknown>;
  readonly notExpressible: readonly string[];
}

export function eksAnywhereAudit(audit: ApiserverAudit, policyYaml: string): EksAnywhereAudit {
  const notExpressible: string[] = [];
  const extra: Record<string, string> = {};
  for (const a of audit.args()) {
    if (a.name === 'audit-policy-file') continue; // EKS Anywhere writes auditPolicyContent to its own path
    if (a.name.startsWith('audit-webhook-')) {
      notExpressible.push(`--${a.name}=${a.value} (no field for the webhook kubeconfig file or its mount)`);
    } else if (a.name === 'audit-log-path' && a.value !== '-' && !a.value.startsWith(EKS_ANYWHERE_LOG_DIR + '/')) {
      notExpressible.push(`--${a.name}=${a.value} (only ${EKS_ANYWHERE_LOG_DIR} is mounted; EKS Anywhere's own path is kept)`);
    } else {
      extra[a.name] = a.value;
    }
  }
  return {
    cluster: {
      apiVersion: 'anywhere.eks.amazonaws.com/v1alpha1',
      kind: 'Cluster',
      spec: { controlPlaneConfiguration: { auditPolicyContent: policyYaml, ...(Object.keys(extra).length ? { apiServerExtraArgs: extra } : {}) } },
    },
    notExpressible,
  };
}
