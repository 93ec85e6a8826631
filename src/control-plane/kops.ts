/**
 * kops: the audit fields of `spec.kubeAPIServer` and `spec.fileAssets` of a kops Cluster
 * (kops.k8s.io/v1alpha2; kubernetes/kops pkg/apis/kops/v1alpha2/componentconfig.go KubeAPIServerConfig
 * and cluster.go FileAssetSpec, commit 268927e, v1.37.0-alpha.1-280).
 *
 * kops has no free-form apiserver flags: a flag without a kops field cannot be set, and is listed in
 * `notExpressible`. nodeup mounts the directory of auditLogPath read-write and the directory of
 * auditPolicyFile read-only, nothing else (nodeup/pkg/model/kube_apiserver.go): the webhook kubeconfig
 * and its TLS files must sit in the policy's directory, so a webhook directory elsewhere moves to
 * `<policy dir>/webhook/` (the kubeconfig's relative paths then resolve there too).
 * Pure: no I/O.
 */
import { posix } from 'node:path';
import { ApiserverAudit } from '../backends/apiserver-audit';

/** kube-apiserver flag → kops KubeAPIServerConfig field, and how its value is written. */
const KOPS_FIELDS: Record<string, { field: string; type: 'string' | 'int' | 'bool' | 'duration' | 'quantity' }> = {
  'audit-log-format': { field: 'auditLogFormat', type: 'string' },
  'audit-log-path': { field: 'auditLogPath', type: 'string' },
  'audit-log-maxage': { field: 'auditLogMaxAge', type: 'int' },
  'audit-log-maxbackup': { field: 'auditLogMaxBackups', type: 'int' },
  'audit-log-maxsize': { field: 'auditLogMaxSize', type: 'int' },
  'audit-policy-file': { field: 'auditPolicyFile', type: 'string' },
  'audit-webhook-batch-buffer-size': { field: 'auditWebhookBatchBufferSize', type: 'int' },
  'audit-webhook-batch-max-size': { field: 'auditWebhookBatchMaxSize', type: 'int' },
  'audit-webhook-batch-max-wait': { field: 'auditWebhookBatchMaxWait', type: 'duration' },
  'audit-webhook-batch-throttle-burst': { field: 'auditWebhookBatchThrottleBurst', type: 'int' },
  'audit-webhook-batch-throttle-enable': { field: 'auditWebhookBatchThrottleEnable', type: 'bool' },
  'audit-webhook-batch-throttle-qps': { field: 'auditWebhookBatchThrottleQps', type: 'quantity' },
  'audit-webhook-config-file': { field: 'auditWebhookConfigFile', type: 'string' },
  'audit-webhook-initial-backoff': { field: 'auditWebhookInitialBackoff', type: 'duration' },
  'audit-webhook-mode': { field: 'auditWebhookMode', type: 'string' },
};

/** The kops field names cdk8s-audit writes, by flag (for tests and docs). */
export const KOPS_AUDIT_FIELDS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(KOPS_FIELDS).map(([k, v]) => [k, v.field]));

export interface KopsFile {
  readonly nodePath: string;
  readonly content: string;
  /** @default 0o644 */
  readonly mode?: number;
}

export interface KopsAuditSpec {
  /** `spec` of the kops Cluster: kubeAPIServer audit fields and fileAssets. */
  readonly spec: Record<string, unknown>;
  /** Flags kops cannot set, with their values. */
  readonly notExpressible: readonly string[];
  /** Where each provisioned (TLS) file must go under kops, by its original node path. */
  readonly movedFiles: Readonly<Record<string, string>>;
}

function typed(type: string, value: string): string | number | boolean {
  if (type === 'int') return Number(value);
  if (type === 'bool') return value === 'true';
  return value;
}

/**
 * The kops spec fragment.
 * @param files generated files (policy, webhook kubeconfig) with their node paths
 * @param provided files provisioned separately (TLS), by node path
 */
export function kopsAuditSpec(audit: ApiserverAudit, files: readonly KopsFile[], provided: readonly string[] = []): KopsAuditSpec {
  const policyDir = posix.dirname(audit.policyFile);
  const webhookDir = audit.mounts.find((m) => m.name === 'audit-webhook')?.path;
  const moveDir = webhookDir && webhookDir !== policyDir && !webhookDir.startsWith(policyDir + '/') ? webhookDir : undefined;
  const moved = (p: string) => (moveDir && p.startsWith(moveDir + '/') ? posix.join(policyDir, 'webhook', p.slice(moveDir.length + 1)) : p);
  const kubeAPIServer: Record<string, unknown> = {};
  const notExpressible: string[] = [];
  for (const a of audit.args()) {
    const k = KOPS_FIELDS[a.name];
    if (!k) notExpressible.push(`--${a.name}=${a.value}`);
    else kubeAPIServer[k.field] = typed(k.type, a.name === 'audit-webhook-config-file' ? moved(a.value) : a.value);
  }
  const name = (p: string) => `audit-${posix.basename(p).replace(/\.[^.]+$/, '').replace(/[^a-z0-9-]/gi, '-').toLowerCase()}`;
  const fileAssets = files.map((f) => ({
    name: name(f.nodePath),
    path: moved(f.nodePath),
    roles: ['ControlPlane'],
    content: f.content,
    ...(f.mode !== undefined && f.mode !== 0o644 ? { mode: `0${f.mode.toString(8)}` } : {}),
  }));
  const movedFiles = Object.fromEntries(provided.filter((p) => moved(p) !== p).map((p) => [p, moved(p)]));
  for (const p of provided) {
    if (posix.dirname(moved(p)) !== policyDir && !moved(p).startsWith(policyDir + '/')) {
      notExpressible.push(`${p}: outside the policy's directory ${policyDir}, which is the only one nodeup mounts for audit; put it under ${policyDir}`);
    }
  }
  return { spec: { kubeAPIServer, fileAssets }, notExpressible, movedFiles };
}
